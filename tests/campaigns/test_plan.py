"""Reboot groups: nodes that share an instance never go down together; the master last; N+1 per group."""

from __future__ import annotations

from bot.campaigns.plan import conflicts, reboot_plan
from bot.ganeti.model import Instance, Node


def node(name: str, mfree: int = 60000, offline: bool = False) -> Node:
    return Node.from_row({"name": name, "role": "R", "mtotal": 65536, "mfree": mfree, "offline": offline})


def drbd(name: str, pnode: str, snode: str, memory: int = 4096, template: str = "drbd") -> Instance:
    return Instance.from_row({"name": name, "pnode": pnode, "snodes": [snode] if snode else [],
                              "admin_state": "up", "status": "running", "disk_template": template,
                              "be/maxmem": memory, "be/minmem": memory})


def test_groups_never_hold_a_primary_and_its_secondary_or_two_primaries_of_one_secondary():
    nodes = [node(f"n{i}") for i in range(1, 7)] + [node("n7", offline=True)]
    instances = [drbd("a", "n2", "n3"), drbd("b", "n3", "n4"), drbd("c", "n5", "n6"), drbd("d", "n4", "n6"),
                 drbd("e", "n1", "n2")]
    edges = conflicts(instances, {f"n{i}" for i in range(1, 7)})
    assert edges["n5"] == {"n6", "n4"}  # c's secondary, and n4 shares secondary n6 with n5
    plan = reboot_plan(nodes, instances, master="n1")
    for group in plan.groups:
        assert not any(edges[one] & set(group.nodes) for one in group.nodes)
    assert plan.groups[-1].master == "n1" and plan.groups[-1].nodes[-1] == "n1"
    assert sorted(n for group in plan.groups for n in group.nodes) == [f"n{i}" for i in range(1, 7)]
    assert plan.offline == ("n7",)
    assert len(plan.groups[0].nodes) >= len(plan.groups[1].nodes)


def test_each_group_gets_the_n_plus_1_check_of_its_reboot():
    nodes = [node("n1"), node("n2", mfree=6000), node("n3")]
    instances = [drbd("big", "n1", "n2", 8192), drbd("local", "n1", "", 1024, template="plain")]
    plan = reboot_plan(nodes, instances, master="n3", chosen={"n1"})
    [group] = plan.groups
    assert group.shortfalls == ("n2 needs 8.0G, has 5.9G free",)
    assert group.going_down == ("local",)


def test_a_group_s_n_plus_1_counts_what_its_instances_hold_now_and_only_the_running_ones():
    nodes = [node("n1"), node("n2", mfree=6000), node("n3")]
    ballooned = Instance.from_row({"name": "big", "pnode": "n1", "snodes": ["n2"], "admin_state": "up",
                                   "status": "running", "disk_template": "drbd", "be/maxmem": 8192,
                                   "be/minmem": 2048, "oper_ram": 4096})
    crashed = Instance.from_row({"name": "dead", "pnode": "n1", "snodes": ["n2"], "admin_state": "up",
                                 "status": "ERROR_down", "disk_template": "drbd", "be/maxmem": 8192})
    [group] = reboot_plan(nodes, [ballooned, crashed], master="n3", chosen={"n1"}).groups
    assert group.shortfalls == ()
