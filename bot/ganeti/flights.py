"""One request at a time per question to a cluster, shared by whoever asks meanwhile.

Chat comes in bursts: several people type ``!instances`` while the first
answer is still on its way. Each question (a listing, one instance, one job)
has a key; the first asker loads it, and everyone who asks the same while
that load is under way waits for its outcome instead of sending a request of
their own. Then

- a result is kept for the ``keep`` seconds the caller asks for (the
  listings' ``cache_seconds``; nothing for a job, whose state is exactly what
  people ask for again);
- a `RapiError` is kept for `FAILURE_SECONDS`: the next asker gets it at once,
  instead of waiting out the same timeout against the same broken cluster.

Other exceptions (bugs) reach the askers of that one load and are not kept.
Thread-safe; the waiting is done in the asking thread.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bot.ganeti.errors import RapiError

T = TypeVar("T")
FAILURE_SECONDS = 5.0
MAX_KEPT = 256  # outcomes kept at most (jobs and instances are keys of their own)


@dataclass
class _Flight:
    """A load under way; ``done`` is set once ``value`` or ``error`` is there."""

    done: threading.Event = field(default_factory=threading.Event)
    value: Any = None
    error: BaseException | None = None


@dataclass(frozen=True)
class _Kept:
    at: float
    until: float
    value: Any
    error: RapiError | None


class Flights:
    """Loads by key: at most one at a time each, with their outcomes kept briefly."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._flying: dict[Hashable, _Flight] = {}
        self._kept: dict[Hashable, _Kept] = {}

    def ask(self, key: Hashable, load: Callable[[], T], keep: float = 0.0) -> T:
        """``load()``'s result for ``key``: kept, shared with a load under way, or loaded now."""
        with self._lock:
            now = self._clock()
            kept = self._kept.get(key)
            if kept is not None and now < kept.until:
                if kept.error is None:
                    return kept.value
                raise kept.error.again(_remembered(now - kept.at, kept.until - now))
            flight = self._flying.get(key)
            leading = flight is None
            if flight is None:
                flight = self._flying[key] = _Flight()
        if not leading:
            flight.done.wait()
            return _outcome(flight)
        try:
            flight.value = load()
        except BaseException as error:
            flight.error = error
            raise
        finally:
            self._land(key, flight, keep)
        return flight.value

    def _land(self, key: Hashable, flight: _Flight, keep: float) -> None:
        with self._lock:
            del self._flying[key]
            now = self._clock()
            self._kept.pop(key, None)  # re-inserted last: the dict stays in age order
            if isinstance(flight.error, RapiError):
                self._kept[key] = _Kept(now, now + FAILURE_SECONDS, None, flight.error)
            elif flight.error is None and keep > 0:
                self._kept[key] = _Kept(now, now + keep, flight.value, None)
            if len(self._kept) > MAX_KEPT:
                self._forget(now)
        flight.done.set()

    def _forget(self, now: float) -> None:
        """Drop what has expired, then the oldest, down to `MAX_KEPT`."""
        for key in [key for key, kept in self._kept.items() if kept.until <= now]:
            del self._kept[key]
        while len(self._kept) > MAX_KEPT:
            del self._kept[next(iter(self._kept))]


def _outcome(flight: _Flight) -> Any:
    if isinstance(flight.error, RapiError):
        raise flight.error.again()
    if flight.error is not None:
        raise flight.error
    return flight.value


def _remembered(age: float, left: float) -> str:
    return f" (as of {age:.1f}s ago; ask again in {max(1, math.ceil(left))}s)"
