"""A confirmed action end to end: asked on IRC, confirmed on XMPP, done on the real lab,
announced on IRC, all through one real ``gntbot run`` process."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from .test_run import ROOM, alice_in_both_rooms, running_bot, write_config

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "actions"))  # the action tests' kit
from actionkit import DOMAIN, LabView, cluster_table

pytestmark = [pytest.mark.servers, pytest.mark.lab]


def test_asked_on_irc_confirmed_on_xmpp_by_the_same_person_done_and_announced_on_irc(
        ircd, prosody, certs, secrets, tmp_path, irc_people, xmpp_people, aloop, action_lab) -> None:
    view = LabView(action_lab)
    view.place("inst3", "node2")
    extra = cluster_table("lab", action_lab, tmp_path) + f"""
[people]
alice = ["irc:alice", "xmpp:alice@localhost"]

[actions]
requesters = ["alice"]
poll_seconds = 0.3
linked_rooms = [["irc:#run", "xmpp:{ROOM}"]]
"""
    config = write_config(tmp_path, ircd, prosody, certs, secrets, extra=extra)
    log = tmp_path / "gntbot.log"
    with running_bot(config, log):
        alice, xalice = alice_in_both_rooms(ircd, irc_people, xmpp_people, aloop)

        plan = alice.ask("#run", "!migrate inst3 node3 -- e2e", "runbot", timeout=60).text
        assert plan.startswith("alice: migrate inst3 @lab: node2 → node3 (live, 256M) — !confirm ")
        token = re.search(r"confirm (\w{5})", plan).group(1)

        xalice.say(ROOM, f"!confirm {token}")
        submitted = aloop.run(xalice.expect(
            lambda m: m["type"] == "groupchat" and m["body"].startswith("alice: migrate inst3"), 60))
        job_id = re.search(r"submitted as job (\d+)", submitted["body"]).group(1)

        done = alice.expect(lambda l: l.command == "PRIVMSG" and l.nick == "runbot" and "done: now on" in l.text,
                            90, "the outcome on IRC")
        assert done.params[0] == "#run"
        assert done.text.startswith("alice: migrate inst3 @lab done: now on node3 ") and f"job {job_id})" in done.text
    assert view.primary("inst3") == "node3" + DOMAIN
    reason = view.job(int(job_id))["ops"][0]["reason"][0][1]
    assert reason == f"gntbot({token}): alice in irc:#run: migrate inst3{DOMAIN} node2{DOMAIN}->node3{DOMAIN} [e2e]"
    assert "operator-secret" not in log.read_text()
