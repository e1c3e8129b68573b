"""Confirmed actions against the real Ganeti lab, through the real Application.

The lab is one of its own (``action_lab``): these tests move instances and stop
a node daemon. Each test reads where things are first and does not rely on
what an earlier test left. Every refusal asserts that the cluster's job list
did not grow: nothing was submitted, not even a dry run.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from actionkit import (
    ALICE,
    ALICE_XMPP,
    BOB,
    CAROL,
    DOMAIN,
    MALLORY,
    ROOM,
    Bot,
    cluster_table,
    write_config,
)

pytestmark = pytest.mark.lab

ACTIONS = """
[actions]
enabled = ["migrate", "failover", "activate-disks", "node-migrate"]
requesters = ["@ops"]
poll_seconds = 0.3
poll_max_seconds = 2
progress_seconds = 2
linked_rooms = [["irc:#ops", "xmpp:ops@conference.localhost"]]
[actions.failover]
confirmation = "second"
"""
XMPP_ROOM = "ops@conference.localhost"


@pytest.fixture(scope="module")
def bot(action_lab, tmp_path_factory, loop) -> Iterator[Bot]:
    folder = tmp_path_factory.mktemp("bot")
    running = Bot(write_config(folder, cluster_table("lab", action_lab, folder), ACTIONS), loop)
    yield running
    running.close()


@pytest.fixture(scope="module")
def twin_bot(action_lab, tmp_path_factory, loop) -> Iterator[Bot]:
    """The lab configured twice, the second time without a write user; confirmations wait 2 s."""
    folder = tmp_path_factory.mktemp("twin")
    clusters = cluster_table("lab", action_lab, folder) + cluster_table("mirror", action_lab, folder, write=False)
    running = Bot(write_config(folder, clusters, '[actions]\nrequesters = ["@ops"]\nwindow_seconds = 2'), loop)
    yield running
    running.close()


def test_a_live_migrate_of_a_sharedfile_instance_runs_after_confirmation_and_is_announced(bot, view):
    source = view.primary("inst3")
    target = view.other_node(source)
    token = bot.plan(ALICE, f"!migrate inst3 {target} -- T1234 rebalancing")
    reply = bot.text(ALICE, "!pending")
    assert f"migrate inst3 @lab: {source.split('.')[0]} → {target} (live, 256M)" in reply
    assert token in reply and "waits for !confirm" in reply
    submitted = bot.text(ALICE, f"!confirm {token}")
    job_id = int(re.search(r"submitted as job (\d+)", submitted).group(1))
    assert bot.outcome(token).startswith(f"migrate inst3 @lab done: now on {target} ")
    said = bot.wait_for(rf"^alice: migrate inst3 @lab done: now on {target} \(done in .* job {job_id}\)$")
    assert said.target == ROOM  # in the room it was asked in, the requester highlighted
    assert view.primary("inst3") == target + DOMAIN
    # gnt-job info on the cluster says who did it, where and why
    reason = view.job(job_id)["ops"][0]["reason"][0]
    assert reason[:2] == ["gnt:user", (f"gntbot({token}): alice in irc:#ops: migrate inst3{DOMAIN} "
                                      f"{source}->{target}{DOMAIN} [T1234 rebalancing]")]
    assert bot.audit_steps(token) == ["plan", "confirm", "recheck", "submit", "job", "outcome"]
    assert bot.metric("gntbot_actions_total", action="migrate", outcome="succeeded") >= 1
    assert bot.metric("gntbot_action_job_duration_seconds_count", action="migrate") >= 1
    assert bot.metric("gntbot_actions_pending", action="migrate") == 0


def test_without_a_node_the_iallocator_picks_and_the_plan_names_its_choice(bot, view):
    source = view.primary("inst3")
    token = bot.plan(ALICE, "!migrate inst3")
    chosen = re.search(rf"{source.split('.')[0]} → (node\d) \(live", bot.text(ALICE, "!pending")).group(1)
    bot.say(ALICE, f"!confirm {token}")
    assert bot.outcome(token).startswith(f"migrate inst3 @lab done: now on {chosen} ")


def test_a_long_job_says_how_it_is_doing_in_a_few_lines_not_one_per_poll(bot, view, action_lab):
    source = view.primary("inst3")
    target = view.other_node(source)
    token = bot.plan(ALICE, f"!migrate inst3 {target}")
    action_lab.run("node1", "gnt-debug", "delay", "--submit", "-n", source, "12")  # the job waits behind this
    job_id = re.search(r"job (\d+)", bot.text(ALICE, f"!confirm {token}")).group(1)
    started = len(bot.said)
    bot.outcome(token)
    lines = [said.text for said in bot.said[started:] if f"job {job_id}" in said.text]
    progress = [line for line in lines if line.startswith(f"migrate inst3 @lab: job {job_id} ")]
    # about 12 s of waiting, polled every 2 s at most: progress after 2, 4 and 8 s, then the outcome
    assert 1 <= len(progress) <= 4, lines
    assert all(re.match(rf"migrate inst3 @lab: job {job_id} (queued|waiting|running)( for |, not started yet)", line) for line in progress)
    assert lines[-1].startswith(f"alice: migrate inst3 @lab done: now on {target} ")


def test_a_file_instance_is_refused_at_preflight(bot, view):
    with view.nothing_submitted():
        reply = bot.text(ALICE, "!migrate inst2")
    assert reply == ("not planned: inst2.ganeti.test has file disks, which live on node1.ganeti.test only: it "
                     "cannot migrate (Ganeti would refuse too). Move its disks first (gnt-instance move).")


def test_activate_disks_runs_and_reports_where(bot, view):
    node = view.primary("inst5").split(".")[0]
    token = bot.plan(BOB, "!activate-disks inst5 -- disk/1 is degraded")
    assert bot.say(BOB, f"!confirm {token}")[0].startswith("activate-disks inst5.ganeti.test @lab: submitted as job ")
    assert bot.outcome(token).startswith(f"activate-disks inst5 @lab: disks active on {node} (done in ")
    bot.wait_for(rf"^bob: activate-disks inst5 @lab: disks active on {node}")


def test_node_migrate_empties_a_node_and_reports_each_child_job(bot, view):
    view.place("inst3", "node3")
    view.place("inst5", "node3")
    view.place_stopped("inst4", "node2")
    plan = bot.say(ALICE, "!node-migrate node3 -- kernel upgrade")[0]
    assert plan.startswith("node-migrate node3 @lab: 2 instances move: inst3 → hail's choice (256M), "
                           "inst5 → hail's choice (768M); N+1 afterwards: met (node1 ")
    token = re.search(r"confirm (\w{5})", plan).group(1)
    bot.say(ALICE, f"!confirm {token}")
    outcome = bot.outcome(token)
    children = bot.wait_for(r"^node-migrate node3 @lab: Ganeti submitted 2 instance job\(s\): (\d+), (\d+)$")
    for job_id in re.findall(r"\d+", children.text.split(":", 2)[2]):
        bot.wait_for(rf"(^|; )inst[35]: done \([^)]*, job {job_id}\)(;|$)")  # those of one round on one line
    assert re.match(r"node-migrate node3 @lab finished: 2 of 2 instance job\(s\) succeeded \(job \d+\); "
                    r"moved: inst3 → node[12], inst5 → node[12]; node3 is primary of nothing$", outcome)
    assert view.primaries("node3") == []


def test_a_child_job_that_fails_is_reported_with_ganetis_own_words(bot, view):
    view.place("inst3", "node2")
    view.place("inst5", "node3")
    view.place_stopped("inst4", "node2")
    plan = bot.say(BOB, "!node-migrate node2")[0]
    assert "1 instance moves: inst3" in plan and "stay: inst4 (ADMIN_down: not migrated, !failover moves it)" in plan
    token = re.search(r"confirm (\w{5})", plan).group(1)
    bot.say(BOB, f"!confirm {token}")
    outcome = bot.outcome(token)
    assert "1 of 2 instance job(s) succeeded" in outcome
    assert re.search(r"inst4: FAILED \(job \d+\): OpPrereqError: Can't migrate, please use failover: "
                     rf"Instance inst4{DOMAIN} is not running \[wrong_state\]", outcome)
    assert outcome.endswith("node2 is primary of inst4")


def test_a_migrate_away_from_a_node_whose_noded_is_stopped_fails_with_ganetis_message(bot, view, action_lab):
    view.place("inst5", "node3")
    action_lab.stop_noded("node3")
    try:
        reply = bot.text(ALICE, "!migrate inst5 node2")
    finally:
        action_lab.start_noded("node3")
    assert reply.startswith("not planned: Ganeti refuses: OpPrereqError: Can't migrate, please use failover: ")
    assert "Failed to connect to 192.0.2.13 port 1811" in reply and reply.endswith("nothing was submitted")
    deadline = time.monotonic() + 60
    while view.reader.instance("inst5" + DOMAIN)["status"] != "running":  # noded answers again
        assert time.monotonic() < deadline
        time.sleep(1)


def test_a_second_person_must_confirm_and_another_account_of_the_requester_is_not_one(bot, view):
    source = view.primary("inst4")  # stopped: a failover moves it without downtime
    plan = bot.text(ALICE, "!failover inst4")
    assert re.match(rf"failover inst4 @lab: {source.split('.')[0]} → node\d \(stopped, 0M\) — !confirm \w{{5}} "
                    "by another person than you within 120 s", plan)
    token = re.search(r"confirm (\w{5})", plan).group(1)
    with view.nothing_submitted():
        assert bot.say(ALICE, f"!confirm {token}") == [
            ("not confirmed: failover needs a second person: alice asked for it, so someone else must confirm "
            "(your other accounts are still you)")]
        # the same person on XMPP, in the room linked to #ops: still alice
        assert bot.say(ALICE_XMPP, f"!confirm {token}", room=XMPP_ROOM)[0].startswith(
            "not confirmed: failover needs a second person")
        assert bot.say(CAROL, f"!confirm {token}") == [
            "refused: irc:carol may neither request nor confirm actions here."]
    assert bot.say(BOB, f"!confirm {token}")[0].startswith("failover inst4.ganeti.test @lab: submitted as job ")
    assert bot.outcome(token).startswith("failover inst4 @lab done: now on ")
    assert view.primary("inst4") != source
    assert bot.audit_steps(token)[-5:] == ["confirm", "recheck", "submit", "job", "outcome"]


@pytest.fixture
def pending(bot, view) -> Iterator[str]:
    """A migrate of inst3 planned by alice in #ops; cancelled afterwards if still waiting."""
    token = bot.plan(ALICE, "!migrate inst3")
    yield token
    bot.say(ALICE, f"!cancel {token}")


@pytest.mark.parametrize(("who", "room", "refusal"), [
    (MALLORY, ROOM, "refused: you are not logged in to a services account."),
    (ALICE, "#elsewhere", "not confirmed: {token} was asked for in irc:#ops: confirm it there"),
    (ALICE, None, "not confirmed: {token} was asked for in irc:#ops: confirm it there"),
])
def test_a_confirmation_from_someone_unverified_another_room_or_in_private_submits_nothing(
        bot, view, pending, who, room, refusal):
    with view.nothing_submitted():
        assert bot.say(who, f"!confirm {pending}", room=room) == [refusal.format(token=pending)]


def test_an_unknown_token_and_a_reused_one_submit_nothing(bot, view):
    with view.nothing_submitted():
        assert bot.say(ALICE, "!confirm zzzzz") == [
            "not confirmed: no action waits for the token 'zzzzz' (tokens look like !confirm k7q2x)"]
    token = bot.plan(ALICE, "!activate-disks inst3")
    bot.say(ALICE, f"!confirm {token}")
    bot.outcome(token)
    with view.nothing_submitted():
        assert bot.say(BOB, f"!confirm {token}") == [
            f"not confirmed: {token} is not waiting any more: it was confirmed and done by alice"]


def test_an_expired_token_submits_nothing_and_the_room_is_told(twin_bot, view):
    token = twin_bot.plan(ALICE, "!migrate inst3 @lab")
    twin_bot.wait_for(rf"^alice: {token} expired: migrate inst3 @lab: .* was not confirmed in time; nothing was done$")
    with view.nothing_submitted():
        assert twin_bot.say(ALICE, f"!confirm {token}") == [
            f"not confirmed: {token} is not waiting any more: it was expired"]


def test_a_plan_the_cluster_no_longer_matches_is_not_submitted(bot, view, pending):
    source = view.primary("inst3")
    view.place("inst3", view.other_node(source))  # someone moved it meanwhile
    moved = view.primary("inst3")
    with view.nothing_submitted():
        reply = bot.text(ALICE, f"!confirm {pending}")
    # either a fact of the plan changed, or the plan no longer makes sense (it is already there)
    assert reply.startswith(f"not submitted: the cluster changed since the plan: inst3{DOMAIN} already runs on {moved}"
                            if reply.endswith(f"already runs on {moved}") else
                            f"not submitted: the cluster changed since the plan: inst3{DOMAIN} primary: {source}, "
                            f"now {moved}; its primary node: {source} up, now {moved} up")
    assert bot.audit_steps(pending)[-1] == "recheck"


def test_unknown_and_ambiguous_names_and_a_cluster_without_write_user_submit_nothing(bot, twin_bot, view):
    with view.nothing_submitted():
        assert bot.say(ALICE, "!migrate nosuch") == ["not planned: no instance nosuch on @lab"]
        assert bot.say(ALICE, "!migrate inst3 ../../2/nodes") == [
            "not planned: '../../2/nodes' is not a valid node name (letters, digits, '.', '-', '_')"]
        assert twin_bot.say(ALICE, "!migrate inst3") == [
            ("not planned: inst3 is ambiguous: inst3.ganeti.test @lab, inst3.ganeti.test @mirror; "
            "give the full name or add @cluster")]
        assert twin_bot.say(ALICE, "!migrate inst3 @mirror") == [
            ("not planned: mirror: no write user is configured (write_user and write_password_file in "
            "[clusters.mirror]), so the bot cannot act on this cluster")]


def test_one_action_at_a_time_per_instance_and_per_node(bot, view, pending):
    node = view.primary("inst3").split(".")[0]
    with view.nothing_submitted():
        again = bot.text(BOB, "!migrate inst3")
        assert again.startswith(f"not planned: migrate inst3.ganeti.test ({pending}, asked by alice) waits for "
                                "confirmation and involves the same instance or node: one action at a time")
        if node != "node1":  # the master is refused for its own reason
            assert bot.text(BOB, f"!node-migrate {node}").startswith(f"not planned: migrate inst3.ganeti.test "
                                                                     f"({pending}, asked by alice) waits")


def test_without_actions_configured_nothing_reaches_the_cluster(action_lab, tmp_path, loop, view):
    plain = Bot(write_config(tmp_path, cluster_table("lab", action_lab, tmp_path), ""), loop)
    try:
        with view.nothing_submitted():
            assert plain.say(ALICE, "!migrate inst3") == [
                "refused: actions are not enabled on this bot (no [actions] in its configuration)."]
    finally:
        plain.close()
