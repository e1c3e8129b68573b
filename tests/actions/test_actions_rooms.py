"""Who is told what, and where: outcomes of private requests go to the verified
account, a plan is cancelled only in its room, and a private plan is not shown in
a room. The fake RAPI answers as the lab did; nothing here reaches a write."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from actionkit import BOB, ROOM, Bot, faked

from bot.core.message import Identity

BOB_IN_PRIVATE_VIA_ROOM = Identity("xmpp", "bobby", "bob@localhost")  # the room nick, and the real JID
ACTIONS = '[actions]\nrequesters = ["@ops"]\nwindow_seconds = 2\n[access]\nreaders = ["@ops"]\n'


@pytest.fixture
def bot(server, tls, tmp_path, loop) -> Iterator[Bot]:
    with faked(server.url, tls.fingerprint, tmp_path, loop, ACTIONS) as running:
        yield running


def steps(bot: Bot, token: str) -> list[tuple[str, str | None]]:
    lines = bot.config.actions.audit_file.read_text().splitlines()
    return [(entry["step"], entry.get("step_of")) for entry in map(json.loads, lines) if entry.get("token") == token]


def test_an_outcome_asked_for_in_private_over_xmpp_goes_to_the_real_jid_not_the_room_nick(bot):
    token = bot.plan(BOB_IN_PRIVATE_VIA_ROOM, "!activate-disks inst5", room=None)
    said = bot.wait_for(rf"^bobby: {token} expired", timeout=15, realm="xmpp")
    assert said.target == "bob@localhost"


def test_a_private_request_on_irc_is_refused_its_outcome_could_only_go_to_a_nick(bot):
    reply = bot.text(BOB, "!activate-disks inst5", room=None)
    assert reply == ("not planned: on irc the bot could tell you the outcome in private only by your nick, and a "
                     "nick can change hands meanwhile: ask in the team's room")
    assert "no action waits" in bot.text(BOB, "!pending", room=None)


@pytest.mark.parametrize("room", ["#elsewhere", None], ids=["another room", "in private"])
def test_a_plan_is_cancelled_only_in_its_room_and_a_refusal_is_audited(bot, room):
    token = bot.plan(BOB, "!activate-disks inst5")
    assert bot.text(BOB, f"!cancel {token}", room=room) == (
        f"not cancelled: {token} was asked for in irc:#ops: cancel it there")
    assert ("refused", "cancel") in steps(bot, token)
    assert f"{token} waits for !confirm" in bot.text(BOB, "!pending")
    assert bot.text(BOB, f"!cancel {token}", room=ROOM).startswith(f"cancelled {token}")


def test_pending_shows_a_private_plan_in_a_room_only_as_what_it_holds(bot):
    token = bot.plan(BOB_IN_PRIVATE_VIA_ROOM, "!activate-disks inst5", room=None)
    in_room = bot.text(BOB, "!pending")
    assert in_room == "a request made in private holds inst5.ganeti.test @gnt-fsn"
    assert token not in in_room
    assert bot.text(BOB_IN_PRIVATE_VIA_ROOM, "!pending", room=None).startswith(f"{token} waits for !confirm")
