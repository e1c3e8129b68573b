"""``/health`` (and so ``gntbot status``) names the kind of a cluster's failure, never RAPI's words.

The endpoint is unauthenticated and its answer is pasted into monitoring and
tickets; what RAPI or a proxy sends back may hold user names, URLs with
credentials or configuration. The bot's log keeps the detail.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

import pytest
from clusterkit import pinned
from fakerapi import Answer

from bot.app import Application
from bot.config import Config, KnowledgeSettings
from bot.health import HealthReport
from bot.metrics import MetricsSettings
from bot.transports.runner import start_monitor
from tests.ops.scrape import free_port, health

SECRET = "alice-admin"  # a user name, as a hostile or chatty RAPI front would quote it
BODIES = {
    401: b'{"code": 401, "message": "Unauthorized: no user alice-admin", "explain": "see authorization"}',
    500: b'{"code": 500, "message": "ganeti-rapi: https://alice-admin:hunter2@master.example:5080/2/info failed"}',
}


def probe(settings, tmp_path) -> tuple[int, HealthReport]:
    config = replace(Config.default(), clusters=(settings,), metrics=MetricsSettings("127.0.0.1", free_port()),
                     knowledge=replace(KnowledgeSettings(), index=tmp_path / "index"))
    app = Application(config)

    async def ask() -> tuple[int, dict]:
        monitor = await start_monitor(app, [])
        assert monitor is not None
        try:
            return await asyncio.to_thread(health, monitor.settings.url)
        finally:
            await monitor.stop()

    try:
        status, body = asyncio.run(ask())
    finally:
        app.close()
    return status, HealthReport.from_json(body)


@pytest.mark.parametrize(("code", "words"), [
    (401, "RAPI refused the bot's read credentials (401); the bot's log has the details"),
    (500, "RAPI or the master daemon failed (5xx); the bot's log has the details"),
])
def test_a_failing_rapi_answer_is_told_by_kind_and_its_text_stays_in_the_log(fake_rapi, tls, tmp_path, caplog,
                                                                             code, words):
    fake_rapi.answer("/2/info", Answer(code, BODIES[code]))
    with caplog.at_level(logging.WARNING, logger="bot.health"):
        status, report = probe(pinned(fake_rapi, tls, retries=0), tmp_path)
    assert status == 503 and not report.ok
    (check,) = report.clusters
    assert (check.name, check.ok, check.detail) == ("gnt-fsn", False, words)
    assert SECRET not in check.detail and "hunter2" not in check.detail
    assert report.lines() == [f"cluster gnt-fsn: FAILING: {words}"]  # what gntbot status prints
    if code == 500:
        assert SECRET in caplog.text  # the operator reading the log still learns what RAPI said


def test_a_pin_mismatch_is_told_by_kind(fake_rapi, tls, tmp_path):
    status, report = probe(pinned(fake_rapi, tls, fingerprint="ab" * 32), tmp_path)
    assert status == 503
    assert report.clusters[0].detail == ("TLS verification failed (certificate or pinned fingerprint), nothing "
                                         "was sent; the bot's log has the details")
    assert "[clusters." not in report.clusters[0].detail


@pytest.mark.lab
def test_a_healthy_cluster_says_where_it_is(lab_settings, tmp_path):
    status, report = probe(lab_settings, tmp_path)
    assert status == 200 and report.ok
    assert report.clusters[0].detail.startswith("reachable: ")
