"""Several clusters (e.g. ``gnt-fsn`` and ``gnt-chi``) behind one set of commands.

A command may name its cluster (``@gnt-fsn``); otherwise an instance, node or
job finds its cluster by itself. Names may be short (``test-01`` for
``test-01.example.org``) as long as only one object matches; when several do,
the error lists them so the person can pick. Looking something up asks every
cluster at once, each in its own threads (`Cluster.run`): the finders are
coroutines, and no thread waits for another.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from bot.ganeti.cluster import Cluster
from bot.ganeti.errors import AmbiguousName, RapiError, RapiNotFound, UnknownName
from bot.ganeti.model import JobDetail
from bot.ganeti.names import checked_name, listed

MAX_LISTED = 5
T = TypeVar("T")


async def _ask_each(clusters: Sequence[Cluster], question: Callable[[Cluster], T]) -> list[T | RapiError]:
    """``question`` put to every cluster at once: one that does not answer (up to
    its timeout and retries) must not delay the answer from the others."""
    def ask(cluster: Cluster) -> T | RapiError:
        try:
            return question(cluster)
        except RapiError as error:
            return error

    return list(await asyncio.gather(*(cluster.run(ask) for cluster in clusters)))


@dataclass(frozen=True)
class Found:
    """An object located by name: its cluster and full name."""

    cluster: Cluster
    name: str


class Clusters:
    """The configured clusters, in configuration order."""

    def __init__(self, clusters: Sequence[Cluster]) -> None:
        if not clusters:
            raise ValueError("no clusters")
        self._clusters = {cluster.name: cluster for cluster in clusters}

    def select(self, name: str | None) -> tuple[Cluster, ...]:
        """The cluster called ``name``, or all of them when ``name`` is None."""
        if name is None:
            return tuple(self._clusters.values())
        cluster = self._clusters.get(name) or self._clusters.get(name.lower())
        if cluster is None:
            raise UnknownName(f"no cluster @{name}; known: {', '.join('@' + known for known in self._clusters)}")
        return (cluster,)

    async def find_instance(self, text: str, within: str | None = None) -> Found:
        return await self._find("instance", text, within, Cluster.instance_names)

    async def find_node(self, text: str, within: str | None = None) -> Found:
        return await self._find("node", text, within, Cluster.node_names)

    async def find_job(self, job_id: int, within: str | None = None) -> tuple[Cluster, JobDetail]:
        """Job IDs are per cluster: look in each, and refuse to guess between two."""
        found: list[tuple[Cluster, JobDetail]] = []
        failures: list[RapiError] = []
        clusters = self.select(within)
        for cluster, answer in zip(clusters, await _ask_each(clusters, lambda cluster: cluster.job(job_id))):
            if isinstance(answer, RapiNotFound):
                continue
            if isinstance(answer, RapiError):
                failures.append(answer)
            else:
                found.append((cluster, answer))
        if len(found) > 1:
            where = " and ".join(f"@{cluster.name}" for cluster, _ in found)
            example = f"job {job_id} @{found[0][0].name}"
            raise AmbiguousName(f"job {job_id} exists on {where}: add the cluster, e.g. {example}")
        if found:
            return found[0]
        raise _not_found(f"job {job_id}", self.select(within), failures)

    async def _find(self, kind: str, text: str, within: str | None,
                    listing: Callable[[Cluster], Iterable[str]]) -> Found:
        wanted = checked_name(text, f"{kind} name").lower()
        exact: list[Found] = []
        partial: list[Found] = []
        failures: list[RapiError] = []
        clusters = self.select(within)
        for cluster, names in zip(clusters, await _ask_each(clusters, listing)):
            if isinstance(names, RapiError):
                failures.append(names)
                continue
            for name in names:
                lowered = name.lower()
                if lowered == wanted:
                    exact.append(Found(cluster, name))
                elif lowered.startswith(wanted + "."):
                    partial.append(Found(cluster, name))
        matches = exact or partial
        if len(matches) == 1:
            return matches[0]
        if matches:
            candidates = listed([f"{match.name} @{match.cluster.name}" for match in matches], MAX_LISTED)
            raise AmbiguousName(f"{text} is ambiguous: {candidates}; give the full name or add @cluster")
        raise _not_found(f"{kind} {text}", clusters, failures)


def _not_found(what: str, clusters: Sequence[Cluster], failures: Sequence[RapiError]) -> Exception:
    """Say where it was looked for; a cluster that could not be asked is not a "no"."""
    if failures and len(failures) == len(clusters):
        return failures[0] if len(failures) == 1 else RapiError(
            "clusters", "; ".join(str(failure) for failure in failures))
    failed = {failure.cluster for failure in failures}
    asked = ", ".join(f"@{cluster.name}" for cluster in clusters if cluster.name not in failed)
    text = f"no {what} on {asked}"
    if failures:
        text += "; could not ask " + "; ".join(str(failure) for failure in failures)
    return UnknownName(text)

