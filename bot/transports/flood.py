"""Flood control, both ways, and cutting text to a protocol's line limit.

Out: a token bucket paces the bot's lines so a server never disconnects it
for flooding. In: each person gets a small budget of lines the bot acts on;
past it the bot says so once and then stays quiet until the budget refills.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import Callable


class TokenBucket:
    """``capacity`` lines at once, then ``rate`` lines per second."""

    def __init__(self, capacity: int, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        if capacity < 1 or rate <= 0:
            raise ValueError("a token bucket needs capacity >= 1 and rate > 0")
        self.capacity = capacity
        self.rate = rate
        self._clock = clock
        self._tokens = float(capacity)
        self._stamp = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def try_take(self) -> bool:
        """Take a token if one is there."""
        self._refill()
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False

    def wait_time(self) -> float:
        """Seconds until a token is there (0 if one is)."""
        self._refill()
        return max(0.0, (1 - self._tokens) / self.rate)

    @property
    def full(self) -> bool:
        self._refill()
        return self._tokens >= self.capacity

    async def take(self) -> None:
        """Wait for a token and take it."""
        while not self.try_take():
            await asyncio.sleep(self.wait_time())


class Admission(enum.Enum):
    ACCEPT = "accept"
    WARN = "warn"  # refused, and the sender has not been told yet
    DROP = "drop"  # refused, the sender already knows


class InboundLimiter:
    """A token bucket per sender; the first refusal of a run is a WARN."""

    def __init__(self, burst: int, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.burst = burst
        self.rate = rate
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}
        self._warned: set[str] = set()

    def admit(self, sender: str) -> Admission:
        bucket = self._buckets.get(sender)
        if bucket is None:
            self._forget_idle()
            bucket = self._buckets[sender] = TokenBucket(self.burst, self.rate, self._clock)
        if bucket.try_take():
            self._warned.discard(sender)
            return Admission.ACCEPT
        if sender in self._warned:
            return Admission.DROP
        self._warned.add(sender)
        return Admission.WARN

    def retry_after(self, sender: str) -> float:
        """Seconds until ``sender`` may send one more line."""
        bucket = self._buckets.get(sender)
        return bucket.wait_time() if bucket else 0.0

    def _forget_idle(self) -> None:
        """Drop the buckets that have refilled: they hold no information."""
        for sender in [s for s, b in self._buckets.items() if b.full and s not in self._warned]:
            del self._buckets[sender]


def utf8_cut(text: str, limit: int) -> tuple[str, str]:
    """Split ``text`` into a head of at most ``limit`` UTF-8 bytes and the rest.

    Cuts at the last space that fits, else at a character boundary: never in
    the middle of a multi-byte character.
    """
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text, ""
    cut = limit
    while cut > 0 and (encoded[cut] & 0xC0) == 0x80:  # a continuation byte
        cut -= 1
    head = encoded[:cut].decode("utf-8")
    space = head.rfind(" ")
    if space > len(head) // 2:
        return head[:space], text[space + 1 :]
    return head, text[len(head) :]


def split_utf8(text: str, limit: int) -> list[str]:
    """``text`` as pieces of at most ``limit`` UTF-8 bytes each (at least one piece)."""
    if limit < 4:
        raise ValueError("a line limit under 4 bytes cannot hold every character")
    pieces = []
    rest = text
    while True:
        head, rest = utf8_cut(rest, limit)
        pieces.append(head)
        if not rest:
            return pieces
