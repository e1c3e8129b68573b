"""Log lines with their level, where a service manager can read it.

Logs go to stderr. Under systemd (``$JOURNAL_STREAM`` set, stderr connected to the
journal), each line starts with the syslog priority in angle brackets (``<3>`` for
an error), which journald turns into the entry's priority and strips: ``journalctl
-p warning -u gntbot`` then shows warnings and worse. The journal has its own
timestamps, so the line has none. Elsewhere a line reads ``TIME LEVEL logger: text``.
"""

from __future__ import annotations

import logging
import os
import sys

from bot.controls import escaped

_PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}


# A file name or a chat line with a newline must not forge a log line of its own:
# every record is written with its control characters escaped (`escaped`).


CONTINUED = "  | "  # starts every line of a record after its first


def _continued(text: str) -> str:
    """A traceback or stack as lines that each start with `CONTINUED`, escaped like a
    message: an exception's text (``ValueError("x\\n2025-01-01 ... INFO ...")``) is
    anyone's, and must not start a line that reads as a record of its own."""
    return "\n".join(CONTINUED + escaped(line) for line in text.split("\n"))


class PlainFormatter(logging.Formatter):
    """``TIME LEVEL logger: message``, one line per record; a traceback after it
    is the one exception, each of its lines marked with `CONTINUED`."""

    def __init__(self, fmt: str = "%(asctime)s %(levelname)s %(name)s: %(message)s") -> None:
        super().__init__(fmt)

    def formatMessage(self, record: logging.LogRecord) -> str:
        return escaped(super().formatMessage(record))

    def formatException(self, ei: logging._SysExcInfoType) -> str:
        return _continued(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return _continued(super().formatStack(stack_info))


class JournalFormatter(PlainFormatter):
    """``<priority>logger: message`` (journald's SyslogLevelPrefix convention)."""

    def __init__(self) -> None:
        super().__init__("%(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        priority = _PRIORITY.get(record.levelno, 6)
        return "\n".join(f"<{priority}>{line}" for line in super().format(record).splitlines())


def to_journal() -> bool:
    """True when stderr is the journal stream systemd set up for this service."""
    stream = os.environ.get("JOURNAL_STREAM", "")
    if not stream or ":" not in stream:
        return False
    try:
        info = os.fstat(sys.stderr.fileno())
    except (OSError, ValueError):
        return False
    return stream == f"{info.st_dev}:{info.st_ino}"


def configure(level: int | str) -> None:
    """Log at ``level`` to stderr, in the journal's format where stderr is the journal."""
    handler = logging.StreamHandler()
    handler.setFormatter(JournalFormatter() if to_journal()
                         else PlainFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # markdown-it logs every block rule it tries: thousands of lines per runbook
    # at -v that bury what gntbot itself says.
    logging.getLogger("markdown_it").setLevel(logging.INFO)
