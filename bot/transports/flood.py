"""Flood control, both ways, and cutting text to a protocol's line limit.

Out: a token bucket paces the bot's lines so a server never disconnects it
for flooding. In: each person gets a budget of traffic: every line of theirs
the bot acts on costs one, and so does every line (IRC) or message (XMPP) the
bot sends in answer, so asking for long output uses it up sooner. Past it the
bot says so once and then stays quiet until the budget refills. Budgets are
keyed on who people are (a `Sender`: an account, else a host), not on a nick
one can change, and the accounts of one host also have a budget together,
`HOST_SHARE` people's worth: one person with many accounts on one host is a
few people, not many. People without an account are keyed on their host
already and do not spend it, so an account's flood leaves them their own.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

K = TypeVar("K")

# A host (all the accounts on it together) gets this many people's budget, and
# once one target's outbox is full, at most this many of its people wait there.
HOST_SHARE = 4


@dataclass(frozen=True)
class Sender:
    """Whose budget a line spends (``key``: an account, else the host itself) and
    the host it came from (``host``), which many accounts may share."""

    key: str
    host: str


BOT = Sender("", "")  # the bot's own lines, on nobody's budget


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
    """A token bucket per sender key, and a `HOST_SHARE` times larger one for the
    accounts of each host; a line is admitted when each of the sender's buckets
    has a token. The first refusal of a run is a WARN.

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

    def admit(self, sender: Sender) -> Admission:
        budgets = self._spent_by(sender)
        own = budgets[0]
        if all(budget.bucket.wait_time() == 0 for budget in budgets):
            for budget in budgets:
                budget.bucket.try_take()
            own.warned = False
            return Admission.ACCEPT
        if own.warned:
            return Admission.DROP
        own.warned = True
        return Admission.WARN

    def charge(self, sender: Sender, cost: int) -> None:
        """``sender`` made the bot send ``cost`` lines (or messages)."""
        if cost > 0:
            for budget in self._spent_by(sender):
                budget.bucket.spend(cost)

    def retry_after(self, sender: Sender) -> float:
        """Seconds until ``sender`` may send one more line."""
        budgets = [self._budgets.get(key) for key, _ in _keys(sender)]
        return max((budget.bucket.wait_time() for budget in budgets if budget), default=0.0)

    def _spent_by(self, sender: Sender) -> list[_Budget]:
        """``sender``'s own budget first, then its host's accounts'."""
        return [self._touch(key, people) for key, people in _keys(sender)]

    def _touch(self, key: str, people: int) -> _Budget:
        now = self._clock()
        self._expire(now)
        budget = self._budgets.get(key)
        if budget is None:
            bucket = TokenBucket(self.burst * people, self.rate * people, self._clock)
            budget = self._budgets[key] = _Budget(bucket, now)
        else:
            self._budgets.move_to_end(key)
            budget.touched = now
        return budget

    def _expire(self, now: float) -> None:
        while self._budgets:
            oldest = next(iter(self._budgets.values()))
            if now - oldest.touched < self._idle and len(self._budgets) < self._max:
                return
            self._budgets.popitem(last=False)


def _keys(sender: Sender) -> list[tuple[str, int]]:
    """The budgets ``sender`` spends, with how many people's worth each holds: its
    own, and its host's accounts' together (none for a sender keyed on its host)."""
    if sender.key == sender.host:
        return [(sender.key, 1)]
    return [(sender.key, 1), (f"share:{sender.host}", HOST_SHARE)]


class Backlog:
    """How many answers wait to be sent to each target, and from which hosts.

    `reserve` is ACCEPT while the target holds fewer than ``limit`` answers,
    whoever asks (people sharing a host, a server or a room that hides real
    JIDs are often one team); past that, a host with nothing waiting there
    still gets its first answer in, up to twice the limit, so one host's many
    accounts cannot keep others out. Else it is WARN once (tell the target that
    answers are shed), then DROP until the target's backlog has drained."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._waiting: Counter[str] = Counter()
        self._by_host: Counter[tuple[str, str]] = Counter()
        self._told: set[str] = set()

    def reserve(self, target: str, sender: Sender) -> Admission:
        waiting, theirs = self._waiting[target], self._by_host[target, sender.host]
        if waiting < self.limit or (theirs == 0 and waiting < 2 * self.limit):
            self._waiting[target] += 1
            self._by_host[target, sender.host] += 1
            return Admission.ACCEPT
        if target in self._told:
            return Admission.DROP
        self._told.add(target)
        return Admission.WARN

    def release(self, target: str, sender: Sender) -> None:
        """One answer of ``sender``'s for ``target`` is sent (or given up)."""
        _less(self._by_host, (target, sender.host))
        _less(self._waiting, target)
        if target not in self._waiting:
            self._told.discard(target)


def _less(counter: Counter[K], key: K) -> None:
    counter[key] -= 1
    if counter[key] <= 0:
        del counter[key]


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
