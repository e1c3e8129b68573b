"""!drain and !migrate-back on the real Ganeti lab, through the real Application and its campaigns.

node3 holds inst1 (diskless) and inst5 (sharedfile), both running, and inst4
(diskless, stopped). A drain moves the two running ones off (each child job
reported, inst4's failing as Ganeti fails it for a stopped instance), drains
the node and tells a campaign of its own; the node is then "rebooted" (every
daemon stopped, then started with a new boot id), the campaign sees it go and
come back, and a migrate-back brings the two home and undrains the node.
Every refusal asserts that the cluster's job list did not grow.

The lab has no DRBD: the disk checks of a migrate-back are tested against
the fake RAPI (test_migrate_back_disks.py).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

import pytest
from actionkit import (
    ALICE,
    BOB,
    CAROL,
    DOMAIN,
    Bot,
    cluster_table,
    write_config,
)

pytestmark = pytest.mark.lab

ACTIONS = """
[actions]
enabled = ["drain", "migrate-back", "migrate"]
requesters = ["@ops"]
poll_seconds = 0.3
poll_max_seconds = 2
[actions.drain]
confirmation = "second"
[campaigns]
line_interval = 0
hold_seconds = 0.3
watch_seconds = 0.5
silence_seconds = 0
"""


@pytest.fixture(scope="module")
def bot(action_lab, tmp_path_factory, loop) -> Iterator[Bot]:
    folder = tmp_path_factory.mktemp("drain")
    running = Bot(write_config(folder, cluster_table("lab", action_lab, folder), ACTIONS), loop, campaigns=True)
    yield running
    running.close()


@pytest.fixture
def node3_loaded(view, action_lab) -> Iterator[None]:
    """inst1 and inst5 running on node3, inst4 stopped there, inst3 elsewhere; inst1 put back afterwards."""
    view.place("inst3", "node2")
    view.place("inst1", "node3")
    view.place("inst5", "node3")
    view.place_stopped("inst4", "node3")
    yield
    with contextlib.suppress(Exception):  # whatever the test left: the node up and undrained, inst1 home
        action_lab.boot("node3")
    if view.role("node3") == "D":
        view.wait(view.operator.set_drained("node3" + DOMAIN, False, reason="test cleanup"))
    view.place("inst1", "node1")


def part(pattern: str) -> str:
    """``pattern`` as one of the things a line says: the jobs that end in one poll round share a line."""
    return rf"(?:^|; ){pattern}(?:; |$)"


def campaign_lines(bot: Bot, campaign: str) -> list[str]:
    """What the campaign said in #ops, in order (its START names it; the rest carry its tag)."""
    lines = [said.text for said in bot.said if said.target == "#ops"]
    start = next(i for i, line in enumerate(lines) if f"campaign {campaign}" in line and " START " in line)
    return [line for line in lines[start:] if line.startswith("[reboot")]


def test_drain_reboot_and_migrate_back_end_to_end(bot, view, action_lab, node3_loaded):
    with view.nothing_submitted():  # a plan is only words: the drain has no dry run to submit
        plan = bot.text(ALICE, "!drain node3 -- T42 kernel upgrade")
    token = re.search(r"confirm (\w{5})", plan).group(1)
    campaign = f"drain-node3-{token}"
    assert re.fullmatch(
        r"drain node3 @lab: 2 instances move: inst1 → hail's choice \(512M\), inst5 → hail's choice \(768M\); "
        r"stay: inst4 \(ADMIN_down: not migrated, !failover moves it\); node3 is drained \(nothing new is placed "
        r"on it; it stops being a master candidate, Ganeti promotes another if the pool needs one\); "
        r"N\+1 afterwards: met \(node1 \S+ free, node2 \S+ free\); "
        rf"told in a campaign of its own, {campaign} — !confirm {token} by another person than you within 120 s "
        rf"\(!cancel {token} to drop it\)", plan), plan

    with view.nothing_submitted():  # unconfirmed, by the requester herself, by someone who may not
        assert bot.say(ALICE, f"!confirm {token}")[0].startswith("not confirmed: drain needs a second person")
        assert bot.say(CAROL, f"!confirm {token}") == ["refused: irc:carol may neither request nor confirm actions here."]
        assert bot.say(ALICE, "!migrate-back node3")[0].startswith(
            f"not planned: drain node3.ganeti.test ({token}, asked by alice) waits for confirmation")

    submitted = bot.text(BOB, f"!confirm {token}")
    migrate_job, drain_job = map(int, re.match(
        r"drain node3.ganeti.test @lab: submitted as jobs (\d+), (\d+); the outcome will be said here", submitted).groups())
    outcome = bot.outcome(token)
    children = part(r"drain node3 @lab: Ganeti submitted 3 instance job\(s\): (\d+), (\d+), (\d+)")
    child_ids = re.search(children, bot.wait_for(children).text).groups()
    for job_id in child_ids:  # each child job reported, in Ganeti's words when it failed
        bot.wait_for(part(rf"inst(1|5): done \([^)]*, job {job_id}\)") + "|" + part(
            rf"inst4: FAILED \(job {job_id}\): OpPrereqError: Can't migrate, please use failover: Instance "
            rf"inst4{DOMAIN} is not running \[wrong_state\]"))
    bot.wait_for(part(rf"node3 drained \([^)]*, job {drain_job}\)"))
    assert re.fullmatch(
        rf"drain node3 @lab finished: 2 of 3 instance job\(s\) succeeded \(job {migrate_job}\); "
        r"moved: inst1 → node[12], inst5 → node[12]; inst4: FAILED \(job \d+\): OpPrereqError: .*; "
        rf"node3 is primary of inst4; node3 drained \(.*, job {drain_job}\); "
        r"reboot it now; then !migrate-back node3 brings back inst1, inst5", outcome), outcome
    assert view.primaries("node3") == [f"inst4{DOMAIN}"] and view.role("node3") == "D"
    # the drain did what it planned (inst4's child fails by design): it counts as succeeded
    assert bot.metric("gntbot_actions_total", action="drain", outcome="succeeded") == 1
    # gnt-job info says who asked, who confirmed, and why, on both jobs
    for job_id in (migrate_job, drain_job):
        assert view.job(job_id)["ops"][0]["reason"][0][1] == (
            f"gntbot({token}): alice+bob in irc:#ops: drain node3{DOMAIN} [T42 kernel upgrade]")
    assert view.job(drain_job)["ops"][0]["depends"] == [[migrate_job, ["success"]]]

    with view.nothing_submitted():  # the master, a node nothing was remembered of, a node that is down
        assert bot.text(ALICE, "!drain node1").startswith("not planned: node1.ganeti.test is the master node")
        assert bot.text(ALICE, "!migrate-back node2") == (
            "not planned: nothing is remembered of node2's instances: no running reboot campaign emptied it "
            "(!drain node2 remembers them, and so does the bot's watch over a campaign of the reboot tooling)")
        action_lab.shut_down("node3")
        bot.wait_for(r"node3.ganeti.test: 2 instances migrated off, down, waiting for it to come back")
        # The cluster watcher has looked at the jobs again since they ended (it does so before it can see
        # a node go down). inst4's failure belongs to the drain that submitted it: the requester's lines say
        # it, the round's and the outcome; the campaign, which follows the same node, does not say it again.
        told = [said.text for said in bot.said if "please use failover" in said.text]
        assert told == [next(text for text in told if re.search(r"(?:^|; )inst4: FAILED \(job", text)),
                        f"alice: {outcome}"], told
        assert not [line for line in campaign_lines(bot, campaign) if "could not migrate" in line]
        assert bot.text(ALICE, "!migrate-back node3").startswith(
            "not planned: node3.ganeti.test does not answer (down, or its node daemon is stopped)")
    action_lab.boot("node3")
    back = bot.wait_for(r"^\[reboot 1/1 0%\] alice: node3.ganeti.test: back up after \d+s down: "
                        r"!migrate-back node3 brings back inst1, inst5$")  # its owner named: time to act
    assert back.target == "#ops"

    plan = bot.text(ALICE, "!migrate-back node3")
    assert re.fullmatch(
        r"migrate-back node3 @lab: 2 instances come back: inst1 \(from node[12], 512M\), inst5 \(from node[12], "
        r"768M\); stay: inst4 \(ADMIN_down on it already\); node3 is undrained first; "
        rf"remembered by campaign {campaign}; N\+1 afterwards: met \(.*\) — !confirm (\w{{5}}) within 120 s .*",
        plan), plan
    back_token = re.search(r"confirm (\w{5})", plan).group(1)
    undrain, *migrations = map(int, re.match(r".*submitted as jobs (\d+), (\d+), (\d+);",
                                             bot.text(ALICE, f"!confirm {back_token}")).groups())
    outcome = bot.outcome(back_token)
    assert re.fullmatch(rf"migrate-back node3 @lab finished: 2 of 2 instance\(s\) back on node3: inst1, inst5; "
                        rf"node3 undrained \(.*, job {undrain}\)", outcome), outcome
    for job_id in migrations:
        bot.wait_for(part(rf"inst[15]: done \([^)]*, job {job_id}\)"))
        assert view.job(job_id)["ops"][0]["depends"] == [[undrain, ["success"]]]
    assert view.primaries("node3") == [f"inst{n}{DOMAIN}" for n in (1, 4, 5)]
    assert view.role("node3") == "C"  # undrained, and Ganeti made it a master candidate again

    bot.wait_for(rf"^\[reboot\] END \(PASS\) campaign {campaign} after ")
    lines = campaign_lines(bot, campaign)
    assert lines[0].startswith(f"[reboot] START alice: reboot of 1 host (instances migrated off and back), reason: "
                               f"T42 kernel upgrade — campaign {campaign}, in irc:#ops — no ETA yet")
    assert not [line for line in lines if "boot id did not change" in line]  # a real reboot, as far as Ganeti sees
    done = next(line for line in lines if " done in " in line)
    assert re.match(r"\[reboot 1/1 100%\] node3.ganeti.test done in \S+ \(down \S+\), 2 instances migrated back$",
                    done), lines
    assert lines[-1].endswith(": 1 succeeded, 0 failed, 0 skipped, 0 untouched")
    assert bot.audit_steps(back_token) == ["plan", "confirm", "recheck", "submit", "job", "job", "job", "outcome"]


def test_a_migrate_back_onto_a_node_undrained_meanwhile_and_a_drain_of_an_empty_node_are_one_job_each(bot, view):
    """The other shapes of the two actions, each told from its one job: the migration alone
    (someone undrained the node by hand), the drained flag alone (nothing on the node to move)."""
    view.place("inst1", "node1")
    view.place("inst3", "node2")
    view.place_stopped("inst4", "node2")
    view.place("inst5", "node3")
    try:
        token = bot.plan(ALICE, "!drain node3")
        bot.say(BOB, f"!confirm {token}")
        assert "1 of 1 instance job(s) succeeded" in bot.outcome(token)
        view.wait(view.operator.set_drained("node3" + DOMAIN, False, reason="test: undrained by hand"))

        plan = bot.text(ALICE, "!migrate-back node3")
        assert re.match(rf"migrate-back node3 @lab: 1 instance comes back: inst5 \(from node[12], 768M\); "
                        rf"remembered by campaign drain-node3-{token}; N\+1 afterwards: ", plan), plan
        back = re.search(r"confirm (\w{5})", plan).group(1)
        job_id = int(re.match(r".*: submitted as job (\d+);", bot.text(ALICE, f"!confirm {back}")).group(1))
        assert bot.outcome(back) == "migrate-back node3 @lab finished: 1 of 1 instance(s) back on node3: inst5"
        assert not view.job(job_id)["ops"][0].get("depends")  # no undrain to wait for
        assert view.primaries("node3") == [f"inst5{DOMAIN}"]
        bot.wait_for(rf"^\[reboot\] END \(PASS\) campaign drain-node3-{token} after ")

        view.place("inst5", "node2")
        plan = bot.text(ALICE, "!drain node3")
        assert plan.startswith("drain node3 @lab: no instance moves; node3 is drained (nothing new is placed on it"), plan
        empty = re.search(r"confirm (\w{5})", plan).group(1)
        job_id = int(re.match(r".*: submitted as job (\d+);", bot.text(BOB, f"!confirm {empty}")).group(1))
        assert re.fullmatch(rf"drain node3 @lab finished: node3 drained \(\d+\.\d s, job {job_id}\)",
                            bot.outcome(empty))
        assert view.role("node3") == "D"
    finally:
        if view.role("node3") == "D":
            view.wait(view.operator.set_drained("node3" + DOMAIN, False, reason="test cleanup"))


def test_an_unconfirmed_drain_expires_and_submits_nothing(action_lab, tmp_path, loop, view):
    config = ACTIONS.replace("[actions.drain]", "window_seconds = 1\n[actions.drain]")
    quick = Bot(write_config(tmp_path, cluster_table("lab", action_lab, tmp_path), config), loop, campaigns=True)
    try:
        with view.nothing_submitted():
            token = quick.plan(ALICE, "!drain node2")
            quick.wait_for(rf"^alice: {token} expired: drain node2 @lab: .* was not confirmed in time; nothing was done$")
            assert quick.say(BOB, f"!confirm {token}") == [f"not confirmed: {token} is not waiting any more: it was expired"]
        assert view.role("node2") == "C"
        assert not [said for said in quick.said if "START" in said.text]  # no campaign for what never ran
    finally:
        quick.close()
