"""How a plan is made: the preflight rules, pure functions over a `Snapshot`.

From what the cluster says now (cluster info, nodes, instances, jobs, read at
once): where the instance is and would go, its state, whether its disk
template allows the action, whether the target has the memory and takes
instances, whether a job already works on it, whether a node is the master.
Each rule either returns a `Plan` with the facts it relied on, or raises a
`Refusal` that says why, in the cluster's terms.

Ganeti's own prerequisite check (a dry run) is added on top by
`bot.actions.preflight` where the server honours it; this module never talks
to the cluster.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.actions.landing import emptying_facts, landing, peers
from bot.actions.plan import Move, Plan, Refusal, Request, Snapshot, mib, shortener
from bot.ganeti import capacity
from bot.ganeti.model import EXTERNALLY_MIRRORED, INTERNALLY_MIRRORED, Instance, Node

MIRRORED = INTERNALLY_MIRRORED | EXTERNALLY_MIRRORED
# Known not to run. Other states (ERROR_nodedown: the node does not answer) are
# left to Ganeti's own check, whose message says what the node daemon said.
STOPPED = frozenset({"ADMIN_down", "ADMIN_offline", "USER_down", "ERROR_down"})
WITH_DISKS = frozenset({"drbd", "plain", "file", "sharedfile", "blockdev", "rbd", "ext", "gluster"})



def make_plan(request: Request, snapshot: Snapshot) -> Plan:
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
    lands = (destination,) if destination else peers(instance.pnode, snapshot)
    facts.append(_jobs_fact(snapshot, [name, instance.pnode, *lands]))
    return Plan(action, request.cluster, name, instance.pnode, destination, memory, notes=tuple(notes),
                facts=tuple(facts), locks=tuple(sorted({name, instance.pnode, *lands})), iallocator=iallocator)


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
    facts.append(_jobs_fact(snapshot, [name, *nodes]))
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
    notes, verdict = _n_plus_one(name, report, snapshot)
    lands = landing(name, moves, snapshot)
    facts = [(f"{name} state", _state(node)), (f"{name} primaries", ",".join(primaries)),
             ("master", snapshot.info.master)]
    facts += [(f"{instance.name} status", instance.status) for instance in snapshot.instances
              if instance.pnode == name]
    facts += emptying_facts(name, moves, stays, verdict, snapshot)
    facts.append(_jobs_fact(snapshot, [name, *primaries, *lands]))
    return Plan("node-migrate", request.cluster, name, moves=tuple(moves), stays=tuple(stays),
                notes=tuple(notes), facts=tuple(facts), locks=tuple(sorted({name, *primaries, *lands})),
                iallocator=snapshot.info.iallocator)


def _n_plus_one(name: str, report: capacity.MovableReport, snapshot: Snapshot) -> tuple[list[str], str]:
    """What emptying ``name`` does to the cluster's redundancy: the notes, and the verdict."""
    notes = []
    exposed = sorted(instance.name for instance in snapshot.instances
                     if instance.disk_template in INTERNALLY_MIRRORED
                     and (name in instance.snodes or instance.pnode == name))
    if exposed:
        short = shortener(exposed)
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
        return [*notes, "N+1 afterwards: no other node takes instances"], "no other node takes instances"
    short = shortener(room)
    worst = max(room, key=lambda n: (load[n] - sum(room.values()) + room[n], n))
    spare = sum(room.values()) - room[worst]
    if load[worst] > spare:
        notes.append(f"N+1 afterwards: NOT met, if {short(worst)} failed too its {mib(load[worst])} would not fit "
                     f"in the {mib(spare)} left elsewhere")
        return notes, "NOT met"
    notes.append("N+1 afterwards: met (" + ", ".join(f"{short(n)} {mib(room[n])} free" for n in sorted(room)) + ")")
    return notes, "met"


def _memory(instance: Instance, action: str) -> int:
    """MiB the instance needs where it goes: what it uses now, or (failover of a stopped instance) none."""
    if instance.running:
        return instance.memory_in_use
    return 0 if action == "failover" and instance.admin_state != "up" else (instance.maxmem or 0)


def _jobs_fact(snapshot: Snapshot, names: Sequence[str]) -> tuple[str, str]:
    """No unfinished job names ``names[0]`` or what it involves (its nodes, the nodes it moves to, its instances)."""
    busy = snapshot.busy(names)
    if busy:
        listed = ", ".join(f"{job.id} {job.status} {' '.join(job.summary)}" for job in busy)
        raise Refusal(f"a job already works on {names[0]} or something it involves: {listed}. "
                      "Wait for it (!job ID) and ask again")
    return f"jobs on {names[0]} and what it involves", "none"


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
