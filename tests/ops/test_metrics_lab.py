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

    assert say("!cluster @lab").startswith("lab: cluster.ganeti.test")
    assert say("!cluster @lab").startswith("lab: cluster.ganeti.test")  # from the cache
    assert "401" in say("!nodes @lab-wrong")
    families = {f.name: f for f in text_string_to_metric_families(app.metrics.exposition().decode())}
    assert value(families, "gntbot_rapi_requests_total", cluster="lab", method="GET", code="200") == 1
    assert value(families, "gntbot_rapi_cache_lookups_total", cluster="lab", result="hit") == 1
    assert value(families, "gntbot_rapi_cache_lookups_total", cluster="lab", result="miss") == 1
    assert value(families, "gntbot_rapi_requests_total", cluster="lab-wrong", method="GET", code="401") == 1
    assert value(families, "gntbot_rapi_request_duration_seconds_count", cluster="lab") == 1
