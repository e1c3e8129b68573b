"""Markdown runbook → `Section`s, with markdown-it-py.

Real wikis are messy; this module copes with front matter, ``[[_TOC_]]`` and
ikiwiki directives, HTML comments, setext headings, indented code, tables and
pages without any heading. Reading a file that cannot be a runbook (binary,
too large, unreadable) raises `UnreadableRunbook`, which the indexer turns
into a warning.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from markdown_it import MarkdownIt
from markdown_it.token import Token

from bot.errors import GntbotError
from bot.knowledge.sections import Section
from bot.knowledge.slug import Slugger

MAX_BYTES = 2 * 1024 * 1024
RUNBOOK_SUFFIXES = (".md", ".mdwn", ".markdown")

_FRONT_MATTER = re.compile(r"\A(?:---|\+\+\+)[ \t]*\n.*?\n(?:---|\+\+\+|\.\.\.)[ \t]*(?:\n|\Z)", re.S)
_WIKI_DIRECTIVE = re.compile(r"\[\[(?:_TOC_|!.*?)\]\]", re.S)

# Block structure only: inline markup is rendered for headings alone (their
# anchors must match GitLab's exactly); body text is stripped by `_strip_inline`,
# which halves the parsing time of a large page.
_PARSER = MarkdownIt("commonmark").enable("table").disable("inline")
_INLINE = MarkdownIt("commonmark")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)|!?\[([^\]]*)\]\[[^\]]*\]")
_AUTOLINK = re.compile(r"<((?:https?|mailto):[^>\s]+)>")
_HTML_TAG = re.compile(r"</?[A-Za-z][^>]*>|<!--.*?-->", re.S)
_EMPHASIS = re.compile(r"(?<![\w*_])([*_]{1,3})(?=\S)(.+?)(?<=\S)\1(?![\w*_])")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.S)
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


class UnreadableRunbook(GntbotError):
    """A file under the runbook directory that cannot be indexed."""


def read_runbook(path: Path) -> str:
    """The file's text, or `UnreadableRunbook` if it is binary or too large.

    Invalid UTF-8 is replaced rather than refused: one bad byte in a wiki page
    should not hide the whole page.
    """
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise UnreadableRunbook(f"{path}: {size} bytes, over the {MAX_BYTES}-byte limit")
        data = path.read_bytes()
    except OSError as error:
        raise UnreadableRunbook(f"{path}: {error.strerror or error}") from error
    if b"\0" in data[:8192]:
        raise UnreadableRunbook(f"{path}: looks binary (contains NUL bytes)")
    return data.decode("utf-8", errors="replace")


def parse_runbook(text: str, file: str) -> list[Section]:
    """Split Markdown ``text`` into leaf sections; ``file`` names it in each one."""
    tokens = _PARSER.parse(_clean(text))
    builder = _SectionBuilder(file)
    for token, inline in _blocks(tokens):
        builder.feed(token, inline)
    return builder.finish()


def _clean(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _FRONT_MATTER.sub("", text, count=1)
    return _WIKI_DIRECTIVE.sub("", text)


def _blocks(tokens: list[Token]) -> Iterator[tuple[Token, Token | None]]:
    """Yield each block token that carries content, with its inline child token."""
    for index, token in enumerate(tokens):
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        inline = following if following is not None and following.type == "inline" else None
        if token.type in ("heading_open", "paragraph_open", "th_open", "td_open"):
            yield token, inline
        elif token.type in ("fence", "code_block"):
            yield token, None


def heading_text(raw: str) -> str:
    """What a reader sees of a heading: text, code and link texts, no markup."""
    tokens = _INLINE.parseInline(raw)
    return _rendered(tokens[0]) if tokens else raw


def _rendered(inline: Token) -> str:
    parts: list[str] = []
    for child in inline.children or ():
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(_rendered(child))
    return "".join(parts).strip()


def strip_inline(raw: str) -> str:
    """Body text without inline markup: close to what a reader sees, cheaply."""
    text = _CODE_SPAN.sub(lambda m: m.group(2).strip(), raw)
    text = _LINK.sub(lambda m: m.group(1) if m.group(1) is not None else m.group(2), text)
    text = _AUTOLINK.sub(r"\1", text)
    text = _HTML_TAG.sub("", text)
    text = _EMPHASIS.sub(r"\2", text)
    return _ESCAPE.sub(r"\1", text).strip()


class _SectionBuilder:
    """Accumulates block contents into the section being read."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.sections: list[Section] = []
        self.slugger = Slugger()
        self.stack: list[tuple[int, str]] = []  # enclosing (level, title)
        self.trail: tuple[str, ...] = ()
        self._start(heading=Path(file).stem, title=Path(file).stem, level=0, anchor="")

    def _start(self, heading: str, title: str, level: int, anchor: str) -> None:
        self.heading, self.title, self.level, self.anchor = heading, title, level, anchor
        self.prose: list[str] = []
        self.code: list[str] = []

    def feed(self, token: Token, inline: Token | None) -> None:
        if token.type == "heading_open":
            self._flush()
            self._open_heading(int(token.tag[1]), inline)
        elif token.type in ("fence", "code_block"):
            if token.content.strip():
                self.code.append(token.content.rstrip("\n"))
        elif inline is not None:
            self.prose.append(strip_inline(inline.content))

    def _open_heading(self, level: int, inline: Token | None) -> None:
        raw = inline.content.strip() if inline is not None else ""
        title = heading_text(raw) or raw
        while self.stack and self.stack[-1][0] >= level:
            self.stack.pop()
        self.trail = tuple(t for _, t in self.stack)
        self.stack.append((level, title))
        self._start(raw, title, level, self.slugger.anchor(title))

    def _flush(self) -> None:
        text = "\n".join(p for p in self.prose if p)
        if self.level == 0 and not text and not self.code:
            return  # no preamble before the first heading
        self.sections.append(
            Section(
                file=self.file,
                heading=self.heading,
                title=self.title,
                level=self.level,
                trail=self.trail,
                anchor=self.anchor,
                text=text,
                code=tuple(self.code),
                position=len(self.sections),
            )
        )

    def finish(self) -> list[Section]:
        self._flush()
        return self.sections
