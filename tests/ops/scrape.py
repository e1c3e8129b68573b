"""Reading the bot's real HTTP endpoint the way Prometheus and a monitoring check do."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from typing import Any

from prometheus_client.parser import text_string_to_metric_families


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def scrape(base_url: str) -> dict[str, Any]:
    """``/metrics``, parsed by prometheus_client's own parser: family name → family."""
    with urllib.request.urlopen(f"{base_url}/metrics", timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = response.read().decode()
    return {family.name: family for family in text_string_to_metric_families(text)}


def value(families: dict[str, Any], sample: str, **labels: str) -> float:
    """The value of the one sample named ``sample`` with exactly these ``labels``."""
    family = families[sample.removesuffix("_total").removesuffix("_count").removesuffix("_sum")
                      .removesuffix("_bucket")]
    found = [s.value for s in family.samples if s.name == sample and s.labels == labels]
    assert len(found) == 1, f"{sample}{labels}: {[(s.name, s.labels) for s in family.samples]}"
    return found[0]


def health(base_url: str) -> tuple[int, dict[str, Any]]:
    """``/health``: the HTTP status (200 or 503) and the JSON report."""
    try:
        with urllib.request.urlopen(f"{base_url}/health", timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
