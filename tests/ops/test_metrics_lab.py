"""RAPI metrics of a bot reading the real Ganeti lab."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.app import Application
from bot.config import Config
from bot.core.access import AccessPolicy
from bot.core.message import Identity, Message
from bot.ganeti.settings import Credentials

from .scrape import value

pytestmark = pytest.mark.lab


def test_rapi_requests_codes_latency_and_cache_hits_on_the_lab(lab_settings):
    wrong = replace(lab_settings, name="lab-wrong", read=Credentials("reader", "not-the-password"))
    app = Application(replace(Config.default(), clusters=(replace(lab_settings, cache_seconds=60), wrong),
                              access=AccessPolicy.of((), rooms=[("irc", "#ganeti")])))
    alice = Identity("irc", "alice", account="alice")

    def say(text: str) -> str:
        return "\n".join(asyncio.run(app.dispatcher.handle(Message(text, alice, room="#ganeti"))).lines)

    def figures() -> dict:
        return {f.name: f for f in text_string_to_metric_families(app.metrics.exposition().decode())}

    def requests(families: dict, cluster: str = "lab", code: str = "200") -> float:
        return value(families, "gntbot_rapi_requests_total", cluster=cluster, method="GET", code=code)

    assert say("!cluster @lab").startswith("lab: cluster.ganeti.test")
    first = figures()
    assert requests(first) >= 1
    assert value(first, "gntbot_rapi_cache_lookups_total", cluster="lab", result="hit") == 0
    assert say("!cluster @lab").startswith("lab: cluster.ganeti.test")  # every listing from the cache
    assert "401" in say("!nodes @lab-wrong")
    second = figures()
    assert requests(second) == requests(first)
    assert value(second, "gntbot_rapi_cache_lookups_total", cluster="lab", result="hit") == \
        value(first, "gntbot_rapi_cache_lookups_total", cluster="lab", result="miss") > 0
    assert value(second, "gntbot_rapi_request_duration_seconds_count", cluster="lab") == requests(first)
    assert requests(second, "lab-wrong", "401") == 1
