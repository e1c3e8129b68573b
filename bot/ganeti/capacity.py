"""N+1 memory redundancy, and which instances could leave a node.

`redundancy` is the check ``gnt-cluster verify`` runs ("Verifying N+1 Memory
redundancy"): for every node S that is not offline, and every peer P that is
primary of instances whose secondary is S, S must have free memory for all of
P's instances at once (the sum of their ``minmem``, instances with
``auto_balance`` only, stopped ones too), or S "could not accommodate instance
failovers should node P fail".

`movable` answers the runbook's grep pipeline: which instances on a node can
run elsewhere without copying disks (DRBD to its secondary, shared or no
storage to any node of the group), where they would go, and what that frees.
`evacuation_shortfalls` is the same question for nodes going down together
(a campaign's preflight, a reboot group): what would not fit.

Both count what a live migration carries: the memory an instance holds now
(`Instance.memory_in_use`), so that a plan, a preflight and ``!movable``
give the same figures for the same cluster.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from bot.ganeti.model import EXTERNALLY_MIRRORED, INTERNALLY_MIRRORED, Instance, Node
from bot.ganeti.names import short
from bot.ganeti.sizes import mib


@dataclass(frozen=True)
class Shortfall:
    """``node`` lacks memory to take over ``peer``'s instances if ``peer`` fails."""

    node: str
    peer: str
    needed: int  # MiB
    available: int  # MiB
    instances: tuple[str, ...]


@dataclass(frozen=True)
class NodeRedundancy:
    """One node as a failover target: the worst single peer failure it must absorb."""

    node: str
    state: str  # "ok", "short", "no data", "offline"
    free: int | None  # MiB
    needed: int  # MiB for the worst peer (0: it is nobody's secondary)
    worst_peer: str | None
    shortfalls: tuple[Shortfall, ...]


@dataclass(frozen=True)
class RedundancyReport:
    nodes: tuple[NodeRedundancy, ...]
    mirrored: int  # instances with a secondary node, i.e. covered by the check

    @property
    def shortfalls(self) -> tuple[Shortfall, ...]:
        return tuple(shortfall for node in self.nodes for shortfall in node.shortfalls)

    @property
    def unknown(self) -> tuple[NodeRedundancy, ...]:
        return tuple(node for node in self.nodes if node.state == "no data")


def redundancy(nodes: Iterable[Node], instances: Iterable[Instance]) -> RedundancyReport:
    """``gnt-cluster verify``'s N+1 memory check over RAPI data."""
    needed: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    members: dict[tuple[str, str], list[str]] = defaultdict(list)
    mirrored = 0
    for instance in instances:
        if not instance.snodes:
            continue
        mirrored += 1
        if not instance.auto_balance:
            continue
        for secondary in instance.snodes:
            needed[secondary][instance.pnode] += instance.minmem or 0
            members[(secondary, instance.pnode)].append(instance.name)
    report = []
    for node in sorted(nodes, key=lambda n: n.name):
        peers = needed.get(node.name, {})
        worst_peer = max(peers, key=lambda peer: (peers[peer], peer), default=None)
        worst = peers[worst_peer] if worst_peer else 0
        if node.offline:
            report.append(NodeRedundancy(node.name, "offline", None, worst, worst_peer, ()))
            continue
        if node.mfree is None:
            report.append(NodeRedundancy(node.name, "no data", None, worst, worst_peer, ()))
            continue
        shortfalls = tuple(
            Shortfall(node.name, peer, memory, node.mfree, tuple(sorted(members[(node.name, peer)])))
            for peer, memory in sorted(peers.items()) if node.mfree < memory
        )
        state = "short" if shortfalls else "ok"
        report.append(NodeRedundancy(node.name, state, node.mfree, worst, worst_peer, shortfalls))
    return RedundancyReport(tuple(report), mirrored)


@dataclass(frozen=True)
class Move:
    """What moving ``instance`` off the node would do, or why it cannot move."""

    instance: Instance
    target: str | None  # the node it would run on
    frees: int  # MiB freed on the node now
    reason: str = ""  # empty when it can move

    @property
    def possible(self) -> bool:
        return not self.reason


@dataclass(frozen=True)
class MovableReport:
    node: str
    moves: tuple[Move, ...]  # possible first, biggest gain first

    @property
    def possible(self) -> tuple[Move, ...]:
        return tuple(move for move in self.moves if move.possible)

    @property
    def frees(self) -> int:
        return sum(move.frees for move in self.possible)


def movable(node_name: str, nodes: Sequence[Node], instances: Iterable[Instance]) -> MovableReport:
    """The instances with primary ``node_name`` that could run elsewhere right now.

    Targets are filled in order, biggest instance first, so two instances are
    never both promised the same free memory.
    """
    by_name = {node.name: node for node in nodes}
    home = by_name.get(node_name)
    room = {node.name: node.mfree or 0 for node in nodes if node.accepts_instances}
    candidates = sorted(
        (instance for instance in instances if instance.pnode == node_name),
        key=lambda instance: (-instance.memory_in_use, instance.name),
    )
    moves = []
    for instance in candidates:
        target, reason = _target(instance, home, by_name, room)
        if target is not None and not reason:
            room[target] -= instance.memory_in_use
        moves.append(Move(instance, target, instance.memory_in_use if not reason else 0, reason))
    moves.sort(key=lambda move: (not move.possible, -move.frees, move.instance.name))
    return MovableReport(node_name, tuple(moves))


def evacuation_shortfalls(down: Collection[str], nodes: Sequence[Node],
                          instances: Iterable[Instance]) -> tuple[str, ...]:
    """What would not fit if every node in ``down`` were emptied at once.

    Each running DRBD instance goes to its secondary, which must take
    instances and have the memory for all that arrive there; the running
    instances on shared storage go anywhere else, so the other nodes' memory
    left after that must hold them. Instances with local disks stay (they go
    down with their node) and are not counted here.
    """
    by_name = {node.name: node for node in nodes}
    need: dict[str, int] = defaultdict(int)
    anywhere = 0
    for instance in instances:
        if instance.pnode not in down or not instance.running:
            continue
        if instance.disk_template in INTERNALLY_MIRRORED and instance.snodes:
            need[instance.snodes[0]] += instance.memory_in_use
        elif instance.disk_template in EXTERNALLY_MIRRORED:
            anywhere += instance.memory_in_use
    shortfalls = []
    for target, memory in sorted(need.items()):
        node = by_name.get(target)
        if node is None or target in down or not node.accepts_instances:
            shortfalls.append(f"{short(target)} (a secondary) cannot take instances")
        elif (node.mfree or 0) < memory:
            shortfalls.append(f"{short(target)} needs {mib(memory)}, has {mib(node.mfree)} free")
    room = sum((node.mfree or 0) - need.get(name, 0) for name, node in by_name.items()
               if name not in down and node.accepts_instances)
    if anywhere and room < anywhere:
        shortfalls.append(f"the other nodes have {mib(max(room, 0))} free for {mib(anywhere)} of "
                          "shared-storage instances")
    return tuple(shortfalls)


def _target(instance: Instance, home: Node | None, nodes: dict[str, Node],
            room: dict[str, int]) -> tuple[str | None, str]:
    need = instance.memory_in_use
    template = instance.disk_template
    if template in INTERNALLY_MIRRORED:
        if not instance.snodes:
            return None, f"{template} without a secondary node"
        target = instance.snodes[0]
        node = nodes.get(target)
        if node is None or not node.accepts_instances:
            return target, f"its secondary {target} is {_unfit(node)}"
        if room[target] < need:
            return target, f"its secondary {target} has {room[target]} MiB free, it needs {need}"
        return target, ""
    if template in EXTERNALLY_MIRRORED:
        group = home.group_uuid if home else None
        peers = [name for name, node in nodes.items()
                 if name != instance.pnode and name in room and (group is None or node.group_uuid == group)]
        if not peers:
            return None, "no other node of its group takes instances"
        best = max(peers, key=lambda name: (room[name], name))
        if room[best] < need:
            return best, f"no node has {need} MiB free (best: {best}, {room[best]} MiB)"
        return best, ""
    return None, f"{template} disks live on this node only"


def _unfit(node: Node | None) -> str:
    if node is None:
        return "unknown"
    if node.offline:
        return "offline"
    if node.drained:
        return "drained"
    if not node.vm_capable:
        return "not vm_capable"
    return "not answering"
