"""The command core as a user meets it: commands, help, paging, refusals, errors."""

from __future__ import annotations

import asyncio

import pytest

from bot.app import Application
from bot.commands import help as help_commands
from bot.commands import identity
from bot.config import SHIPPED_RUNBOOKS, Config
from bot.core.access import AccessPolicy, Permission
from bot.core.dispatch import Dispatcher
from bot.core.message import Identity, Message, Reply
from bot.core.paging import Pager
from bot.core.registry import Invocation, Registry
from bot.errors import GntbotError
from bot.knowledge.base import KnowledgeBase

ALICE = Identity("irc", "alice", account="alice")
MALLORY = Identity("irc", "alice_", account=None, unverified_reason="alice_ is not logged in to services")
BOB = Identity("irc", "bob", account="bob")


def build(page_lines: int = 3) -> Dispatcher:
    registry = Registry()
    dispatcher = Dispatcher(
        registry,
        AccessPolicy.of(["irc:alice"]),
        Pager(page_lines),
        on_question=lambda message: _echo_question(message),
    )
    help_commands.register(dispatcher, "gntbot")
    identity.register(registry, AccessPolicy.of(["irc:alice"]))

    @registry.command("count", usage="N", summary="count to N")
    async def count(call: Invocation) -> Reply:
        return Reply.of(*(str(i) for i in range(1, int(call.args) + 1)))

    @registry.command("restart", summary="a privileged action", permission=Permission.OPERATOR)
    async def restart(call: Invocation) -> Reply:
        return Reply.of("restarted")

    @registry.command("fail", summary="fails")
    async def fail(call: Invocation) -> Reply:
        raise GntbotError("the cluster gnt-fsn did not answer: check the VPN")

    @registry.command("crash", summary="has a bug")
    async def crash(call: Invocation) -> Reply:
        raise KeyError("bug")

    return dispatcher


async def _echo_question(message: Message) -> Reply:
    return Reply.of(f"question: {message.text}")


def say(dispatcher: Dispatcher, text: str, sender: Identity = ALICE, *, room: str | None = "#ops",
        addressed: bool = False) -> list[str]:
    return list(asyncio.run(dispatcher.handle(Message(text, sender, room, addressed))).lines)


def test_command_runs_with_its_arguments():
    assert say(build(10), "!count 3") == ["1", "2", "3"]


def test_long_output_is_paged_and_more_continues_it():
    dispatcher = build(page_lines=3)
    first = say(dispatcher, "!count 7")
    assert first == ["1", "2", "3", "(4 more lines: !more)"]
    assert say(dispatcher, "!more") == ["4", "5", "6", "(1 more line: !more)"]
    assert say(dispatcher, "!more") == ["7"]
    assert say(dispatcher, "!more") == ["nothing more to show."]


def test_pages_belong_to_the_person_who_asked():
    dispatcher = build(page_lines=2)
    say(dispatcher, "!count 5", ALICE)
    assert say(dispatcher, "!more", BOB) == ["nothing more to show."]
    assert say(dispatcher, "!more", ALICE)[0] == "3"


def test_help_lists_every_command_and_explains_one():
    dispatcher = build()
    listing = " ".join(say(dispatcher, "!help"))
    for name in ("!count", "!restart", "!help", "!more", "!whoami"):
        assert name in listing
    assert say(dispatcher, "!help restart") == ["!restart: a privileged action (operators)"]
    assert say(dispatcher, "!help !count") == ["!count N: count to N"]
    assert "no command !nope" in say(dispatcher, "!help nope")[0]


def test_unknown_command_points_to_help_but_punctuation_is_ignored():
    dispatcher = build()
    assert say(dispatcher, "!frobnicate") == ["unknown command !frobnicate; !help lists the commands."]
    assert say(dispatcher, "!!!") == []


def test_privileged_command_needs_a_verified_operator():
    dispatcher = build()
    assert say(dispatcher, "!restart", ALICE) == ["restarted"]
    assert say(dispatcher, "!restart", MALLORY) == ["refused: alice_ is not logged in to services."]
    assert say(dispatcher, "!restart", BOB) == ["refused: irc:bob is not an operator of this bot."]


def test_whoami_tells_the_identity_the_bot_sees():
    dispatcher = build()
    assert say(dispatcher, "!whoami", ALICE) == ["you are alice, verified as irc:alice; an operator."]
    assert "not verified" in say(dispatcher, "!whoami", MALLORY)[0]


def test_user_errors_are_shown_and_bugs_are_reported_without_details(caplog):
    dispatcher = build()
    assert say(dispatcher, "!fail") == ["the cluster gnt-fsn did not answer: check the VPN"]
    reply = say(dispatcher, "!crash")
    assert reply == ["internal error: it has been logged; please tell the bot's maintainers."]
    assert "KeyError" in caplog.text


def test_questions_need_to_be_addressed_to_the_bot():
    dispatcher = build()
    assert say(dispatcher, "how do i rebalance", addressed=True) == ["question: how do i rebalance"]
    assert say(dispatcher, "how do i rebalance") == []
    assert say(dispatcher, "   ", addressed=True) == []


def test_a_command_name_cannot_be_registered_twice():
    registry = Registry()
    registry.command("x", summary="x")(_echo_question)
    with pytest.raises(ValueError):
        registry.command("y", summary="y", aliases=("x",))(_echo_question)


def test_a_pasted_error_is_offered_its_runbook_section_and_other_chatter_is_not(tmp_path):
    knowledge = KnowledgeBase(SHIPPED_RUNBOOKS, tmp_path / "index")
    dispatcher = Application(Config.default(), knowledge).dispatcher
    pasted = ("Failure: prerequisites not met for this operation: Can's find primary node using "
              "iallocator hail: Request failed: No valid allocation solutions, failure reasons: "
              "FailMem: 2, FailN1: 2")
    offer = say(dispatcher, pasted, BOB)
    assert offer == [("bob: that error is covered in How-to › Adding a new instance › Known issues — "
                      "ganeti/instances.md#known-issues")]
    assert say(dispatcher, "Failure: the coffee machine exploded with quorum loss", BOB) == []


def test_nobody_is_offered_a_section_that_only_partly_covers_what_they_pasted(tmp_path, three_topics):
    knowledge = KnowledgeBase(three_topics, tmp_path / "index", semantic=False)
    dispatcher = Application(Config.default(), knowledge).dispatcher
    assert say(dispatcher, "logrotate schedule stuck on snapshots, quotas and reboots", BOB) == []
    assert say(dispatcher, "weekly logrotate schedule stuck", BOB) == [
        "bob: that error is covered in Ops › Rotating logs — ops.md#rotating-logs"]


def test_a_transport_that_sends_long_answers_privately_gets_them_whole():
    dispatcher = build(page_lines=2)
    whole = asyncio.run(dispatcher.handle(Message("!count 4", ALICE, "#ops"), page=False))
    assert list(whole.lines) == ["1", "2", "3", "4"]
    assert say(dispatcher, "!more") == ["nothing more to show."]  # nothing was held back
