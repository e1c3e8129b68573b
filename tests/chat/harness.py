"""Running the bot inside the tests: a background event loop and bot handles.

The tests themselves are plain synchronous functions. The bot (and the XMPP
people, who need an event loop too) run in one background asyncio loop, as
they would in ``gntbot run``; the tests reach into it with `Loop.run`.
"""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

from bot.core.dispatch import Dispatcher
from bot.transports.base import Transport

T = TypeVar("T")


class Loop:
    """An asyncio event loop in a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="bot-loop", daemon=True)
        self.thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def spawn(self, coroutine: Coroutine[Any, Any, T]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def close(self) -> None:
        """Cancel what is left, collect the garbage while the loop still runs
        (slixmpp objects cancel their tasks when collected), then close."""

        async def drain() -> None:
            tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            gc.collect()

        self.run(drain())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


class RunningBot:
    """A transport serving a dispatcher in the background loop."""

    def __init__(self, loop: Loop, transport: Transport, dispatcher: Dispatcher) -> None:
        self.loop = loop
        self.transport = transport
        self.dispatcher = dispatcher
        self.future = loop.spawn(transport.run(dispatcher))

    def stop(self) -> None:
        if self.future.done():
            self.future.result()  # re-raise whatever ended it
            return
        self.loop.run(self.transport.stop(), timeout=15)
        self.future.result(timeout=15)
