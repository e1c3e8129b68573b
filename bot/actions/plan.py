"""Preflight: from what the cluster says now to a frozen `Plan`, or a refusal.

Pure functions over a `Snapshot` (cluster info, nodes, instances, jobs, all read
at once): where the instance is and would go, its state, whether its disk
template allows the action, whether the target has the memory, whether a job
already works on it, whether a node is the master. The plan keeps the
``facts`` it relied on; just before submitting, the same preflight runs on a
fresh snapshot and any fact that changed stops the action (`changes`).

Ganeti's own prerequisite check (a dry run) is added on top by `preflight`
where the server honours it; this module never talks to the cluster.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from bot.errors import GntbotError
from bot.ganeti import capacity
from bot.ganeti.model import (
    EXTERNALLY_MIRRORED,
    INTERNALLY_MIRRORED,
    JOB_ACTIVE,
    ClusterInfo,
    Instance,
    Job,
    Node,
)
from bot.ganeti.names import common_domain, strip_domain

MIRRORED = INTERNALLY_MIRRORED | EXTERNALLY_MIRRORED
# Known not to run. Other states (ERROR_nodedown: the node does not answer) are
# left to Ganeti's own check, whose message says what the node daemon said.
STOPPED = frozenset({"ADMIN_down", "ADMIN_offline", "USER_down", "ERROR_down"})
WITH_DISKS = frozenset({"drbd", "plain", "file", "sharedfile", "blockdev", "rbd", "ext", "gluster"})


class Refusal(GntbotError):
    """The action cannot (or must not) go ahead; the text says why, in the cluster's terms."""


@dataclass(frozen=True)
class Request:
    """What someone asked for, with every name already checked against the cluster's listing."""

    action: str
    cluster: str
    target: str  # full instance name, or node name for node-migrate
    node: str | None = None  # migrate's NODE, full name
    reason: str = ""  # free text or ticket, for the job's reason trail


@dataclass(frozen=True)
class Snapshot:
    info: ClusterInfo
    nodes: tuple[Node, ...]
    instances: tuple[Instance, ...]
    jobs: tuple[Job, ...]

    def node(self, name: str) -> Node | None:
        return next((node for node in self.nodes if node.name == name), None)

    def instance(self, name: str) -> Instance | None:
        return next((instance for instance in self.instances if instance.name == name), None)

    def busy(self, names: Iterable[str]) -> list[Job]:
        """Unfinished jobs whose summary names one of ``names``."""
        patterns = [re.compile(rf"(?<![\w.-]){re.escape(name)}(?![\w.-])") for name in names]
        return [job for job in self.jobs if job.status in JOB_ACTIVE
                and any(pattern.search(summary) for summary in job.summary for pattern in patterns)]


@dataclass(frozen=True)
class Move:
    """One instance a node-migrate moves; ``to`` is None when the iallocator picks."""

    instance: str
    template: str
    memory: int  # MiB in use
    to: str | None


@dataclass(frozen=True)
class Plan:
    """What will be submitted, how it reads, and what it relied on."""

    action: str
    cluster: str
    target: str
    source: str | None = None  # the instance's primary node (instance actions)
    destination: str | None = None  # None: the iallocator picks when the job runs
    memory: int = 0  # MiB the instance uses (instance actions)
    moves: tuple[Move, ...] = ()
    stays: tuple[tuple[str, str], ...] = ()  # (instance, why it does not move)
    notes: tuple[str, ...] = ()
    facts: tuple[tuple[str, str], ...] = ()
    locks: tuple[str, ...] = ()  # instances and nodes no other action may touch meanwhile
    iallocator: str = ""
    disk_usage: int | None = None  # MiB (activate-disks)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Plan:
        values = dict(data)
        values["moves"] = tuple(Move(**move) if isinstance(move, Mapping) else Move(*move)
                                for move in values.get("moves", ()))
        for key in ("stays", "facts"):
            values[key] = tuple(tuple(pair) for pair in values.get(key, ()))
        for key in ("notes", "locks"):
            values[key] = tuple(values.get(key, ()))
        return cls(**values)

    def describe(self) -> str:
        """The plan in one line, with names shortened by the domain they share."""
        names = [self.target, self.source or "", self.destination or "",
                 *(move.instance for move in self.moves), *(name for name, _ in self.stays)]
        short = _shortener(names)
        head = f"{self.action} {short(self.target)} @{self.cluster}"
        if self.action == "node-migrate":
            picker = f"{self.iallocator or 'the iallocator'}'s choice"
            moving = ", ".join(f"{short(m.instance)} → {short(m.to) if m.to else picker} "
                               f"({mib(m.memory)})" for m in self.moves)
            text = f"{head}: {len(self.moves)} instance{'s' if len(self.moves) != 1 else ''} move: {moving}"
            if self.stays:
                text += "; stay: " + ", ".join(f"{short(name)} ({why})" for name, why in self.stays)
        elif self.action == "activate-disks":
            text = f"{head} on {short(self.source or '?')} (disks: {mib(self.disk_usage)})"
        else:
            to = short(self.destination) if self.destination else f"a node {self.iallocator or 'the iallocator'} picks"
            how = "live" if self.action == "migrate" else "shut down and started again" if self.memory else "stopped"
            text = f"{head}: {short(self.source or '?')} → {to} ({how}, {mib(self.memory)})"
        return "; ".join((text, *self.notes))


def changes(before: Plan, after: Plan) -> list[str]:
    """What is no longer as the plan said: ``"inst3 primary: node2, now node1"``."""
    old, new = dict(before.facts), dict(after.facts)
    return [f"{key}: {old.get(key, 'unknown')}, now {new.get(key, 'unknown')}"
            for key in sorted(set(old) | set(new)) if old.get(key) != new.get(key)]


def plan(request: Request, snapshot: Snapshot) -> Plan:
    """The plan for ``request`` on ``snapshot``, or `Refusal`."""
    if request.action == "node-migrate":
        return _node_migrate(request, snapshot)
    instance = snapshot.instance(request.target)
    if instance is None:
        raise Refusal(f"{request.target} is no longer an instance of @{request.cluster}")
    if request.action == "activate-disks":
        return _activate_disks(request, snapshot, instance)
    return _move(request, snapshot, instance)


def _move(request: Request, snapshot: Snapshot, instance: Instance) -> Plan:
    """migrate and failover: one instance to another node."""
    name, template, action = instance.name, instance.disk_template, request.action
    if template not in MIRRORED:
        raise Refusal(f"{name} has {template} disks, which live on {instance.pnode} only: it cannot "
                      f"{action} (Ganeti would refuse too). Move its disks first (gnt-instance move).")
    source = snapshot.node(instance.pnode)
    if action == "migrate" and instance.status in STOPPED:
        raise Refusal(f"{name} is not running ({instance.status}), so it cannot be live-migrated: "
                      "use !failover for a stopped instance")
    destination = _destination(request, snapshot, instance)
    iallocator = "" if destination else snapshot.info.iallocator
    if destination is None and not iallocator:
        raise Refusal(f"@{request.cluster} has no default iallocator: name the target node "
                      f"(!{action} {name} NODE)")
    memory = _memory(instance, action)
    facts = [(f"{name} primary", instance.pnode), (f"{name} secondaries", ",".join(instance.snodes) or "none"),
             (f"{name} status", instance.status), ("its primary node", f"{instance.pnode} {_state(source)}")]
    notes = []
    if destination is not None:
        target = snapshot.node(destination)
        facts.append(("the target node", f"{destination} {_state(target)}"))
        if target is not None and not target.accepts_instances:
            raise Refusal(f"{destination} does not take instances now: it is {_state(target)}")
        if target is not None and target.mfree is not None and memory:
            least = (instance.minmem or memory) if action == "migrate" else memory
            facts.append(("room on the target", "yes" if target.mfree >= least else "no"))
            if target.mfree < least:
                raise Refusal(f"{destination} has {mib(target.mfree)} free, {name} needs at least {mib(least)}")
            if action == "migrate" and target.mfree < memory:
                notes.append(f"{name} will be shrunk to fit {destination}'s {mib(target.mfree)} free")
    if action == "failover" and instance.status == "running":
        notes.append(f"{name} is down while it moves")
    facts.append(_jobs_fact(snapshot, [name]))
    return Plan(action, request.cluster, name, instance.pnode, destination, memory, notes=tuple(notes),
                facts=tuple(facts), locks=tuple(sorted({name, instance.pnode, *([destination] if destination else [])})),
                iallocator=iallocator)


def _destination(request: Request, snapshot: Snapshot, instance: Instance) -> str | None:
    name, node = instance.name, request.node
    if node == instance.pnode:
        raise Refusal(f"{name} already runs on {node}")
    if instance.disk_template in INTERNALLY_MIRRORED:
        secondary = instance.snodes[0] if instance.snodes else None
        if secondary is None:
            raise Refusal(f"{name} is {instance.disk_template} but has no secondary node")
        if node is not None and node != secondary:
            raise Refusal(f"{name} is {instance.disk_template}: it can only go to its secondary {secondary}, not {node}")
        return secondary
    return node


def _activate_disks(request: Request, snapshot: Snapshot, instance: Instance) -> Plan:
    name = instance.name
    if instance.disk_template not in WITH_DISKS:
        raise Refusal(f"{name} is {instance.disk_template}: it has no disks to activate")
    nodes = (instance.pnode, *instance.snodes)
    facts = [(f"{name} primary", instance.pnode), (f"{name} secondaries", ",".join(instance.snodes) or "none")]
    for role, node_name in zip(("primary", *("secondary" for _ in instance.snodes)), nodes, strict=True):
        node = snapshot.node(node_name)
        facts.append((f"its {role} node", f"{node_name} {_state(node)}"))
        if node is None or not node.answering:
            raise Refusal(f"{node_name} ({'primary' if node_name == instance.pnode else 'secondary'} of {name}) "
                          f"is {_state(node)}: its disks cannot be activated there now")
    facts.append(_jobs_fact(snapshot, [name]))
    return Plan("activate-disks", request.cluster, name, instance.pnode, facts=tuple(facts),
                locks=tuple(sorted({name, *nodes})), disk_usage=instance.disk_usage)


def _node_migrate(request: Request, snapshot: Snapshot) -> Plan:
    name = request.target
    node = snapshot.node(name)
    if node is None:
        raise Refusal(f"{name} is no longer a node of @{request.cluster}")
    if name == snapshot.info.master:
        raise Refusal(f"{name} is the master node: RAPI runs there and would go away with it. Fail the master "
                      "over to another candidate first (gnt-cluster master-failover, on that node)")
    if not node.answering:
        raise Refusal(f"{name} is {_state(node)}: its instances cannot be live-migrated (failover them instead)")
    report = capacity.movable(name, snapshot.nodes, snapshot.instances)
    moves, stays = [], []
    for move in sorted(report.moves, key=lambda m: m.instance.name):
        instance = move.instance
        if instance.status != "running":
            stays.append((instance.name, f"{instance.status}: not migrated, !failover moves it"))
        elif not move.possible:
            stays.append((instance.name, move.reason))
        else:
            to = move.target if instance.disk_template in INTERNALLY_MIRRORED else None
            moves.append(Move(instance.name, instance.disk_template, instance.memory_in_use, to))
    if not moves:
        why = "; ".join(f"{short} ({reason})" for short, reason in stays) or "it has no primary instances"
        raise Refusal(f"nothing on {name} can be migrated: {why}")
    primaries = sorted(instance.name for instance in snapshot.instances if instance.pnode == name)
    facts = [(f"{name} state", _state(node)), (f"{name} primaries", ",".join(primaries)),
             ("master", snapshot.info.master)]
    facts += [(f"{instance.name} status", instance.status) for instance in snapshot.instances
              if instance.pnode == name]
    facts.append(_jobs_fact(snapshot, [name, *primaries]))
    return Plan("node-migrate", request.cluster, name, moves=tuple(moves), stays=tuple(stays),
                notes=tuple(_n_plus_one(name, report, snapshot)), facts=tuple(facts),
                locks=tuple(sorted({name, *primaries})), iallocator=snapshot.info.iallocator)


def _n_plus_one(name: str, report: capacity.MovableReport, snapshot: Snapshot) -> list[str]:
    """What emptying ``name`` does to the cluster's redundancy."""
    notes = []
    exposed = sorted(instance.name for instance in snapshot.instances
                     if instance.disk_template in INTERNALLY_MIRRORED
                     and (name in instance.snodes or instance.pnode == name))
    if exposed:
        short = _shortener(exposed)
        notes.append(f"while {short(name)} is down, {len(exposed)} DRBD instance(s) have no second copy: "
                     + ", ".join(short(i) for i in exposed))
    load: dict[str, int] = {}
    room: dict[str, int] = {}
    for node in snapshot.nodes:
        if node.name != name and node.accepts_instances:
            room[node.name] = node.mfree or 0
            load[node.name] = sum(i.memory_in_use for i in snapshot.instances if i.pnode == node.name)
    for move in report.possible:
        if move.target in room and move.instance.running:
            room[move.target] -= move.instance.memory_in_use
            load[move.target] += move.instance.memory_in_use
    if not room:
        return [*notes, "N+1 afterwards: no other node takes instances"]
    short = _shortener(room)
    worst = max(room, key=lambda n: (load[n] - sum(room.values()) + room[n], n))
    spare = sum(room.values()) - room[worst]
    if load[worst] > spare:
        notes.append(f"N+1 afterwards: NOT met, if {short(worst)} failed too its {mib(load[worst])} would not fit "
                     f"in the {mib(spare)} left elsewhere")
    else:
        notes.append("N+1 afterwards: met (" + ", ".join(f"{short(n)} {mib(room[n])} free" for n in sorted(room)) + ")")
    return notes


def _memory(instance: Instance, action: str) -> int:
    """MiB the instance needs where it goes: what it uses now, or (failover of a stopped instance) none."""
    if instance.running:
        return instance.memory_in_use
    return 0 if action == "failover" and instance.admin_state != "up" else (instance.maxmem or 0)


def _jobs_fact(snapshot: Snapshot, names: Sequence[str]) -> tuple[str, str]:
    busy = snapshot.busy(names)
    key = f"jobs on {names[0]}" + (" and its instances" if len(names) > 1 else "")
    if busy:
        listed = ", ".join(f"{job.id} {job.status} {' '.join(job.summary)}" for job in busy)
        raise Refusal(f"a job already works on {names[0] if len(names) == 1 else 'it'}: {listed}. "
                      "Wait for it (!job ID) and ask again")
    return key, "none"


def _state(node: Node | None) -> str:
    if node is None:
        return "unknown"
    if node.offline:
        return "offline"
    if not node.answering:
        return "not answering"
    if node.drained:
        return "drained"
    if not node.vm_capable:
        return "not vm_capable"
    return "up"


def _shortener(names: Iterable[str]):
    domain = common_domain(name for name in names if name)
    return lambda name: strip_domain(name, domain)


def mib(value: int | None) -> str:
    """Sizes as gnt-* prints them."""
    if value is None:
        return "?"
    return f"{value}M" if value < 1024 else f"{value / 1024:.1f}G"
