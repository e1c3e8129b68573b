"""Bounded thread pools, one per subsystem, for the blocking work the event loop hands off.

``asyncio.to_thread`` uses one default pool for everything: a cluster that
hangs fills it with requests waiting out their timeouts, and a runbook search
then waits behind them. Each subsystem (the knowledge base, each cluster) has
`Workers` of its own instead, so whatever blocks there waits only for its own
threads, and the number of threads it can tie up is fixed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar, TypeVarTuple

T = TypeVar("T")
Ts = TypeVarTuple("Ts")


class Workers:
    """``threads`` threads named after ``name`` (as a thread dump shows them)."""

    def __init__(self, name: str, threads: int) -> None:
        self.name = name
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix=name)

    async def run(self, work: Callable[[*Ts], T], *args: *Ts) -> T:
        """``work(*args)`` in one of these threads, or after the work queued before it."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, work, *args)
