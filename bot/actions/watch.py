"""Following a submitted job to its end, as the read user, and saying how it went.

The read user cannot use ``/2/jobs/ID/wait`` (it needs write), so the watcher
polls ``GET /2/jobs/ID``: first after ``poll_seconds``, then less and less
often, up to every ``poll_max_seconds``. A node operation's job only submits
child jobs (one per instance); they are stored as they appear and followed
too. What the room hears is kept short:

- when a node operation's children are known, one line with their job IDs;
- per poll round, one line with the children that ended in it (Ganeti's own
  error text for each failure), and so for each job of an action that
  submits several (a drain's drained flag, a migrate-back's migrations);
- while a job runs long, a progress line after ``progress_seconds``, then
  after twice as long, and so on (its last log line, never the whole log);
- the outcome, addressed to the requester (`bot.actions.outcomes`); then
  whoever follows the action (its reboot campaign) hears how it ended.

Every finished job is written to the store and to the audit log before it is
announced, so a bot restarted in between picks up where it stopped.

The cluster is looked up by name on every poll, among those configured now: a
reload that removes it is said once (the job is still followed, at the longest
interval), and one that brings it back resumes the polling where it was.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from bot.actions import outcomes
from bot.actions.ledger import DONE, Ledger, Record, Watched
from bot.actions.metrics import FAILED, SUCCEEDED, ActionMetrics
from bot.actions.outcomes import Ending
from bot.actions.settings import ActionSettings
from bot.ganeti.cluster import Cluster
from bot.ganeti.clusters import Clusters
from bot.ganeti.errors import RapiError, RapiNotFound, UnknownName
from bot.ganeti.jobs import JobView
from bot.ganeti.names import short

log = logging.getLogger(__name__)

Say = Callable[[Record, Sequence[str], bool], None]
"""``say(record, lines, final)``: announce in the record's room; ``final`` highlights the requester."""
Audit = Callable[..., Awaitable[None]]
"""``audit(step, record, **fields)``: an audit line; a failure to write it is logged, not raised."""
Finished = Callable[[Record, Ending], Awaitable[None]]
"""``finished(record, ending)``: what follows an action's end (its reboot campaign hears of it)."""
WATCHING, LOST = "watching", "lost"
SINGLE_JOB = frozenset({"migrate", "failover", "activate-disks", "node-migrate"})
FLAG_SET = {"drain": "drained", "migrate-back": "undrained"}  # the only flag each of them sets


class Watcher:
    def __init__(self, clusters: Callable[[], Clusters], ledger: Ledger, settings: ActionSettings, say: Say,
                 audit: Audit, metrics: ActionMetrics, clock: Callable[[], float] = time.monotonic,
                 finished: Finished | None = None) -> None:
        self.clusters = clusters  # the configured clusters now (a reload replaces them); read as the read user
        self.finished = finished
        self.metrics = metrics
        self.ledger = ledger
        self.settings = settings
        self.say = say
        self.audit = audit
        self.clock = clock
        self.requests = 0  # RAPI requests made while watching (the benchmark reads it)

    async def watch(self, record: Record) -> str:
        """Follow ``record``'s jobs to their end; returns the outcome line (also announced)."""
        delay = self.settings.poll_seconds
        every = self.settings.progress_seconds
        next_progress = self.clock() + every
        failing: str | None = None
        gone = False  # the cluster is not in the configuration (said once, until it is back)
        while watching := [job for job in self.ledger.jobs(record.token) if job.state == WATCHING]:
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, self.settings.poll_max_seconds)
            try:
                cluster = self.clusters().select(record.cluster)[0]
            except UnknownName:
                if not gone:
                    self.say(record, [(f"@{record.cluster} is no longer in the bot's configuration: job(s) "
                                       f"{', '.join(str(job.job_id) for job in watching)} are not followed "
                                       "until a reload brings the cluster back")], False)
                gone = True
                delay = self.settings.poll_max_seconds
                continue
            gone = False
            ended: list[str] = []
            for job in watching:
                try:
                    view = await self._look(cluster, job.job_id)
                except RapiNotFound:
                    self.ledger.job_done(record.token, job.job_id, LOST,
                                         f"job {job.job_id} is gone from the cluster's queue: outcome unknown")
                    continue
                except RapiError as error:
                    if failing is None:
                        self.say(record, [(f"cannot ask @{record.cluster} about job {job.job_id} now "
                                                f"({error}); still trying")], False)
                    failing = str(error)
                    delay = self.settings.poll_max_seconds
                    continue
                failing = None
                if view.finished:
                    ended.extend(await self._ended(record, job, view))
                elif self.clock() >= next_progress:
                    self.say(record, [self._progress(record, view)], False)
                    every *= 2
                    next_progress = self.clock() + every
            if ended:
                self.say(record, ["; ".join(ended)], False)
        ending = await self._ending(record)
        outcome = outcomes.outcome(record, ending)
        if self.finished is not None:
            await self.finished(record, ending)  # before the record is closed: a restart does it again
        self.metrics.ended(record.action, SUCCEEDED if outcomes.succeeded(record, ending) else FAILED)
        self.ledger.finish(record.token, DONE, outcome, time.time())
        await self.audit("outcome", record, outcome=outcome,
                         jobs=[job.job_id for job in self.ledger.jobs(record.token)])
        self.say(record, [outcome], True)
        return outcome

    async def _look(self, cluster: Cluster, job_id: int) -> JobView:
        self.requests += 1
        return JobView.from_rapi(await cluster.run(lambda c: c.client.job(job_id)))

    async def _ended(self, record: Record, job: Watched, view: JobView) -> list[str]:
        """Store how ``job`` ended; the lines the room should hear about it now."""
        queued, ended = view.detail.job.received, view.detail.job.ended
        if queued is not None and ended is not None:
            self.metrics.job_seconds.labels(record.action).observe((ended - queued).total_seconds())
        failure = "; ".join(view.errors) or f"ended {view.status}"
        took = _seconds(view.duration())
        if view.op == "NODE_SET_PARAMS":
            return await self._flag_set(record, job, view, f"{took}, job {job.job_id}", failure)
        if job.parent is None and (record.action in SINGLE_JOB or view.op == "NODE_MIGRATE"):
            return await self._parent_ended(record, job, view, took, failure)
        # an instance's job: a child of a node operation, or a migrate-back's own migration
        subject = view.subject
        name = short(subject or f"job {job.job_id}")
        summary = f"{name}: done ({took}, job {job.job_id})" if view.succeeded else \
            f"{name}: FAILED (job {job.job_id}): {failure}"
        self.ledger.job_done(record.token, job.job_id, view.status, summary, subject, view.op)
        await self.audit("job", record, job=job.job_id, parent=job.parent, status=view.status,
                         involves=[subject] if subject else [], error=None if view.succeeded else failure)
        return [summary]

    async def _parent_ended(self, record: Record, job: Watched, view: JobView, took: str, failure: str) -> list[str]:
        """The job the bot submitted (a node operation's: with the children Ganeti added)."""
        children = list(view.child_ids)
        refused = [child.error for child in view.children if child.job_id is None]
        summary = failure if not view.succeeded else f"done in {took}"
        if refused:
            summary += "; Ganeti could not submit: " + "; ".join(str(error) for error in refused)
        self.ledger.add_children(record.token, job.job_id, children)
        self.ledger.job_done(record.token, job.job_id, view.status, summary, op=view.op)
        await self.audit("job", record, job=job.job_id, status=view.status, children=children,
                         error=None if view.succeeded else failure)
        if children:
            return [(f"{record.action} {short(record.target)} @{record.cluster}: Ganeti submitted "
                    f"{len(children)} instance job(s): {', '.join(map(str, children))}")]
        return []

    async def _flag_set(self, record: Record, job: Watched, view: JobView, when: str, failure: str) -> list[str]:
        """A drain's or a migrate-back's node flag; its line is said with the others (alone, the outcome says it)."""
        node, flag = short(view.subject or record.target), FLAG_SET.get(record.action, "changed")
        summary = f"{node} {flag} ({when})" if view.succeeded else f"{node} NOT {flag} (job {job.job_id}): {failure}"
        self.ledger.job_done(record.token, job.job_id, view.status, summary, None, view.op)
        await self.audit("job", record, job=job.job_id, status=view.status, error=None if view.succeeded else failure)
        return [summary] if self._several(record) else []

    def _several(self, record: Record) -> bool:
        """Whether the bot submitted more than one job for ``record``."""
        return sum(job.parent is None for job in self.ledger.jobs(record.token)) > 1

    def _progress(self, record: Record, view: JobView) -> str:
        last = view.last_log()
        took = view.duration()
        since = f" for {_seconds(took)}" if took is not None else ", not started yet"
        return (f"{record.action} {short(record.target)} @{record.cluster}: job {view.id} {view.status}{since}"
                + (f"; last: {last.strip()}" if last else ""))

    async def _ending(self, record: Record) -> Ending:
        jobs = tuple(self.ledger.jobs(record.token))
        ending = Ending(jobs, {})
        told_alone = record.action == "activate-disks" or (
            record.action in SINGLE_JOB and ending.main(record).state != "success")
        return ending if told_alone else Ending(jobs, await self._placement(record))

    async def _placement(self, record: Record) -> dict[str, str]:
        """Instance → primary node, now (one request); empty if the cluster cannot say."""
        self.requests += 1
        try:
            cluster = self.clusters().select(record.cluster)[0]
            rows = await cluster.run(lambda c: c.client.query("instance", ("name", "pnode")))
        except (UnknownName, RapiError):
            return {}
        return {row["name"]: row["pnode"] for row in rows if row.get("name")}


def _seconds(value: float | None) -> str:
    if value is None:
        return "not started"
    return f"{value:.1f} s" if value < 120 else f"{value / 60:.0f} min"

