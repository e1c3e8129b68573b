"""Bringing a rebooted node's instances home: the rules of ``!migrate-back``.

The reboot script's ``--ganeti-migrate-back`` runs ``gnt-instance migrate``
for each instance it had moved off, serially and unconditionally. Here each
remembered instance is looked at first, and only those that can come back
safely do:

- the node must answer (it is back from its reboot) and must not be offline;
  a drained node is undrained first, as part of the plan (Ganeti refuses to
  migrate onto a drained node);
- an instance comes back only if it still runs where the drain put it: one
  that was stopped meanwhile, moved elsewhere by someone, removed, or whose
  DRBD secondary is no longer this node stays, with the reason;
- its DRBD disks must be in sync: a disk still syncing, degraded, or not set
  up again on the node yet (the runbook's "slow disk sync after rebooting /
  broken migrate-back") refuses the whole plan, naming each disk;
- the node must have the memory for all of them, and the plan says whether
  N+1 holds once they are back.
"""

from __future__ import annotations

from bot.actions.plan import (
    Move,
    Plan,
    Refusal,
    Remembered,
    Request,
    Snapshot,
    mib,
)
from bot.actions.reading import MIRRORED, headroom, jobs_fact, node_state
from bot.ganeti.model import INTERNALLY_MIRRORED, Instance, Node
from bot.ganeti.names import short


def migrate_back(request: Request, snapshot: Snapshot) -> Plan:
    name = request.target
    node = snapshot.node(name)
    remembered = snapshot.remembered
    if node is None:
        raise Refusal(f"{name} is no longer a node of @{request.cluster}")
    if remembered is None:  # the service asks the campaigns first
        raise Refusal(f"nothing is remembered of {name}'s instances")
    if node.offline:
        raise Refusal(f"{name} is offline: Ganeti does not use it. Once it is healthy, bring it back "
                      f"(gnt-node modify --offline=no {name}) and ask again")
    if not node.answering:
        raise Refusal(f"{name} does not answer (down, or its node daemon is stopped): wait until it is back "
                      "(the campaign says when) and ask again")
    moves, stays = _sorted(name, remembered, snapshot)
    if not moves and not node.drained:
        raise Refusal(f"nothing to bring back to {short(name)}: "
                      + "; ".join(f"{short(instance)} ({why})" for instance, why in stays))
    _check_disks(snapshot, moves)
    need = sum(move.memory for move in moves)
    if node.mfree is not None and need > node.mfree:
        raise Refusal(f"{name} has {mib(node.mfree)} free, the instances coming back need {mib(need)}: "
                      "make room first, or bring them back one by one (!migrate INSTANCE NODE)")
    n_plus_one, verdict = _n_plus_one(name, moves, snapshot)
    notes = [f"{short(name)} is undrained first"] if node.drained else []
    notes += [f"remembered by campaign {remembered.campaign}", n_plus_one]
    busy = [move.instance for move in moves]
    sources = sorted({move.source for move in moves if move.source})
    facts = [*_facts(name, node, moves, snapshot), ("N+1 afterwards", verdict),
             jobs_fact(snapshot, [name, *busy, *sources])]
    return Plan("migrate-back", request.cluster, name, moves=tuple(moves), stays=tuple(stays), notes=tuple(notes),
                facts=tuple(facts), locks=tuple(sorted({name, *busy, *sources})),
                drained=False if node.drained else None, campaign=remembered.campaign)


def _sorted(name: str, remembered: Remembered, snapshot: Snapshot) -> tuple[list[Move], list[tuple[str, str]]]:
    """The remembered instances that come back, and those that stay (with why)."""
    moves, stays = [], []
    for instance_name, went_to in sorted(remembered.instances):
        instance = snapshot.instance(instance_name)
        why = _stays_because(name, instance, went_to)
        if why:
            stays.append((instance_name, why))
        else:
            assert instance is not None
            moves.append(Move(instance.name, instance.disk_template, instance.memory_in_use, name, instance.pnode))
    return moves, stays


def _stays_because(name: str, instance: Instance | None, went_to: str | None) -> str:
    """Why ``instance`` does not come back to ``name`` (empty: it does)."""
    if instance is None:
        return "it no longer exists"
    if instance.pnode == name:
        return f"{instance.status} on it already"
    if instance.status != "running":
        return f"{instance.status} now: not migrated back, !failover moves it"
    if instance.disk_template not in MIRRORED:
        return f"{instance.disk_template} disks on {short(instance.pnode)}: it cannot migrate"
    if went_to is not None and instance.pnode != went_to:
        return (f"on {short(instance.pnode)} now, not on {short(went_to)} where it went: someone moved it "
                f"meanwhile (!migrate {short(instance.name)} {short(name)} brings it)")
    if instance.disk_template in INTERNALLY_MIRRORED and name not in instance.snodes:
        return f"{short(name)} is no longer its secondary"
    return ""


def _check_disks(snapshot: Snapshot, moves: list[Move]) -> None:
    problems: list[str] = []
    unknown: list[str] = []
    for move in moves:
        if move.template not in INTERNALLY_MIRRORED:
            continue
        found = snapshot.disk_problems(move.instance)
        if found is None:
            unknown.append(move.instance)
        problems.extend(found or ())
    if problems:
        raise Refusal("not all disks are in sync: " + "; ".join(problems) + ". Migrating now would fail "
                      "(Ganeti aborts when a disk is degraded on the target). Wait for the resync (the "
                      "ganeti-watcher sets the disks up within minutes of a reboot; gnt-cluster verify-disks "
                      "does it at once) and ask again")
    if unknown:
        raise Refusal("the cluster did not say whether the disks of " + ", ".join(unknown) + " are in sync "
                      "(their info job failed or took too long): ask again")


def _facts(name: str, node: Node, moves: list[Move], snapshot: Snapshot) -> list[tuple[str, str]]:
    facts = [(f"{name} state", node_state(node))]
    for move in moves:
        instance = snapshot.instance(move.instance)
        assert instance is not None
        facts += [(f"{move.instance} primary", instance.pnode), (f"{move.instance} status", instance.status)]
    return facts


def _n_plus_one(name: str, moves: list[Move], snapshot: Snapshot) -> tuple[str, str]:
    """N+1 once the instances are back (the node counts, drained or not: it is undrained first):
    the note, and the verdict."""
    room: dict[str, int] = {}
    load: dict[str, int] = {}
    for node in snapshot.nodes:
        if node.accepts_instances or node.name == name:
            room[node.name] = node.mfree or 0
            load[node.name] = sum(i.memory_in_use for i in snapshot.instances if i.pnode == node.name)
    for move in moves:
        for node_name, sign in ((name, 1), (move.source, -1)):
            if node_name in room:
                room[node_name] -= sign * move.memory
                load[node_name] += sign * move.memory
    return headroom(room, load)
