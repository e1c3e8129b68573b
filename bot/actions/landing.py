"""Where the instances an action moves can land, and what a node operation's plan relies on.

A DRBD instance lands on its secondary; one on shared storage (or without
disks) where the iallocator puts it when the job runs: on any node of its
group that takes instances. An action holds the nodes its instances may land
on (`Plan.locks`), so that two operations that move instances onto each
other's nodes never run at once: each one's memory and N+1 verdicts assume
that the other node stays as it is. For a node operation, where each instance
goes, what stays, the landing nodes' state and the N+1 verdict are facts the
re-check compares, so a target that was drained or filled meanwhile stops it.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.actions.plan import Move, Snapshot


def peers(node: str, snapshot: Snapshot) -> tuple[str, ...]:
    """The nodes of ``node``'s group, other than it, that take instances: the iallocator's choice."""
    home = snapshot.node(node)
    group = home.group_uuid if home is not None else None
    return tuple(sorted(other.name for other in snapshot.nodes if other.name != node and other.accepts_instances
                        and (group is None or other.group_uuid == group)))


def landing(node: str, moves: Sequence[Move], snapshot: Snapshot) -> tuple[str, ...]:
    """Every node the instances ``moves`` takes off ``node`` may land on."""
    named = {move.to for move in moves if move.to is not None}
    chosen = peers(node, snapshot) if any(move.to is None for move in moves) else ()
    return tuple(sorted((named | set(chosen)) - {node}))


def emptying_facts(node: str, moves: Sequence[Move], stays: Sequence[tuple[str, str]], verdict: str,
                   snapshot: Snapshot) -> list[tuple[str, str]]:
    """What emptying ``node`` relies on besides the node and its primaries."""
    facts = [(f"{node} moves", ", ".join(f"{move.instance} to {move.to or 'the iallocator choice'}"
                                         for move in moves) or "nothing"),
             (f"{node} keeps", ", ".join(name for name, _ in stays) or "nothing"),
             ("N+1 afterwards", verdict)]
    for name in landing(node, moves, snapshot):
        target = snapshot.node(name)
        facts.append((f"landing node {name}", "takes instances" if target is not None and target.accepts_instances
                      else "takes no instances"))
    return facts
