"""A bound on the work one runbook file may cost.

Runbooks are parsed in a worker thread, so a slow page does not block the
event loop by itself; but it would hold a core and the index lock for as long
as it takes, and a page built to be slow can take minutes. Each file gets
`SECONDS` of its thread's CPU time (CPU time, not wall time: a busy machine
must not make files drop out at random). The parser and the analysis call
`Budget.spend` as they go; a file that uses its budget up is skipped with a
warning, like any unreadable file.
"""

from __future__ import annotations

import time

from bot.knowledge.files import UnreadableRunbook

SECONDS = 2.0  # the largest page of the shared corpus (87 KB) takes 0.05 s
_CHECK_EVERY = 64  # reading the clock costs ~0.3 µs; spending a step, ~30 ns


class Budget:
    """CPU time left for one file; raises `UnreadableRunbook` once it is spent."""

    def __init__(self, file: str, seconds: float | None = None) -> None:
        self.file = file
        self.seconds = SECONDS if seconds is None else seconds
        self._deadline = time.thread_time() + self.seconds
        self._steps = 0

    def spend(self) -> None:
        """One step of work; every few steps, check the clock."""
        self._steps += 1
        if self._steps % _CHECK_EVERY == 0:
            self.check()

    def check(self) -> None:
        if time.thread_time() > self._deadline:
            raise UnreadableRunbook(
                f"{self.file}: took over {self.seconds:g} s of CPU time to parse; "
                f"split the page or simplify its markup"
            )
