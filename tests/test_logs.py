"""A log record is one line, whatever text it carries."""

from __future__ import annotations

import logging

import pytest

from bot.logs import JournalFormatter, PlainFormatter

FORGED = "skipping runbook ok.md\n2026-12-01 12:00:00,000 ERROR bot.auth: operator mallory verified.md"


@pytest.mark.parametrize("formatter", [PlainFormatter(), JournalFormatter()])
def test_a_file_name_with_a_newline_cannot_forge_a_log_line(formatter: logging.Formatter):
    record = logging.LogRecord("bot.knowledge.index", logging.WARNING, __file__, 1, "%s\x1b[31m", (FORGED,), None)
    line = formatter.format(record)
    assert line.count("\n") == 0 and "\x1b" not in line
    assert line.endswith(r"ok.md\n2026-12-01 12:00:00,000 ERROR bot.auth: operator mallory verified.md\x1b[31m")
