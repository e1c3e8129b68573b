"""Hostile text and careless configuration on XMPP, through Prosody: control
characters that would make XML no server accepts, a room written with capitals,
lines with invisible characters. Each test has a bot (``bot2``) of its own."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest

from bot.core.message import Reply
from bot.core.registry import Invocation
from bot.transports.flood import SHED

from .common import UNSEEN, ask_direct, ask_room, in_room

pytestmark = pytest.mark.servers

JOB_LOG = (f"job 4242 log: \x1b[1;31mERROR\x1b[0m disk\x07{UNSEEN} sync \x01failed\x01\x00\r\n"
           f"next step\x0b\x1b]0;owned\x07 {UNSEEN}done\ufffe")


def own_bot(bots, prosody, secrets, app=None, **overrides):
    return bots.xmpp(prosody.port, app, jid="bot2@localhost", password_file=str(secrets / "xmpp-bot2"), **overrides)


def test_control_characters_from_a_job_log_do_not_break_the_stream(
        bots, prosody, secrets, aloop, xmpp_people, make_app) -> None:
    app = make_app()

    async def job(call: Invocation) -> Reply:
        return Reply.of(JOB_LOG)

    app.dispatcher.registry.command("joblog", summary="a job log, as a cluster returns it")(job)
    own_bot(bots, prosody, secrets, app, rooms=["joblog@conference.localhost"])
    alice = in_room(aloop, xmpp_people("alice"), "joblog@conference.localhost", "alice")  # the bot is online
    assert ask_direct(aloop, alice, "bot2@localhost", "!joblog") == ["job 4242 log: ERROR disk sync failed",
                                                                      "next step done"]
    # Still the same stream: the server did not drop it, and the next line is answered at once.
    assert ask_direct(aloop, alice, "bot2@localhost", "!whoami")[0].startswith("you are alice@localhost")


def test_a_room_written_with_capitals_is_joined_and_answered(bots, prosody, secrets, aloop, xmpp_people) -> None:
    own_bot(bots, prosody, secrets, rooms=["Capitals@Conference.Localhost"])
    room = "capitals@conference.localhost"
    alice = in_room(aloop, xmpp_people("alice"), room, "alice")
    assert ask_room(aloop, alice, room, "alice", "\u200b!whoami") == [
        "alice: you are alice, verified as xmpp:alice@localhost; an operator."]


def test_pages_are_dropped_when_their_holder_leaves_the_room(bots, prosody, secrets, aloop, xmpp_people) -> None:
    own_bot(bots, prosody, secrets, rooms=["pages@conference.localhost"])
    room = "pages@conference.localhost"
    alice = in_room(aloop, xmpp_people("alice"), room, "alice")
    first = ask_room(aloop, alice, room, "alice", "gntbot: how do i recover from a drbd split brain")
    assert first[-1].endswith("more lines: !more)")
    aloop.run(alice.leave(room, "alice"))
    alice = in_room(aloop, alice, room, "alice")
    assert ask_room(aloop, alice, room, "alice", "!more") == ["alice: nothing more to show."]


def _claiming_a_room(person, to: str, text: str) -> None:
    """A direct message that carries a muc#user element, as if it came through a room."""
    message = person.client.make_message(mto=to, mbody=text, mtype="chat")
    message.append(ElementTree.Element("{http://jabber.org/protocol/muc#user}x"))
    message.send()


def test_a_direct_message_dressed_as_a_room_message_is_still_from_its_sender(
        bots, prosody, secrets, aloop, xmpp_people) -> None:
    own_bot(bots, prosody, secrets, rooms=["dressed@conference.localhost"], ignore=["bob@localhost"])
    alice = in_room(aloop, xmpp_people("alice"), "dressed@conference.localhost", "alice")  # the bot is online
    bob = xmpp_people("bob")
    _claiming_a_room(alice, "bot2@localhost", "!whoami")
    reply = aloop.run(alice.expect(lambda m: m["type"] == "chat" and m["from"].bare == "bot2@localhost"))
    assert reply["body"] == "you are alice@localhost, verified as xmpp:alice@localhost; an operator."
    _claiming_a_room(bob, "bot2@localhost", "!whoami")  # bob is on the ignore list
    bob.tell("bot2@localhost", "!whoami")
    assert [m["body"] for m in aloop.run(bob.messages_during(3)) if m["from"].bare == "bot2@localhost"] == []


def test_answers_waiting_for_a_room_are_bounded_and_the_room_is_told_once(
        bots, prosody, secrets, aloop, xmpp_people) -> None:
    room = "backlog@conference.localhost"
    own_bot(bots, prosody, secrets, rooms=[room],
            flood={"burst": 1, "rate": 0.1, "user_burst": 100, "user_rate": 1.0})  # at most 4 answers wait
    alice = in_room(aloop, xmpp_people("alice"), room, "alice")
    for n in range(12):
        alice.say(room, f"!whoami {n}")
    got = [m["body"] for m in aloop.run(alice.messages_during(4)) if m["type"] == "groupchat" and m["mucnick"] != "alice"]
    assert got.count(SHED) == 1, got
    assert len(got) <= 3, got  # the shed notice and the first answer or two, not twelve queued for two minutes
