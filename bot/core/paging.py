"""Long output is cut into pages; ``!more`` continues where the last page stopped.

The pages wait under the conversation's key (`Message.conversation`: who, where)
and belong to the connection that asked (`Identity.origin`): when that connection
goes away (a nick change, a quit, the bot reconnecting), the transport calls
`Pager.forget` and nobody who takes the nick next can read them.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.core.clipping import DEFAULT_LIMITS, OutputLimits, clip

Key = tuple[str, str, str]
Owner = tuple[str, str]


@dataclass(frozen=True)
class _Pending:
    stamp: float
    lines: tuple[str, ...]
    size: int  # UTF-8 bytes
    owner: Owner


class Pager:
    """Holds the undelivered lines of each conversation, for a while.

    Memory is bounded: each conversation keeps at most ``limits`` (lines and
    bytes), at most ``max_conversations`` are remembered and at most
    ``max_bytes`` in all (least recently used dropped first), and a page not
    asked for within ``ttl`` seconds is forgotten.
    """

    def __init__(
        self,
        page_lines: int = 5,
        ttl: float = 600.0,
        max_conversations: int = 256,
        limits: OutputLimits = DEFAULT_LIMITS,
        max_bytes: int = 4_000_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if page_lines < 1:
            raise ValueError("page_lines must be at least 1")
        if max_bytes < limits.reply_bytes:
            raise ValueError("max_bytes must hold at least one conversation's pages")
        self.page_lines = page_lines
        self._ttl = ttl
        self._max = max_conversations
        self._limits = limits
        self._max_bytes = max_bytes
        self._clock = clock
        self._pending: OrderedDict[Key, _Pending] = OrderedDict()
        self._bytes = 0

    @property
    def stored_bytes(self) -> int:
        """UTF-8 bytes of every line waiting for ``!more``."""
        return self._bytes

    def first_page(self, key: Key, lines: Sequence[str], more_hint: str, owner: Owner) -> list[str]:
        """Return what to send now; keep the rest for `next_page`."""
        self._drop(key)
        return self._cut(key, tuple(lines), more_hint, owner)

    def next_page(self, key: Key, more_hint: str) -> list[str] | None:
        """The next page of ``key``'s output, or None if nothing is pending."""
        entry = self._drop(key)
        if entry is None or self._clock() - entry.stamp > self._ttl:
            return None
        return self._cut(key, entry.lines, more_hint, entry.owner)

    def forget(self, owner: Owner) -> None:
        """Drop every page ``owner`` (a transport and an address) has waiting."""
        for key in [key for key, entry in self._pending.items() if entry.owner == owner]:
            self._drop(key)

    def forget_transport(self, transport: str) -> None:
        """Drop every page of ``transport``: its connection is gone, and with it
        what its addresses meant."""
        for key in [key for key, entry in self._pending.items() if entry.owner[0] == transport]:
            self._drop(key)

    def _drop(self, key: Key) -> _Pending | None:
        entry = self._pending.pop(key, None)
        if entry is not None:
            self._bytes -= entry.size
        return entry

    def _cut(self, key: Key, lines: tuple[str, ...], more_hint: str, owner: Owner) -> list[str]:
        if len(lines) <= self.page_lines:
            return list(lines)
        page, rest = lines[: self.page_lines], clip(lines[self.page_lines :], self._limits)
        entry = _Pending(self._clock(), rest, sum(len(line.encode("utf-8", "surrogatepass")) for line in rest), owner)
        self._pending[key] = entry
        self._bytes += entry.size
        while len(self._pending) > self._max or (self._bytes > self._max_bytes and len(self._pending) > 1):
            self._drop(next(iter(self._pending)))
        noun = "line" if len(rest) == 1 else "lines"
        return [*page, f"({len(rest)} more {noun}: {more_hint})"]
