"""After the confirmation: each submission followed to its end, across restarts.

- The submitted jobs are watched (`Watcher`) until the outcome is said; whoever
  follows the action (the reboot campaign of a drain) hears when they were
  submitted and how they ended.
- A submission whose answer was lost (`SubmissionUncertain`), or that a restart
  caught between the confirmation and the job ID, is *settled*: the cluster's
  job list is searched for the request's token until `JOB_LIST_WINDOW` has
  passed. The request keeps its instance and nodes meanwhile. Found, the job
  is watched; not found, the request is closed as "most probably not
  submitted", never as certainly not.
- Unconfirmed requests expire as their deadline passes.

Nothing here waits for a chat network: lines go to the `Announcer`, which
queues them while a network is away. One failure (an audit line that cannot be
written, a cluster that is no longer configured) is logged or reported and
ends nothing else; only cancelling `run` (the bot stops) stops the watching,
and the next start resumes it from the store.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any

from bot.actions.checks import Actor
from bot.actions.ledger import DONE, PENDING, SUBMITTED, SUBMITTING, Ledger, Record
from bot.actions.metrics import EXPIRED, UNKNOWN, ActionMetrics
from bot.actions.settings import ActionSettings
from bot.actions.submit import find_submitted
from bot.actions.watch import Finished, Watcher
from bot.errors import GntbotError
from bot.ganeti.clusters import Clusters

log = logging.getLogger(__name__)

EXPIRY_CHECK_SECONDS = 2.0
JOB_LIST_WINDOW = 240.0
"""How long the job list is searched for an uncertain submission's token. The
master daemon may queue a job until its LUXI timeout (180 s) ends, long after
RAPI or the bot stopped waiting; a request a restart caught may have been
written up to a minute after it was confirmed (the re-check comes first)."""

Say = Callable[[Record, Sequence[str], bool], None]
Note = Callable[..., Awaitable[None]]
"""``note(step, record, actor, **fields)``: an audit line for what already happened."""
Submitted = Callable[[Record], Awaitable[None]]
"""``submitted(record)``: what follows a submission (a drain's campaign hears of it)."""


class Follower:
    def __init__(self, ledger: Ledger, clusters: Callable[[], Clusters], settings: ActionSettings,
                 metrics: ActionMetrics, say: Say, note: Note, prefix: str, *,
                 submitted: Submitted | None = None, finished: Finished | None = None) -> None:
        self.ledger = ledger
        self.on_submitted = submitted
        self.on_finished = finished
        self.clusters = clusters  # the configured clusters now (a reload replaces them)
        self.settings = settings
        self.metrics = metrics
        self.say = say
        self.note = note
        self.prefix = prefix
        self.watching: dict[str, asyncio.Task[str]] = {}
        self.settling: dict[str, asyncio.Task[None]] = {}
        self.watchers: dict[str, Watcher] = {}  # the jobs followed now
        self.requests = 0  # RAPI requests of the watches that ended (the benchmark reads it)
        self.window = JOB_LIST_WINDOW

    async def run(self) -> None:
        """Resume what a previous run left, then expire unconfirmed requests as they fall due."""
        try:
            for record in self.ledger.active():
                await self._resume(record)
            while True:
                try:
                    await self._expire(time.time())
                except Exception:
                    log.exception("expiring unconfirmed actions failed; trying again in %.0f s",
                                  EXPIRY_CHECK_SECONDS)
                await asyncio.sleep(EXPIRY_CHECK_SECONDS)
        finally:  # the bot stops: the next start resumes from the store
            tasks = [*self.watching.values(), *self.settling.values()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _resume(self, record: Record) -> None:
        try:
            if record.state == PENDING:
                self.metrics.pending.labels(record.action).inc()
            elif record.state == SUBMITTED:
                self._watch(record)
            elif record.state == SUBMITTING:  # stopped between the confirmation and the job ID
                self.clusters().select(record.cluster)
                self.settle(record)
        except GntbotError as error:  # its cluster is no longer configured
            await self._give_up(record, error)

    async def _expire(self, now: float) -> None:
        for record in self.ledger.expire(now):
            self.metrics.pending.labels(record.action).dec()
            self.metrics.ended(record.action, EXPIRED)
            await self.note("expired", record, None)
            self.say(record, [(f"{record.token} expired: {record.plan.describe()} was not confirmed in time; "
                              "nothing was done")], True)

    # -- submitted ----------------------------------------------------------------

    async def submitted(self, record: Record, jobs: tuple[int, ...], actor: Actor | None, **audit: Any) -> None:
        """``record``'s jobs are ``jobs`` (the first is the action's): stored first, then
        audited, then told to whoever follows the action, then watched."""
        self.ledger.submitted(record.token, jobs, time.time())
        await self.note("submit", record, actor, job=jobs[0], jobs=list(jobs) if len(jobs) > 1 else None, **audit)
        record = replace(record, state=SUBMITTED, job_id=jobs[0])
        if self.on_submitted is not None:
            await self.on_submitted(record)
        self._watch(record)

    def _watch(self, record: Record) -> None:
        self.clusters().select(record.cluster)  # refused if it is no longer configured
        watcher = Watcher(self.clusters, self.ledger, self.settings, self.say, self.note, self.metrics,
                          finished=self.on_finished)
        self.watchers[record.token] = watcher
        task = asyncio.create_task(watcher.watch(record), name=f"watch {record.token}")
        self.watching[record.token] = task
        task.add_done_callback(lambda done: self._watched(record, done))

    def _watched(self, record: Record, task: asyncio.Task[str]) -> None:
        self.watching.pop(record.token, None)
        ended = self.watchers.pop(record.token, None)
        self.requests += ended.requests if ended is not None else 0
        if task.cancelled() or task.exception() is None:
            return
        log.error("watching the job of %s failed", record.token, exc_info=task.exception())
        self.say(record, [(f"{record.action} {record.target} ({record.token}): the bot stopped following job "
                          f"{record.job_id} (an error, in its log); {self.prefix}job {record.job_id} shows how it "
                          "goes, and a restart of the bot follows it again")], True)

    # -- uncertain ---------------------------------------------------------------------

    async def find(self, record: Record) -> tuple[int, ...]:
        """The IDs of the jobs the cluster's job list has for ``record`` (none: not found)."""
        where = self.clusters().select(record.cluster)[0]
        return await where.run(lambda cluster: find_submitted(cluster.client, record.token))

    def settle(self, record: Record) -> None:
        """Search the job list for ``record``'s job, in the background, until the window closes."""
        task = asyncio.create_task(self._settle(record), name=f"settle {record.token}")
        self.settling[record.token] = task
        task.add_done_callback(lambda done: self._settled(record, done))

    async def _settle(self, record: Record) -> None:
        until = record.updated + self.window  # from the claim, or from the failed write
        problem: GntbotError | None = None
        while True:
            try:
                job_ids, problem = await self.find(record), None
            except GntbotError as error:
                job_ids, problem = (), error
            if job_ids:
                await self.submitted(record, job_ids, None, found_by="its token in the job list")
                listed = f"job{'s' if len(job_ids) > 1 else ''} {', '.join(map(str, job_ids))}"
                self.say(record, [(f"{record.action} {record.target} ({record.token}): the job list of "
                                  f"@{record.cluster} has it as {listed}: it was submitted; the outcome will "
                                  "be said here")], False)
                return
            left = until - time.time()
            if left <= 0:
                break
            await asyncio.sleep(min(self.settings.poll_max_seconds, left))
        look = f"look at {self.prefix}jobs @{record.cluster} before asking again"
        await self._close(record, f"no job of @{record.cluster} carries its token after {self.window:.0f} s: "
                                  f"most probably it was not submitted; {look}" if problem is None else
                                  f"it may or may not have been submitted, and @{record.cluster} cannot say "
                                  f"({problem}); {look}")

    def _settled(self, record: Record, task: asyncio.Task[None]) -> None:
        self.settling.pop(record.token, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("looking for the job of %s failed", record.token, exc_info=task.exception())

    async def _give_up(self, record: Record, error: GntbotError) -> None:
        """``record`` cannot be followed any more (its cluster is gone from the configuration): say so."""
        if record.state == SUBMITTED:
            outcome = (f"job {record.job_id} is not followed any more: {error}. Look at it on the cluster "
                       f"(gnt-job info {record.job_id})")
        else:
            outcome = (f"it may or may not have been submitted, and the bot cannot look: {error}. Look for "
                       f"its token in the cluster's job list (gnt-job list)")
        await self._close(record, outcome)

    async def _close(self, record: Record, outcome: str) -> None:
        """End ``record`` with an outcome nobody can be sure of."""
        self.ledger.finish(record.token, DONE, outcome, time.time())
        self.metrics.ended(record.action, UNKNOWN)
        await self.note("outcome", record, None, outcome=outcome)
        self.say(record, [f"{record.action} {record.target} ({record.token}): {outcome}"], True)
