"""The watcher's reading of RAPI answers: jobs of the campaign, disks in sync, what will go wrong."""

from __future__ import annotations

from bot.campaigns import checks
from bot.ganeti import capacity
from bot.ganeti.details import disk_problems
from bot.ganeti.model import Instance, Node


def node(name: str, mfree: int, role: str = "C") -> Node:
    return Node.from_row({"name": name, "role": role, "mtotal": 65536, "mfree": mfree})


def instance(name: str, pnode: str, snode: str = "", state: str = "up", template: str = "drbd",
             memory: int = 4096, in_use: int | None = None) -> Instance:
    return Instance.from_row({"name": name, "pnode": pnode, "snodes": [snode] if snode else [],
                              "admin_state": state, "status": "running" if state == "up" else "ADMIN_down",
                              "disk_template": template, "be/maxmem": memory, "be/minmem": memory,
                              "oper_ram": in_use})


def test_preflight_names_the_master_stopped_and_local_instances_and_a_short_secondary():
    nodes = [node("n1.example.org", 60000, "M"), node("n2.example.org", 6000), node("n3.example.org", 60000)]
    instances = [instance("web.example.org", "n1.example.org", "n2.example.org"),
                 instance("db.example.org", "n1.example.org", "n2.example.org", memory=8192),
                 instance("old.example.org", "n1.example.org", "n3.example.org", state="down"),
                 instance("tmp.example.org", "n1.example.org", template="plain")]
    assert checks.preflight("n1.example.org", nodes, instances, empties=True) == [
        ("it is the cluster's master: RAPI and the job queue go away while it reboots; fail the master over "
        "first (gnt-cluster master-failover on a candidate)"),
        "gnt-node migrate will report an error for old (ADMIN_down): not running, it stays here and reboots with the node",
        "tmp (plain) cannot migrate (disks on this node only): down while it reboots",
        "N+1: n2 needs 12.0G, has 5.9G free",
    ]
    assert len(checks.preflight("n1.example.org", nodes, instances, empties=False)) == 1


def test_preflight_counts_the_memory_instances_hold_as_movable_does():
    """A guest ballooned down to 4G fits in 5.9G although its maxmem is 12G:
    the preflight and ``!movable`` must not contradict each other."""
    nodes = [node("n1", 60000), node("n2", 6000), node("n3", 60000)]
    instances = [instance("web", "n1", "n2", memory=12288, in_use=4096)]
    assert capacity.movable("n1", nodes, instances).possible
    assert checks.preflight("n1", nodes, instances, empties=True) == []
    instances = [instance("web", "n1", "n2", memory=12288, in_use=8192)]
    assert not capacity.movable("n1", nodes, instances).possible
    assert checks.preflight("n1", nodes, instances, empties=True) == ["N+1: n2 needs 8.0G, has 5.9G free"]


def test_preflight_names_a_secondary_that_cannot_take_instances_and_shared_storage_without_room():
    nodes = [node("n1", 60000), Node.from_row({"name": "n2", "role": "R", "offline": True}), node("n3", 2000)]
    instances = [instance("web", "n1", "n2"), instance("san", "n1", template="sharedfile", memory=3072)]
    assert checks.preflight("n1", nodes, instances, empties=True) == [
        "N+1: n2 (a secondary) is offline",
        "N+1: no other node of their group has room for san (3.0G, shared storage)",
    ]


def test_preflight_places_shared_storage_as_movable_does_one_node_each_within_the_group():
    """2G free on each of two nodes is no room for a 4G guest, and another group's nodes take none."""
    nodes = [node("n1", 60000), node("n2", 2048), node("n3", 2048),
             Node.from_row({"name": "far", "role": "R", "mtotal": 65536, "mfree": 60000, "group.uuid": "other"})]
    instances = [instance("san", "n1", template="rbd")]
    assert not capacity.movable("n1", nodes, instances).possible
    assert checks.preflight("n1", nodes, instances, empties=True) == [
        "N+1: no other node of their group has room for san (4.0G, shared storage)"]


def test_a_drbd_instance_keeps_its_secondary_s_room_from_a_shared_storage_one():
    """san could go to n2 or n3, web only to n2: both fit when web is placed first."""
    nodes = [node("n1", 60000), node("n2", 10000), node("n3", 9500)]
    instances = [instance("san", "n1", template="rbd", memory=9000), instance("web", "n1", "n2", memory=8000)]
    assert checks.preflight("n1", nodes, instances, empties=True) == []
    assert all(move.possible for move in capacity.movable("n1", nodes, instances).moves)


def test_sizes_that_round_alike_are_told_in_mib():
    nodes = [node("n1", 60000), node("n2", 2000)]
    assert checks.preflight("n1", nodes, [instance("web", "n1", "n2", memory=2048)], empties=True) == [
        "N+1: n2 needs 2048M, has 2000M free"]


def test_preflight_names_an_instance_set_to_run_that_is_not_running():
    nodes = [node("n1", 60000), node("n2", 60000)]
    crashed = Instance.from_row({"name": "dead", "pnode": "n1", "snodes": ["n2"], "admin_state": "up",
                                 "status": "ERROR_down", "disk_template": "drbd", "be/maxmem": 4096})
    assert checks.preflight("n1", nodes, [crashed], empties=True) == [
        ("gnt-node migrate will report an error for dead (ERROR_down): not running, it stays here and reboots "
         "with the node")]


def job(number: int, summary: str, status: str, reason: str = "", received: float = 0) -> dict:
    return {"id": number, "summary": [summary], "status": status, "received_ts": [received, 0],
            "ops": [{"reason": [["gnt:client:gnt-node", reason, 1]]}]}


def test_the_campaign_s_node_migrate_job_and_its_children_are_found_and_counted():
    jobs = [job(10, "NODE_MIGRATE(n1)", "success", "someone else's"),
            job(20, "NODE_MIGRATE(n1)", "success", "kernel upgrade, campaign ovs-7"),
            job(21, "INSTANCE_MIGRATE(web)", "success"), job(22, "INSTANCE_MIGRATE(old)", "error"),
            job(23, "NODE_MIGRATE(n2)", "success", "campaign ovs-7")]
    parent = checks.parent_job(jobs, "n1", "ovs-7", since=1e9)
    assert parent["id"] == 20
    assert checks.parent_job(jobs, "n1", "ovs-77", since=1e9) is None  # ids match whole, not as a prefix
    assert checks.parent_job(jobs, "n1", "ovs-8", since=0)["id"] == 20  # no reason: the latest since it began
    found = checks.migration(parent, (21, 22), jobs)
    assert (found.finished, found.moved, found.failed) == (True, ("web",), ((22, "old"),))
    running = checks.migration(parent, (21, 24), jobs)
    assert not running.finished


def test_drbd_disks_still_syncing_or_degraded_are_named():
    info = {"disks": [
        {"dev_type": "drbd", "pstatus": ["/dev/drbd0", 147, 0, None, None, False, 1],
         "sstatus": ["/dev/drbd0", 147, 0, 43.2, 120, True, 1]},
        {"dev_type": "drbd", "pstatus": ["/dev/drbd1", 147, 1, None, None, True, 1], "sstatus": None},
        {"dev_type": "drbd", "pstatus": ["/dev/drbd2", 147, 2, None, None, False, 1],
         "sstatus": ["/dev/drbd2", 147, 2, None, None, False, 1]},
        {"dev_type": "plain", "pstatus": ["/dev/vg/x", 253, 0, None, None, False, 1]},
    ]}
    assert disk_problems("web.example.org", info) == ["web disk/0 syncing (43%)", "web disk/1 degraded"]
    # after the reboot, until activate-disks: the secondary has no such device (Ganeti: "Can't find disk")
    info["disks"][2]["sstatus"] = None
    assert disk_problems("web.example.org", info)[2:] == ["web disk/2 is not active on its secondary"]
