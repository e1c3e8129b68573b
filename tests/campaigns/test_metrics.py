"""Campaign metrics as Prometheus reads them: hosts by state, the ETA, lines said, intake answers."""

from __future__ import annotations

import asyncio

from prometheus_client.parser import text_string_to_metric_families

from bot.campaigns.metrics import CampaignCollector
from bot.campaigns.runtime import CampaignRuntime
from bot.config import Config
from bot.core.announce import Announcer
from bot.metrics import Metrics
from bot.state.store import Store

from .kit import host_cycle, start, step
from .test_service import T0, Clock, feed, service_on


def samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = metrics.exposition().decode()
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def test_a_scrape_shows_the_running_campaign_s_hosts_by_state_and_its_eta(tmp_path):
    metrics = Metrics.detached()
    runtime = CampaignRuntime(Config.default(), Announcer())
    metrics.collect(CampaignCollector(runtime))
    idle = samples(metrics)

    async def scenario() -> dict:
        clock = Clock()
        with Store.open(tmp_path) as store:
            runtime.service, _ = service_on(store, clock)
            await runtime.service.start()
            await feed(runtime.service, clock, [start(["h1", "h2", "h3", "h4"], T0), *host_cycle("h1", T0, 10),
                                                step("h2", "skipped", T0 + 700), step("h3", "down", T0 + 800)])
            clock.now = T0 + 900
            found = samples(metrics)
            await runtime.service.close()
            return found

    busy = asyncio.run(scenario())
    assert idle[("gntbot_campaigns_running", ())] == 0
    assert ("gntbot_campaign_eta_timestamp_seconds", ()) not in idle
    assert idle[("gntbot_intake_requests_total", (("status", "401"),))] == 0
    assert {state: busy[("gntbot_campaign_hosts", (("state", state),))]
            for state in ("pending", "in_progress", "done", "skipped", "failed")} == {
        "pending": 1, "in_progress": 1, "done": 1, "skipped": 1, "failed": 0}
    assert busy[("gntbot_campaigns_running", ())] == 1
    # h1 took 600 s; h3 under way since T0+700, then h4: 400 + 600 s from T0+900
    assert busy[("gntbot_campaign_eta_timestamp_seconds", ())] == T0 + 900 + 400 + 600
    assert busy[("gntbot_campaign_lines_said_total", ())] >= 4
