"""Bounded thread pools, one per subsystem, for the blocking work the event loop hands off.

``asyncio.to_thread`` uses one default pool for everything: a cluster that
hangs fills it with requests waiting out their timeouts, and a runbook search
then waits behind them. Each subsystem (the knowledge base, each cluster) has
`Workers` of its own instead, so whatever blocks there waits only for its own
threads, and the number of threads it can tie up is fixed.

`Workers.close` never waits: a thread stuck in a RAPI call that hangs ends when
the call's own timeout does, and whoever awaits that call still gets its answer.
Work still queued is dropped; its callers get `WorkersClosed`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar, TypeVarTuple

from bot.errors import GntbotError

T = TypeVar("T")
Ts = TypeVarTuple("Ts")


class WorkersClosed(GntbotError):
    """Work handed to `Workers` that were closed before it ran."""


class Workers:
    """``threads`` threads named after ``name`` (as a thread dump shows them)."""

    def __init__(self, name: str, threads: int) -> None:
        self.name = name
        self.closed = False
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix=name)

    async def run(self, work: Callable[[*Ts], T], *args: *Ts) -> T:
        """``work(*args)`` in one of these threads, or after the work queued before it."""
        if self.closed:
            raise self._refusal()
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, work, *args)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if self.closed and task is not None and not task.cancelling():
                raise self._refusal() from None  # dropped from the queue by close, not a cancelled caller
            raise

    def close(self) -> None:
        """Take no more work and drop what is queued; calls already running finish on their own."""
        self.closed = True
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _refusal(self) -> WorkersClosed:
        return WorkersClosed(f"{self.name}: this work was stopped (the bot is reloading or stopping); ask again")
