"""What the cluster data says about a node in a campaign: pure functions over RAPI answers.

- `preflight`: before a node is emptied, what will go wrong or hurt: it is the
  master, stopped or non-mirrored instances that ``gnt-node migrate`` reports
  as errors, secondaries without the memory to take its instances (N+1, as
  `bot.ganeti.capacity` counts it for a plan and ``!movable``);
- `migration`: which node-migrate jobs (and their children) belong to the
  campaign and how they ended: a job whose reason trail names the campaign,
  or a ``NODE_MIGRATE(node)`` received once the host was under way (the
  team's script passes no reason of its own), and every child it submitted
  (their IDs as `bot.ganeti.jobs.JobView` reads them from the parent job);

DRBD disks still syncing or degraded before a migrate-back are read by
`bot.ganeti.details.disk_problems`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.ganeti.capacity import evacuation_shortfalls, going_down
from bot.ganeti.jobs import operation
from bot.ganeti.model import (
    JOB_FINISHED,
    Instance,
    Node,
)
from bot.ganeti.names import listed, short

Row = Mapping[str, Any]


def names_node(host: str, node: str) -> bool:
    """Whether a campaign's ``host`` is the cluster's ``node``: the same name, or the node's
    short name (``fsn-node-03`` for ``fsn-node-03.torproject.org``)."""
    return host == node or host == short(node)


def preflight(node: str, nodes: Sequence[Node], instances: Sequence[Instance], empties: bool) -> list[str]:
    """Warnings before ``node`` is emptied (``empties``) or rebooted with its instances."""
    by_name = {one.name: one for one in nodes}
    warnings = []
    if by_name.get(node) is not None and by_name[node].role == "master":
        warnings.append("it is the cluster's master: RAPI and the job queue go away while it reboots; "
                        "fail the master over first (gnt-cluster master-failover on a candidate)")
    if not empties:
        return warnings
    stopped = sorted(f"{short(i.name)} ({i.status})" for i in instances if i.pnode == node and not i.running)
    if stopped:
        fate = "it stays here and reboots" if len(stopped) == 1 else "they stay here and reboot"
        warnings.append(f"gnt-node migrate will report an error for {listed(stopped)}: "
                        f"not running, {fate} with the node")
    local = [f"{short(i.name)} ({i.disk_template})" for i in going_down({node}, instances) if i.running]
    if local:
        warnings.append(f"{listed(local)} cannot migrate (disks on this node only): down while it reboots")
    warnings += [f"N+1: {shortfall}" for shortfall in evacuation_shortfalls({node}, nodes, instances, short)]
    return warnings


@dataclass(frozen=True)
class Migration:
    """The node-migrate job of a host and its children, as far as they have got."""

    parent: int
    finished: bool
    moved: tuple[str, ...]  # instances whose child succeeded
    failed: tuple[tuple[int, str], ...]  # (child job id, instance) that failed


def reasons(job: Row) -> str:
    """Every reason text of every opcode of ``job``, joined (for a substring test)."""
    texts = []
    for op in job.get("ops") or ():
        for entry in (op.get("reason") if isinstance(op, Mapping) else None) or ():
            if isinstance(entry, Sequence) and len(entry) > 1 and isinstance(entry[1], str):
                texts.append(entry[1])
    return "\n".join(texts)


def names_campaign(job: Row, campaign: str) -> bool:
    return re.search(rf"(?<![\w.:-]){re.escape(campaign)}(?![\w.:-])", reasons(job)) is not None


def parent_job(jobs: Sequence[Row], node: str, campaign: str, since: float) -> Row | None:
    """The latest ``NODE_MIGRATE(node)`` of the campaign (see the module docstring)."""
    found = None
    for job in jobs:
        if _operation(job) != ("NODE_MIGRATE", node):
            continue
        received = (job.get("received_ts") or [0, 0])[0]
        if names_campaign(job, campaign) or received >= since:
            found = job if found is None or job["id"] > found["id"] else found
    return found


def migration(parent: Row, children: Sequence[int], jobs: Sequence[Row]) -> Migration:
    """Where the ``children`` of ``parent`` stand, from the job listing."""
    by_id = {job["id"]: job for job in jobs}
    moved: list[tuple[int, str]] = []
    failed: list[tuple[int, str]] = []
    finished = parent.get("status") in JOB_FINISHED
    for child in children:
        job = by_id.get(child)
        if job is None or job.get("status") not in JOB_FINISHED:
            finished = False
            continue
        instance = _operation(job)[1] or f"job {child}"
        (moved if job.get("status") == "success" else failed).append((child, instance))
    return Migration(parent["id"], finished and bool(parent.get("status")),
                     tuple(name for _, name in moved), tuple(failed))


def _operation(job: Row) -> tuple[str, str | None]:
    """What a listed job does and to what, from its summary (a row without one: nothing)."""
    summary = job.get("summary")
    first = summary[0] if isinstance(summary, list) and summary else ""
    return operation(first if isinstance(first, str) else "")
