"""Markdown runbook → `Section`s, with markdown-it-py.

Real wikis are messy; this module copes with front matter, ``[[_TOC_]]`` and
ikiwiki directives, HTML comments, setext headings, indented code, tables and
pages without any heading. It is also written for hostile pages: every pass
is linear in the page's length (see `inline`), headings are clipped to
`MAX_HEADING` characters, and parsing spends a `Budget` that stops a page
costing more than a couple of seconds with `UnreadableRunbook`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from markdown_it import MarkdownIt
from markdown_it.rules_block import StateBlock
from markdown_it.token import Token

from bot.knowledge.budget import Budget
from bot.knowledge.inline import cut_spans, strip_inline
from bot.knowledge.sections import PARAGRAPH, Section
from bot.knowledge.slug import Slugger

MAX_HEADING = 200  # characters; the longest heading of the shared corpus has 52

_FRONT_MATTER = re.compile(r"\A(?:---|\+\+\+)[ \t]*\n.*?\n(?:---|\+\+\+|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)

# Block structure only: inline markup is rendered for headings alone (their
# anchors must match GitLab's exactly); body text is stripped by `strip_inline`,
# which halves the parsing time of a large page.
_PARSER = MarkdownIt("commonmark").enable("table").disable("inline")
_INLINE = MarkdownIt("commonmark")


def _spend(state: StateBlock, start: int, end: int, silent: bool) -> bool:
    """A block rule that never matches: it spends the page's budget at every
    block and, as a paragraph terminator, at every line of a paragraph."""
    state.env["budget"].spend()
    return False


_PARSER.block.ruler.before("table", "budget", _spend, {"alt": ["paragraph", "reference", "blockquote", "list"]})


def parse_runbook(text: str, file: str, budget: Budget | None = None) -> list[Section]:
    """Split Markdown ``text`` into leaf sections; ``file`` names it in each one.

    Raises `UnreadableRunbook` when parsing spends ``budget`` (by default,
    `budget.SECONDS` from now).
    """
    budget = budget or Budget(file)
    tokens = _PARSER.parse(_clean(text), {"budget": budget})
    builder = _SectionBuilder(file)
    for token, inline in _blocks(tokens):
        budget.spend()
        builder.feed(token, inline)
    return builder.finish()


def _clean(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _FRONT_MATTER.sub("", text, count=1)
    return cut_spans(text.replace("[[_TOC_]]", ""), "[[!", "]]")


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
        self.code_after: list[int] = []

    def feed(self, token: Token, inline: Token | None) -> None:
        if token.type == "heading_open":
            self._open_heading(int(token.tag[1]), inline)
        elif token.type in ("fence", "code_block"):
            if token.content.strip():
                self.code.append(token.content.rstrip("\n"))
                self.code_after.append(len(self.prose))
        elif inline is not None:
            paragraph = " ".join(strip_inline(inline.content).split())
            if paragraph:
                self.prose.append(paragraph)

    def _open_heading(self, level: int, inline: Token | None) -> None:
        raw = inline.content.strip()[:MAX_HEADING].strip() if inline is not None else ""
        if not raw:
            return  # an empty heading ("#" alone) starts nothing; its section goes on
        self._flush()
        title = heading_text(raw) or raw
        while self.stack and self.stack[-1][0] >= level:
            self.stack.pop()
        self.trail = tuple(t for _, t in self.stack)
        self.stack.append((level, title))
        self._start(raw, title, level, self.slugger.anchor(title))

    def _flush(self) -> None:
        text = PARAGRAPH.join(self.prose)
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
                code_after=tuple(self.code_after),
            )
        )

    def finish(self) -> list[Section]:
        self._flush()
        return self.sections
