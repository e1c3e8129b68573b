"""Heading anchors the way GitLab (wiki and repository Markdown) makes them.

GitLab lower-cases the heading's rendered text, drops every character that is
not a letter, digit, underscore, hyphen or space, turns spaces into hyphens,
squeezes runs of hyphens, and de-duplicates within a page by appending
``-1``, ``-2``, ... So ``base_url + page + "#" + anchor`` links land on the
section.
"""

from __future__ import annotations

import re

_NOT_WORD = re.compile(r"[^\w\- ]", re.UNICODE)
_HYPHENS = re.compile(r"-{2,}")


def slugify(title: str) -> str:
    slug = _NOT_WORD.sub("", title.strip().lower()).replace(" ", "-")
    return _HYPHENS.sub("-", slug)


class Slugger:
    """Makes anchors unique within one page, as GitLab does."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def anchor(self, title: str) -> str:
        base = slugify(title)
        count = self._seen.get(base)
        self._seen[base] = 0 if count is None else count + 1
        return base if count is None else f"{base}-{count + 1}"
