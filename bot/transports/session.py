"""Connections that end, and a transport that starts them again.

IRC and XMPP both serve through one connection at a time (a `Session`) and
start a new one when it ends, after a delay chosen by a `ReconnectStrategy`.
The loop, and the difference between a failed login (an error: the bot is
misconfigured or locked out) and a lost connection (a warning: networks do
that), lives here once.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
import ssl
from collections.abc import Coroutine
from typing import Any

from bot.core.dispatch import Dispatcher
from bot.errors import GntbotError
from bot.transports.base import Transport
from bot.transports.metrics import ChatStats
from bot.transports.reconnect import ReconnectStrategy

log = logging.getLogger(__name__)

QUIT_MESSAGE = "gntbot is shutting down"


class BackgroundTasks:
    """The tasks one connection runs beside its reader (pings, joins, the
    outbox), so that closing the connection stops every one of them."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("a background task of the connection failed", exc_info=task.exception())

    async def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


class LoginFailed(GntbotError):
    """The server refused the bot's credentials, or never confirmed the login."""


class ConnectionClosed(ConnectionError):
    """The server closed the connection, or stopped answering."""


class Session(abc.ABC):
    """One connection, from connect to disconnect."""

    #: True once the server accepted the login; the next delay starts over.
    established: bool = False

    @abc.abstractmethod
    async def run(self) -> None:
        """Serve until the connection ends; raise why (never return normally)."""

    @abc.abstractmethod
    async def quit(self, reason: str) -> None:
        """Leave politely (QUIT, unavailable presence) and wait a little for the server."""

    @abc.abstractmethod
    def abort(self, reason: str) -> None:
        """Drop the connection now; `run` raises `ConnectionClosed`."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release everything, whatever state the connection is in."""


class ReconnectingTransport(Transport):
    """Runs sessions one after the other until stopped."""

    def __init__(self, name: str, where: str, strategy: ReconnectStrategy) -> None:
        self.name = name
        self.where = where
        self.strategy = strategy
        self.session: Session | None = None
        self.stats = ChatStats()  # outlives the sessions
        self._stopping = asyncio.Event()

    @abc.abstractmethod
    def new_session(self, dispatcher: Dispatcher) -> Session:
        """A fresh, unconnected session."""

    async def run(self, dispatcher: Dispatcher) -> None:
        while not self._stopping.is_set():
            session = self.session = self.new_session(dispatcher)
            try:
                await session.run()
            except LoginFailed as error:
                log.error("%s: login failed, disconnected: %s", self.name, error)
            except (ConnectionClosed, TimeoutError, ssl.SSLError, OSError) as error:
                if not self._stopping.is_set():
                    log.warning("%s: connection to %s ended: %s", self.name, self.where, error)
            finally:
                self.session = None
                await session.close()
            if session.established:
                self.strategy.reset()
            if self._stopping.is_set():
                break
            self.stats.reconnects += 1
            delay = self.strategy.next_delay()
            log.info("%s: connecting to %s again in %.1f s", self.name, self.where, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)

    @property
    def connected(self) -> bool:
        """Connected and logged in right now."""
        return self.session is not None and self.session.established

    def queued_lines(self) -> int | None:
        """Lines waiting to go out, where the network has such a queue (else None)."""
        return None

    async def stop(self) -> None:
        self._stopping.set()
        session = self.session
        if session is not None:
            await session.quit(QUIT_MESSAGE)
            session.abort("shutting down")
