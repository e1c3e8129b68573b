"""How much the bot says at once: every line, and every reply, has a ceiling.

Runbooks and cluster job logs are written by others: a 200 KB command line or a
job log of a million lines must not become hundreds of chat lines. Every reply
(`Dispatcher`) and every announcement (`Announcer`) goes through `clip`: text
is split into chat lines, blank lines are dropped, a line longer than
``line_bytes`` (UTF-8) is cut with an ellipsis, and past ``reply_lines`` lines
or ``reply_bytes`` bytes the rest is replaced by one line that says how much
was left out. Transports then only clean characters for their protocol.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

ELLIPSIS = "…"
_MARKS = "\n\r\x85\u2028\u2029"
_LINE_BREAK = re.compile(r"\r\n?|[\n\x85\u2028\u2029]")


@dataclass(frozen=True)
class OutputLimits:
    """About three IRC lines per line; a long listing, but not a flood, per reply."""

    line_bytes: int = 1200
    reply_lines: int = 400
    reply_bytes: int = 48_000

    def __post_init__(self) -> None:
        if self.line_bytes < 16 or self.reply_lines < 1 or self.reply_bytes < self.line_bytes:
            raise ValueError("output limits too small to hold one line")


DEFAULT_LIMITS = OutputLimits()


def clip_line(line: str, limit: int) -> str:
    """``line`` cut to at most ``limit`` UTF-8 bytes, ending in an ellipsis if cut."""
    if len(line) * 4 <= limit:  # fast path: no character takes more than 4 bytes
        return line
    encoded = line[: limit + 1].encode("utf-8", "surrogatepass")  # each character is a byte at least
    if len(encoded) <= limit:
        return line
    head = encoded[: limit - len(ELLIPSIS.encode())].decode("utf-8", "ignore")
    return head.rstrip() + ELLIPSIS


def clip(lines: Iterable[str], limits: OutputLimits = DEFAULT_LIMITS) -> tuple[str, ...]:
    """``lines`` as chat lines within ``limits`` (see the module docstring).

    The work is bounded too: past the limits the rest is only counted (at C
    speed), and a run of blank lines counts against the line limit."""
    texts = list(lines)
    kept: list[str] = []
    size = examined = 0
    for index, text in enumerate(texts):
        start = 0
        for end, after in _breaks(text):
            piece, start = text[start:end].rstrip(), after
            examined += 1
            if not piece.strip() and examined <= _BLANK_ALLOWANCE * limits.reply_lines:
                continue
            piece = clip_line(piece, limits.line_bytes)
            weight = len(piece.encode("utf-8", "surrogatepass"))
            if len(kept) == limits.reply_lines or size + weight > limits.reply_bytes or not piece:
                kept.append(_left_out(1 + _count_lines(text, start) + _count_lines("\n".join(texts[index + 1:]))))
                return tuple(kept)
            kept.append(piece)
            size += weight
    return tuple(kept)


_BLANK_ALLOWANCE = 4  # pieces examined per line kept, before blank lines count as lines


def _breaks(text: str) -> Iterator[tuple[int, int]]:
    """(end of a line, start of the next) for every line of ``text``, the last one included."""
    if any(mark in text for mark in _MARKS):  # else skip the regular expression: a long line is slow to scan
        for match in _LINE_BREAK.finditer(text):
            yield match.start(), match.end()
    yield len(text), len(text)


def _count_lines(text: str, start: int = 0) -> int:
    """Lines in ``text[start:]``, blank ones too, without a Python loop over them
    (a job log may hold millions) nor a copy."""
    if start >= len(text):
        return 0
    breaks = sum(text.count(mark, start) for mark in _MARKS) - text.count("\r\n", start)
    return breaks + 1


def _left_out(count: int) -> str:
    return f"{ELLIPSIS} {count} more line{'s' if count > 1 else ''} not shown (too long for chat)"
