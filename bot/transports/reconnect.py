"""When to try again after a connection ended: a swappable strategy object.

After jaraco's ``irc.bot.ReconnectStrategy``: the transport asks the strategy
for the next delay and tells it when a connection worked, and knows nothing
else about the policy.
"""

from __future__ import annotations

import abc
import random
import time
from collections.abc import Callable


class ReconnectStrategy(abc.ABC):
    """Decides how long to wait before the next connection attempt."""

    @abc.abstractmethod
    def next_delay(self) -> float:
        """Seconds to wait before the next attempt; each call counts as a failure."""

    @abc.abstractmethod
    def reset(self) -> None:
        """A connection worked (the server accepted the login): start over."""


class ExponentialBackoff(ReconnectStrategy):
    """``min_delay``, doubling up to ``max_delay``, each delay shortened by a
    random fraction of up to ``jitter``.

    The jitter keeps a fleet of bots (or one bot's transports) from hammering
    a server that has just come back all at the same instant.
    """

    def __init__(
        self,
        min_delay: float = 2.0,
        max_delay: float = 300.0,
        *,
        factor: float = 2.0,
        jitter: float = 0.5,
        rand: Callable[[], float] = random.random,
    ) -> None:
        if not 0 < min_delay <= max_delay:
            raise ValueError("need 0 < min_delay <= max_delay")
        if not 0 <= jitter < 1:
            raise ValueError("jitter must be in [0, 1)")
        self.min_delay = min_delay
        self.max_delay = max_delay
        self.factor = factor
        self.jitter = jitter
        self._rand = rand
        self._failures = 0

    def next_delay(self) -> float:
        ceiling = min(self.max_delay, self.min_delay * self.factor ** self._failures)
        if ceiling < self.max_delay:
            self._failures += 1
        return ceiling * (1 - self.jitter * self._rand())

    def reset(self) -> None:
        self._failures = 0


class Rejoins:
    """When to go back into a room the bot was kicked out of, or refused entry to.

    Each room has its own backoff, starting at ``first``. A stay longer than
    ``settled`` seconds starts it over; shorter stays do not, so an op who
    kicks the bot each time it comes in meets growing delays, not a JOIN flood.
    """

    def __init__(self, first: float, maximum: float = 600.0, settled: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.first = max(first, 0.1)
        self.maximum = max(maximum, self.first)
        self.settled = settled
        self._clock = clock
        self._backoff: dict[str, ExponentialBackoff] = {}
        self._since: dict[str, float] = {}

    def joined(self, room: str) -> None:
        self._since[room.lower()] = self._clock()

    def next_delay(self, room: str) -> float:
        key = room.lower()
        backoff = self._backoff.setdefault(key, ExponentialBackoff(self.first, self.maximum, jitter=0.2))
        since = self._since.pop(key, None)  # None: never got in since the last try
        if since is not None and self._clock() - since > self.settled:
            backoff.reset()
        return backoff.next_delay()
