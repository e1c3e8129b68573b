"""What the bot says about a section: a gist, the commands, a link."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.knowledge.sections import Section

_PROMPT = re.compile(r"^\s*(?:[\w.-]+@[\w.-]+:[^\s#$]*\s?[#$]|\$)\s+\S")
_SENTENCE_END = re.compile(r"(?<=[.!?:])\s+(?=[A-Z`\"'(\[])")
GIST_CHARS = 220
# What one answer carries at most: the channel shows fewer, and clips each line
# to fit; these bound what a runbook can make the bot hold for one question.
MAX_COMMANDS = 24
MAX_COMMAND_CHARS = 1000


@dataclass(frozen=True)
class Hit:
    """A ranked section."""

    section: Section
    score: float


@dataclass(frozen=True)
class Answer:
    """The one section that answers a question, ready to show."""

    section: Section
    gist: str
    commands: tuple[str, ...]  # at most MAX_COMMANDS, each at most MAX_COMMAND_CHARS
    link: str
    more_commands: int = 0  # command lines of the section left out of ``commands``


def link(section: Section, base_url: str) -> str:
    """``base_url + page + #anchor`` (wiki style), or the file path when no base URL is set."""
    anchor = f"#{section.anchor}" if section.anchor else ""
    if base_url:
        return f"{base_url.rstrip('/')}/{section.page}{anchor}"
    return f"{section.file}{anchor}"


def gist(section: Section, limit: int = GIST_CHARS) -> str:
    """The first sentence or two of the section's prose, cut at ``limit`` characters."""
    prose = " ".join(section.text.split())
    if not prose:
        return ""
    sentences = _SENTENCE_END.split(prose)
    summary = sentences[0]
    for sentence in sentences[1:]:
        if len(summary) + 1 + len(sentence) > limit:
            break
        summary = f"{summary} {sentence}"
    if len(summary) > limit:
        summary = summary[: limit - 1].rsplit(" ", 1)[0] + "…"
    return summary


def command_lines(section: Section) -> tuple[str, ...]:
    """The commands of the section's code blocks, verbatim, in order.

    A block holding a pasted terminal session (``root@node:~# cmd`` or
    ``$ cmd`` lines followed by their output) contributes its prompt lines
    only; any other block is taken whole, as runbooks write commands.
    """
    found: list[str] = []
    for block in section.code:
        lines = [line for line in block.splitlines() if line.strip()]
        prompts = [line for line in lines if _PROMPT.match(line)]
        found.extend(prompts or lines)
    return tuple(found)


def build_answer(hit: Hit, base_url: str) -> Answer:
    commands = command_lines(hit.section)
    return Answer(
        section=hit.section,
        gist=gist(hit.section),
        commands=tuple(_clipped(command) for command in commands[:MAX_COMMANDS]),
        link=link(hit.section, base_url),
        more_commands=max(len(commands) - MAX_COMMANDS, 0),
    )


def _clipped(line: str) -> str:
    return line if len(line) <= MAX_COMMAND_CHARS else line[: MAX_COMMAND_CHARS - 1] + "…"
