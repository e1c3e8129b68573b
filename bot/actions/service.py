"""Confirmed actions, from the request to the outcome. Knows people and rooms, not chat.

1. `request`: the requester may ask for this action; the names exist on the
   cluster; the cluster has a write user; the preflight (and Ganeti's dry run)
   passes; no other action holds the instance or its nodes. The plan is stored
   with a token and a deadline.
2. `confirm`: the token exists, waits, and was given in the room it was asked
   in, before the deadline, by someone the policy admits (a second *person*
   where the policy says so); it is claimed once. The cluster is read again and
   must still match the plan. Then the one write goes out, with the reason.
3. The job is watched (`Watcher`) and its outcome said in the requester's room.

Every step is in the audit log before the answer that depends on it is given.
A restart resumes the watching of submitted jobs, says that a request caught
half-way through its submission may or may not have been submitted, and expires
what waited past its deadline.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from bot.actions import preflight
from bot.actions.audit import AuditLog
from bot.actions.checks import Actor, confirm_refusal, held, is_token, said
from bot.actions.ledger import (
    DONE,
    PENDING,
    REFUSED,
    SUBMITTED,
    SUBMITTING,
    Ledger,
    Record,
)
from bot.actions.metrics import (
    CANCELLED,
    EXPIRED,
    NOT_SUBMITTED,
    UNKNOWN,
    ActionMetrics,
)
from bot.actions.metrics import REFUSED as NOT_PLANNED
from bot.actions.plan import Plan, Refusal, Request, changes
from bot.actions.rules import make_plan
from bot.actions.settings import ActionPolicy, ActionSettings
from bot.actions.submit import find_submitted, reason, submit
from bot.actions.watch import Watcher
from bot.core.announce import Announcer, Place
from bot.core.people import Person
from bot.errors import GntbotError
from bot.ganeti.cluster import Cluster
from bot.ganeti.clusters import Clusters
from bot.ganeti.errors import RapiError
from bot.ganeti.writes import SubmissionUncertain, WriteClient

log = logging.getLogger(__name__)

EXPIRY_CHECK_SECONDS = 2.0
CONNECTED_CHECK_SECONDS = 1.0


class ActionService:
    def __init__(self, settings: ActionSettings, clusters: Clusters, ledger: Ledger, audit: AuditLog,
                 announcer: Announcer, metrics: ActionMetrics, prefix: str = "!") -> None:
        self.settings = settings
        self.metrics = metrics
        self.clusters = clusters
        self.ledger = ledger
        self.audit_log = audit
        self.announcer = announcer
        self.prefix = prefix
        self._watching: dict[str, asyncio.Task[str]] = {}
        self.watchers: dict[str, Watcher] = {}

    # -- who may ------------------------------------------------------------

    def may_request(self, action: str, person: Person | None) -> str | None:
        """Why ``person`` may not request ``action``, or None."""
        policy = self.settings.policy(action)
        if policy is None:
            return f"{action} is not enabled on this bot ([actions] enabled)"
        if not policy.requesters.admits(person):
            return f"{person or 'you'} may not request {action} ([actions] requesters)"
        return None

    def may_confirm(self, person: Person | None) -> bool:
        """True if ``person`` could confirm or request something (for !help)."""
        return any(policy.approvers.admits(person) or policy.requesters.admits(person)
                   for policy in self.settings.policies)

    # -- 1. request -----------------------------------------------------------

    async def request(self, actor: Actor, action: str, target: str, node: str | None, cluster: str | None,
                      why: str) -> list[str]:
        fields = {"action": action, "target": target, "node": node, "cluster": cluster, "reason": why}
        await self._audit("request", None, actor, **fields)
        try:
            record = await self._plan(actor, action, target, node, cluster, why)
        except GntbotError as error:
            await self._audit("refused", None, actor, **fields, why=str(error))
            self.metrics.ended(action, NOT_PLANNED)
            return [f"not planned: {error}"]
        self.metrics.pending.labels(action).inc()
        await self._audit("plan", record, actor, plan=record.plan.describe(), locks=list(record.plan.locks),
                          deadline=record.deadline)
        policy = self.settings.policy(action)
        assert policy is not None
        who = " by another person than you" if policy.needs_second_person else ""
        return [(f"{record.plan.describe()} — {self.prefix}confirm {record.token}{who} "
                f"within {policy.window:.0f} s ({self.prefix}cancel {record.token} to drop it)")]

    async def _plan(self, actor: Actor, action: str, target: str, node: str | None, cluster: str | None,
                    why: str) -> Record:
        refusal = self.may_request(action, actor.person)
        if refusal:
            raise Refusal(refusal)
        policy = self.settings.policy(action)
        assert policy is not None
        if actor.private and policy.needs_second_person:
            raise Refusal(f"{action} needs a second person's confirmation, who cannot see a private "
                          "conversation: ask in the team's room")
        finder = self.clusters.find_node if action == "node-migrate" else self.clusters.find_instance
        found = await finder(target, cluster)
        where = found.cluster
        to = (await self.clusters.find_node(node, where.name)).name if node else None
        writer = WriteClient(where.settings)  # refuses a cluster without write credentials
        holder = self.ledger.holder(where.name, (found.name, *([to] if to else [])))
        if holder is not None:
            raise Refusal(held(holder, self.prefix))
        request = Request(action, where.name, found.name, to, why)
        draft = self._draft(actor, request, policy)
        checked = await where.run(lambda c: self._preflight(request, c, writer, draft))
        holder = self.ledger.holder(where.name, checked.locks)
        if holder is not None:
            raise Refusal(held(holder, self.prefix))
        record = replace(draft, plan=checked)
        self.ledger.add(record, time.time())
        return record

    def _preflight(self, request: Request, where: Cluster, writer: WriteClient, draft: Record) -> Plan:
        current = preflight.snapshot(where.client)
        found = make_plan(request, current)
        note = "preflight dry run: nothing changes"
        why = reason(found, draft.token, draft.room, draft.requester, None, request.reason, note)
        return preflight.dry_run(request, found, current, where.client, writer, why)

    def _draft(self, actor: Actor, request: Request, policy: ActionPolicy) -> Record:
        now = time.time()
        return Record(self.ledger.new_token(), request.action, request.cluster, request.target,
                      Plan(request.action, request.cluster, request.target), request.reason, actor.person.name,
                      actor.account, actor.nick, actor.realm, actor.place, actor.room, now, now + policy.window,
                      PENDING, None, None, None, None)

    # -- 2. confirm -------------------------------------------------------------

    async def confirm(self, actor: Actor, token: str) -> list[str]:
        token = token.strip().lower()
        record = self.ledger.get(token) if is_token(token) else None
        refusal = confirm_refusal(actor, token, record, self.settings, time.time(), self.prefix)
        if refusal is not None:
            await self._audit("refused", record, actor, step_of="confirm", token=token, why=refusal)
            return [f"not confirmed: {refusal}"]
        assert record is not None
        if not self.ledger.claim(token, actor.person.name, actor.account, time.time()):
            await self._audit("refused", record, actor, step_of="confirm", why="claimed meanwhile or expired")
            return [f"not confirmed: {token} was confirmed, cancelled or expired a moment ago"]
        self.metrics.pending.labels(record.action).dec()
        record = replace(record, approver=actor.person.name, approver_account=actor.account)
        await self._audit("confirm", record, actor)
        try:
            job_id = await self._recheck_and_submit(record)
        except SubmissionUncertain as error:
            await self._audit("submit", record, actor, uncertain=str(error))
            found, outcome = await self._reconcile(record)
            if found is None:
                self.metrics.ended(record.action, UNKNOWN)
                return [f"{record.action} {record.target}: {error}; {outcome}"]
            job_id = found
        except GntbotError as error:
            self.ledger.finish(token, REFUSED, str(error), time.time())
            self.metrics.ended(record.action, NOT_SUBMITTED)
            await self._audit("recheck", record, actor, refused=str(error))
            return [f"not submitted: {error}"]
        await self._submitted(record, job_id, actor)
        return [(f"{record.action} {record.target} @{record.cluster}: submitted as job {job_id}; "
                f"the outcome will be said here ({self.prefix}job {job_id} shows it meanwhile)")]

    async def _submitted(self, record: Record, job_id: int, actor: Actor | None, **audit: Any) -> None:
        self.ledger.submitted(record.token, job_id, time.time())
        await self._audit("submit", record, actor, job=job_id, **audit)
        self._start_watching(replace(record, state=SUBMITTED, job_id=job_id))

    async def _reconcile(self, record: Record) -> tuple[int | None, str]:
        """After an ambiguous submission: the ID of the job the cluster has for ``record``,
        or None and what to tell (the request is then closed)."""
        where = self.clusters.select(record.cluster)[0]
        try:
            job_id = await where.run(lambda c: find_submitted(c.client, record.token))
        except RapiError as error:
            job_id, outcome = None, (f"it may or may not have been submitted, and @{record.cluster} cannot say "
                                     f"now ({error}): look at {self.prefix}jobs @{record.cluster}")
        else:
            outcome = "it was not submitted (no job of the cluster carries its token); ask again"
        if job_id is None:
            self.ledger.finish(record.token, DONE, outcome, time.time())
            await self._audit("outcome", record, None, outcome=outcome)
        return job_id, outcome

    async def _recheck_and_submit(self, record: Record) -> int:
        where = self.clusters.select(record.cluster)[0]
        writer = WriteClient(where.settings)
        request = Request(record.action, record.cluster, record.target, record.plan.destination, record.reason)

        def work() -> tuple[Plan, int]:
            try:
                fresh = make_plan(request, preflight.snapshot(where.client))
            except Refusal as error:
                raise Refusal(f"the cluster changed since the plan: {error}") from None
            changed = changes(record.plan, fresh)
            if changed:
                raise Refusal("the cluster changed since the plan: " + "; ".join(changed))
            why = reason(fresh, record.token, record.room, record.requester, record.approver, record.reason)
            return fresh, submit(writer, fresh, why)

        try:
            fresh, job_id = await where.run(lambda _: work())
        except (Refusal, SubmissionUncertain):
            raise
        except RapiError as error:  # not sent, or refused by RAPI: nothing was submitted
            raise Refusal(str(error)) from None
        await self._audit("recheck", record, None, ok=True, facts=dict(fresh.facts))
        return job_id

    # -- cancel and pending --------------------------------------------------------

    async def cancel(self, actor: Actor, token: str) -> list[str]:
        token = token.strip().lower()
        record = self.ledger.get(token) if is_token(token) else None
        if record is None:
            return [f"no action waits for the token {token[:12]!r}"]
        policy = self.settings.policy(record.action)
        allowed = actor.person.name == record.requester or (policy is not None and policy.approvers.admits(actor.person))
        if not allowed:
            return [f"only {record.requester} or an approver of {record.action} may cancel {token}"]
        if not self.ledger.cancel(token, time.time()):
            return [f"{token} is not waiting any more: it was {said(record.state)}"]
        self.metrics.pending.labels(record.action).dec()
        self.metrics.ended(record.action, CANCELLED)
        await self._audit("cancel", record, actor)
        return [f"cancelled {token}: {record.action} {record.target} will not be done"]

    def pending(self) -> list[str]:
        now = time.time()
        lines = []
        for record in self.ledger.active():
            who = record.requester + (f"+{record.approver}" if record.approver else "")
            if record.state == PENDING:
                lines.append(f"{record.token} waits for {self.prefix}confirm ({max(0, record.deadline - now):.0f} s "
                             f"left, in {record.room}): {record.plan.describe()} — asked by {who}")
            else:
                job = f"job {record.job_id}" if record.job_id else "being submitted"
                lines.append(f"{record.token} runs ({job}): {record.action} {record.target} @{record.cluster} "
                             f"— {who}")
        return lines or ["no action waits for confirmation or runs."]

    # -- 3. watching, and the upkeep ------------------------------------------------

    async def run(self) -> None:
        """Resume what a previous run left, then expire unconfirmed requests as they fall due."""
        for record in self.ledger.active():
            if record.state == PENDING:
                self.metrics.pending.labels(record.action).inc()
            elif record.state == SUBMITTED:
                self._start_watching(record)
            elif record.state == SUBMITTING:  # stopped between the confirmation and the job ID
                job_id, outcome = await self._reconcile(record)
                if job_id is None:
                    self.metrics.ended(record.action, UNKNOWN)
                    await self._say(record, [f"{record.action} {record.target} ({record.token}): {outcome}"], True)
                else:
                    await self._submitted(record, job_id, None, found_by="its token in the job list")
        try:
            while True:
                for record in self.ledger.expire(time.time()):
                    self.metrics.pending.labels(record.action).dec()
                    self.metrics.ended(record.action, EXPIRED)
                    await self._audit("expired", record, None)
                    await self._say(record, [(f"{record.token} expired: {record.plan.describe()} was not confirmed "
                                             "in time; nothing was done")], True)
                await asyncio.sleep(EXPIRY_CHECK_SECONDS)
        finally:
            for task in self._watching.values():
                task.cancel()
            await asyncio.gather(*self._watching.values(), return_exceptions=True)

    def _start_watching(self, record: Record) -> None:
        where = self.clusters.select(record.cluster)[0]
        watcher = Watcher(where, self.ledger, self.settings, self._say, self._audit_record, self.metrics)
        self.watchers[record.token] = watcher
        task = asyncio.create_task(watcher.watch(record), name=f"watch {record.token}")
        self._watching[record.token] = task
        task.add_done_callback(lambda done: self._watched(record.token, done))

    def _watched(self, token: str, task: asyncio.Task[str]) -> None:
        self._watching.pop(token, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("watching the job of %s failed", token, exc_info=task.exception())

    async def wait_watched(self, token: str) -> str:
        """The outcome of ``token``'s watch (tests and benchmarks)."""
        return await self._watching[token]

    async def _say(self, record: Record, lines: Sequence[str], final: bool) -> None:
        """Announce in ``record``'s room once its network is connected: the outcome
        is only marked done after it was handed to the transport."""
        while not self.announcer.connected(record.realm):
            await asyncio.sleep(CONNECTED_CHECK_SECONDS)
        shown = [f"{record.nick}: {line}" for line in lines] if final else list(lines)
        self.announcer.announce(Place(record.realm, record.place), shown)

    # -- audit ------------------------------------------------------------------------

    async def _audit_record(self, step: str, record: Record, **fields: Any) -> object:
        return await self._audit(step, record, None, **fields)

    async def _audit(self, step: str, record: Record | None, actor: Actor | None, **fields: Any) -> object:
        entry: dict[str, Any] = {}
        if record is not None:
            entry.update(token=record.token, action=record.action, cluster=record.cluster, target=record.target,
                         requester=record.requester, approver=record.approver, room=record.room,
                         involves=list(record.plan.locks))
        if actor is not None:
            entry.update(person=actor.person.name, account=actor.account, room=actor.room)
        entry.update({key: value for key, value in fields.items() if value is not None})
        return await asyncio.to_thread(self.audit_log.write, step, **entry)

