"""The plans of !drain and !migrate-back, from cluster states the lab cannot have.

The lab has no DRBD (no device-mapper in its kernel), so DRBD placement,
secondaries and disks that are syncing, degraded or not set up again after a
reboot are written here as RAPI would list them; the lab tests run the same
rules on the lab's sharedfile and diskless instances.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.actions.plan import Refusal, Remembered, Request, Snapshot
from bot.actions.rules import make_plan
from bot.ganeti.model import ClusterInfo, Instance, Job, Node

D = ".example.org"
N1, N2, N3 = (f"fsn-node-0{n}{D}" for n in (1, 2, 3))
INFO = ClusterInfo.from_rapi({"name": "gnt-fsn", "master": N1, "default_iallocator": "hail"})


def node(name: str, mfree: int = 60000, role: str = "C", drained: bool = False, answering: bool = True,
         offline: bool = False) -> Node:
    return Node.from_row({"name": name, "role": "D" if drained else role, "drained": drained, "offline": offline,
                          "mtotal": 65536 if answering else None, "mfree": mfree if answering else None,
                          "vm_capable": True})


def vm(name: str, pnode: str, snode: str = "", template: str = "drbd", status: str = "running",
       memory: int = 4096) -> Instance:
    return Instance.from_row({"name": name + D, "pnode": pnode, "snodes": [snode] if snode else [],
                              "status": status, "admin_state": "up" if status == "running" else "down",
                              "disk_template": template, "be/maxmem": memory, "be/minmem": memory,
                              "oper_ram": memory if status == "running" else None, "be/auto_balance": True})


def snapshot(nodes, instances, remembered=None, disks=()) -> Snapshot:
    return Snapshot(INFO, tuple(nodes), tuple(instances), (), remembered, tuple(disks))


def ask(action: str, target: str, current: Snapshot):
    return make_plan(Request(action, "gnt-fsn", target), current)


# -- !drain -------------------------------------------------------------------------


def test_a_drain_plan_says_what_moves_where_what_stays_and_why_and_drains_the_node():
    current = snapshot([node(N1, role="M"), node(N2), node(N3)],
                       [vm("web", N2, N3), vm("db", N2, N3, memory=8192), vm("old", N2, N1, status="ADMIN_down"),
                        vm("tmp", N2, template="plain"), vm("cache", N2, template="sharedfile", memory=1024)])
    plan = ask("drain", N2, current)
    assert plan.describe() == (
        "drain fsn-node-02 @gnt-fsn: 3 instances move: cache → hail's choice (1.0G), db → fsn-node-03 (8.0G), "
        "web → fsn-node-03 (4.0G); stay: old (ADMIN_down: not migrated, !failover moves it), "
        "tmp (plain disks live on this node only); "
        "fsn-node-02 is drained (nothing new is placed on it; it stops being a master candidate, Ganeti promotes "
        "another if the pool needs one); "
        "while fsn-node-02 is down, 3 DRBD instance(s) have no second copy: db, old, web; "
        "N+1 afterwards: met (fsn-node-01 57.6G free, fsn-node-03 46.6G free)")
    assert plan.drained is True
    # the node, its primaries, and where they may land (cache: the iallocator's pick among the group's nodes)
    assert set(plan.locks) == {N1, N2, N3, *(f"{name}{D}" for name in ("web", "db", "old", "tmp", "cache"))}


def test_a_drain_says_when_n_plus_one_no_longer_holds():
    current = snapshot([node(N1, role="M", mfree=2000), node(N2), node(N3, mfree=10000)],
                       [vm("web", N2, N3, memory=8192), vm("big", N3, N1, memory=6000)])
    assert "N+1 afterwards: NOT met, if fsn-node-03 failed too its 13.9G would not fit in the 2.0G left elsewhere" \
        in ask("drain", N2, current).describe()


def test_the_master_is_not_drained():
    with pytest.raises(Refusal, match="is the master node: RAPI runs there and would go away with it"):
        ask("drain", N1, snapshot([node(N1, role="M"), node(N2)], [vm("web", N1, N2)]))


def test_a_node_drained_already_is_not_drained_again_but_still_emptied():
    current = snapshot([node(N1, role="M"), node(N2, drained=True), node(N3)], [vm("web", N2, N3)])
    plan = ask("drain", N2, current)
    assert plan.drained is None and "fsn-node-02 is drained already" in plan.notes
    emptied = snapshot([node(N1, role="M"), node(N2, drained=True), node(N3)], [vm("old", N2, N3, status="ADMIN_down")])
    with pytest.raises(Refusal, match=r"is drained already and nothing on it can be migrated: old \(ADMIN_down"):
        ask("drain", N2, emptied)


def test_an_empty_node_is_only_drained_and_a_dead_one_is_refused():
    plan = ask("drain", N3, snapshot([node(N1, role="M"), node(N3, role="R")], []))
    assert (plan.moves, plan.drained) == ((), True)
    assert plan.describe().startswith("drain fsn-node-03 @gnt-fsn: no instance moves; fsn-node-03 is drained "
                                      "(nothing new is placed on it)")
    with pytest.raises(Refusal, match="is not answering: its instances cannot be live-migrated"):
        ask("drain", N3, snapshot([node(N1, role="M"), node(N3, answering=False)], [vm("web", N3, N1)]))


# -- !migrate-back -----------------------------------------------------------------------


def drained_back() -> tuple[list[Node], list[Instance], Remembered]:
    """fsn-node-02 after its reboot: a drain moved web and db to their secondary fsn-node-03 and cache
    to fsn-node-01; since then someone moved cache2 on, stopped one and removed another."""
    nodes = [node(N1, role="M"), node(N2, drained=True), node(N3)]
    instances = [vm("web", N3, N2), vm("db", N3, N2, memory=8192), vm("cache", N1, template="sharedfile", memory=1024),
                 vm("cache2", N3, template="sharedfile"), vm("stopped", N3, N2, status="ADMIN_down"),
                 vm("old", N2, N3, status="ADMIN_down"), vm("moved-disks", N3, N1)]
    went = {"web": N3, "db": N3, "cache": N1, "cache2": N1, "stopped": N3, "old": None, "gone": N3,
            "moved-disks": N3}
    remembered = Remembered("ovs-7", N2, tuple((f"{name}{D}", to) for name, to in went.items()))
    return nodes, instances, remembered


IN_SYNC = [(f"{name}{D}", ()) for name in ("web", "db", "stopped", "moved-disks")]


def test_a_migrate_back_brings_back_only_what_is_where_the_drain_put_it_and_undrains_first():
    nodes, instances, remembered = drained_back()
    plan = ask("migrate-back", N2, snapshot(nodes, instances, remembered, IN_SYNC))
    assert plan.describe() == (
        "migrate-back fsn-node-02 @gnt-fsn: 3 instances come back: cache (from fsn-node-01, 1.0G), "
        "db (from fsn-node-03, 8.0G), web (from fsn-node-03, 4.0G); stay: "
        "cache2 (on fsn-node-03 now, not on fsn-node-01 where it went: someone moved it meanwhile "
        "(!migrate cache2 fsn-node-02 brings it)), gone (it no longer exists), "
        "moved-disks (fsn-node-02 is no longer its secondary), "
        "old (ADMIN_down on it already), stopped (ADMIN_down now: not migrated back, !failover moves it); "
        "fsn-node-02 is undrained first; remembered by campaign ovs-7; "
        "N+1 afterwards: met (fsn-node-01 59.6G free, fsn-node-02 45.6G free, fsn-node-03 70.6G free)")
    assert plan.drained is False and plan.campaign == "ovs-7"
    assert [(move.instance, move.to, move.source) for move in plan.moves] == [
        (f"cache{D}", N2, N1), (f"db{D}", N2, N3), (f"web{D}", N2, N3)]


@pytest.mark.parametrize(("disks", "refusal"), [
    ([("web", ("web disk/0 syncing (42%)",)), ("db", ("db disk/1 degraded",))],
     r"not all disks are in sync: db disk/1 degraded; web disk/0 syncing \(42%\)\. Migrating now would fail"),
    ([("web", ("web disk/0 is not active on its secondary",)), ("db", ())],
     r"not all disks are in sync: web disk/0 is not active on its secondary\."),
    ([("web", ()), ("db", None)], r"the cluster did not say whether the disks of db.example.org are in sync"),
    ([("web", ())], r"the cluster did not say whether the disks of db.example.org are in sync"),
])
def test_a_migrate_back_waits_for_drbd_disks_in_sync(disks, refusal):
    nodes, instances, remembered = drained_back()
    with pytest.raises(Refusal, match=refusal):
        ask("migrate-back", N2, snapshot(nodes, instances, remembered, [(f"{n}{D}", p) for n, p in disks]))


def test_a_migrate_back_is_not_held_up_by_an_info_job_but_by_a_job_that_changes_things():
    """The campaign watcher reads the DRBD disks (an info job each) as the node comes back."""
    nodes, instances, remembered = drained_back()
    reading = Job(900, "running", (f"INSTANCE_QUERY_DATA(web{D})",), None, None, None)
    plan = ask("migrate-back", N2, replace(snapshot(nodes, instances, remembered, IN_SYNC), jobs=(reading,)))
    assert dict(plan.facts)[f"jobs on {N2} and what it involves"] == "none"
    moving = Job(901, "running", (f"INSTANCE_MIGRATE(web{D})",), None, None, None)
    with pytest.raises(Refusal, match=rf"a job already works on {N2} or something it involves: 901 running "
                                      rf"INSTANCE_MIGRATE\(web{D}\)"):
        ask("migrate-back", N2, replace(snapshot(nodes, instances, remembered, IN_SYNC), jobs=(moving,)))


def test_a_migrate_back_to_a_node_that_is_down_offline_or_short_of_memory_is_refused():
    nodes, instances, remembered = drained_back()
    for state, refusal in [(node(N2, answering=False), "does not answer .* wait until it is back"),
                           (node(N2, offline=True), "is offline: Ganeti does not use it"),
                           (node(N2, mfree=4000), r"has 3.9G free, the instances coming back need 13.0G")]:
        with pytest.raises(Refusal, match=refusal):
            ask("migrate-back", N2, snapshot([nodes[0], state, nodes[2]], instances, remembered, IN_SYNC))


def test_with_nothing_to_bring_back_a_drained_node_is_only_undrained_and_another_is_refused():
    remembered = Remembered("ovs-7", N2, ((f"old{D}", None),))
    instances = [vm("old", N2, N3, status="ADMIN_down")]
    plan = ask("migrate-back", N2, snapshot([node(N1, role="M"), node(N2, drained=True)], instances, remembered))
    assert (plan.moves, plan.drained) == ((), False)
    assert plan.describe().startswith("migrate-back fsn-node-02 @gnt-fsn: no instance moves; stay: old (ADMIN_down "
                                      "on it already); fsn-node-02 is undrained first")
    with pytest.raises(Refusal, match=r"nothing to bring back to fsn-node-02: old \(ADMIN_down on it already\)"):
        ask("migrate-back", N2, snapshot([node(N1, role="M"), node(N2)], instances, remembered))
