"""Submitting a confirmed plan: once, with the write user, and with a reason.

The reason goes into the job's reason trail, so ``gnt-job info`` on the
cluster says who asked, who confirmed, where and why::

    gntbot: alice+bob in irc:#ops: migrate inst3.example.org node2.example.org->node1.example.org [T1234]

Nothing here retries: a failed submission is reported as it failed (and a
request that may have reached RAPI is reported as possibly submitted).
"""

from __future__ import annotations

from bot.actions.plan import Plan
from bot.ganeti.writes import WriteClient


def reason(plan: Plan, room: str, requester: str, approver: str | None, text: str, note: str = "") -> str:
    who = requester if approver in (None, requester) else f"{requester}+{approver}"
    what = f"{plan.action} {plan.target}"
    if plan.action in ("migrate", "failover"):
        what += f" {plan.source}->{plan.destination or plan.iallocator or 'iallocator'}"
    where = "in private" if room.startswith("private:") else f"in {room}"
    line = f"gntbot: {who} {where}: {what}"
    if text:
        line += f" [{text}]"
    return f"{line} ({note})" if note else line


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
