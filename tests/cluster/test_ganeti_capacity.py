"""N+1 and movable instances, on the recorded lab cluster and DRBD variants of it.

The lab cannot run DRBD (no device-mapper), so the DRBD cases take the
recorded instances and nodes and give some instances a secondary node and
some nodes less free memory: the same shapes Ganeti returns, other numbers.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from clusterkit import pinned

from bot.ganeti.capacity import evacuation_shortfalls, movable, redundancy
from bot.ganeti.cluster import Cluster
from bot.ganeti.model import Instance, Node
from bot.ganeti.names import short

N1, N2, N3 = (f"node{n}.ganeti.test" for n in (1, 2, 3))


@pytest.fixture
def lab_data(fake_rapi, tls) -> tuple[dict[str, Node], dict[str, Instance]]:
    cluster = Cluster(pinned(fake_rapi, tls))
    return {n.name: n for n in cluster.nodes()}, {i.name.split(".")[0]: i for i in cluster.instances()}


def drbd(instance: Instance, secondary: str, **changes: object) -> Instance:
    return replace(instance, disk_template="drbd", snodes=(secondary,), **changes)


def test_without_secondaries_there_is_nothing_to_absorb(lab_data):
    nodes, instances = lab_data
    report = redundancy(nodes.values(), instances.values())
    assert report.mirrored == 0 and report.shortfalls == ()
    assert {n.state for n in report.nodes} == {"ok"}


def test_a_node_short_of_memory_for_one_peers_failover_is_named_with_needed_and_available(lab_data):
    nodes, instances = lab_data
    nodes[N2] = replace(nodes[N2], mfree=1000)
    mirrored = [drbd(instances["inst1"], N2), drbd(instances["inst2"], N2),  # 512 + 1024 from node1
                drbd(instances["inst3"], N1), drbd(instances["inst5"], N2)]  # 256 from node2, 768 from node3
    report = redundancy(nodes.values(), mirrored)
    (shortfall,) = report.shortfalls
    assert (shortfall.node, shortfall.peer, shortfall.needed, shortfall.available) == (N2, N1, 1536, 1000)
    assert shortfall.instances == ("inst1.ganeti.test", "inst2.ganeti.test")
    by_node = {n.node: n for n in report.nodes}
    assert (by_node[N2].state, by_node[N2].worst_peer, by_node[N2].needed) == ("short", N1, 1536)
    assert (by_node[N1].state, by_node[N1].needed) == ("ok", 256)
    assert report.mirrored == 4


def test_minmem_and_auto_balance_decide_what_must_fit(lab_data):
    nodes, instances = lab_data
    nodes[N2] = replace(nodes[N2], mfree=600)
    ballooning = drbd(instances["inst2"], N2, minmem=512)  # maxmem 1024, needs only minmem
    ignored = drbd(instances["inst1"], N2, auto_balance=False)
    report = redundancy(nodes.values(), [ballooning, ignored])
    assert report.shortfalls == () and report.mirrored == 2
    assert next(n for n in report.nodes if n.node == N2).needed == 512


def test_nodes_without_data_are_not_called_fine(lab_data):
    nodes, instances = lab_data
    nodes[N2] = replace(nodes[N2], mfree=None, mtotal=None)
    nodes[N3] = replace(nodes[N3], offline=True)
    report = redundancy(nodes.values(), [drbd(instances["inst1"], N2)])
    states = {n.node: n.state for n in report.nodes}
    assert states == {N1: "ok", N2: "no data", N3: "offline"}
    assert [n.node for n in report.unknown] == [N2] and report.shortfalls == ()


def test_on_the_lab_only_the_diskless_instance_can_leave_node1(lab_data):
    nodes, instances = lab_data
    report = movable(N1, list(nodes.values()), instances.values())
    (inst1,) = report.possible
    assert inst1.instance.name == "inst1.ganeti.test" and inst1.frees == 512
    assert inst1.target == max((N2, N3), key=lambda n: nodes[n].mfree)  # the node with most room
    stuck = next(m for m in report.moves if not m.possible)
    assert stuck.instance.name == "inst2.ganeti.test" and stuck.reason == "file disks live on this node only"
    assert report.frees == 512


def test_drbd_instances_go_to_their_secondary_while_it_has_room(lab_data):
    nodes, instances = lab_data
    nodes[N2] = replace(nodes[N2], mfree=1200)
    nodes[N3] = replace(nodes[N3], drained=True)
    on_node1 = [drbd(instances["inst2"], N2), drbd(instances["inst1"], N2),
                drbd(replace(instances["inst3"], pnode=N1), N3)]
    report = movable(N1, list(nodes.values()), on_node1)
    verdicts = {m.instance.name.split(".")[0]: (m.possible, m.target, m.reason) for m in report.moves}
    assert verdicts["inst2"] == (True, N2, "")  # biggest first: 1024 of 1200
    assert verdicts["inst1"] == (False, N2, f"its secondary {N2} has 176 MiB free, it needs 512")
    assert verdicts["inst3"] == (False, N3, f"its secondary {N3} is drained")
    assert report.frees == 1024


def test_stopped_instances_can_move_but_free_nothing(lab_data):
    nodes, instances = lab_data
    report = movable(N3, list(nodes.values()), instances.values())
    frees = {m.instance.name.split(".")[0]: (m.possible, m.frees) for m in report.moves}
    assert frees == {"inst5": (True, 768), "inst4": (True, 0)}


def test_nodes_emptied_together_take_none_of_each_other_s_instances(lab_data):
    """A reboot group: the secondary going down too is named, and the other secondary
    is counted for everything bound for it (it is the same placement as `movable`)."""
    nodes, instances = lab_data
    nodes[N3] = replace(nodes[N3], mfree=1200)
    group = [drbd(instances["inst2"], N3), drbd(instances["inst1"], N3),
             drbd(replace(instances["inst3"], pnode=N1), N2), drbd(replace(instances["inst5"], pnode=N2), N1)]
    shortfalls = evacuation_shortfalls({N1, N2}, list(nodes.values()), group, short)
    assert shortfalls == ("node1 (a secondary) is going down too", "node2 (a secondary) is going down too",
                          "node3 needs 1.5G, has 1.2G free")
