"""How the rules read a snapshot: node states, jobs already at work, memory to spare.

Shared by the instance rules (`bot.actions.rules`), the rules that empty a
node (`bot.actions.emptying`) and those that bring its instances back
(`bot.actions.migrate_back`). Pure functions; nothing here talks to a cluster.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.actions.plan import Refusal, Snapshot, shortener
from bot.ganeti.model import EXTERNALLY_MIRRORED, INTERNALLY_MIRRORED, Node
from bot.ganeti.sizes import mib

MIRRORED = INTERNALLY_MIRRORED | EXTERNALLY_MIRRORED
# Known not to run. Other states (ERROR_nodedown: the node does not answer) are
# left to Ganeti's own check, whose message says what the node daemon said.
STOPPED = frozenset({"ADMIN_down", "ADMIN_offline", "USER_down", "ERROR_down"})


def jobs_fact(snapshot: Snapshot, names: Sequence[str]) -> tuple[str, str]:
    """No unfinished job names ``names[0]`` or what it involves (its nodes, the nodes it moves to, its
    instances): the fact, or `Refusal` naming the jobs that do."""
    busy = snapshot.busy(names)
    if busy:
        listed = ", ".join(f"{job.id} {job.status} {' '.join(job.summary)}" for job in busy)
        raise Refusal(f"a job already works on {names[0]} or something it involves: {listed}. "
                      "Wait for it (!job ID) and ask again")
    return f"jobs on {names[0]} and what it involves", "none"


def node_state(node: Node | None) -> str:
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


def headroom(room: Mapping[str, int], load: Mapping[str, int]) -> tuple[str, str]:
    """N+1 afterwards: if the node whose failure hurts most failed, would its instances
    (``load``, MiB in use) fit in what the others have free (``room``)? The note that
    says it, and the verdict alone (a fact the re-check compares: met, NOT met...)."""
    if not room:
        return "N+1 afterwards: no other node takes instances", "no other node takes instances"
    short = shortener(room)
    total = sum(room.values())
    worst = max(room, key=lambda n: (load.get(n, 0) - total + room[n], n))
    spare = total - room[worst]
    if load.get(worst, 0) > spare:
        return (f"N+1 afterwards: NOT met, if {short(worst)} failed too its {mib(load[worst])} would not fit "
                f"in the {mib(spare)} left elsewhere"), "NOT met"
    return "N+1 afterwards: met (" + ", ".join(f"{short(n)} {mib(room[n])} free" for n in sorted(room)) + ")", "met"
