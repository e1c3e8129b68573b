"""Submitting a confirmed plan: once, with the write user, and with a reason.

The reason goes into the job's reason trail, so ``gnt-job info`` on the
cluster says who asked, who confirmed, where and why::

    gntbot(k7q2x): alice+bob in irc:#ops: migrate inst3.example.org node2.example.org->node1.example.org [T1234]

It starts with the request's token, which is how `find_submitted` recognises
the job after an ambiguous failure (the connection broke after the request was
sent) or a restart in the middle of a submission: the answer comes from the
cluster's own job list, never from sending the request again. The token comes
first because a long reason is cut at its end (`bot.ganeti.writes.clean_reason`).
"""

from __future__ import annotations

from bot.actions.plan import Plan
from bot.ganeti.rapi import RapiClient
from bot.ganeti.writes import WriteClient


def reason(plan: Plan, token: str, room: str, requester: str, approver: str | None, text: str,
           note: str = "") -> str:
    who = requester if approver in (None, requester) else f"{requester}+{approver}"
    what = f"{plan.action} {plan.target}"
    if plan.action in ("migrate", "failover"):
        what += f" {plan.source}->{plan.destination or plan.iallocator or 'iallocator'}"
    where = "in private" if room.startswith("private:") else f"in {room}"
    line = f"{_mark(token)} {who} {where}: {what}"
    if text:
        line += f" [{text}]"
    return f"{line} ({note})" if note else line


def find_submitted(reader: RapiClient, token: str) -> int | None:
    """The ID of the job submitted for ``token`` (not its dry run), if the cluster has one. Blocking.

    ``/2/jobs?bulk=1`` lists the jobs not yet archived, each with its opcodes
    and their reason trail."""
    for job in reader.get("/2/jobs", {"bulk": True}) or ():
        ops = job.get("ops") if isinstance(job, dict) else None
        first = ops[0] if isinstance(ops, list) and ops and isinstance(ops[0], dict) else {}
        trail = first.get("reason") or []
        said = str(trail[0][1]) if trail and isinstance(trail[0], list) and len(trail[0]) > 1 else ""
        if said.startswith(_mark(token)) and not first.get("dry_run") and str(job.get("id", "")).isdigit():
            return int(job["id"])
    return None


def _mark(token: str) -> str:
    return f"gntbot({token}):"


def submit(writer: WriteClient, plan: Plan, why: str) -> int:
    """The job ID of ``plan``'s one write. Blocking."""
    if plan.action == "migrate":
        return writer.migrate_instance(plan.target, reason=why, target_node=plan.destination,
                                       iallocator=None if plan.destination else plan.iallocator)
    if plan.action == "failover":
        return writer.failover_instance(plan.target, reason=why, target_node=plan.destination,
                                        iallocator=None if plan.destination else plan.iallocator)
    if plan.action == "activate-disks":
        return writer.activate_disks(plan.target, reason=why)
    if plan.action == "node-migrate":
        return writer.migrate_node(plan.target, reason=why)
    raise ValueError(f"no such action {plan.action!r}")
