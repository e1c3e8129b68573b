"""Inline Markdown markup removed from body text, in time linear in its length.

markdown-it's inline parser would do this exactly, but it doubles the time to
parse a page; these few passes come close to what a reader sees, cheaply.
Each pass must stay linear whatever the text: a runbook is written by anyone
who can push to the wiki, and the regular-expression engine holds the
interpreter lock for as long as one match takes. A pattern that scans
``[^x]*`` for a closer from every opener is quadratic on a paragraph of
openers (``[[[[…``: 75 s for 72 KB), so here character classes stop at the
next opener, and pairs whose content may be anything (code spans, comments,
emphasis) are matched by scanning for their delimiters once.
"""

from __future__ import annotations

import bisect
import html
import re

_LINK = re.compile(r"!?\[([^\[\]]*)\]\([^()]*\)|!?\[([^\[\]]*)\]\[[^\[\]]*\]")
_AUTOLINK = re.compile(r"<((?:https?|mailto):[^<>\s]+)>")
# Tags of HTML elements a wiki page may use; anything else in angle brackets is
# text a reader sees ("Control-<Closing Bracket>", "gnt-instance info <name>").
_HTML_TAG = re.compile(
    r"</?(?:a|abbr|b|big|blockquote|br|center|cite|code|dd|del|details|div|dl|dt|em|font|h[1-6]|hr|i|img|ins"
    r"|kbd|li|mark|ol|p|pre|q|s|samp|small|span|strike|strong|sub|summary|sup|table|tbody|td|tfoot|th|thead"
    r"|tr|tt|u|ul|var)(?=[\s/>])[^<>]*>",
    re.IGNORECASE,
)
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_TICKS = re.compile(r"`+")
_DELIMITERS = re.compile(r"\\.|\*+|_+")  # an escaped character is no delimiter
_MAX_EMPHASIS = 3  # ***strong emphasis***; longer runs are rules or decoration


def strip_inline(raw: str) -> str:
    """Body text without inline markup: code spans, links, tags, emphasis, escapes."""
    text = _code_spans(raw)
    text = _LINK.sub(lambda m: m.group(1) if m.group(1) is not None else m.group(2), text)
    text = _AUTOLINK.sub(r"\1", text)
    text = _HTML_TAG.sub("", cut_spans(text, "<!--", "-->"))
    text = _emphasis(text)
    return html.unescape(_ESCAPE.sub(r"\1", text)).strip()


def cut_spans(text: str, opener: str, closer: str) -> str:
    """``text`` without each span from ``opener`` to the next ``closer``.

    An opener without a closer is left as it is, and so is everything after
    it: no later opener can find a closer either.
    """
    parts: list[str] = []
    position = 0
    while (start := text.find(opener, position)) >= 0:
        end = text.find(closer, start + len(opener))
        if end < 0:
            break
        parts.append(text[position:start])
        position = end + len(closer)
    parts.append(text[position:])
    return "".join(parts)


def _code_spans(text: str) -> str:
    """Code spans replaced by their content: a run of backticks pairs with the
    next run of the same length (CommonMark); an unpaired run stays as text."""
    runs = [match.span() for match in _TICKS.finditer(text)]
    if len(runs) < 2:
        return text
    following: list[int | None] = [None] * len(runs)
    last_of_length: dict[int, int] = {}
    for number in range(len(runs) - 1, -1, -1):
        start, end = runs[number]
        following[number] = last_of_length.get(end - start)
        last_of_length[end - start] = number
    parts: list[str] = []
    position = number = 0
    while number < len(runs):
        closing = following[number]
        if closing is None:
            number += 1
            continue
        parts.append(text[position : runs[number][0]])
        parts.append(text[runs[number][1] : runs[closing][0]].strip())
        position = runs[closing][1]
        number = closing + 1
    parts.append(text[position:])
    return "".join(parts)


def _emphasis(text: str) -> str:
    """``*a*``, ``__b__``, ``***c***`` replaced by their content.

    An opening run of ``*`` or of ``_`` follows neither a word character nor
    another delimiter and precedes a non-space; it pairs with the next
    identical closing run on the same line, one that follows a non-space and
    precedes neither a word character nor another delimiter. Content
    is kept as written (emphasis inside emphasis stays), as the pattern
    ``([*_]{1,3})(?=\\S)(.+?)(?<=\\S)\\1`` did before, without its backtracking.
    """
    runs = [match for match in _DELIMITERS.finditer(text)
            if match.group()[0] != "\\" and len(match.group()) <= _MAX_EMPHASIS]
    if len(runs) < 2:
        return text
    lines = _line_numbers(text, [run.start() for run in runs])
    closers: dict[tuple[str, int], list[int]] = {}  # (run, line) -> run numbers, in order
    for number, run in enumerate(runs):
        if _closes(text, run.start(), run.end()):
            closers.setdefault((run.group(), lines[number]), []).append(number)
    parts: list[str] = []
    position = number = 0
    while number < len(runs):
        run = runs[number]
        candidates = closers.get((run.group(), lines[number]), [])
        found = bisect.bisect_right(candidates, number)
        closing = candidates[found] if found < len(candidates) else None
        if closing is None or not _opens(text, run.start(), run.end()):
            number += 1
            continue
        parts.append(text[position : run.start()])
        parts.append(text[run.end() : runs[closing].start()])
        position = runs[closing].end()
        number = closing + 1
    parts.append(text[position:])
    return "".join(parts)


def _opens(text: str, start: int, end: int) -> bool:
    before_ok = start == 0 or _is_boundary(text[start - 1])
    return before_ok and end < len(text) and not text[end].isspace()


def _closes(text: str, start: int, end: int) -> bool:
    after_ok = end == len(text) or _is_boundary(text[end])
    return after_ok and start > 0 and not text[start - 1].isspace()


def _is_boundary(character: str) -> bool:
    return not character.isalnum() and character not in "*_"


def _line_numbers(text: str, offsets: list[int]) -> list[int]:
    """The line of each of the ascending ``offsets``, counting newlines once."""
    numbers: list[int] = []
    line = previous = 0
    for offset in offsets:
        line += text.count("\n", previous, offset)
        numbers.append(line)
        previous = offset
    return numbers
