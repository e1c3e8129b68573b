"""Metrics of the runbook knowledge: questions by outcome, search time, the index.

The index figures are read from the knowledge base at scrape time: what its
last refresh found, when that was, and how many refreshes were put off since
(the last update failed, and the same folder waits before it is tried again).
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from bot.knowledge.base import KnowledgeBase
from bot.metrics import Metrics, check_family_name

ANSWERED, HEDGED, ABSTAINED = "answered", "hedged", "abstained"
ERROR, INTERNAL_ERROR = "error", "internal_error"
OUTCOMES = (ANSWERED, HEDGED, ABSTAINED, ERROR, INTERNAL_ERROR)


class KnowledgeMetrics:
    """What the runbook commands and the runbook watcher count."""

    def __init__(self, metrics: Metrics) -> None:
        self.questions = metrics.counter(
            "questions_total",
            "Questions put to the runbooks (lines addressed to the bot, !howto), by outcome: answered; "
            "hedged (answered with the closest section, said to be unsure); abstained (no section answers it); "
            "error (a problem shown to the asker); internal_error (a bug, logged).",
            ["outcome"], initial=[(outcome,) for outcome in OUTCOMES])
        self.search_seconds = metrics.histogram(
            "search_duration_seconds",
            "Time to rank the runbook sections for one question or search, as the command waits for it "
            "(the wait for a worker thread included).")
        self.reload_failures = metrics.counter(
            "index_reload_failures_total", "Automatic re-reads of the runbooks that failed (the old index stayed).")
        self._index = _IndexCollector()
        metrics.collect(self._index)

    def watch(self, knowledge: KnowledgeBase) -> None:
        """Export the index figures of ``knowledge`` (the one in use, after a reload too)."""
        self._index.knowledge = knowledge


class _IndexCollector(Collector):
    def __init__(self) -> None:
        self.knowledge: KnowledgeBase | None = None

    def describe(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        yield from self._families()
        yield self._deferrals()

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        families = self._families()
        refresh = self.knowledge.last_refresh if self.knowledge is not None else None
        if refresh is not None:
            when, report = refresh
            for family, value in zip(families, (report.sections, len(report.skipped), when), strict=True):
                family.add_metric([], value)
        yield from families
        deferrals = self._deferrals()
        if self.knowledge is not None:
            deferrals.add_metric([], self.knowledge.deferrals)
        yield deferrals

    @staticmethod
    def _deferrals() -> CounterMetricFamily:
        return CounterMetricFamily(check_family_name("index_deferred_refreshes", "counter"),
                                   "Refreshes that left the runbooks unread because the last update failed "
                                   "and its retry delay has not passed (the old index stayed in use).")

    @staticmethod
    def _families() -> list[GaugeMetricFamily]:
        return [
            GaugeMetricFamily(check_family_name("index_sections", "gauge"),
                              "Runbook sections in the search index, as of its last refresh."),
            GaugeMetricFamily(check_family_name("index_skipped_files", "gauge"),
                              "Runbook files the last refresh skipped (unreadable, binary, too large)."),
            GaugeMetricFamily(check_family_name("index_last_reload_timestamp_seconds", "gauge"),
                              "When the runbooks were last re-read successfully (Unix time)."),
        ]
