"""Submitting a confirmed plan: once, with the write user, and with a reason.

The reason goes into the job's reason trail, so ``gnt-job info`` on the
cluster says who asked, who confirmed, where and why::

    gntbot(k7q2x): alice+bob in irc:#ops: migrate inst3.example.org node2.example.org->node1.example.org [T1234]

It starts with the request's token, which is how `find_submitted` recognises
the jobs after an ambiguous failure (the connection broke after the request was
sent) or a restart in the middle of a submission: the answer comes from the
cluster's own job list, never from sending the request again. The token comes
first because a long reason is cut at its end (`bot.ganeti.writes.clean_reason`).

Most actions are one write. ``drain`` is two: the node-migrate, then the
drained flag in a job that waits for it; ``migrate-back`` is the undrain (if
the node is drained) and one migration per instance, each waiting for the
undrain. Ganeti keeps that order (``depends``). A write after the first that
cannot be made stops the rest; what was submitted is watched, and the
confirmation says what was not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.actions.plan import Move, Plan
from bot.ganeti.errors import RapiError
from bot.ganeti.model import INTERNALLY_MIRRORED
from bot.ganeti.rapi import RapiClient
from bot.ganeti.writes import SubmissionUncertain, WriteClient

# One write: (what it does, for a person; the call, given the job it waits for)
Write = tuple[str, Callable[[int | None], int]]


@dataclass(frozen=True)
class Submitted:
    """The jobs of one action, in the order submitted (the first is the action's job)."""

    jobs: tuple[int, ...]
    unsent: str = ""  # the writes after the first that were not made, and why


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


def find_submitted(reader: RapiClient, token: str) -> tuple[int, ...]:
    """The IDs of the jobs submitted for ``token`` (not its dry run) that the cluster has, oldest
    first. Blocking.

    ``/2/jobs?bulk=1`` lists the jobs not yet archived, each with its opcodes
    and their reason trail."""
    found = []
    for job in reader.get("/2/jobs", {"bulk": True}) or ():
        ops = job.get("ops") if isinstance(job, dict) else None
        first = ops[0] if isinstance(ops, list) and ops and isinstance(ops[0], dict) else {}
        trail = first.get("reason") or []
        said = str(trail[0][1]) if trail and isinstance(trail[0], list) and len(trail[0]) > 1 else ""
        if said.startswith(_mark(token)) and not first.get("dry_run") and str(job.get("id", "")).isdigit():
            found.append(int(job["id"]))
    return tuple(sorted(found))


def _mark(token: str) -> str:
    return f"gntbot({token}):"


def submit(writer: WriteClient, plan: Plan, why: str) -> Submitted:
    """The jobs of ``plan``'s writes. Blocking. The first write's failure is raised
    (nothing, or maybe something, was submitted); a later one's stops the rest."""
    if plan.action not in ("drain", "migrate-back"):
        return Submitted((_one(writer, plan, why),))
    writes = _drain(writer, plan, why) if plan.action == "drain" else _migrate_back(writer, plan, why)
    jobs = [writes[0][1](None)]
    for what, write in writes[1:]:
        try:
            jobs.append(write(jobs[0]))
        except SubmissionUncertain as error:
            return Submitted(tuple(jobs), f"{what} may or may not have been submitted ({error}); the rest was not")
        except RapiError as error:
            return Submitted(tuple(jobs), f"{what} and the rest were not submitted: {error}")
    return Submitted(tuple(jobs))


def _drain(writer: WriteClient, plan: Plan, why: str) -> list[Write]:
    node = plan.target
    writes: list[Write] = []
    if plan.moves:
        writes.append((f"the migration off {node}", lambda _: writer.migrate_node(node, reason=why)))
    if plan.drained:
        writes.append((f"draining {node}", lambda first: writer.set_drained(node, True, reason=why, after=first)))
    return writes


def _migrate_back(writer: WriteClient, plan: Plan, why: str) -> list[Write]:
    node = plan.target
    writes: list[Write] = []
    if plan.drained is False:
        writes.append((f"undraining {node}", lambda _: writer.set_drained(node, False, reason=why)))
    waits = plan.drained is False  # for the undrain: Ganeti refuses to migrate onto a drained node
    writes += [(f"the migration of {move.instance}", _back(writer, move, node, why, waits)) for move in plan.moves]
    return writes


def _back(writer: WriteClient, move: Move, node: str, why: str, waits: bool) -> Callable[[int | None], int]:
    target = None if move.template in INTERNALLY_MIRRORED else node  # DRBD goes to its secondary by itself
    return lambda first: writer.migrate_instance(move.instance, reason=why, target_node=target,
                                                 after=first if waits else None)


def _one(writer: WriteClient, plan: Plan, why: str) -> int:
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
