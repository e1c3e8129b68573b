"""What each code block of a section is: commands to run, or something to read.

Runbooks fence more than commands: the log a check printed, a pasted
terminal session, the command that *caused* an incident. Showing those as
commands misleads (issue 11: `!howto drbd split brain` led with the command
that caused the split brain, then thirteen lines of log). So each block is
one of:

- ``COMMANDS``: lines to run, shell prompts (``root@node:~#``, ``$``) removed;
- ``OUTPUT``: what a program printed (time stamps, log levels, ``key: value``
  lines, or the lines of a pasted session that follow its prompts);
- ``QUOTED``: commands the sentence introducing them names as what went
  wrong ("was caused by ... with this command:"), never offered as a step.

A pasted session gives its prompt lines as commands and the rest as output.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from bot.knowledge.sections import Section

# user@host:dir# or [user@host dir]$ (a bare "$" only where a line starts)
HOST_PROMPT = r"(?:[\w.-]+@[\w.-]+(?::[^\s#$]*)?\s?[#$]|\[[\w.-]+@[\w.-]+(?:\s+[^\]\s]*)?\][#$])"
_PROMPT = re.compile(rf"^\s*(?:{HOST_PROMPT}|\$)\s+(?=\S)")
# "# cmd" is a root prompt only in a block whose other lines are output;
# elsewhere it is a comment.
_ROOT_PROMPT = re.compile(r"^\s*#\s+(?=[a-z./])")
_ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?[A-Za-z_]\w*=")
_OPTION = re.compile(r"\s--?[A-Za-z]")
_DAYS = "Mon|Tue|Wed|Thu|Fri|Sat|Sun"
_MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
_TIMESTAMP = re.compile(
    rf"^\s*(?:(?:{_DAYS})\s+(?:{_MONTHS})\s|(?:{_MONTHS})\s+\d|\d{{4}}-\d\d-\d\d|\d\d:\d\d:\d\d|\[\s*\d+\.\d+\])"
)
_LOG_LEVEL = re.compile(r"\b(?:ERROR|WARNING|WARN|INFO|DEBUG|CRITICAL|FATAL|NOTICE)\b")
_FIELD = re.compile(r"^\s*(?:[-*]\s+)?[\w][\w /.()-]{0,40}:(?:\s|$)")  # "Disks:", "- disk/0: drbd"
_DECORATION = re.compile(r"^\s*(?:\[\.\.\.\]|\.\.\.|[-=+*|#]{3,}|[|+])")
# The sentence before a block names it as the cause, or as what not to run.
_CAUSE = re.compile(
    r"\b(?:caused|triggered|by mistake|accidentally|wrongly)\b|\b(?:do not|don't|never)\s+(?:run|use|type)\b",
    re.IGNORECASE,
)


class Kind(Enum):
    COMMANDS = "commands"
    OUTPUT = "output"
    QUOTED = "quoted"


@dataclass(frozen=True)
class Block:
    """A piece of a code block, with what it is."""

    kind: Kind
    lines: tuple[str, ...]


def strip_prompt(line: str, prompt: re.Pattern[str] = _PROMPT) -> str:
    """``root@fsn-node-01:~# gnt-node list`` → ``gnt-node list``."""
    return prompt.sub("", line, count=1).strip()


def _looks_like_output(line: str) -> bool:
    if _ASSIGNMENT.match(line):
        return False
    if _TIMESTAMP.match(line) or _LOG_LEVEL.search(line) or _FIELD.match(line) or _DECORATION.match(line):
        return True
    # A capitalised first word with no option after it: a table header, a message.
    return line.lstrip()[:1].isupper() and not _OPTION.search(line)


def _mostly_output(lines: list[str]) -> bool:
    return sum(map(_looks_like_output, lines)) * 2 > len(lines)


def introduction(section: Section, number: int) -> str:
    """The last sentence of the paragraph right before code block ``number`` ("" if none)."""
    if number >= len(section.code_after) or not section.code_after[number]:
        return ""
    paragraph = section.paragraphs[section.code_after[number] - 1]
    return re.split(r"(?<=[.!?])\s+", paragraph)[-1]


def classify(section: Section, number: int) -> list[Block]:
    """The pieces of code block ``number`` of ``section``, in order."""
    lines = [line.rstrip() for line in section.code[number].splitlines() if line.strip()]
    if any(_PROMPT.match(line) for line in lines):
        return _session(lines, _PROMPT)
    rest = [line for line in lines if not _ROOT_PROMPT.match(line)]
    if rest and len(rest) < len(lines) and _mostly_output(rest):
        return _session(lines, _ROOT_PROMPT)
    if _mostly_output(lines):
        return [Block(Kind.OUTPUT, tuple(lines))]
    kind = Kind.QUOTED if _CAUSE.search(introduction(section, number)) else Kind.COMMANDS
    return [Block(kind, tuple(lines))]


def _session(lines: list[str], prompt: re.Pattern[str]) -> list[Block]:
    """A pasted terminal session: prompt lines are commands, the rest their output."""
    blocks: list[Block] = []
    for line in lines:
        kind = Kind.COMMANDS if prompt.match(line) else Kind.OUTPUT
        text = strip_prompt(line, prompt) if kind is Kind.COMMANDS else line
        if kind is Kind.COMMANDS and not text:
            continue  # a prompt with nothing typed after it
        if blocks and blocks[-1].kind is kind:
            blocks[-1] = Block(kind, (*blocks[-1].lines, text))
        else:
            blocks.append(Block(kind, (text,)))
    return blocks


def section_blocks(section: Section) -> list[Block]:
    """Every code block of ``section``, classified, in order."""
    return [block for number in range(len(section.code)) for block in classify(section, number)]
