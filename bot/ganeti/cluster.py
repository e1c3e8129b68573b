"""One cluster as the bot sees it: typed answers, one request per question at a time.

Every question goes through `Flights`: people asking the same thing at the
same time share one request, a failure is remembered for a few seconds, and
listings (instances, nodes, groups, names, cluster info) are kept for
``cache_seconds`` so that a burst of commands in the channel costs one round
of requests. Single items and jobs are never kept: a job's status is exactly
what someone asks for when they ask again.

Every answer is checked as it is read; one the models cannot read is the
cluster's `RapiBadAnswer`. The cluster has its own worker threads (`run`): a
cluster that hangs ties up those, not the bot's.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from bot.ganeti import model
from bot.ganeti.details import InstanceDetail, NodeDetail
from bot.ganeti.errors import RapiError
from bot.ganeti.flights import Flights
from bot.ganeti.model import ClusterInfo, Group, Instance, Job, JobDetail, Node
from bot.ganeti.rapi import MAX_IN_FLIGHT, RapiClient
from bot.ganeti.settings import ClusterSettings
from bot.ganeti.shapes import answer_of, each
from bot.workers import Workers, WorkersClosed

T = TypeVar("T")
JOB_POLL_SECONDS = 0.25
# One more than may be in flight, so that an answer can be read while a slot
# waits on a slow master; commands beyond that queue for this cluster only.
WORKERS = MAX_IN_FLIGHT + 1


def cluster_workers(name: str) -> Workers:
    return Workers(f"rapi-{name}", WORKERS)


class Cluster:
    """Read-only questions to one configured cluster. Blocking: call it through `run`."""

    def __init__(self, settings: ClusterSettings, client: RapiClient | None = None,
                 clock: Callable[[], float] = time.monotonic, workers: Workers | None = None) -> None:
        """``workers``: threads to share with an earlier `Cluster` of the same name (a reload)."""
        self.settings = settings
        self.name = settings.name
        self.client = client or RapiClient(settings)
        self._clock = clock
        self._flights = Flights(clock)
        self.workers = workers or cluster_workers(self.name)

    async def run(self, work: Callable[[Cluster], T]) -> T:
        """``work(self)`` in this cluster's own threads."""
        try:
            return await self.workers.run(work, self)
        except WorkersClosed as error:
            raise RapiError(self.name, "the bot no longer asks this cluster (a reload removed it from the "
                            "configuration, or the bot is stopping)") from error

    # -- listings, kept for cache_seconds ------------------------------------

    def info(self) -> ClusterInfo:
        return self._listing("info", "the cluster information", lambda: ClusterInfo.from_rapi(self.client.info()))

    def instances(self) -> tuple[Instance, ...]:
        return self._listing("instances", "the instance listing", lambda: each(
            self.client.query("instance", model.INSTANCE_FIELDS), Instance.from_row, "instance"))

    def nodes(self) -> tuple[Node, ...]:
        return self._listing("nodes", "the node listing", lambda: each(
            self.client.query("node", model.NODE_FIELDS), Node.from_row, "node"))

    def groups(self) -> tuple[Group, ...]:
        return self._listing("groups", "the group listing", lambda: each(
            self.client.query("group", model.GROUP_FIELDS), Group.from_row, "group"))

    def instance_names(self) -> tuple[str, ...]:
        return self._listing("instance names", "the list of instances", lambda: tuple(self.client.names("instances")))

    def node_names(self) -> tuple[str, ...]:
        return self._listing("node names", "the list of nodes", lambda: tuple(self.client.names("nodes")))

    # -- always fresh ------------------------------------------------------

    def instance(self, name: str) -> InstanceDetail:
        """``gnt-instance info`` essentials; disk locations need a short query job."""
        def load() -> InstanceDetail:
            data = self.client.instance(name)
            query_data = self.query_data(name)
            with answer_of(self.name, f"instance {name}"):
                return InstanceDetail.from_rapi(data, query_data)

        return self._flights.ask(("instance", name), load)

    def node(self, name: str) -> NodeDetail:
        def load() -> NodeDetail:
            data = self.client.node(name)
            groups = {group.uuid: group.name for group in self.groups()}
            with answer_of(self.name, f"node {name}"):
                return NodeDetail.from_rapi(data, groups)

        return self._flights.ask(("node", name), load)

    def jobs(self) -> tuple[Job, ...]:
        def load() -> tuple[Job, ...]:
            rows = self.client.query("job", model.JOB_FIELDS)
            with answer_of(self.name, "the job listing"):
                return tuple(sorted(each(rows, Job.from_row, "job"), key=lambda job: job.id))

        return self._flights.ask("jobs", load)

    def job(self, job_id: int) -> JobDetail:
        def load() -> JobDetail:
            data = self.client.job(job_id)
            with answer_of(self.name, f"job {job_id}"):
                return JobDetail.from_rapi(data)

        return self._flights.ask(("job", job_id), load)

    def query_data(self, name: str, *, live: bool = False) -> dict[str, Any] | None:
        """The info job's view of ``name`` (``live``: with the disks' status, from the
        nodes), or None if it failed or took too long.

        `instance` takes only where the disks live from it; the rest of its answer
        stands without it, so a busy job queue degrades the answer instead of failing it.
        """
        deadline = self._clock() + self.settings.timeout
        try:
            job_id = self.client.submit_instance_query(name, static=not live)
            while True:
                job = self.client.job(job_id)
                if _status(job) in model.JOB_FINISHED or self._clock() >= deadline:
                    break
                time.sleep(JOB_POLL_SECONDS)
        except RapiError:
            return None
        results = job.get("opresult")
        if _status(job) != "success" or not isinstance(results, list) or not results:
            return None
        found = results[0].get(name) if isinstance(results[0], dict) else None
        return found if isinstance(found, dict) else None

    def _listing(self, key: Hashable, what: str, load: Callable[[], T]) -> T:
        """``load()`` (which reads ``what``), kept for cache_seconds. The meter
        counts a miss when this call asked RAPI, a hit when it did not (kept,
        or shared with someone else's request)."""
        asked = False

        def checked() -> T:
            nonlocal asked
            asked = True
            with answer_of(self.name, what):
                return load()

        try:
            return self._flights.ask(key, checked, keep=self.settings.cache_seconds)
        finally:
            self.client.meter.cache(hit=not asked)


def _status(job: dict[str, Any]) -> str | None:
    status = job.get("status")
    return status if isinstance(status, str) else None
