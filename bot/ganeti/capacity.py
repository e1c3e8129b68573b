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
(a campaign's preflight, a reboot group): what would not fit, and
`going_down` what cannot move at all (local disks).

Both place instances the same way and count what a live migration carries:
the memory an instance holds now (`Instance.memory_in_use`), so that a plan,
a preflight and ``!movable`` give the same figures for the same cluster.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass

from bot.ganeti.model import EXTERNALLY_MIRRORED, INTERNALLY_MIRRORED, Instance, Node
from bot.ganeti.names import listed
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
    """The instances with primary ``node_name`` that could run elsewhere right now."""
    return MovableReport(node_name, _evacuated({node_name}, nodes, instances))


def evacuation_shortfalls(down: Collection[str], nodes: Sequence[Node], instances: Iterable[Instance],
                          named: Callable[[str], str] = str) -> tuple[str, ...]:
    """What would not fit if every node in ``down`` were emptied at once, placed as
    `movable` places them; node and instance names as ``named`` writes them.

    Per secondary: that it cannot take the DRBD instances bound for it, or
    that it lacks the memory for all of them; then the instances on shared
    storage no node of their group has room for. Instances that are not
    running, and those with local disks (they go down with their node), need
    no room and are not counted.
    """
    by_name = {node.name: node for node in nodes}
    bound: dict[str, int] = defaultdict(int)  # secondary -> MiB of the running DRBD instances bound for it
    refused: set[str] = set()  # secondaries that cannot take (all of) them
    homeless: list[Instance] = []
    for move in _evacuated(down, nodes, instances):
        instance = move.instance
        if not instance.running:
            continue
        if instance.disk_template in INTERNALLY_MIRRORED and move.target is not None:
            bound[move.target] += instance.memory_in_use
            if not move.possible:
                refused.add(move.target)
        elif instance.disk_template in EXTERNALLY_MIRRORED and not move.possible:
            homeless.append(instance)
    shortfalls = []
    for target in sorted(refused):
        node = by_name.get(target)
        if node is None or target in down or not node.accepts_instances:
            shortfalls.append(f"{named(target)} (a secondary) is {_unfit(node)}")
        else:
            shortfalls.append(f"{named(target)} {_short_of(bound[target], node.mfree)}")
    if homeless:
        names = sorted(named(instance.name) for instance in homeless)
        shortfalls.append(f"no other node of their group has room for {listed(names)} "
                          f"({mib(sum(instance.memory_in_use for instance in homeless))}, shared storage)")
    return tuple(shortfalls)


def _short_of(need: int, free: int | None) -> str:
    """"needs 8.0G, has 5.9G free", in MiB where rounding would show two equal sizes."""
    if free is None:
        return f"needs {mib(need)}, its free memory is unknown"
    if mib(need) == mib(free):
        return f"needs {need}M, has {free}M free"
    return f"needs {mib(need)}, has {mib(free)} free"


def going_down(down: Collection[str], instances: Iterable[Instance]) -> list[Instance]:
    """The instances of the nodes in ``down`` set to run whose disks live on their node
    only (local disks, or DRBD without a secondary elsewhere): they cannot move, and go
    down with it."""
    return sorted((instance for instance in instances if instance.pnode in down and instance.admin_state == "up"
                   and not _mirrored_elsewhere(instance)), key=lambda instance: instance.name)


def _mirrored_elsewhere(instance: Instance) -> bool:
    if instance.disk_template in EXTERNALLY_MIRRORED:
        return True
    return (instance.disk_template in INTERNALLY_MIRRORED
            and any(node != instance.pnode for node in instance.snodes[:1]))


def _evacuated(down: Collection[str], nodes: Sequence[Node], instances: Iterable[Instance]) -> tuple[Move, ...]:
    """Where the primaries of the nodes in ``down`` would run if those nodes were
    emptied at once, or why they could not; possible first, biggest gain first.

    Targets are filled in order, DRBD instances first (their secondary is
    their only target), then biggest first, so two instances are never both
    promised the same free memory; a node in ``down`` takes none.
    """
    by_name = {node.name: node for node in nodes}
    room = {node.name: node.mfree or 0 for node in nodes if node.accepts_instances and node.name not in down}
    # Instances bound to their secondary first: one on shared storage could
    # otherwise take the room a DRBD instance has nowhere else to find.
    candidates = sorted(
        (instance for instance in instances if instance.pnode in down),
        key=lambda instance: (instance.disk_template not in INTERNALLY_MIRRORED, -instance.memory_in_use,
                              instance.name),
    )
    moves = []
    for instance in candidates:
        target, reason = _target(instance, by_name, room)
        if target is not None and not reason:
            room[target] -= instance.memory_in_use
        moves.append(Move(instance, target, instance.memory_in_use if not reason else 0, reason))
    moves.sort(key=lambda move: (not move.possible, -move.frees, move.instance.name))
    return tuple(moves)


def _target(instance: Instance, nodes: dict[str, Node], room: dict[str, int]) -> tuple[str | None, str]:
    need = instance.memory_in_use
    template = instance.disk_template
    if template in INTERNALLY_MIRRORED:
        if not instance.snodes:
            return None, f"{template} without a secondary node"
        target = instance.snodes[0]
        if target == instance.pnode:
            return None, f"{template} with its secondary on this node"
        if target not in room:
            return target, f"its secondary {target} is {_unfit(nodes.get(target))}"
        if room[target] < need:
            return target, f"its secondary {target} has {room[target]} MiB free, it needs {need}"
        return target, ""
    if template in EXTERNALLY_MIRRORED:
        home = nodes.get(instance.pnode)
        group = home.group_uuid if home else None
        peers = [name for name in room if name != instance.pnode
                 and (group is None or nodes[name].group_uuid == group)]
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
    if node.accepts_instances:
        return "going down too"
    return "not answering"
