"""The outcome lines of !drain and !migrate-back where the lab cannot end that way.

Each is told from all of the action's jobs (the node's flag and every
migration), not only from the first; the lab tests show the usual endings.
"""

from __future__ import annotations

from bot.actions.ledger import DONE, Record, Watched
from bot.actions.outcomes import Ending, outcome, succeeded
from bot.actions.plan import Move, Plan

NODE = "node3.ganeti.test"


def record(plan: Plan) -> Record:
    return Record("k7q2x", plan.action, "lab", NODE, plan, "", "alice", "irc:alice", "alice", "irc", "#ops",
                  "irc:#ops", 0, 120, DONE, None, None, 30, None)


def job(job_id: int, state: str, summary: str, op: str, parent: int | None = None,
        instance: str | None = None) -> Watched:
    return Watched("k7q2x", job_id, parent, state, summary, instance, op)


def test_a_drain_with_nothing_to_move_is_the_flag_alone():
    drain = record(Plan("drain", "lab", NODE, drained=True))
    ending = Ending((job(30, "success", "node3 drained (0.4 s, job 30)", "NODE_SET_PARAMS"),), {})
    assert outcome(drain, ending) == "drain node3 @lab finished: node3 drained (0.4 s, job 30)"


def test_a_drain_whose_migration_was_refused_says_the_node_was_not_drained_either():
    plan = Plan("drain", "lab", NODE, moves=(Move("inst5.ganeti.test", "sharedfile", 768, None),), drained=True)
    ending = Ending((job(30, "error", "OpPrereqError: Node is not vm_capable", "NODE_MIGRATE"),
                     job(31, "error", "node3 NOT drained (job 31): OpExecError: Dependency job 30 finished with "
                                      "status 'error'", "NODE_SET_PARAMS")), {})
    assert outcome(record(plan), ending) == ("drain node3 @lab FAILED (job 30): OpPrereqError: Node is not "
                                             "vm_capable; node3 was not drained")
    assert not succeeded(record(plan), ending)


def test_a_drain_counts_as_done_when_only_the_instances_it_said_would_stay_failed():
    plan = Plan("drain", "lab", NODE, moves=(Move("inst5.ganeti.test", "sharedfile", 768, None),),
                stays=(("inst4.ganeti.test", "ADMIN_down"),), drained=True)
    jobs = [job(30, "success", "done in 0.2 s", "NODE_MIGRATE"), job(31, "success", "node3 drained", "NODE_SET_PARAMS"),
            job(32, "success", "inst5: done", "INSTANCE_MIGRATE", 30, "inst5.ganeti.test"),
            job(33, "error", "inst4: FAILED", "INSTANCE_MIGRATE", 30, "inst4.ganeti.test")]
    assert succeeded(record(plan), Ending(tuple(jobs), {}))
    jobs[2] = job(32, "error", "inst5: FAILED", "INSTANCE_MIGRATE", 30, "inst5.ganeti.test")
    assert not succeeded(record(plan), Ending(tuple(jobs), {}))


def test_a_migrate_back_that_brought_some_home_says_which_and_how_to_finish():
    moves = tuple(Move(f"{name}.ganeti.test", "sharedfile", 256, NODE, "node2.ganeti.test") for name in ("a", "b"))
    plan = Plan("migrate-back", "lab", NODE, moves=moves, drained=False)
    ending = Ending((job(30, "success", "node3 undrained (0.3 s, job 30)", "NODE_SET_PARAMS"),
                     job(31, "success", "a: done (1.0 s, job 31)", "INSTANCE_MIGRATE", instance="a.ganeti.test"),
                     job(32, "error", "b: FAILED (job 32): OpExecError: Disk 0 is degraded", "INSTANCE_MIGRATE",
                         instance="b.ganeti.test")), {})
    assert outcome(record(plan), ending) == (
        "migrate-back node3 @lab finished: 1 of 2 instance(s) back on node3: a; node3 undrained (0.3 s, job 30); "
        "b: FAILED (job 32): OpExecError: Disk 0 is degraded; !migrate-back node3 again brings the rest once fixed")
    undrain_failed = Ending((job(30, "error", "node3 NOT undrained (job 30): OpPrereqError: x", "NODE_SET_PARAMS"),
                             *ending.jobs[1:]), {})
    assert outcome(record(plan), undrain_failed) == (
        "migrate-back node3 @lab FAILED: node3 NOT undrained (job 30): OpPrereqError: x; no instance was migrated back")


def test_writes_that_were_never_submitted_are_not_a_success():
    """A later write that could not be made (the confirmation said which) leaves its part undone."""
    moves = tuple(Move(f"{name}.ganeti.test", "sharedfile", 256, NODE, "node2.ganeti.test") for name in ("a", "b"))
    plan = Plan("migrate-back", "lab", NODE, moves=moves, drained=False)
    ending = Ending((job(30, "success", "node3 undrained (0.3 s, job 30)", "NODE_SET_PARAMS"),
                     job(31, "success", "a: done (1.0 s, job 31)", "INSTANCE_MIGRATE", instance="a.ganeti.test")), {})
    assert outcome(record(plan), ending) == (
        "migrate-back node3 @lab finished: 1 of 2 instance(s) back on node3: a; node3 undrained (0.3 s, job 30); "
        "1 migration(s) not submitted; !migrate-back node3 again brings the rest once fixed")
    assert not succeeded(record(plan), ending)
    drain = Plan("drain", "lab", NODE, moves=moves[:1], drained=True)
    migrated = Ending((job(40, "success", "done in 0.2 s", "NODE_MIGRATE"),
                       job(41, "success", "a: done", "INSTANCE_MIGRATE", 40, "a.ganeti.test")), {})
    assert "node3 was NOT drained (its job was not submitted)" in outcome(record(drain), migrated)
    assert not succeeded(record(drain), migrated)
