"""Read-only cluster commands: ``!instances``, ``!node``, ``!capacity``, ``!job``...

Each command takes an optional ``@cluster``. Listings without one cover every
configured cluster, one block each (a cluster that cannot be reached says so
in its block, and the others still answer); a name finds its own cluster.
RAPI is blocking HTTP, so every request, and the rendering of what it
returned, runs in the threads of the cluster asked (`Cluster.run`).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from bot.commands import clusterview as view
from bot.core.access import Permission
from bot.core.message import Reply
from bot.core.registry import Invocation, Registry
from bot.errors import GntbotError
from bot.ganeti import capacity, filters
from bot.ganeti.cluster import Cluster
from bot.ganeti.clusters import Clusters
from bot.ganeti.errors import InvalidName, RapiError
from bot.ganeti.model import JOB_ACTIVE, Job
from bot.ganeti.names import checked_job_id, number, tag_matcher
from bot.ganeti.settings import CLUSTER_NAME

DEFAULT_JOBS = 10
MAX_JOBS = 50

Render = Callable[[Cluster], list[str]]


class ClusterCommands:
    """Binds the configured clusters to chat commands."""

    def __init__(self, clusters: Clusters, prefix: str) -> None:
        self.clusters = clusters
        self.prefix = prefix

    def register(self, registry: Registry) -> None:
        at = "[@cluster]"
        add = functools.partial(registry.command, permission=Permission.READ)  # cluster data is not public
        add("instances", usage=f"[FILTER...] {at}", summary="list instances like gnt-instance list, sorted by node",
            details="FILTER words must all match: a name part, a node (primary or secondary), a status "
                    "(running, ERROR_down, or error/down), or a tag (env:prod, env:*). "
                    "Say node=, status=, tag= or name= to be explicit.")(self.instances)
        add("instance", usage=f"NAME {at}",
            summary="show an instance: nodes, state, disks and where they live, NICs, tags",
            details="NAME may be short (web-01) when only one instance matches.")(self.instance)
        add("nodes", usage=at, summary="list nodes: role, free memory and disk, instance counts")(self.nodes)
        add("node", usage=f"NAME {at}", summary="show a node: role, memory, disk, its instances")(self.node)
        add("cluster", usage=at, summary="show the cluster: master, version, hypervisors, counts")(self.cluster)
        add("jobs", usage=f"[running|failed|N] {at}", summary="list recent jobs (default the last 10)")(self.jobs)
        add("job", usage=f"ID {at}", summary="show a job: status, duration, errors, last log lines")(self.job)
        add("tags", usage=at, summary="show the cluster's tags")(self.tags)
        add("search-tags", usage=f"PATTERN {at}", summary="find tags on the cluster, groups, nodes and instances",
            details="Like gnt-cluster search-tags, PATTERN matches anywhere in a tag; it may use the "
                    "wildcards * ? [...], e.g. htools:iextags:*")(self.search_tags)
        add("capacity", usage=at, summary="check N+1 memory redundancy: could each node absorb a failed peer?",
            details="The check of gnt-cluster verify: for every node, the memory the instances of any one "
                    "peer (DRBD primaries with their secondary here) would need if that peer failed.")(self.capacity)
        add("movable", usage=f"NODE {at}", summary="list the instances that could leave NODE, and where to",
            details="DRBD instances go to their secondary, shared-storage and diskless ones to the node with "
                    "the most free memory; local (plain, file) ones cannot move.")(self.movable)

    # -- listings, one block per cluster -------------------------------------

    async def instances(self, call: Invocation) -> Reply:
        cluster, words = _split(call.args)
        terms = filters.parse_terms(words)

        def render(c: Cluster) -> list[str]:
            everything = c.instances()
            chosen = filters.select(everything, terms)
            return view.instance_table(c.name, chosen, len(everything), filters.describe(terms))

        return await self._each(cluster, render)

    async def nodes(self, call: Invocation) -> Reply:
        return await self._without_arguments(call, lambda c: view.node_table(c.name, c.nodes()))

    async def cluster(self, call: Invocation) -> Reply:
        return await self._without_arguments(
            call, lambda c: view.cluster_summary(c.name, c.info(), c.nodes(), c.instances()))

    async def tags(self, call: Invocation) -> Reply:
        return await self._without_arguments(call, lambda c: view.listing(f"{c.name}: cluster tags: ", c.info().tags))

    async def capacity(self, call: Invocation) -> Reply:
        return await self._without_arguments(
            call, lambda c: view.redundancy(c.name, capacity.redundancy(c.nodes(), c.instances())))

    async def jobs(self, call: Invocation) -> Reply:
        cluster, words = _split(call.args)
        choose, described = self._job_choice(words)
        now = datetime.now(UTC)
        return await self._each(cluster, lambda c: view.job_table(c.name, choose(c.jobs()), described, now))

    async def search_tags(self, call: Invocation) -> Reply:
        cluster, words = _split(call.args)
        if len(words) != 1:
            return self._usage("search-tags", "PATTERN [@cluster] (e.g. htools:iextags:*)")
        matches = tag_matcher(words[0])
        return await self._each(cluster, lambda c: view.tag_matches(
            c.name, c.info(), c.nodes(), c.instances(), c.groups(), matches, words[0]))

    # -- one object, found by name ---------------------------------------------

    async def instance(self, call: Invocation) -> Reply:
        async def show(name: str, cluster: str | None) -> list[str]:
            found = await self.clusters.find_instance(name, cluster)
            return await found.cluster.run(lambda c: view.instance_detail(c.name, c.instance(found.name)))

        return await self._about_one(call, "NAME", show)

    async def node(self, call: Invocation) -> Reply:
        async def show(name: str, cluster: str | None) -> list[str]:
            found = await self.clusters.find_node(name, cluster)
            return await found.cluster.run(lambda c: view.node_detail(c.name, c.node(found.name)))

        return await self._about_one(call, "NAME", show)

    async def movable(self, call: Invocation) -> Reply:
        async def show(name: str, cluster: str | None) -> list[str]:
            found = await self.clusters.find_node(name, cluster)
            return await found.cluster.run(
                lambda c: view.movable(c.name, capacity.movable(found.name, c.nodes(), c.instances())))

        return await self._about_one(call, "NODE", show)

    async def job(self, call: Invocation) -> Reply:
        async def show(text: str, cluster: str | None) -> list[str]:
            where, detail = await self.clusters.find_job(checked_job_id(text.lstrip("#")), cluster)
            return view.job_detail(where.name, detail, datetime.now(UTC))

        return await self._about_one(call, "ID", show)

    # -- helpers -----------------------------------------------------------------

    async def _each(self, cluster: str | None, render: Render) -> Reply:
        """Run ``render`` for the chosen clusters at once, each in its own threads;
        a cluster that fails contributes its error line instead of its block."""
        chosen = self.clusters.select(cluster)
        blocks = await asyncio.gather(*(one.run(functools.partial(_guarded, render)) for one in chosen))
        return Reply.of(*(line for block in blocks for line in block))

    async def _without_arguments(self, call: Invocation, render: Render) -> Reply:
        cluster, words = _split(call.args)
        if words:
            return self._usage(call.name, f"[@cluster] ({' '.join(words)!r} is not understood)")
        return await self._each(cluster, render)

    async def _about_one(self, call: Invocation, what: str,
                         show: Callable[[str, str | None], Awaitable[list[str]]]) -> Reply:
        """A command about one named object, which finds its own cluster."""
        cluster, words = _split(call.args)
        if len(words) != 1:
            return self._usage(call.name, f"{what} [@cluster]")
        return Reply.of(*await show(words[0], cluster))

    def _job_choice(self, words: list[str]) -> tuple[Callable[[Sequence[Job]], list[Job]], str]:
        word = words[0].lower() if len(words) == 1 else ""
        if word == "running":
            return (lambda jobs: [job for job in jobs if job.status in JOB_ACTIVE]), "running or queued jobs"
        if word == "failed":
            return (lambda jobs: [job for job in jobs if job.status == "error"][-MAX_JOBS:]), "failed jobs"
        count = number(word) if words else DEFAULT_JOBS
        if count is not None and 0 < count <= MAX_JOBS:
            return (lambda jobs: list(jobs[-count:])), "latest jobs"
        raise GntbotError(f"usage: {self.prefix}jobs [running|failed|N] [@cluster], N from 1 to {MAX_JOBS}")

    def _usage(self, command: str, synopsis: str) -> Reply:
        return Reply.of(f"usage: {self.prefix}{command} {synopsis}")


def _split(args: str) -> tuple[str | None, list[str]]:
    """``"web @gnt-fsn running"`` → ``("gnt-fsn", ["web", "running"])``."""
    cluster, words = None, []
    for word in args.split():
        if not word.startswith("@"):
            words.append(word)
            continue
        if cluster is not None:
            raise InvalidName("name one cluster at most (@name)")
        if not CLUSTER_NAME.fullmatch(word[1:]):
            raise InvalidName(f"{word[:40]!r} is not a cluster name")
        cluster = word[1:]
    return cluster, words


def _guarded(render: Render, cluster: Cluster) -> list[str]:
    try:
        return render(cluster)
    except RapiError as error:
        return [str(error)]
