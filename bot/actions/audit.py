"""The audit log: one JSON line per step of every action, on disk before the bot replies.

Steps: ``request``, ``plan``, ``refused``, ``confirm``, ``cancel``, ``expired``,
``recheck``, ``submit``, ``job``, ``outcome``. Each line has the time (UTC,
ISO 8601), the step, the token, the action, cluster and target, the person and
the account they used, the room, and what the step adds (the plan's text, the
changes a re-check found, job IDs, Ganeti's error). A line is flushed and
fsynced before the reply that depends on it is sent, so the log never says
less than the channel saw. The file is append-only and private (0600).

`read` filters it back for ``gntbot audit``.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from bot.errors import GntbotError


class AuditError(GntbotError):
    """The audit log cannot be written or read: no action may go ahead without it."""


class AuditLog:
    """Appends steps to ``path``. `write` blocks (fsync): call it off the event loop."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def write(self, step: str, **fields: Any) -> dict[str, Any]:
        entry = {"time": datetime.now(UTC).isoformat(timespec="milliseconds"), "step": step, **fields}
        line = json.dumps(entry, ensure_ascii=False, sort_keys=False) + "\n"
        with self._lock:
            try:
                descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    os.write(descriptor, line.encode("utf-8"))
                    os.fsync(descriptor)
                finally:
                    os.close(descriptor)
            except OSError as error:
                raise AuditError(f"cannot write the audit log {self.path}: {error.strerror}; "
                                 "nothing was done") from error
        return entry


@dataclass(frozen=True)
class Filter:
    person: str | None = None  # person name or account, any case
    instance: str | None = None  # instance or node, full or short name
    since: date | None = None
    until: date | None = None

    def admits(self, entry: Mapping[str, Any]) -> bool:
        if self.person is not None:
            wanted = self.person.lower()
            people = {str(entry.get(key) or "").lower()
                      for key in ("person", "account", "requester", "approver")}
            if wanted not in people:
                return False
        if self.instance is not None:
            wanted = self.instance.lower()
            names = [str(entry.get("target") or ""), *(str(name) for name in entry.get("involves") or ())]
            if not any(name.lower() == wanted or name.lower().startswith(wanted + ".") for name in names):
                return False
        day = _day(entry.get("time"))
        if self.since is not None and (day is None or day < self.since):
            return False
        return not (self.until is not None and (day is None or day > self.until))


def read(path: Path, wanted: Filter) -> Iterator[dict[str, Any]]:
    """The entries of ``path`` that ``wanted`` admits, oldest first; a broken line is skipped."""
    try:
        handle = path.open(encoding="utf-8")
    except FileNotFoundError:
        raise AuditError(f"no audit log at {path} yet: no action has been asked for") from None
    except OSError as error:
        raise AuditError(f"cannot read the audit log {path}: {error.strerror}") from error
    with handle:
        for line in handle:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and wanted.admits(entry):
                yield entry


def render(entry: Mapping[str, Any]) -> str:
    """One entry as a line for people: time, step, token, who, what."""
    head = [str(entry.get("time", "?")), str(entry.get("step", "?")), str(entry.get("token", "-"))]
    who = entry.get("person") or ""
    if entry.get("account"):
        who = f"{who} ({entry['account']})" if who else entry["account"]
    what = " ".join(str(entry[key]) for key in ("action", "target") if entry.get(key))
    if entry.get("cluster"):
        what += f" @{entry['cluster']}"
    rest = {key: value for key, value in entry.items()
            if key not in ("time", "step", "token", "person", "account", "action", "target", "cluster")}
    details = " ".join(f"{key}={json.dumps(value, ensure_ascii=False)}" for key, value in rest.items())
    return " ".join(part for part in (*head, who, what, details) if part)


def _day(value: Any) -> date | None:
    try:
        return datetime.fromisoformat(str(value)).astimezone(UTC).date()
    except ValueError:
        return None
