"""What the bot says about a section: a gist, its warnings, the commands, a link.

The parts come from `prose` (gist, warnings) and `blocks` (which code is a
command, which is output or a command quoted as a cause). An answer holds a
bounded amount whatever the runbook: at most `MAX_COMMANDS` command lines of
at most `MAX_COMMAND_CHARS` characters, and at most `MAX_OUTPUT_LINES` lines
of each output block.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.knowledge import prose
from bot.knowledge.blocks import Block, Kind, section_blocks
from bot.knowledge.sections import Section

# What one answer carries at most: the channel shows fewer, and clips each line
# to fit; these bound what a runbook can make the bot hold for one question.
MAX_COMMANDS = 24
MAX_COMMAND_CHARS = 1000
MAX_OUTPUT_LINES = 20


@dataclass(frozen=True)
class Hit:
    """A ranked section."""

    section: Section
    score: float


@dataclass(frozen=True)
class Answer:
    """The one section that answers a question, ready to show.

    ``steps`` are the section's code blocks in order, commands and the rest;
    ``commands`` are the command lines among them. ``clear`` is False when the
    best sections hold less than most of what was asked (`answerability.verdict`):
    this one is then shown as the closest section, not as the answer.
    """

    section: Section
    gist: str
    link: str
    more_commands: int = 0  # command lines of the section left out of ``commands``
    warnings: tuple[str, ...] = ()
    steps: tuple[Block, ...] = ()  # at most MAX_COMMANDS command lines, each at most MAX_COMMAND_CHARS
    clear: bool = True

    @property
    def commands(self) -> tuple[str, ...]:
        return tuple(line for step in self.steps if step.kind is Kind.COMMANDS for line in step.lines)


def link(section: Section, base_url: str) -> str:
    """``base_url + page + #anchor`` (wiki style), or the file path when no base URL is set."""
    anchor = f"#{section.anchor}" if section.anchor else ""
    if base_url:
        return f"{base_url.rstrip('/')}/{section.page}{anchor}"
    return f"{section.file}{anchor}"


def command_lines(section: Section) -> tuple[str, ...]:
    """The lines to run of the section's code blocks, in order, prompts removed."""
    return tuple(line for block in section_blocks(section) if block.kind is Kind.COMMANDS for line in block.lines)


def build_answer(hit: Hit, base_url: str, clear: bool = True) -> Answer:
    steps, room, total = [], MAX_COMMANDS, 0
    for block in section_blocks(hit.section):
        if block.kind is Kind.COMMANDS:
            total += len(block.lines)
            kept, room = block.lines[: max(room, 0)], room - len(block.lines)
        else:
            kept = block.lines[:MAX_OUTPUT_LINES]
        if kept:
            steps.append(Block(block.kind, tuple(_clipped(line) for line in kept)))
    kept_commands = sum(len(step.lines) for step in steps if step.kind is Kind.COMMANDS)
    return Answer(
        section=hit.section,
        gist=prose.gist(hit.section),
        link=link(hit.section, base_url),
        more_commands=total - kept_commands,
        warnings=prose.warnings(hit.section),
        steps=tuple(steps),
        clear=clear,
    )


def _clipped(line: str) -> str:
    return line if len(line) <= MAX_COMMAND_CHARS else line[: MAX_COMMAND_CHARS - 1] + "…"
