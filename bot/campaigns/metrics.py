"""Metrics of reboot campaigns: hosts by state, the ETA, lines said, intake answers.

Read at scrape time from the running service and intake (`CampaignCollector`),
on the event loop that changes them. Labels are bounded: host states and HTTP
statuses, all present from the first scrape; never a campaign, host or person.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.campaigns.state import FINISHED, Phase
from bot.metrics import check_family_name

if TYPE_CHECKING:
    from bot.campaigns.runtime import CampaignRuntime

STATES = ("pending", "in_progress", "done", "skipped", "failed")
INTAKE_STATUSES = (202, 400, 401, 403, 409, 413, 415, 422)


class CampaignCollector(Collector):
    def __init__(self, runtime: CampaignRuntime) -> None:
        self._runtime = runtime

    def describe(self) -> Iterator[Metric]:
        yield from self._families()

    def collect(self) -> Iterator[Metric]:
        hosts, running, eta, said, intake = families = self._families()
        service, counts = self._runtime.service, dict.fromkeys(STATES, 0)
        campaigns = service.running() if service is not None else []
        for campaign in campaigns:
            for host in campaign.hosts:
                state = (str(host.phase) if host.phase in FINISHED else
                         "pending" if host.phase is Phase.PENDING else "in_progress")
                counts[state] += 1
        for state, count in counts.items():
            hosts.add_metric([state], count)
        running.add_metric([], len(campaigns))
        ends = [found.eta for found in (service.estimate(c) for c in campaigns) if found.eta] if service else []
        if ends:
            eta.add_metric([], max(ends))
        said.add_metric([], service.lines_said if service is not None else 0)
        answers = self._runtime.intake.answers if self._runtime.intake is not None else {}
        for status in INTAKE_STATUSES:
            intake.add_metric([str(status)], answers.get(status, 0))
        yield from families

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily, CounterMetricFamily,
                             CounterMetricFamily]:
        return (
            GaugeMetricFamily(check_family_name("campaign_hosts", "gauge", ["state"]),
                              "Hosts of the running reboot campaigns by state: pending (not reached yet), "
                              "in_progress, done, skipped, failed.", labels=["state"]),
            GaugeMetricFamily(check_family_name("campaigns_running", "gauge"),
                              "Reboot campaigns started and not ended."),
            GaugeMetricFamily(check_family_name("campaign_eta_timestamp_seconds", "gauge"),
                              "When the running campaign that ends last is expected to end (Unix time); "
                              "absent while there is no estimate (no host done, no past campaign)."),
            CounterMetricFamily(check_family_name("campaign_lines_said", "counter"),
                                "Campaign lines said in the rooms (each line once, whatever the number of rooms)."),
            CounterMetricFamily(check_family_name("intake_requests", "counter", ["status"]),
                                "Requests to the event intake by HTTP status: 202 accepted; 400 malformed, "
                                "401 bad signature or stale, 403 room not allowed, 409 replayed id, 413 too "
                                "large, 415 not JSON, 422 no such campaign.", labels=["status"]),
        )
