"""One cluster as the bot sees it: typed answers, listings cached a few seconds.

Listings (instances, nodes, groups, names, cluster info) are kept for
``cache_seconds`` so that a burst of commands in the channel costs one round
of requests. Single items and jobs are always fetched: a job's status is
exactly what someone asks for when they ask again.

Every answer is checked as it is read; one the models cannot read is the
cluster's `RapiBadAnswer`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from bot.ganeti import model
from bot.ganeti.details import InstanceDetail, NodeDetail
from bot.ganeti.errors import RapiError
from bot.ganeti.model import ClusterInfo, Group, Instance, Job, JobDetail, Node
from bot.ganeti.rapi import RapiClient
from bot.ganeti.settings import ClusterSettings
from bot.ganeti.shapes import answer_of, each

T = TypeVar("T")
JOB_POLL_SECONDS = 0.25


class Cluster:
    """Read-only questions to one configured cluster. Blocking: run it in a thread."""

    def __init__(self, settings: ClusterSettings, client: RapiClient | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.name = settings.name
        self.client = client or RapiClient(settings)
        self._clock = clock
        self._cache: dict[str, tuple[float, Any]] = {}
        self._loading: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()  # guards _loading

    # -- cached listings ---------------------------------------------------

    def info(self) -> ClusterInfo:
        return self._cached("info", "the cluster information", lambda: ClusterInfo.from_rapi(self.client.info()))

    def instances(self) -> tuple[Instance, ...]:
        return self._cached("instances", "the instance listing", lambda: each(
            self.client.query("instance", model.INSTANCE_FIELDS), Instance.from_row, "instance"))

    def nodes(self) -> tuple[Node, ...]:
        return self._cached("nodes", "the node listing", lambda: each(
            self.client.query("node", model.NODE_FIELDS), Node.from_row, "node"))

    def groups(self) -> tuple[Group, ...]:
        return self._cached("groups", "the group listing", lambda: each(
            self.client.query("group", model.GROUP_FIELDS), Group.from_row, "group"))

    def instance_names(self) -> tuple[str, ...]:
        return self._cached("instance names", "the list of instances", lambda: tuple(self.client.names("instances")))

    def node_names(self) -> tuple[str, ...]:
        return self._cached("node names", "the list of nodes", lambda: tuple(self.client.names("nodes")))

    # -- always fresh ------------------------------------------------------

    def instance(self, name: str) -> InstanceDetail:
        """``gnt-instance info`` essentials; disk locations need a short query job."""
        data = self.client.instance(name)
        query_data = self._query_data(name)
        with answer_of(self.name, f"instance {name}"):
            return InstanceDetail.from_rapi(data, query_data)

    def node(self, name: str) -> NodeDetail:
        data = self.client.node(name)
        groups = {group.uuid: group.name for group in self.groups()}
        with answer_of(self.name, f"node {name}"):
            return NodeDetail.from_rapi(data, groups)

    def jobs(self) -> tuple[Job, ...]:
        rows = self.client.query("job", model.JOB_FIELDS)
        with answer_of(self.name, "the job listing"):
            return tuple(sorted(each(rows, Job.from_row, "job"), key=lambda job: job.id))

    def job(self, job_id: int) -> JobDetail:
        data = self.client.job(job_id)
        with answer_of(self.name, f"job {job_id}"):
            return JobDetail.from_rapi(data)

    def _query_data(self, name: str) -> dict[str, Any] | None:
        """The info job's view of ``name``, or None if it failed or took too long.

        Only where the disks live comes from it; the rest of the answer stands
        without it, so a busy job queue degrades the answer instead of failing it.
        """
        deadline = self._clock() + self.settings.timeout
        try:
            job_id = self.client.submit_instance_query(name)
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

    def _cached(self, key: str, what: str, load: Callable[[], T]) -> T:
        """``key``'s listing (which reads ``what``), loaded at most once at a
        time: commands arriving together while it loads wait for that one
        request instead of each sending their own."""
        with self._lock:
            loading = self._loading.setdefault(key, threading.Lock())
        with loading:
            entry = self._cache.get(key)
            hit = entry is not None and self._clock() - entry[0] < self.settings.cache_seconds
            self.client.meter.cache(hit)
            if entry is not None and hit:
                return entry[1]
            with answer_of(self.name, what):
                value = load()
            self._cache[key] = (self._clock(), value)
            return value


def _status(job: dict[str, Any]) -> str | None:
    status = job.get("status")
    return status if isinstance(status, str) else None
