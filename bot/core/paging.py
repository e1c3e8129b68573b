"""Long output is cut into pages; ``!more`` continues where the last page stopped."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

Key = tuple[str, str, str]


class Pager:
    """Holds the undelivered lines of each conversation, for a while.

    Memory is bounded: at most ``max_conversations`` are remembered (least
    recently used dropped first) and a page not asked for within ``ttl``
    seconds is forgotten.
    """

    def __init__(
        self,
        page_lines: int = 5,
        ttl: float = 600.0,
        max_conversations: int = 256,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if page_lines < 1:
            raise ValueError("page_lines must be at least 1")
        self.page_lines = page_lines
        self._ttl = ttl
        self._max = max_conversations
        self._clock = clock
        self._pending: OrderedDict[Key, tuple[float, list[str]]] = OrderedDict()

    def first_page(self, key: Key, lines: Sequence[str], more_hint: str) -> list[str]:
        """Return what to send now; keep the rest for `next_page`."""
        self._pending.pop(key, None)
        return self._cut(key, list(lines), more_hint)

    def next_page(self, key: Key, more_hint: str) -> list[str] | None:
        """The next page of ``key``'s output, or None if nothing is pending."""
        entry = self._pending.pop(key, None)
        if entry is None or self._clock() - entry[0] > self._ttl:
            return None
        return self._cut(key, entry[1], more_hint)

    def _cut(self, key: Key, lines: list[str], more_hint: str) -> list[str]:
        if len(lines) <= self.page_lines:
            return lines
        page, rest = lines[: self.page_lines], lines[self.page_lines :]
        self._pending[key] = (self._clock(), rest)
        while len(self._pending) > self._max:
            self._pending.popitem(last=False)
        noun = "line" if len(rest) == 1 else "lines"
        return [*page, f"({len(rest)} more {noun}: {more_hint})"]
