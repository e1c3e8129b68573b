"""A node's reboot driven by the bot, through one real ``gntbot run`` on the real IRC server and
the real lab: !drain confirmed, the campaign told in the channel, the node "rebooted" (its daemons
stopped and started with a new boot id), seen back, !migrate-back confirmed, END."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from .test_run import running_bot, write_config

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "actions"))  # the action tests' kit
from actionkit import DOMAIN, LabView, cluster_table

pytestmark = [pytest.mark.servers, pytest.mark.lab]


def test_drain_reboot_and_migrate_back_told_on_irc(ircd, prosody, certs, secrets, tmp_path, irc_people,
                                                   action_lab) -> None:
    view = LabView(action_lab)
    view.place("inst3", "node2")
    view.place("inst5", "node3")
    view.place_stopped("inst4", "node3")
    extra = cluster_table("lab", action_lab, tmp_path) + """
[people]
alice = ["irc:alice"]

[actions]
enabled = ["drain", "migrate-back"]
requesters = ["alice"]
poll_seconds = 0.3

[campaigns]
rooms = ["irc:#run"]
line_interval = 0.2
hold_seconds = 0.3
watch_seconds = 1
silence_seconds = 0
"""
    config = write_config(tmp_path, ircd, prosody, certs, secrets, extra=extra)
    log = tmp_path / "gntbot.log"
    with running_bot(config, log):
        alice = irc_people(ircd.port, "alice", "alice").registered()
        alice.join("#run")
        alice.expect(lambda l: l.command == "JOIN" and l.nick == "runbot", 20, "runbot joining #run")

        def said(pattern: str, timeout: float = 120) -> str:
            return alice.expect(lambda l: l.command == "PRIVMSG" and l.nick == "runbot" and l.params[0] == "#run"
                                and re.search(pattern, l.text) is not None, timeout, f"a line like {pattern!r}").text

        def token_of(plan: str) -> str:
            """The plan's token: in its first line, or in the rest of a plan too long for one line."""
            found = re.search(r"!confirm (\w{5}) (by|within)", plan) or re.search(
                r"!confirm (\w{5}) (by|within)", said(r"!confirm \w{5} (by|within)"))
            return found.group(1)

        plan = alice.ask("#run", "!drain node3 -- e2e kernel", "runbot", timeout=60).text
        assert plan.startswith("alice: drain node3 @lab: 1 instance moves: inst5 → hail's choice (768M); "
                               "stay: inst4 (ADMIN_down: not migrated, !failover moves it); node3 is drained")
        token = token_of(plan)
        alice.say("#run", f"!confirm {token}")
        said(r"^alice: drain node3.ganeti.test @lab: submitted as jobs \d+, \d+;")
        said(rf"^\[reboot\] START alice: reboot of 1 host .* campaign drain-node3-{token}, in irc:#run")
        said(r"^alice: drain node3 @lab finished: 1 of 2 instance job\(s\) succeeded")

        action_lab.shut_down("node3")
        said(r"^\[reboot 1/1 0%\] node3.ganeti.test: 1 instance migrated off, down, waiting for it to come back")
        action_lab.boot("node3")
        said(r"^\[reboot 1/1 0%\] alice: node3.ganeti.test: back up after \d+s down: !migrate-back node3 brings "
             r"back inst5$")

        plan = alice.ask("#run", "!migrate-back node3", "runbot", timeout=60).text
        assert plan.startswith("alice: migrate-back node3 @lab: 1 instance comes back: inst5 (from node")
        alice.say("#run", f"!confirm {token_of(plan)}")
        said(r"^alice: migrate-back node3 @lab finished: 1 of 1 instance\(s\) back on node3: inst5; node3 undrained")
        said(r"^\[reboot 1/1 100%\] node3.ganeti.test done in \S+ \(down \S+\), 1 instance migrated back$")
        said(rf"^\[reboot\] END \(PASS\) campaign drain-node3-{token} after \S+: 1 succeeded, 0 failed")
    assert view.primaries("node3") == [f"inst4{DOMAIN}", f"inst5{DOMAIN}"] and view.role("node3") == "C"
    assert "operator-secret" not in log.read_text()
