"""A runbook section: the unit that is indexed, ranked and shown."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Section:
    """One heading and its content up to the next heading of any level.

    ``heading`` is the heading's text exactly as written (inline markup kept);
    ``title`` is the same text as a reader sees it (markup removed).
    ``trail`` holds the titles of the enclosing headings, outermost first.
    A file's text before its first heading is a section of level 0 titled with
    the file's name and no anchor.
    """

    file: str
    heading: str
    title: str
    level: int
    trail: tuple[str, ...]
    anchor: str
    text: str
    code: tuple[str, ...]
    position: int

    @property
    def key(self) -> str:
        return f"{self.file}#{self.position}"

    @property
    def breadcrumbs(self) -> str:
        return " › ".join((*self.trail, self.title))

    @property
    def page(self) -> str:
        """The file's path without its extension: how wikis name pages."""
        stem, dot, _ = self.file.rpartition(".")
        return stem if dot else self.file
