"""How a plan is made: the preflight rules, pure functions over a `Snapshot`.

From what the cluster says now (cluster info, nodes, instances, jobs, read at
once): where the instance is and would go, its state, whether its disk
template allows the action, whether the target has the memory and takes
instances, whether a job already works on it, whether a node is the master.
Each rule either returns a `Plan` with the facts it relied on, or raises a
`Refusal` that says why, in the cluster's terms. The rules over a whole node
are in `bot.actions.emptying` (node-migrate, drain) and
`bot.actions.migrate_back`.

Ganeti's own prerequisite check (a dry run) is added on top by
`bot.actions.preflight` where the server honours it; this module never talks
to the cluster.
"""

from __future__ import annotations

from bot.actions import emptying, migrate_back
from bot.actions.landing import peers
from bot.actions.plan import Plan, Refusal, Request, Snapshot
from bot.actions.reading import MIRRORED, STOPPED, jobs_fact, node_state
from bot.ganeti.model import INTERNALLY_MIRRORED, Instance
from bot.ganeti.sizes import mib

NODE_RULES = {"node-migrate": emptying.node_migrate, "drain": emptying.drain,
              "migrate-back": migrate_back.migrate_back}
WITH_DISKS = frozenset({"drbd", "plain", "file", "sharedfile", "blockdev", "rbd", "ext", "gluster"})


def make_plan(request: Request, snapshot: Snapshot) -> Plan:
    """The plan for ``request`` on ``snapshot``, or `Refusal`."""
    node_rule = NODE_RULES.get(request.action)
    if node_rule is not None:
        return node_rule(request, snapshot)
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
             (f"{name} status", instance.status), ("its primary node", f"{instance.pnode} {node_state(source)}")]
    notes = []
    if destination is not None:
        target = snapshot.node(destination)
        facts.append(("the target node", f"{destination} {node_state(target)}"))
        if target is not None and not target.accepts_instances:
            raise Refusal(f"{destination} does not take instances now: it is {node_state(target)}")
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
    facts.append(jobs_fact(snapshot, [name, instance.pnode, *lands]))
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
        facts.append((f"its {role} node", f"{node_name} {node_state(node)}"))
        if node is None or not node.answering:
            raise Refusal(f"{node_name} ({'primary' if node_name == instance.pnode else 'secondary'} of {name}) "
                          f"is {node_state(node)}: its disks cannot be activated there now")
    facts.append(jobs_fact(snapshot, [name, *nodes]))
    return Plan("activate-disks", request.cluster, name, instance.pnode, facts=tuple(facts),
                locks=tuple(sorted({name, *nodes})), disk_usage=instance.disk_usage)


def _memory(instance: Instance, action: str) -> int:
    """MiB the instance needs where it goes: what it uses now, or (failover of a stopped instance) none."""
    if instance.running:
        return instance.memory_in_use
    return 0 if action == "failover" and instance.admin_state != "up" else (instance.maxmem or 0)
