"""The preflight rules on cluster states the lab cannot be put in on demand: three DRBD
nodes whose instances mirror each other. Pure functions over a snapshot; the
same rules run on the real lab in test_actions_lab.py."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.actions.plan import Refusal, Request, Snapshot, changes
from bot.actions.rules import make_plan
from bot.ganeti.model import ClusterInfo, Instance, Job, Node


def node(name: str, free: int = 8192, drained: bool = False) -> Node:
    return Node(name, "regular", offline=False, drained=drained, vm_capable=True, group="default", group_uuid="g1",
                mtotal=16384, mnode=1024, mfree=free, dtotal=None, dfree=None, ctotal=4, pinst_cnt=0, sinst_cnt=0,
                tags=())


def drbd(name: str, primary: str, secondary: str) -> Instance:
    return Instance(name, primary, (secondary,), "running", "up", vcpus=1, maxmem=2048, minmem=1024,
                    auto_balance=True, oper_ram=2048, disk_usage=10240, disk_template="drbd", tags=())


def cluster(n3_free: int = 8192, n3_drained: bool = False, jobs: tuple[Job, ...] = ()) -> Snapshot:
    """n1 (master), n2, n3; a: n2 mirrored on n3, b: n3 on n2, c: n2 on n1."""
    return Snapshot(ClusterInfo("c", "n1", "3.0", ("kvm",), ("drbd",), "hail", ()),
                    (node("n1"), node("n2"), node("n3", n3_free, n3_drained)),
                    (drbd("a", "n2", "n3"), drbd("b", "n3", "n2"), drbd("c", "n2", "n1")), jobs)


@pytest.mark.parametrize("meanwhile", [cluster(n3_drained=True), cluster(n3_free=512)],
                         ids=["target drained", "target memory gone"])
def test_node_migrate_is_not_submitted_when_a_target_changed_since_the_plan(meanwhile):
    request = Request("node-migrate", "c", "n2")
    planned = make_plan(request, cluster())
    assert [(move.instance, move.to) for move in planned.moves] == [("a", "n3"), ("c", "n1")]
    now = make_plan(request, meanwhile)  # a no longer moves: n3 cannot take it
    assert [move.instance for move in now.moves] == ["c"]
    changed = changes(planned, now)
    assert "n2 moves: a to n3, c to n1, now c to n1" in changed
    assert "n2 keeps: nothing, now a" in changed


def test_two_node_migrates_that_would_land_on_each_others_node_do_not_run_at_once():
    first = make_plan(Request("node-migrate", "c", "n2"), cluster())
    second = make_plan(Request("node-migrate", "c", "n3"), cluster())
    assert {"n1", "n3"} <= set(first.locks)  # where a and c land
    assert {"n2", "n3"} & set(first.locks) & set(second.locks)  # so the ledger refuses the second


def test_an_instance_is_not_migrated_off_a_node_that_a_running_job_empties():
    busy = replace(cluster(), jobs=(Job(900, "running", ("NODE_MIGRATE(n2)",), None, None, None),))
    with pytest.raises(Refusal, match=r"a job already works on a or something it involves: 900 running "
                                      r"NODE_MIGRATE\(n2\)"):
        make_plan(Request("migrate", "c", "a"), busy)
    into = replace(cluster(), jobs=(Job(901, "waiting", ("NODE_EVACUATE(n3)",), None, None, None),))
    with pytest.raises(Refusal, match="901 waiting"):  # n3 is where a would go
        make_plan(Request("migrate", "c", "a"), into)
