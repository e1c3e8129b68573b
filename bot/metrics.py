"""The bot's Prometheus metrics: one registry of its own, and the naming rules.

Every capability declares its metrics in a ``metrics.py`` beside it (e.g.
``bot/knowledge/metrics.py``), through a `Metrics` object that the application
creates once and hands down. Nothing is registered in prometheus_client's global
default registry, so a test can build several applications in one process and
each exports only its own figures.

The rules, checked when a metric is declared (a wrong name fails at start-up and
in the tests, never in production):

- every name gets the ``gntbot_`` prefix (declare ``questions_total``, not
  ``gntbot_questions_total``);
- counters end in ``_total``; histograms measure a base unit and say which
  (``_seconds``, ``_bytes``); gauges of a quantity name it too;
- labels have a bounded set of values, known from the configuration where
  possible (networks, clusters): pass them as ``initial`` so that every series
  exists, at 0, from the first scrape. Never a label per person, nick, instance,
  job or question: those are unbounded, and `FORBIDDEN_LABELS` refuses them.

`Metrics.collect` adds a custom collector, for figures that already exist as
state somewhere (a queue's length, whether a network is connected): it is read
at scrape time, on the event loop, so it needs no locking.

``[metrics] listen`` (`MetricsSettings`) says where ``gntbot run`` serves them;
`bot.web.monitoring` is the HTTP side.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.registry import Collector

from bot import __version__
from bot.configreader import Table

M = TypeVar("M", Counter, Gauge, Histogram)
PREFIX = "gntbot_"
# The classic text format, which every Prometheus version reads (our names need no escaping).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Short requests (a search, a RAPI GET) and long ones (a job, a migration).
FAST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
SLOW_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0, 7200.0, 14400.0)

FORBIDDEN_LABELS = frozenset({"person", "nick", "user", "account", "jid", "instance", "node", "job", "job_id",
                              "question", "query", "text", "message"})
_NAME = re.compile(r"[a-z][a-z0-9_]*")
_UNITS = ("_seconds", "_bytes")
_ADDRESS = re.compile(r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[^\s:\[\]]+)):(?P<port>[0-9]{1,5})$")
_WILDCARDS = {"0.0.0.0": "127.0.0.1", "::": "::1"}

# The "_created" series double the output and no dashboard uses them.
disable_created_metrics()


class MetricNameError(ValueError):
    """A metric declared against the naming rules (a programming error)."""


class Metrics:
    """The registry every metric of one running bot lives in."""

    def __init__(self, *, standard: bool = True) -> None:
        """``standard``: also export the version and the process figures (CPU,
        memory, file descriptors, start time, as ``process_*``)."""
        self.registry = CollectorRegistry(auto_describe=True)
        if standard:
            ProcessCollector(registry=self.registry)
            Info(PREFIX + "build", "The running gntbot version.", registry=self.registry).info({"version": __version__})

    @classmethod
    def detached(cls) -> Metrics:
        """A registry nobody scrapes, for objects built outside an application
        (a script, a unit test): they count into it, and it costs nothing else."""
        return cls(standard=False)

    def counter(self, name: str, documentation: str, labels: Sequence[str] = (),
                initial: Iterable[Sequence[str]] = ()) -> Counter:
        """A count that only goes up: ``name`` ends in ``_total``."""
        _check(name, labels, suffixes=("_total",))
        counter = Counter(PREFIX + name, documentation, labels, registry=self.registry)
        return _initialised(counter, labels, initial)

    def gauge(self, name: str, documentation: str, labels: Sequence[str] = (),
              initial: Iterable[Sequence[str]] = ()) -> Gauge:
        """A value that goes up and down (a size, a timestamp, a 0/1 state)."""
        _check(name, labels, suffixes=())
        if name.endswith("_total"):
            raise MetricNameError(f"{name}: a gauge must not end in _total (that suffix means a counter)")
        gauge = Gauge(PREFIX + name, documentation, labels, registry=self.registry)
        return _initialised(gauge, labels, initial)

    def histogram(self, name: str, documentation: str, labels: Sequence[str] = (),
                  initial: Iterable[Sequence[str]] = (), buckets: Sequence[float] = FAST_BUCKETS) -> Histogram:
        """A distribution (latencies, durations) in a base unit: ``name`` ends in ``_seconds`` or ``_bytes``."""
        _check(name, labels, suffixes=_UNITS)
        histogram = Histogram(PREFIX + name, documentation, labels, registry=self.registry, buckets=buckets)
        return _initialised(histogram, labels, initial)

    def collect(self, collector: Collector) -> None:
        """Add a collector whose ``collect()`` yields metric families at scrape time.

        Its family names must follow the same rules; `check_family_name` helps."""
        self.registry.register(collector)

    def exposition(self) -> bytes:
        """Everything, in the Prometheus text format (`CONTENT_TYPE`)."""
        return generate_latest(self.registry)


def check_family_name(name: str, kind: str, labels: Sequence[str] = ()) -> str:
    """``gntbot_`` + ``name`` for a custom collector's family, checked like the others.

    ``kind`` is ``counter`` (give the name without ``_total``: the family adds it),
    ``gauge`` or ``histogram``."""
    if kind == "counter":
        _check(name + "_total", labels, suffixes=("_total",))
    else:
        _check(name, labels, suffixes=_UNITS if kind == "histogram" else ())
    return PREFIX + name


def _check(name: str, labels: Sequence[str], suffixes: tuple[str, ...]) -> None:
    if name.startswith(PREFIX):
        raise MetricNameError(f"{name}: declare it without the {PREFIX} prefix; it is added for you")
    if not _NAME.fullmatch(name):
        raise MetricNameError(f"{name}: use lower-case letters, digits and underscores")
    if suffixes and not name.endswith(suffixes):
        raise MetricNameError(f"{name}: must end in {' or '.join(suffixes)}")
    for label in labels:
        if label in FORBIDDEN_LABELS:
            raise MetricNameError(f"{name}: label {label!r} would have a series per {label}; "
                                  "count it without the label, or log it")
        if not _NAME.fullmatch(label):
            raise MetricNameError(f"{name}: bad label name {label!r}")


def _initialised(metric: M, labels: Sequence[str], initial: Iterable[Sequence[str]]) -> M:
    """Create the series of ``initial`` (tuples of label values) now, at 0."""
    for values in initial:
        if len(values) != len(labels):
            raise MetricNameError(f"initial label values {tuple(values)} do not match the labels {tuple(labels)}")
        metric.labels(*values)
    return metric


@dataclass(frozen=True)
class MetricsSettings:
    """``[metrics]``: where the bot serves ``/metrics`` and ``/health``."""

    host: str
    port: int

    @property
    def url(self) -> str:
        """Where a local client (``gntbot status``) reaches it; a wildcard bind means loopback."""
        host = _WILDCARDS.get(self.host, self.host)
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}"


def parse_metrics_settings(table: Table) -> MetricsSettings | None:
    """The ``[metrics]`` table; None (no endpoint) unless ``listen`` is set."""
    listen = table.optional_string("listen")
    table.done()
    if listen is None:
        return None
    match = _ADDRESS.match(listen)
    if not match or not 1 <= int(match["port"]) <= 65535:
        raise table.error("listen", f'{listen!r}: expected "HOST:PORT", e.g. "127.0.0.1:9108" or "[::1]:9108"')
    return MetricsSettings(match["v6"] or match["host"], int(match["port"]))
