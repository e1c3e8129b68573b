"""Emptying a node before its reboot: ``!node-migrate`` and ``!drain``.

Both move the node's primary instances off with one ``gnt-node migrate`` (a
child job per instance: DRBD to its secondary, shared storage and diskless
where the iallocator says), and both plan it the same way: what moves and
where, what stays and why (local disks, stopped), the instances left without
a second copy while the node is down, and whether N+1 still holds. The master
is refused: RAPI runs there and would go away with it.

``!drain`` also sets the node's *drained* flag, after the migration was
submitted (a job that waits for it): a node about to reboot must not receive
new instances, neither from the iallocator (a new instance, hbal) nor from a
colleague's migration, and ``gnt-node list`` shows it in maintenance. The
flag stays until ``!migrate-back`` clears it. The node is not set *offline*:
that is for a dead node, and Ganeti would stop talking to it, so its DRBD
secondaries would not be set up again when it boots.
"""

from __future__ import annotations

from dataclasses import replace

from bot.actions.landing import emptying_facts, landing
from bot.actions.plan import Move, Plan, Refusal, Request, Snapshot, shortener
from bot.actions.reading import headroom, jobs_fact, node_state
from bot.ganeti import capacity
from bot.ganeti.model import INTERNALLY_MIRRORED
from bot.ganeti.names import short


def node_migrate(request: Request, snapshot: Snapshot) -> Plan:
    plan = _emptying(request, snapshot)
    if not plan.moves:
        raise Refusal(f"nothing on {request.target} can be migrated: {_stays(plan)}")
    return plan


def drain(request: Request, snapshot: Snapshot) -> Plan:
    """The node's primaries off (if any can move) and the node drained (if it is not yet)."""
    plan = _emptying(request, snapshot)
    node = snapshot.node(request.target)
    assert node is not None  # _emptying refused otherwise
    if node.drained and not plan.moves:
        raise Refusal(f"{request.target} is drained already and nothing on it can be migrated: {_stays(plan)}")
    name = short(request.target)
    if node.drained:
        flag = f"{name} is drained already"
    elif node.role == "candidate":
        flag = (f"{name} is drained (nothing new is placed on it; it stops being a master candidate, "
                "Ganeti promotes another if the pool needs one)")
    else:
        flag = f"{name} is drained (nothing new is placed on it)"
    return replace(plan, action="drain", drained=None if node.drained else True, notes=(flag, *plan.notes),
                   facts=(*plan.facts, (f"{request.target} drained", str(node.drained))))


def _emptying(request: Request, snapshot: Snapshot) -> Plan:
    name = request.target
    node = snapshot.node(name)
    if node is None:
        raise Refusal(f"{name} is no longer a node of @{request.cluster}")
    if name == snapshot.info.master:
        raise Refusal(f"{name} is the master node: RAPI runs there and would go away with it. Fail the master "
                      "over to another candidate first (gnt-cluster master-failover, on that node)")
    if not node.answering:
        raise Refusal(f"{name} is {node_state(node)}: its instances cannot be live-migrated (failover them instead)")
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
    primaries = sorted(instance.name for instance in snapshot.instances if instance.pnode == name)
    notes, verdict = _n_plus_one(name, report, snapshot)
    lands = landing(name, moves, snapshot)
    facts = [(f"{name} state", node_state(node)), (f"{name} primaries", ",".join(primaries)),
             ("master", snapshot.info.master)]
    facts += [(f"{instance.name} status", instance.status) for instance in snapshot.instances
              if instance.pnode == name]
    facts += emptying_facts(name, moves, stays, verdict, snapshot)
    facts.append(jobs_fact(snapshot, [name, *primaries, *lands]))
    return Plan("node-migrate", request.cluster, name, moves=tuple(moves), stays=tuple(stays),
                notes=tuple(notes), facts=tuple(facts), locks=tuple(sorted({name, *primaries, *lands})),
                iallocator=snapshot.info.iallocator)


def _stays(plan: Plan) -> str:
    short_name = shortener(name for name, _ in plan.stays)
    return "; ".join(f"{short_name(name)} ({why})" for name, why in plan.stays) or "it has no primary instances"


def _n_plus_one(name: str, report: capacity.MovableReport, snapshot: Snapshot) -> tuple[list[str], str]:
    """What emptying ``name`` does to the cluster's redundancy: the notes, and the N+1 verdict."""
    notes = []
    exposed = sorted(instance.name for instance in snapshot.instances
                     if instance.disk_template in INTERNALLY_MIRRORED
                     and (name in instance.snodes or instance.pnode == name))
    if exposed:
        short_name = shortener(exposed)
        notes.append(f"while {short_name(name)} is down, {len(exposed)} DRBD instance(s) have no second copy: "
                     + ", ".join(short_name(i) for i in exposed))
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
    note, verdict = headroom(room, load)
    return [*notes, note], verdict
