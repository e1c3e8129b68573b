"""``gntbot run``: every configured transport in one asyncio process.

The transports and the application's upkeep (re-reading the runbooks, the
actions' job watching and expiry), and the ``/metrics`` endpoint where
configured, run side by side on one event loop; blocking work happens in
threads, so a slow command on one network never stalls another. SIGTERM or
SIGINT stops them all cleanly: IRC says QUIT, XMPP sends unavailable presence.
SIGHUP reloads the configuration and the runbooks (`Application.reload`) while
the connections stay up. A transport or the upkeep that stops on its own stops
the process with an error, so that its supervisor (systemd) starts it again.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from bot.app import Application
from bot.config import Config, check_runnable
from bot.health import HealthReport, cluster_checks, network_checks
from bot.transports.irc import IrcTransport
from bot.transports.metrics import ChatCollector
from bot.transports.session import ReconnectingTransport
from bot.transports.xmpp import XmppTransport

if TYPE_CHECKING:
    from bot.web.monitoring import MonitorServer

log = logging.getLogger(__name__)

STOP_TIMEOUT = 10.0


def build_transports(config: Config) -> list[ReconnectingTransport]:
    """One transport per ``[irc.NAME]`` table, and one for ``[xmpp]``."""
    check_runnable(config)
    transports: list[ReconnectingTransport] = [IrcTransport(settings, config.bot.name) for settings in config.irc]
    if config.xmpp is not None:
        transports.append(XmppTransport(config.xmpp, config.bot.name))
    return transports


async def serve(application: Application, transports: list[ReconnectingTransport],
                reload: Callable[[], Awaitable[object]] | None = None) -> None:
    """Run ``transports`` until SIGTERM/SIGINT, or until one of them or the upkeep fails.

    SIGHUP runs ``reload`` (default: `Application.reload`), one at a time."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    signals = (signal.SIGTERM, signal.SIGINT)
    for number in signals:
        loop.add_signal_handler(number, stop.set)
    reloads = _Reloads(reload or application.reload)
    loop.add_signal_handler(signal.SIGHUP, reloads.request)
    # reboot campaigns: the state (shared with the actions), the intake, the watcher
    await application.campaigns.start(application.clusters, application.store)
    monitor = await start_monitor(application, transports)
    runs = {asyncio.create_task(t.run(application.dispatcher), name=t.name): t for t in transports}
    upkeep = asyncio.create_task(application.upkeep(), name="upkeep")
    stopping = asyncio.create_task(stop.wait())
    everything: set[asyncio.Task[Any]] = {upkeep, stopping, *runs}
    try:
        done, _ = await asyncio.wait({stopping, upkeep, *runs}, return_when=asyncio.FIRST_COMPLETED)
        ended = [task for task in runs if task in done]
        for task in ended:
            log.error("%s stopped on its own; shutting everything down", runs[task].name,
                      exc_info=task.exception())
        if upkeep in done:  # job watching and expiry are gone: better a restart (systemd) than a bot that forgets
            log.error("the upkeep stopped on its own; shutting everything down", exc_info=upkeep.exception())
            ended.append(upkeep)
        log.info("stopping %d transport(s)", len(runs))
        await asyncio.gather(*(t.stop() for t in transports), return_exceptions=True)
        _, late = await asyncio.wait(runs, timeout=STOP_TIMEOUT) if runs else (set(), set())
        for task in late:
            log.warning("%s did not stop within %.0f s; cancelled", runs[task].name, STOP_TIMEOUT)
        error = next((task.exception() for task in ended if task.exception() is not None), None)
        if error is not None:
            raise error
        if upkeep in done:
            raise RuntimeError("the upkeep (job watching, expiry, runbook reloads) stopped on its own")
    finally:
        for task in everything:
            task.cancel()
        await asyncio.gather(*everything, return_exceptions=True)
        await reloads.cancel()
        if monitor is not None:
            await monitor.stop()
        await application.campaigns.stop()
        for number in (*signals, signal.SIGHUP):
            loop.remove_signal_handler(number)


async def start_monitor(application: Application,
                         transports: list[ReconnectingTransport]) -> MonitorServer | None:
    """``/metrics`` and ``/health``, when ``[metrics] listen`` is set (else None)."""
    application.metrics.collect(ChatCollector(transports))
    settings = application.config.metrics
    if settings is None:
        return None
    from bot.web.monitoring import (
        MonitorServer,  # aiohttp: only loaded where it is used
    )

    async def health() -> HealthReport:
        return HealthReport(network_checks(transports), await cluster_checks(application.clusters))

    monitor = MonitorServer(settings, application.metrics, health)
    await monitor.start()
    return monitor


class _Reloads:
    """SIGHUP handling: one reload at a time; a signal during a reload runs one more after it."""

    def __init__(self, reload: Callable[[], Awaitable[object]]) -> None:
        self._reload = reload
        self._task: asyncio.Task[None] | None = None
        self._again = False

    def request(self) -> None:
        log.info("SIGHUP: reloading the configuration and the runbooks")
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = asyncio.create_task(self._run(), name="reload")

    async def _run(self) -> None:
        while True:
            self._again = False
            try:
                await self._reload()
            except Exception:
                log.exception("reloading failed; the running configuration stays in use")
            if not self._again:
                return

    async def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
