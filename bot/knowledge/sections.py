"""A runbook section: the unit that is indexed, ranked and shown."""

from __future__ import annotations

from dataclasses import dataclass

PARAGRAPH = "\n\n"  # separates the paragraphs of `Section.text`


@dataclass(frozen=True)
class Section:
    """One heading and its content up to the next heading of any level.

    ``heading`` is the heading's text exactly as written (inline markup kept);
    ``title`` is the same text as a reader sees it (markup removed).
    ``trail`` holds the titles of the enclosing headings, outermost first.
    ``text`` is the prose, one paragraph (or table cell) after another,
    separated by blank lines; ``code`` the code blocks, and ``code_after``
    how many paragraphs come before each of them (so an answer can tell
    which sentence introduces a block).
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
    code_after: tuple[int, ...] = ()

    @property
    def paragraphs(self) -> list[str]:
        return [paragraph for paragraph in self.text.split(PARAGRAPH) if paragraph.strip()]

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
