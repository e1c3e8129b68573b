"""The bot on XMPP, against Prosody 0.12 (STARTTLS, MUC with real JIDs).

Most tests share one bot, ``gntbot@localhost`` in ``ops@conference.localhost``;
the tests that need a bot of their own use the account ``bot2``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from bot.app import Application
from bot.commands.runbook import format_answer
from bot.config import Config
from bot.core.announce import Place
from bot.knowledge.base import KnowledgeBase
from bot.transports.xmpp import XmppTransport

from .common import (
    REBALANCE,
    XMPP_ACCOUNTS,
    ask_direct,
    ask_room,
    in_room,
    xmpp_settings,
)
from .harness import Loop, RunningBot
from .people import XmppPerson
from .servers import Certs, Prosody

pytestmark = pytest.mark.servers

OPS = "ops@conference.localhost"


@pytest.fixture(scope="module")
def bot(aloop: Loop, prosody: Prosody, secrets, certs: Certs, app_config: Config,
        knowledge: KnowledgeBase) -> Iterator[RunningBot]:
    app = Application(app_config, knowledge)
    running = RunningBot(aloop, XmppTransport(xmpp_settings(secrets, certs, prosody.port), "gntbot"), app.dispatcher)
    yield running
    running.stop()


def test_a_question_in_a_room_gets_the_runbook_answer(bot, aloop, xmpp_people, knowledge) -> None:
    alice = in_room(aloop, xmpp_people("alice"), OPS, "alice")
    lines = ask_room(aloop, alice, OPS, "alice", f"gntbot: {REBALANCE}")
    expected = format_answer(knowledge.answer(REBALANCE)[0])
    assert lines[:3] == [f"alice: {expected[0]}", *expected[1:3]]


def test_help_and_more_in_a_room(bot, aloop, xmpp_people, knowledge) -> None:
    alice = in_room(aloop, xmpp_people("alice"), OPS, "alice")
    assert ask_room(aloop, alice, OPS, "alice", "!help")[0].startswith("alice: commands: !help")
    question = "how do i recover from a drbd split brain"
    expected = format_answer(knowledge.answer(question)[0])
    first = ask_room(aloop, alice, OPS, "alice", f"gntbot, {question}")
    assert first == [f"alice: {expected[0]}", *expected[1:5], f"({len(expected) - 5} more lines: !more)"]
    assert ask_room(aloop, alice, OPS, "alice", "!more")[:5] == [f"alice: {expected[5]}", *expected[6:10]]


def test_the_real_jid_decides_not_the_room_nick(bot, aloop, xmpp_people) -> None:
    alice = in_room(aloop, xmpp_people("alice"), OPS, "alice")
    bob = in_room(aloop, xmpp_people("bob"), OPS, "alice_")  # a look-alike nick
    assert ask_room(aloop, alice, OPS, "alice", "!whoami") == [
        "alice: you are alice, verified as xmpp:alice@localhost; an operator."]
    assert ask_room(aloop, bob, OPS, "alice_", "!reindex") == [
        "alice_: refused: xmpp:bob@localhost is not an operator of this bot."]


def test_direct_messages_are_answered_with_the_sender_verified(bot, aloop, xmpp_people, knowledge) -> None:
    alice = xmpp_people("alice")
    assert ask_direct(aloop, alice, "gntbot@localhost", "!whoami") == [
        "you are alice@localhost, verified as xmpp:alice@localhost; an operator."]
    expected = format_answer(knowledge.answer(REBALANCE)[0])
    assert ask_direct(aloop, alice, "gntbot@localhost", REBALANCE)[0] == expected[0]


def own_bot(bots, server: Prosody, secrets, port: int | None = None, **overrides):
    """A bot of the test's own: ``bot2@localhost``."""
    return bots.xmpp(port or server.port, jid="bot2@localhost", password_file=str(secrets / "xmpp-bot2"),
                     **overrides)


def test_in_an_anonymous_room_privileged_commands_are_refused_with_the_reason(
        bots, prosody, secrets, aloop, xmpp_people, knowledge) -> None:
    room = "hidden@anon.localhost"
    alice = xmpp_people("alice")
    aloop.run(alice.join(room, "alice"))  # she creates it, so she and not the bot moderates it
    aloop.run(alice.configure(room, passwordprotectedroom="1", roomsecret="sesame"))
    (secrets / "hidden.password").write_text("sesame\n")
    own_bot(bots, prosody, secrets, rooms=[], room={room: {"password_file": str(secrets / "hidden.password")}})
    aloop.run(alice.presence_of(f"{room}/gntbot", timeout=15))

    assert ask_room(aloop, alice, room, "alice", "!reindex") == [
        ("alice: refused: this room hides real JIDs from me, so I cannot tell who you are; "
        "ask me in a direct message.")]
    expected = format_answer(knowledge.answer(REBALANCE)[0])
    assert ask_room(aloop, alice, room, "alice", f"gntbot: {REBALANCE}")[0] == f"alice: {expected[0]}"


def test_old_messages_never_run_again(bots, prosody, secrets, aloop, xmpp_people) -> None:
    room = "history@conference.localhost"
    alice = xmpp_people("alice")
    aloop.run(alice.join(room, "alice"))
    alice.say(room, "!whoami")  # kept in the room's history
    alice.say(room, f"gntbot: {REBALANCE}")
    alice.tell("bot2@localhost", "!whoami")  # the bot is offline: stored, delivered later with a delay
    aloop.run(asyncio.sleep(0.3))

    own_bot(bots, prosody, secrets, rooms=[room])
    aloop.run(alice.presence_of(f"{room}/gntbot", timeout=15))
    stale = aloop.run(alice.messages_during(2.0))
    assert [m["body"] for m in stale if m["from"].bare in (room, "bot2@localhost") and m["mucnick"] != "alice"] == []
    # Alive all the same: new lines are answered.
    assert ask_room(aloop, alice, room, "alice", "!whoami")[0].startswith("alice: you are alice")
    assert ask_direct(aloop, alice, "bot2@localhost", "!whoami")[0].startswith("you are alice@localhost")


def test_after_the_server_is_killed_and_restarted_the_bot_is_back_within_30s(
        bots, secrets, aloop, server_dirs, certs) -> None:
    server = Prosody(server_dirs("own-prosody"), certs, XMPP_ACCOUNTS)
    try:
        server.start()
        own_bot(bots, server, secrets)
        alice = aloop.run(XmppPerson("alice@localhost", XMPP_ACCOUNTS["alice"], server.port, str(certs.ca)).start())
        in_room(aloop, alice, OPS, "alice")
        server.kill()
        killed = time.monotonic()
        server.start()
        alice = aloop.run(XmppPerson("alice@localhost", XMPP_ACCOUNTS["alice"], server.port, str(certs.ca)).start())
        try:
            in_room(aloop, alice, OPS, "alice")
            assert time.monotonic() - killed < 30
            assert ask_room(aloop, alice, OPS, "alice", "!whoami")[0].startswith("alice: you are alice")
        finally:
            aloop.run(alice.stop())
    finally:
        server.stop()


def test_direct_tls_works_too(bots, prosody, secrets, aloop, xmpp_people) -> None:
    own_bot(bots, prosody, secrets, port=prosody.tls_port, direct_tls=True, rooms=["tls@conference.localhost"])
    alice = in_room(aloop, xmpp_people("alice"), "tls@conference.localhost", "alice")
    assert ask_direct(aloop, alice, "bot2@localhost", "!whoami")[0].startswith("you are alice@localhost")


def test_an_announcement_reaches_the_room_without_anyone_asking(bot, aloop, xmpp_people) -> None:
    alice = in_room(aloop, xmpp_people("alice"), OPS, "alice")

    async def announce() -> None:
        bot.dispatcher.announcer.announce(Place("xmpp", OPS), ["job 1234 on gnt-fsn succeeded"])

    aloop.run(announce())
    said = aloop.run(alice.expect(lambda m: m["type"] == "groupchat" and m["mucnick"] == "gntbot"))
    assert said["body"] == "job 1234 on gnt-fsn succeeded"
