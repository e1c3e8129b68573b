"""``/metrics`` and ``/health`` over HTTP, inside ``gntbot run`` (aiohttp, on the event loop).

Off unless ``[metrics] listen`` names an address. Both pages are read-only and
hold no secrets; bind them to loopback (the default in the example) or to an
address only the Prometheus server can reach, since they are not authenticated.

Serving on the event loop rather than in prometheus_client's own thread means a
scrape reads the transports' state (queues, connections) from the thread that
changes it: no locks, no torn reads.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.errors import GntbotError
from bot.health import HealthReport
from bot.metrics import CONTENT_TYPE, Metrics, MetricsSettings

log = logging.getLogger(__name__)


class MonitoringError(GntbotError):
    """The metrics endpoint cannot be served (address in use, not ours to bind)."""


HealthSource = Callable[[], Awaitable[HealthReport]]


class MonitorServer:
    """The HTTP endpoint: start it in the running loop, stop it at shutdown."""

    def __init__(self, settings: MetricsSettings, metrics: Metrics, health: HealthSource) -> None:
        self.settings = settings
        self._metrics = metrics
        self._health = health
        app = web.Application()
        app.router.add_get("/", self._index)
        app.router.add_get("/metrics", self._serve_metrics)
        app.router.add_get("/health", self._serve_health)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)

    async def start(self) -> None:
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.host, self.settings.port, reuse_address=True)
        try:
            await site.start()
        except OSError as error:
            await self._runner.cleanup()
            raise MonitoringError(f"cannot serve metrics on {self.settings.host}:{self.settings.port}: "
                                  f"{error.strerror} (change [metrics] listen)") from error
        log.info("serving /metrics and /health on %s", self.settings.url)

    async def stop(self) -> None:
        await self._runner.cleanup()

    async def _index(self, request: web.Request) -> web.Response:
        return web.Response(text="gntbot: /metrics (Prometheus), /health (JSON; 503 when something is down)\n")

    async def _serve_metrics(self, request: web.Request) -> web.Response:
        response = web.Response(body=self._metrics.exposition())
        response.headers["Content-Type"] = CONTENT_TYPE
        return response

    async def _serve_health(self, request: web.Request) -> web.Response:
        report = await self._health()
        return web.Response(text=json.dumps(report.to_json(), indent=1) + "\n", content_type="application/json",
                            status=200 if report.ok else 503)
