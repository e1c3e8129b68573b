"""``gntbot run``: every configured transport in one asyncio process.

The transports and the application's upkeep (re-reading the runbooks) run
side by side on one event loop; blocking work happens in threads, so a slow
command on one network never stalls another. SIGTERM or SIGINT stops them
all cleanly: IRC says QUIT, XMPP sends unavailable presence.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections import Counter
from typing import Any

from bot.app import Application
from bot.config import Config
from bot.configreader import ConfigError
from bot.transports.base import Transport
from bot.transports.irc import IrcTransport
from bot.transports.xmpp import XmppTransport

log = logging.getLogger(__name__)

STOP_TIMEOUT = 10.0


def build_transports(config: Config) -> list[Transport]:
    """One transport per ``[irc.NAME]`` table, and one for ``[xmpp]``."""
    realms = Counter(settings.realm for settings in config.irc)
    shared = sorted(realm for realm, count in realms.items() if count > 1)
    if shared:
        # The same account name on two networks may be two different people.
        raise ConfigError(f"{config.source}: several [irc.*] networks give principals as "
                          f"\"{shared[0]}:account\"; set a distinct realm in each (e.g. realm = \"irc-oftc\")")
    transports: list[Transport] = [IrcTransport(settings, config.bot.name) for settings in config.irc]
    if config.xmpp is not None:
        transports.append(XmppTransport(config.xmpp, config.bot.name))
    if not transports:
        raise ConfigError("no chat transport is configured: add [irc.NAME] or [xmpp] sections "
                          "(see config.example.toml)")
    return transports


async def serve(application: Application, transports: list[Transport]) -> None:
    """Run ``transports`` until SIGTERM/SIGINT, or until one of them fails."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    signals = (signal.SIGTERM, signal.SIGINT)
    for number in signals:
        loop.add_signal_handler(number, stop.set)
    runs = {asyncio.create_task(t.run(application.dispatcher), name=t.name): t for t in transports}
    upkeep = asyncio.create_task(application.watch_runbooks(), name="runbook watcher")
    stopping = asyncio.create_task(stop.wait())
    everything: set[asyncio.Task[Any]] = {upkeep, stopping, *runs}
    try:
        done, _ = await asyncio.wait({stopping, *runs}, return_when=asyncio.FIRST_COMPLETED)
        ended = [task for task in runs if task in done]
        for task in ended:
            log.error("%s stopped on its own; shutting everything down", runs[task].name,
                      exc_info=task.exception())
        log.info("stopping %d transport(s)", len(runs))
        await asyncio.gather(*(t.stop() for t in transports), return_exceptions=True)
        _, late = await asyncio.wait(runs, timeout=STOP_TIMEOUT)
        for task in late:
            log.warning("%s did not stop within %.0f s; cancelled", runs[task].name, STOP_TIMEOUT)
        error = next((task.exception() for task in ended if task.exception() is not None), None)
        if error is not None:
            raise error
    finally:
        for task in everything:
            task.cancel()
        await asyncio.gather(*everything, return_exceptions=True)
        for number in signals:
            loop.remove_signal_handler(number)
