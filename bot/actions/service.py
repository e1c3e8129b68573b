"""Confirmed actions, from the request to the outcome. Knows people and rooms, not chat.

1. `request`: the requester may ask for this action; the names exist on the
   cluster; the cluster has a write user; the preflight (and Ganeti's dry run)
   passes; no other action holds the instance or its nodes. The plan is stored
   with a token and a deadline.
2. `confirm`: the token exists, waits, and was given in the room it was asked
   in, before the deadline, by someone the policy admits (a second *person*
   where the policy says so); it is claimed once. The cluster is read again and
   must still match the plan. Then the writes go out (one job for most actions,
   several for a drain or a migrate-back), with the reason.
3. The jobs are watched (`Watcher`) and the outcome said in the requester's room.

The planning and the re-check are `bot.actions.planner`. ``!drain`` and
``!migrate-back`` also go through a reboot campaign (`CampaignLink`, attached
by the running bot): a migrate-back is planned from what the campaign
remembered of the node, and the campaign hears when their jobs are submitted
and how they ended.

Every step is in the audit log before the answer that depends on it is given,
up to the write: once a job may exist, an audit line that cannot be written is
logged, and never turns the answer into "nothing was done". What follows the
submission (watching, the search for a job whose submission is uncertain,
expiry, and resuming all of it after a restart) is `bot.actions.follow`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Sequence
from dataclasses import replace
from typing import Any

from bot.actions.audit import AuditError, AuditLog
from bot.actions.checks import Actor, cancel_refusal, confirm_refusal, is_token
from bot.actions.follow import Follower
from bot.actions.ledger import PENDING, REFUSED, SUBMITTING, Ledger, Record
from bot.actions.metrics import CANCELLED, NOT_SUBMITTED, ActionMetrics
from bot.actions.metrics import REFUSED as NOT_PLANNED
from bot.actions.outcomes import Ending
from bot.actions.plan import Plan, Refusal
from bot.actions.planner import Planner
from bot.actions.reboots import CAMPAIGN_ACTIONS, CampaignLink
from bot.actions.settings import ActionSettings
from bot.actions.submit import Submitted
from bot.core.announce import Announcer, Place
from bot.core.people import Person
from bot.errors import GntbotError
from bot.ganeti.clusters import Clusters
from bot.ganeti.writes import SubmissionUncertain

log = logging.getLogger(__name__)


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
        self.follow = Follower(ledger, lambda: self.clusters, settings, metrics, self._say, self._note, prefix,
                               submitted=self._campaign_submitted, finished=self._campaign_finished)
        self.planner = Planner(lambda: self.clusters, ledger, prefix)

    @property
    def campaigns(self) -> CampaignLink | None:
        """The running bot's reboot campaigns, once they follow the actions (`follow_campaigns`)."""
        return self.planner.campaigns

    def follow_campaigns(self, link: CampaignLink | None) -> None:
        self.planner.campaigns = link

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
        if actor.place is None:
            raise Refusal(f"on {actor.realm} the bot could tell you the outcome in private only by your nick, and a "
                          "nick can change hands meanwhile: ask in the team's room")
        if actor.private and policy.needs_second_person:
            raise Refusal(f"{action} needs a second person's confirmation, who cannot see a private "
                          "conversation: ask in the team's room")
        return await self.planner.plan(actor, policy, action, target, node, cluster, why)

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
        record = replace(record, approver=actor.person.name, approver_account=actor.account, state=SUBMITTING)
        try:
            await self._audit("confirm", record, actor)
            submitted = await self.planner.recheck_and_submit(record, self._rechecked)
        except SubmissionUncertain as error:
            return await self._uncertain(record, actor, error)
        except GntbotError as error:  # the re-check, the audit log or RAPI refused: nothing was submitted
            self.ledger.finish(token, REFUSED, str(error), time.time())
            self.metrics.ended(record.action, NOT_SUBMITTED)
            await self._note("recheck", record, actor, refused=str(error))
            return [f"not submitted: {error}"]
        await self.follow.submitted(record, submitted.jobs, actor, unsent=submitted.unsent or None)
        return [self._submitted(record, submitted)]

    def _submitted(self, record: Record, submitted: Submitted) -> str:
        jobs = submitted.jobs
        listed = f"job{'s' if len(jobs) > 1 else ''} {', '.join(map(str, jobs))}"
        unsent = f"; {submitted.unsent}" if submitted.unsent else ""
        return (f"{record.action} {record.target} @{record.cluster}: submitted as {listed}{unsent}; "
                f"the outcome will be said here ({self.prefix}job {jobs[0]} shows it meanwhile)")

    async def _uncertain(self, record: Record, actor: Actor, error: SubmissionUncertain) -> list[str]:
        """The write may have reached the cluster: the job list decides, now or over the next minutes."""
        now = time.time()
        self.ledger.uncertain(record.token, str(error), now)
        record = replace(record, outcome=str(error), updated=now)
        await self._note("submit", record, actor, uncertain=str(error))
        try:
            job_ids = await self.follow.find(record)
        except GntbotError:
            job_ids = ()  # the search goes on in the background
        if job_ids:
            await self.follow.submitted(record, job_ids, actor, found_by="its token in the job list")
            return [self._submitted(record, Submitted(job_ids))]
        self.follow.settle(record)
        return [(f"{record.action} {record.target} @{record.cluster}: {error}. The bot looks for its token in the "
                 f"job list for {self.follow.window:.0f} s and says here what it finds; until then "
                 f"{record.target} is held for it")]

    def _rechecked(self, record: Record, fresh: Plan) -> None:
        """The re-check's audit line, on disk before the first write (in the worker thread)."""
        self.audit_log.write("recheck", **self._entry(record, None, ok=True, facts=dict(fresh.facts)))

    # -- the reboot campaigns of drain and migrate-back ------------------------------

    async def _campaign_submitted(self, record: Record) -> None:
        link = self._link(record)
        if link is not None:
            await _quietly(link.submitted(record), record)

    async def _campaign_finished(self, record: Record, ending: Ending) -> None:
        link = self._link(record)
        if link is not None:
            await _quietly(link.finished(record, ending), record)

    def _link(self, record: Record) -> CampaignLink | None:
        return self.campaigns if record.action in CAMPAIGN_ACTIONS else None

    # -- cancel and pending --------------------------------------------------------

    async def cancel(self, actor: Actor, token: str) -> list[str]:
        token = token.strip().lower()
        record = self.ledger.get(token) if is_token(token) else None
        refusal = cancel_refusal(actor, token, record, self.settings)
        if refusal is None and not self.ledger.cancel(token, time.time()):
            refusal = f"{token} was confirmed or expired a moment ago"
        if refusal is not None:
            await self._audit("refused", record, actor, step_of="cancel", token=token, why=refusal)
            return [f"not cancelled: {refusal}"]
        assert record is not None
        self.metrics.pending.labels(record.action).dec()
        self.metrics.ended(record.action, CANCELLED)
        await self._note("cancel", record, actor)
        return [f"cancelled {token}: {record.action} {record.target} will not be done"]

    def pending(self, room: str) -> list[str]:
        """What waits and runs, as told in ``room``: a request made in another private
        conversation is shown only as what it holds."""
        now = time.time()
        lines = []
        for record in self.ledger.active():
            who = record.requester + (f"+{record.approver}" if record.approver else "")
            if record.room != room and record.room.startswith("private:"):
                lines.append(f"a request made in private holds {record.target} @{record.cluster}")
            elif record.state == PENDING:
                if record.deadline >= now:  # else it expires in a moment
                    lines.append(f"{record.token} waits for {self.prefix}confirm ({record.deadline - now:.0f} s "
                                 f"left, in {record.room}): {record.plan.describe()} — asked by {who}")
            elif record.state == SUBMITTING and record.outcome:
                left = max(0.0, record.updated + self.follow.window - now)
                lines.append(f"{record.token} may have been submitted (the answer was lost): {record.action} "
                             f"{record.target} @{record.cluster} — {who}; the bot looks for its job in the job list "
                             f"({left:.0f} s left)")
            else:
                job = f"job {record.job_id}" if record.job_id else "being submitted"
                lines.append(f"{record.token} runs ({job}): {record.action} {record.target} @{record.cluster} "
                             f"— {who}")
        return lines or ["no action waits for confirmation or runs."]

    # -- the upkeep ------------------------------------------------------------------

    async def run(self) -> None:
        """Resume what a previous run left, watch, settle and expire, until cancelled."""
        await self.follow.run()

    async def wait_watched(self, token: str) -> str:
        """The outcome of ``token``'s watch (tests and benchmarks)."""
        return await self.follow.watching[token]

    def _say(self, record: Record, lines: Sequence[str], final: bool) -> None:
        """Announce in ``record``'s room (queued while its network is away); ``final``
        highlights the requester."""
        shown = [f"{record.nick}: {line}" for line in lines] if final else list(lines)
        self.announcer.announce(Place(record.realm, record.place), shown)

    # -- audit ------------------------------------------------------------------------

    async def _audit(self, step: str, record: Record | None, actor: Actor | None, **fields: Any) -> None:
        """A step on disk before what depends on it; `AuditError` stops it."""
        await asyncio.to_thread(self.audit_log.write, step, **self._entry(record, actor, **fields))

    async def _note(self, step: str, record: Record, actor: Actor | None = None, **fields: Any) -> None:
        """A step that already happened (a job may exist): a failure to write it is logged,
        and changes nothing of what is said or done."""
        try:
            await self._audit(step, record, actor, **fields)
        except AuditError:
            log.exception("the %s step of %s is not in the audit log", step, record.token)

    def _entry(self, record: Record | None, actor: Actor | None, **fields: Any) -> dict[str, Any]:
        entry: dict[str, Any] = {}
        if record is not None:
            entry.update(token=record.token, action=record.action, cluster=record.cluster, target=record.target,
                         requester=record.requester, approver=record.approver, room=record.room,
                         involves=list(record.plan.locks))
        if actor is not None:
            entry.update(person=actor.person.name, account=actor.account, room=actor.room)
        entry.update({key: value for key, value in fields.items() if value is not None})
        return entry


async def _quietly(work: Awaitable[None], record: Record) -> None:
    """``work``, whose failure is logged: an action goes on whatever its campaign makes of it."""
    try:
        await work
    except Exception:
        log.exception("telling the campaign of %s failed", record.token)
