"""A submitted job as a watcher needs it: status, Ganeti's own error text,
the child jobs a node operation spawns, and who asked for it.

Builds on the read-side `JobDetail` of `bot.ganeti.model` (log lines and the
``[class, [message, code]]`` failures made readable) and adds:

- ``children``: node ``migrate``/``evacuate`` return
  ``{"jobs": [[true, 41], [false, "why not"], ...]}``, one child job per
  instance; the parent succeeds as soon as they are *submitted*, so only the
  children say whether anything moved;
- ``selected_node``: the node the iallocator picked, from its log line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.ganeti.model import JOB_FINISHED, JobDetail

_SELECTED = re.compile(r"Selected nodes for instance (\S+) via iallocator \S+: (\S+)")
_SUMMARY = re.compile(r"^([A-Z_]+)(?:\((.+)\))?$")


@dataclass(frozen=True)
class Child:
    """One child job: its ID, or why Ganeti could not submit it."""

    job_id: int | None
    error: str | None = None


@dataclass(frozen=True)
class JobView:
    detail: JobDetail
    children: tuple[Child, ...]

    @property
    def id(self) -> int:
        return self.detail.job.id

    @property
    def status(self) -> str:
        return self.detail.job.status

    @property
    def finished(self) -> bool:
        return self.status in JOB_FINISHED

    @property
    def succeeded(self) -> bool:
        return self.status == "success"

    @property
    def errors(self) -> tuple[str, ...]:
        return self.detail.errors

    @property
    def child_ids(self) -> tuple[int, ...]:
        """The IDs of the child jobs Ganeti submitted (not those it could not)."""
        return tuple(child.job_id for child in self.children if child.job_id is not None)

    @property
    def op(self) -> str:
        """What the job does, from its summary: ``INSTANCE_MIGRATE(web1)`` → ``INSTANCE_MIGRATE``."""
        return self._operation()[0]

    @property
    def subject(self) -> str | None:
        """The instance or node the job works on, from its summary: ``web1``."""
        return self._operation()[1]

    def _operation(self) -> tuple[str, str | None]:
        return operation(self.detail.job.summary[0]) if self.detail.job.summary else ("", None)

    def last_log(self) -> str | None:
        return self.detail.log[-1].message if self.detail.log else None

    def duration(self, now: datetime | None = None) -> float | None:
        return self.detail.job.duration(now or datetime.now(UTC))

    def selected_node(self, instance: str) -> str | None:
        """The node an iallocator chose for ``instance``, as the job logged it."""
        for entry in self.detail.log:
            found = _SELECTED.search(entry.message)
            if found and found.group(1) == instance:
                return found.group(2).rstrip(".,")
        return None

    @classmethod
    def from_rapi(cls, data: Mapping[str, Any]) -> JobView:
        return cls(JobDetail.from_rapi(data), _children(data.get("opresult")))


def operation(summary: str) -> tuple[str, str | None]:
    """What a job's summary says it does, and to what: ``INSTANCE_MIGRATE(web1)`` →
    ``("INSTANCE_MIGRATE", "web1")``; ``("", None)`` for a summary of another shape."""
    found = _SUMMARY.match(summary)
    return (found.group(1), found.group(2)) if found else ("", None)


def _children(results: Any) -> tuple[Child, ...]:
    if not isinstance(results, Sequence) or isinstance(results, str):
        return ()
    found: list[Child] = []
    for result in results:
        jobs = result.get("jobs") if isinstance(result, Mapping) else None
        for entry in jobs if isinstance(jobs, Sequence) else ():
            if not isinstance(entry, Sequence) or len(entry) != 2:
                continue
            ok, value = entry
            if ok and isinstance(value, int | str) and str(value).isdigit():
                found.append(Child(int(value)))
            else:
                found.append(Child(None, str(value)))
    return tuple(found)

