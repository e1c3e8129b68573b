"""Pacing a campaign's lines: coalesced per subject, held briefly, sent in order.

Each line has a *subject* (a host, the start, the end, a note). Putting a
subject that is already waiting does not add a line: the waiting one will
say the latest, because its text is written when it is sent. A host's
in-between lines (emptying, going down) are held for ``hold`` seconds first,
so a host that moves on quickly gets one line instead of two. Lines go out in
the order their subjects were put, at most one every ``interval`` seconds:
a campaign never takes more than its share of the network's flood budget,
and the bot's answers in the same room still get through.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

# The line as of now, with the subject it tells (for "what was said"), or None: nothing new to say.
Render = Callable[[], tuple[str, str] | None]
Send = Callable[[str, str], None]  # (the subject told, text)


@dataclass
class _Waiting:
    ready: float
    render: Render


class Pacer:
    """One campaign's outgoing lines. `run` sends them until cancelled."""

    def __init__(self, send: Send, interval: float, hold: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._send = send
        self.interval = interval
        self.hold = hold
        self._clock = clock
        self._waiting: dict[str, _Waiting] = {}
        self._wake = asyncio.Event()
        self._last_sent = float("-inf")
        self.sent = 0

    def put(self, subject: str, render: Render, *, hold: bool = False) -> None:
        """Say something about ``subject`` (now, or after the hold)."""
        ready = self._clock() + (self.hold if hold else 0.0)
        waiting = self._waiting.get(subject)
        if waiting is None:
            self._waiting[subject] = _Waiting(ready, render)
        else:
            waiting.render = render
            waiting.ready = min(waiting.ready, ready)
        self._wake.set()

    @property
    def idle(self) -> bool:
        return not self._waiting

    async def run(self) -> None:
        while True:
            if not self._waiting:
                self._wake.clear()
                await self._wake.wait()
                continue
            subject, waiting = next(iter(self._waiting.items()))
            delay = max(waiting.ready, self._last_sent + self.interval) - self._clock()
            if delay > 0:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), delay)
                continue  # something may have been put or replaced meanwhile
            del self._waiting[subject]
            try:
                line = waiting.render()
            except Exception:
                log.exception("could not write the line about %s", subject)
                continue
            if line is not None:
                self._send(*line)
                self._last_sent = self._clock()
                self.sent += 1

    async def drain(self, timeout: float) -> bool:
        """Wait until nothing waits (at most ``timeout`` s); True if it emptied."""
        deadline = self._clock() + timeout
        while self._waiting and self._clock() < deadline:
            await asyncio.sleep(0.01)
        return not self._waiting
