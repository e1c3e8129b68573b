"""The metrics a Prometheus server scrapes from a bot, over real HTTP, parsed by the library's parser."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest

from bot.app import Application
from bot.config import Config, KnowledgeSettings
from bot.core.access import AccessPolicy
from bot.core.message import Identity, Message
from bot.ganeti.settings import ClusterSettings, Credentials
from bot.knowledge.base import KnowledgeBase
from bot.metrics import FORBIDDEN_LABELS, MetricNameError, Metrics, MetricsSettings
from bot.transports.runner import start_monitor

from .scrape import free_port, health, scrape, value

ALICE = Identity("irc", "alice", account="alice")


def closed_cluster(name: str) -> ClusterSettings:
    """A cluster whose RAPI port has nothing listening: every request is refused."""
    return ClusterSettings(name, f"https://127.0.0.1:{free_port()}", Credentials("reader", "secret"),
                           fingerprint="00" * 32, timeout=2, retries=0)


def app_config(tmp_path: Path, *clusters: ClusterSettings, port: int | None = None) -> Config:
    default = Config.default()
    return replace(default, knowledge=replace(KnowledgeSettings(), index=tmp_path / "index"),
                   clusters=clusters, access=AccessPolicy.of((), rooms=[("irc", "#ganeti")]),
                   metrics=MetricsSettings("127.0.0.1", port or free_port()))


async def ask(app: Application, text: str) -> list[str]:
    reply = await app.dispatcher.handle(Message(text, ALICE, room="#ganeti", addressed=not text.startswith("!")))
    return list(reply.lines)


def test_a_scrape_shows_questions_searches_the_index_and_rapi_traffic(tmp_path):
    app = Application(app_config(tmp_path, closed_cluster("gnt-fsn"), closed_cluster("gnt-chi")))
    app.knowledge.refresh()

    async def scenario() -> tuple[dict, tuple[int, dict]]:
        monitor = await start_monitor(app, [])
        try:
            assert (await ask(app, "how do I rebalance the cluster"))[0].startswith("How-to › Rebalancing")
            assert "nothing in the runbooks" in (await ask(app, "configure ceph rbd mirroring with quorum"))[0]
            await ask(app, "!search drbd split brain")
            assert "refused" in "\n".join(await ask(app, "!cluster @gnt-fsn"))
            url = monitor.settings.url
            return await asyncio.to_thread(scrape, url), await asyncio.to_thread(health, url)
        finally:
            await monitor.stop()

    families, (status, report) = asyncio.run(scenario())
    assert value(families, "gntbot_questions_total", outcome="answered") == 1
    assert value(families, "gntbot_questions_total", outcome="abstained") == 1
    assert value(families, "gntbot_questions_total", outcome="internal_error") == 0  # there from the start
    assert value(families, "gntbot_search_duration_seconds_count") == 3  # two questions and a search
    assert value(families, "gntbot_index_sections") > 20
    assert value(families, "gntbot_index_last_reload_timestamp_seconds") > 1.7e9
    # RAPI: every configured cluster has its series before it is ever asked.
    assert value(families, "gntbot_rapi_requests_total", cluster="gnt-fsn", method="GET", code="none") == 1
    assert value(families, "gntbot_rapi_requests_total", cluster="gnt-chi", method="GET", code="200") == 0
    assert value(families, "gntbot_rapi_cache_lookups_total", cluster="gnt-fsn", result="miss") == 1
    assert value(families, "gntbot_rapi_request_duration_seconds_count", cluster="gnt-fsn") == 1
    assert value(families, "gntbot_build_info", version="0.1.0") == 1
    assert value(families, "process_resident_memory_bytes") > 0

    # /health: both clusters refuse, so the bot is not well, and says why.
    assert status == 503 and report["ok"] is False
    assert [(c["name"], c["ok"]) for c in report["clusters"]] == [("gnt-fsn", False), ("gnt-chi", False)]
    assert report["clusters"][0]["detail"].startswith("no connection to RAPI")


def test_every_exported_name_and_label_follows_the_conventions(tmp_path):
    app = Application(app_config(tmp_path, closed_cluster("gnt-fsn")))
    app.knowledge.refresh()

    async def scenario() -> dict:
        monitor = await start_monitor(app, [])
        try:
            return await asyncio.to_thread(scrape, monitor.settings.url)
        finally:
            await monitor.stop()

    for name, family in asyncio.run(scenario()).items():
        assert name.startswith(("gntbot_", "process_")), name
        if family.type == "counter":
            assert all(s.name.endswith("_total") for s in family.samples), name
        if family.type == "histogram":
            assert name.endswith(("_seconds", "_bytes")), name
        for sample in family.samples:
            assert not set(sample.labels) & FORBIDDEN_LABELS, (name, sample.labels)


def test_answers_given_as_the_closest_section_are_counted_apart(tmp_path, three_topics):
    app = Application(app_config(tmp_path), KnowledgeBase(three_topics, tmp_path / "index", semantic=False))
    assert (asyncio.run(ask(app, "logrotate schedule for snapshots, quotas and reboots?"))[0]
            .startswith("Not sure the runbooks cover this"))
    asyncio.run(ask(app, "what is our weekly logrotate schedule?"))
    exposed = app.metrics.exposition().decode()
    assert 'gntbot_questions_total{outcome="hedged"} 1.0' in exposed
    assert 'gntbot_questions_total{outcome="answered"} 1.0' in exposed


def test_two_applications_in_one_process_count_apart(tmp_path):
    first = Application(app_config(tmp_path / "a"))
    second = Application(app_config(tmp_path / "b"))
    asyncio.run(ask(first, "how do I rebalance the cluster"))
    answered = 'gntbot_questions_total{outcome="answered"}'
    assert f"{answered} 1.0" in first.metrics.exposition().decode()
    assert f"{answered} 0.0" in second.metrics.exposition().decode()


def test_a_port_in_use_is_a_clear_error(tmp_path):
    port = free_port()

    async def scenario() -> None:
        holder = await asyncio.start_server(lambda r, w: None, "127.0.0.1", port)
        try:
            await start_monitor(Application(app_config(tmp_path, port=port)), [])
        finally:
            holder.close()

    with pytest.raises(Exception, match=rf"cannot serve metrics on 127.0.0.1:{port}: .*change \[metrics\] listen"):
        asyncio.run(scenario())


@pytest.mark.parametrize("declare, problem", [
    (lambda m: m.counter("questions", "x"), "must end in _total"),
    (lambda m: m.counter("gntbot_questions_total", "x"), "without the gntbot_ prefix"),
    (lambda m: m.histogram("search_latency", "x"), "must end in _seconds or _bytes"),
    (lambda m: m.gauge("queue_total", "x"), "must not end in _total"),
    (lambda m: m.counter("actions_total", "x", ["nick"]), "label 'nick' would have a series per nick"),
    (lambda m: m.counter("jobs_total", "x", ["cluster"], initial=[("a", "b")]), "do not match the labels"),
])
def test_a_metric_against_the_rules_is_refused_when_declared(declare, problem):
    with pytest.raises(MetricNameError, match=problem):
        declare(Metrics.detached())
