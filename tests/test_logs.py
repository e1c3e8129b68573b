"""A log record is one line, whatever text it carries."""

from __future__ import annotations

import logging
import sys

import pytest

from bot.logs import JournalFormatter, PlainFormatter

FORGED = "skipping runbook ok.md\n2026-12-01 12:00:00,000 ERROR bot.auth: operator mallory verified.md"


@pytest.mark.parametrize("formatter", [PlainFormatter(), JournalFormatter()])
def test_a_file_name_with_a_newline_cannot_forge_a_log_line(formatter: logging.Formatter):
    record = logging.LogRecord("bot.knowledge.index", logging.WARNING, __file__, 1, "%s\x1b[31m", (FORGED,), None)
    line = formatter.format(record)
    assert line.count("\n") == 0 and "\x1b" not in line
    assert line.endswith(r"ok.md\n2026-12-01 12:00:00,000 ERROR bot.auth: operator mallory verified.md\x1b[31m")


@pytest.mark.parametrize("formatter", [PlainFormatter(), JournalFormatter()])
def test_an_exception_text_or_a_stack_cannot_forge_a_log_line(formatter: logging.Formatter):
    forged = "2025-01-01 12:00:00,000 INFO bot.actions: approved"
    try:
        raise ValueError(f"x\n{forged}\r{forged}\u2028{forged}\x1b[2K")
    except ValueError:
        record = logging.LogRecord("bot.app", logging.ERROR, __file__, 1, "failed", (), sys.exc_info(),
                                   sinfo=f"Stack (most recent call last):\n{forged}")
    first, *rest = formatter.format(record).split("\n")
    continued = [line.removeprefix("<3>") for line in rest]  # the journal's priority, on every line
    assert first.endswith("bot.app: failed") and len(continued) > 4
    assert all(line.startswith("  | ") for line in continued)  # none reads as a record of its own
    assert not any(control in "".join(continued) for control in "\r\x1b\u2028")
    assert "  | ValueError: x" in continued  # the traceback itself is all there, escaped
    assert rf"  | {forged}\r{forged}\u2028{forged}\x1b[2K" in continued
    assert continued[-2:] == ["  | Stack (most recent call last):", f"  | {forged}"]  # the stack, likewise
