"""Flood control, both ways, and cutting text to a protocol's line limit.

Out: a token bucket paces the bot's lines so a server never disconnects it
for flooding. In: each person gets a budget of traffic: every line of theirs
the bot acts on costs one, and so does every line (IRC) or message (XMPP) the
bot sends in answer, so asking for long output uses it up sooner. Past it the
bot says so once and then stays quiet until the budget refills. Budgets are
keyed on who people are (an account, else a host), not on a nick one can change.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


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

    def spend(self, tokens: float) -> None:
        """Take ``tokens`` whether they are there or not: a debt, down to ``-capacity``."""
        self._refill()
        self._tokens = max(-self.capacity, self._tokens - tokens)

    def wait_time(self) -> float:
        """Seconds until a token is there (0 if one is)."""
        self._refill()
        return max(0.0, (1 - self._tokens) / self.rate)

    async def take(self) -> None:
        """Wait for a token and take it."""
        while not self.try_take():
            await asyncio.sleep(self.wait_time())


# How much may wait for one target (a channel, a room, a person), in seconds of
# sending at the configured rate, and what the target is told when more is shed.
TARGET_QUEUE_SECONDS = 30
SHED = "(some lines were dropped: too much is waiting to be sent here; ask again in a minute)"


class Admission(enum.Enum):
    ACCEPT = "accept"
    WARN = "warn"  # refused, and the sender has not been told yet
    DROP = "drop"  # refused, the sender already knows


@dataclass
class _Budget:
    bucket: TokenBucket
    touched: float
    warned: bool = False


class InboundLimiter:
    """A token bucket per sender key; the first refusal of a run is a WARN.

    Memory is bounded and each call costs O(1): buckets are kept least
    recently used first, and one untouched for as long as it takes to refill
    from the deepest debt holds no information and is dropped; past
    ``max_senders`` the oldest goes anyway.
    """

    def __init__(self, burst: int, rate: float, clock: Callable[[], float] = time.monotonic,
                 max_senders: int = 10_000) -> None:
        self.burst = burst
        self.rate = rate
        self._clock = clock
        self._max = max_senders
        self._idle = 2 * burst / rate  # from -burst back to full
        self._budgets: OrderedDict[str, _Budget] = OrderedDict()

    def __len__(self) -> int:
        return len(self._budgets)

    def admit(self, sender: str) -> Admission:
        budget = self._touch(sender)
        if budget.bucket.try_take():
            budget.warned = False
            return Admission.ACCEPT
        if budget.warned:
            return Admission.DROP
        budget.warned = True
        return Admission.WARN

    def charge(self, sender: str, cost: int) -> None:
        """``sender`` made the bot send ``cost`` lines (or messages)."""
        if cost > 0:
            self._touch(sender).bucket.spend(cost)

    def retry_after(self, sender: str) -> float:
        """Seconds until ``sender`` may send one more line."""
        budget = self._budgets.get(sender)
        return budget.bucket.wait_time() if budget else 0.0

    def _touch(self, sender: str) -> _Budget:
        now = self._clock()
        self._expire(now)
        budget = self._budgets.get(sender)
        if budget is None:
            budget = self._budgets[sender] = _Budget(TokenBucket(self.burst, self.rate, self._clock), now)
        else:
            self._budgets.move_to_end(sender)
            budget.touched = now
        return budget

    def _expire(self, now: float) -> None:
        while self._budgets:
            oldest = next(iter(self._budgets.values()))
            if now - oldest.touched < self._idle and len(self._budgets) < self._max:
                return
            self._budgets.popitem(last=False)


class Backlog:
    """How many answers wait to be sent to each target, at most ``limit`` each.

    `reserve` is ACCEPT while there is room, then WARN once (tell the target
    that answers are shed), then DROP until the target's backlog has drained."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._waiting: dict[str, int] = {}
        self._told: set[str] = set()

    def reserve(self, target: str) -> Admission:
        waiting = self._waiting.get(target, 0)
        if waiting < self.limit:
            self._waiting[target] = waiting + 1
            return Admission.ACCEPT
        if target in self._told:
            return Admission.DROP
        self._told.add(target)
        return Admission.WARN

    def release(self, target: str) -> None:
        """One answer for ``target`` is sent (or given up)."""
        waiting = self._waiting.pop(target, 1) - 1
        if waiting > 0:
            self._waiting[target] = waiting
        else:
            self._told.discard(target)


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
