"""Hostile people and hostile text on IRC, through InspIRCd: taken nicks, lines
to a channel's operators, control characters from a job log, budgets that a
nick change must not reset. Each test has a bot of its own."""

from __future__ import annotations

import time

import pytest

from bot.core.message import Reply
from bot.core.registry import Invocation

from .common import UNSEEN, bot_is_there
from .people import IrcPerson, connect_all
from .servers import InspircdAnope

pytestmark = pytest.mark.servers

SPLIT_BRAIN = "how do i recover from a drbd split brain"
JOB_LOG = ((f"job 4242 log: \x1b[1;31mERROR\x1b[0m disk\x07{UNSEEN} sync \x01ACTION failed\x01\x00\r\n"
            f"next step\x0b\x1b]0;owned\x07 {UNSEEN}done"), "gnt-instance modify --comment=" + "é✓x" * 40_000)


def in_channel(person: IrcPerson, channel: str, bot: str) -> IrcPerson:
    person.registered()
    person.join(channel)
    bot_is_there(person, channel, bot=bot)
    return person


def test_pages_are_not_for_whoever_takes_the_nick_next(ircd: InspircdAnope, bots, irc_people) -> None:
    bots.irc(ircd.tls_port, nick="pagebot")
    carol = in_channel(irc_people(ircd.port, "carol"), "#ops", "pagebot")
    assert carol.ask("#ops", f"pagebot: {SPLIT_BRAIN}", "pagebot")
    carol.expect(lambda l: l.nick == "pagebot" and "more lines: !more" in l.text, what="the pointer to !more")
    carol.close()
    # The same nick, user and host again: only the quit tells it is someone else.
    again = in_channel(irc_people(ircd.port, "carol"), "#ops", "pagebot")
    assert again.ask("#ops", "!more", "pagebot").text == "carol: nothing more to show."

    dave = in_channel(irc_people(ircd.port, "dave"), "#ops", "pagebot")
    assert dave.ask("#ops", f"pagebot: {SPLIT_BRAIN}", "pagebot")
    dave.send("NICK erin")
    dave.expect(lambda l: l.command == "NICK" and l.text == "erin", what="the nick change")
    taker = in_channel(irc_people(ircd.port, "dave_"), "#ops", "pagebot")
    taker.send("NICK dave")
    taker.expect(lambda l: l.command == "NICK" and l.text == "dave", what="the nick taken")
    taker.nick = "dave"
    assert taker.ask("#ops", "!more", "pagebot").text == "dave: nothing more to show."


def test_a_line_to_the_channels_operators_is_answered_to_them_not_in_private(
        ircd: InspircdAnope, bots, irc_people) -> None:
    alice = irc_people(ircd.port, "alice", "alice").registered()
    alice.join("#opsonly")  # she made it: she is its operator
    bots.irc(ircd.tls_port, nick="statusbot", channels=["#opsonly"])
    bot_is_there(alice, "#opsonly", bot="statusbot")
    alice.send("MODE #opsonly +o statusbot")  # so that the bot hears what is said to operators
    alice.expect(lambda l: l.command == "MODE" and l.params[1:] == ("+o", "statusbot"), what="the bot made operator")

    alice.forget()
    alice.say("@#opsonly", "!whoami")
    reply = alice.expect(lambda l: l.nick == "statusbot" and l.command == "PRIVMSG", what="the answer")
    assert reply.params[0] == "@#opsonly"
    assert reply.text == "alice: you are alice, verified as irc:alice; an operator."
    alice.say("@#opsonly", "how do i rebalance the cluster")  # not addressed: chatter among operators
    assert not alice.collect(lambda l: l.nick == "statusbot", 1.0)


def test_control_characters_and_escapes_from_a_job_log_never_reach_the_wire(
        ircd: InspircdAnope, bots, irc_people, make_app) -> None:
    app = make_app()

    async def job(call: Invocation) -> Reply:
        return Reply.of(*JOB_LOG)

    app.dispatcher.registry.command("joblog", summary="a job log, as a cluster returns it")(job)
    bots.irc(ircd.tls_port, app, nick="logbot")
    alice = in_channel(irc_people(ircd.port, "alice", "alice"), "#ops", "logbot")
    alice.say("#ops", "\u200b!joblog")  # an invisible character in front changes nothing
    lines = [alice.said("#ops", "logbot", starting="alice: ")]
    lines += alice.collect(lambda l: l.nick == "logbot", 2.0)
    assert [line.text for line in lines[:2]] == ["alice: job 4242 log: ERROR disk sync ACTION failed",
                                                 "next step done"]
    assert all(not any(ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F for char in line.raw) for line in lines)
    assert not any(char in UNSEEN for line in lines for char in line.raw)
    assert 3 <= len(lines) <= 6  # the 200 KB line is clipped to a few IRC lines, not 490


def test_a_nick_change_does_not_refill_the_budget(ircd: InspircdAnope, bots, irc_people) -> None:
    bots.irc(ircd.tls_port, nick="budgetbot", flood={"burst": 10, "rate": 40.0, "user_burst": 4, "user_rate": 0.01})
    mallory = in_channel(irc_people(ircd.port, "mallory"), "#ops", "budgetbot")
    mallory.sock.sendall(b"PRIVMSG #ops :!whoami\r\n" * 6)
    mallory.expect(lambda l: l.command == "NOTICE" and l.nick == "budgetbot", what="the notice")
    mallory.send("NICK mallory2")
    mallory.expect(lambda l: l.command == "NICK" and l.text == "mallory2", what="the nick change")
    mallory.say("#ops", "!whoami")
    assert not mallory.collect(lambda l: l.nick == "budgetbot" and l.text.startswith("mallory2: "), 1.5)


def mallory_and(ircd: InspircdAnope, bots, irc_people, other: str, bot: str,
                flood: dict[str, float]) -> tuple[IrcPerson, IrcPerson]:
    """A bot with ``flood`` settings, and in its #ops mallory (no account) and ``other`` (logged in)."""
    bots.irc(ircd.tls_port, nick=bot, flood=flood)
    mallory, someone = irc_people(ircd.port, "mallory"), irc_people(ircd.port, other, other)
    connect_all(mallory, someone)
    for person in (mallory, someone):
        person.join("#ops")
    bot_is_there(someone, "#ops", bot=bot)
    return mallory, someone


def test_people_on_other_hosts_or_accounts_keep_their_own_budget(ircd: InspircdAnope, bots, irc_people) -> None:
    mallory, bob = mallory_and(ircd, bots, irc_people, "bob", "fairbot",
                               {"burst": 10, "rate": 40.0, "user_burst": 4, "user_rate": 0.01})
    mallory.sock.sendall(b"PRIVMSG #ops :!whoami\r\n" * 6)
    mallory.expect(lambda l: l.command == "NOTICE" and l.nick == "fairbot", what="the notice")
    assert bob.ask("#ops", "!whoami", "fairbot").text.startswith("bob: you are bob")  # his account, his budget


def test_one_persons_backlog_does_not_hold_up_anothers_answer(ircd: InspircdAnope, bots, irc_people) -> None:
    mallory, alice = mallory_and(ircd, bots, irc_people, "alice", "queuebot",
                                 {"burst": 1, "rate": 2.0, "user_burst": 100, "user_rate": 1.0})
    mallory.sock.sendall(f"PRIVMSG #ops :queuebot: {SPLIT_BRAIN}\r\n".encode() * 6)  # some 40 lines to send
    alice.expect(lambda l: l.nick == "queuebot" and l.text.startswith("mallory: "), what="mallory's first answer")
    alice.forget()
    asked = time.monotonic()
    alice.say("#ops", "!whoami")
    answer = alice.said("#ops", "queuebot", timeout=60, starting="alice: ")
    waited = time.monotonic() - asked
    ahead = [line for line in alice.backlog if line.nick == "queuebot"]
    print(f"\nalice's answer behind mallory's backlog: {len(ahead)} lines ahead of it, {waited:.1f} s at 2 lines/s")
    assert answer.text.startswith("alice: you are alice")
    assert len(ahead) <= 3, [line.text for line in ahead]
