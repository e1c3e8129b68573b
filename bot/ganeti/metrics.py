"""Metrics of the bot's own RAPI traffic: requests, their latency, the listing cache.

What the clusters themselves hold (nodes, instances, jobs) is
prometheus-ganeti-exporter's business (``ganeti_*``) and is not repeated here: these figures
say how the bot talks to each cluster, not what is in it.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.metrics import Metrics

NO_ANSWER = "none"  # the code label of a request that got no HTTP answer (refused, timeout, TLS)


class RapiMetrics:
    """The families, labelled by configured cluster name."""

    def __init__(self, metrics: Metrics) -> None:
        self.requests = metrics.counter(
            "rapi_requests_total",
            f"RAPI requests the bot made, by cluster, method and HTTP status code ({NO_ANSWER!r}: no answer: "
            "connection refused, timeout, TLS refused). Retries of one request count once.",
            ["cluster", "method", "code"])
        self.seconds = metrics.histogram(
            "rapi_request_duration_seconds", "Time from sending a RAPI request to its answer (or failure), "
            "retries included.", ["cluster"])
        self.cache = metrics.counter(
            "rapi_cache_lookups_total", "Cluster listings (instances, nodes, info, ...) asked for, by whether the "
            "few-second cache had them (hit) or RAPI was asked (miss).", ["cluster", "result"])
        self._clusters: set[str] = set()

    def cluster(self, name: str) -> RapiMeter:
        """The meter of cluster ``name``, its usual series created at 0."""
        self._clusters.add(name)
        self.requests.labels(name, "GET", "200")
        self.seconds.labels(name)
        for result in ("hit", "miss"):
            self.cache.labels(name, result)
        return RapiMeter(self, name)

    def keep_only(self, names: Iterable[str]) -> None:
        """Drop the series of clusters no longer configured (after a reload)."""
        for gone in self._clusters - set(names):
            for family in (self.requests, self.seconds, self.cache):
                family.remove_by_labels({"cluster": gone})
        self._clusters &= set(names)


class RapiMeter:
    """What one cluster's client and cache report."""

    def __init__(self, metrics: RapiMetrics, cluster: str) -> None:
        self._metrics = metrics
        self.cluster = cluster

    @classmethod
    def detached(cls, cluster: str) -> RapiMeter:
        """For a client built outside an application: counts go nowhere."""
        return RapiMetrics(Metrics.detached()).cluster(cluster)

    def request(self, method: str, code: int | None, seconds: float) -> None:
        """One request: its HTTP status (None: no answer) and how long it took."""
        self._metrics.requests.labels(self.cluster, method, NO_ANSWER if code is None else str(code)).inc()
        self._metrics.seconds.labels(self.cluster).observe(seconds)

    def cache(self, hit: bool) -> None:
        self._metrics.cache.labels(self.cluster, "hit" if hit else "miss").inc()
