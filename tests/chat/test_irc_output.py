"""How answers come out on IRC: long ones in private, long lines cut safely,
slow commands beside quick ones, and pasted errors recognised where asked."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.app import Application
from bot.commands.runbook import RunbookCommands, format_answer
from bot.config import Config
from bot.core.dispatch import Dispatcher
from bot.core.message import NO_REPLY, Message, Reply
from bot.core.registry import Invocation
from bot.knowledge.base import KnowledgeBase

from .common import bot_is_there
from .people import connect_all
from .servers import InspircdAnope

pytestmark = pytest.mark.servers

SPLIT_BRAIN = "how do i recover from a drbd split brain"


def test_long_answers_go_to_a_private_message_when_configured(
        ircd: InspircdAnope, bots, irc_people, knowledge: KnowledgeBase) -> None:
    bots.irc(ircd.tls_port, nick="privbot", channels=["#quiet"], long_output="private")
    alice = irc_people(ircd.port, "alice", "alice").registered()
    alice.join("#quiet")
    bot_is_there(alice, "#quiet", bot="privbot")
    expected = format_answer(knowledge.answer(SPLIT_BRAIN)[0])

    pointer = alice.ask("#quiet", f"privbot: {SPLIT_BRAIN}", "privbot")
    assert pointer.text == (f"alice: {expected[0]} (the whole answer, {len(expected)} lines, "
                            f"is in a private message)")
    private = [alice.said("alice", "privbot").text for _ in expected]
    assert private == expected
    assert not alice.collect(lambda l: l.nick == "privbot" and l.params[0] == "#quiet", 0.5)


def test_a_line_longer_than_irc_allows_arrives_whole_in_valid_utf8_pieces(
        ircd: InspircdAnope, bots, irc_people, app_config: Config, tmp_path: Path) -> None:
    long_command = "gnt-instance modify --comment=" + "é✓" * 200 + " test1.example.org"  # ~1 KB
    runbooks = tmp_path / "runbooks"
    runbooks.mkdir()
    (runbooks / "comments.md").write_text(
        "# Instance comments\n\nSet a very long comment on an instance.\n\n```\n" + long_command + "\n```\n")
    knowledge = KnowledgeBase(runbooks, tmp_path / "index")
    knowledge.refresh()
    bots.irc(ircd.tls_port, Application(app_config, knowledge), nick="utfbot")
    alice = irc_people(ircd.port, "alice", "alice").registered()  # decodes strictly: a cut character fails
    alice.join("#ops")
    bot_is_there(alice, "#ops", bot="utfbot")

    alice.ask("#ops", "utfbot: how do i set a very long instance comment", "utfbot")
    alice.said("#ops", "utfbot")  # the gist
    pieces = [alice.said("#ops", "utfbot", starting="  gnt-instance")]
    while "".join(p.text for p in pieces) != f"  {long_command}":
        pieces.append(alice.said("#ops", "utfbot", timeout=3))
    assert len(pieces) >= 3
    assert all(len(piece.raw.encode()) <= 510 for piece in pieces)


def test_a_slow_command_does_not_hold_up_anyone_else(
        ircd: InspircdAnope, bots, irc_people, make_app) -> None:
    app = make_app()

    async def slow(call: Invocation) -> Reply:
        await asyncio.sleep(3)
        return Reply.of("slow work done")

    app.dispatcher.registry.command("slow", summary="takes its time")(slow)
    bots.irc(ircd.tls_port, app, nick="slowbot")
    alice, bob = irc_people(ircd.port, "alice", "alice"), irc_people(ircd.port, "bob", "bob")
    connect_all(alice, bob)
    alice.join("#ops")
    bob.join("#ops")
    bot_is_there(alice, "#ops", bot="slowbot")

    alice.say("#ops", "!slow")
    alice.say("#ops", "!whoami")  # queued behind her own slow command...
    assert bob.ask("#ops", "!whoami", "slowbot", timeout=2).text.startswith("bob: you are bob")  # ...not bob's
    assert alice.said("#ops", "slowbot", timeout=5, starting="alice: ").text == "alice: slow work done"
    assert alice.said("#ops", "slowbot", starting="alice: ").text.startswith("alice: you are alice")


def test_a_pasted_ganeti_error_is_recognised_only_where_enabled(
        ircd: InspircdAnope, bots, irc_people, make_app, knowledge: KnowledgeBase) -> None:
    paste = "Failure: command execution error: drbd split brain detected on node2"
    assert knowledge.answer(paste)[0] is not None
    # The application does not offer runbook sections for chatter (yet): this
    # stands in for it, to show which lines reach it from which channel.
    base = make_app().dispatcher

    async def offer(message: Message) -> Reply:
        answer, _ = await asyncio.to_thread(knowledge.answer, message.text)
        return Reply.of(f"that looks like {answer.section.breadcrumbs}") if answer else NO_REPLY

    dispatcher = Dispatcher(base.registry, base.policy, base.pager, prefix=base.prefix,
                            on_question=RunbookCommands(knowledge, base.prefix).question, on_chatter=offer)
    bots.irc(ircd.tls_port, dispatcher, nick="errbot", channels=["#ops"],
             channel={"#errors": {"recognise_errors": True}})
    alice = irc_people(ircd.port, "alice", "alice").registered()
    for channel in ("#ops", "#errors"):
        alice.join(channel)
        bot_is_there(alice, channel, bot="errbot")

    assert alice.ask("#errors", paste, "errbot").text.startswith("alice: that looks like ")
    alice.say("#errors", "anyone for lunch?")  # chatter, not an error
    alice.say("#ops", paste)  # recognition is off there
    assert not alice.collect(lambda l: l.nick == "errbot" and l.command == "PRIVMSG", 1.5)
