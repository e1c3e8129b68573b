"""Which nodes can go down together: reboot groups, as ``hroller`` makes them.

Two nodes may not be in one group when one is primary of an instance whose
disks the other mirrors (a DRBD primary and its secondary), nor when both are
primaries of instances mirrored on the same secondary (emptying both at once
would pile their instances onto it). The groups are a greedy colouring of
that graph, busiest nodes first, larger groups first. The master goes last
and alone (hroller puts it last in the last group): rebooting it takes RAPI
and the job queue away, so it needs a master failover first, a step of its
own; and a group then never holds every node, so instances on shared
storage always have somewhere to go.

Each group gets the N+1 check of its reboot: with all its nodes down at once,
each secondary must have the memory for the DRBD instances that move to it,
and each instance on shared storage a node of its group with room for it
(`capacity.evacuation_shortfalls`, the memory the instances hold now);
instances with local disks go down with their node and are counted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations

from bot.ganeti.capacity import evacuation_shortfalls, going_down
from bot.ganeti.model import Instance, Node


@dataclass(frozen=True)
class Group:
    nodes: tuple[str, ...]
    shortfalls: tuple[str, ...]  # N+1 problems of rebooting these nodes together
    going_down: tuple[str, ...]  # instances set to run, with local disks: down while their node reboots
    master: str = ""  # the master, if it is in this group


@dataclass(frozen=True)
class Plan:
    groups: tuple[Group, ...]
    offline: tuple[str, ...]  # nodes left out: offline, nothing to reboot through Ganeti

    @property
    def nodes(self) -> int:
        return sum(len(group.nodes) for group in self.groups)


def reboot_plan(nodes: Sequence[Node], instances: Sequence[Instance], master: str,
                chosen: Collection[str] = ()) -> Plan:
    """Reboot groups of ``chosen`` (default: every node that is not offline)."""
    offline = tuple(sorted(node.name for node in nodes if node.offline and (not chosen or node.name in chosen)))
    planned = sorted(node.name for node in nodes if not node.offline and (not chosen or node.name in chosen))
    edges = conflicts(instances, set(planned))
    others = [name for name in planned if name != master]
    colours: list[list[str]] = []
    for name in sorted(others, key=lambda n: (-len(edges[n]), n)):
        free = next((group for group in colours if not edges[name] & set(group)), None)
        if free is None:
            colours.append([name])
        else:
            free.append(name)
    colours.sort(key=lambda group: (-len(group), sorted(group)))
    members = [sorted(group) for group in colours]
    if master in planned:
        members.append([master])
    groups = tuple(_checked(group, nodes, instances, master) for group in members)
    return Plan(groups, offline)


def conflicts(instances: Iterable[Instance], planned: set[str]) -> dict[str, set[str]]:
    """node → the nodes it may not go down with (see the module docstring)."""
    edges: dict[str, set[str]] = defaultdict(set)
    primaries_of: dict[str, set[str]] = defaultdict(set)
    for instance in instances:
        for secondary in instance.snodes:
            primaries_of[secondary].add(instance.pnode)
            if instance.pnode in planned and secondary in planned and instance.pnode != secondary:
                edges[instance.pnode].add(secondary)
                edges[secondary].add(instance.pnode)
    for primaries in primaries_of.values():
        for one, other in combinations(sorted(primaries & planned), 2):
            edges[one].add(other)
            edges[other].add(one)
    return edges


def _checked(group: Sequence[str], nodes: Sequence[Node], instances: Sequence[Instance], master: str) -> Group:
    down = set(group)
    local = tuple(instance.name for instance in going_down(down, instances))
    return Group(tuple(group), evacuation_shortfalls(down, nodes, instances), local, master if master in down else "")
