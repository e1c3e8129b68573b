"""Typed, read-only views of what RAPI returns, and the fields asked for.

Listings come from ``/2/query/RESOURCE?fields=...`` with the ``*_FIELDS`` below
(one request, only what the bot shows); single items from ``/2/instances/X``
and ``/2/nodes/X``. Live values a node could not provide (its node daemon is
down, it is offline) are None, never 0: "no data" must not read as "empty".

Every value is checked as it is read (`bot.ganeti.shapes`): a model either
holds what its fields say or is not built, and `shapes.Malformed` says why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.ganeti.shapes import (
    Malformed,
    flag,
    integer,
    items,
    job_id,
    kind,
    mapping,
    name,
    shown,
    text,
    texts,
    timestamp,
)

INSTANCE_FIELDS = (
    "name", "pnode", "snodes", "status", "admin_state", "be/vcpus", "be/maxmem", "be/minmem",
    "be/auto_balance", "oper_ram", "disk_usage", "disk_template", "tags",
)
NODE_FIELDS = (
    "name", "role", "offline", "drained", "vm_capable", "group", "group.uuid",
    "mtotal", "mnode", "mfree", "dtotal", "dfree", "ctotal", "pinst_cnt", "sinst_cnt", "tags",
)
GROUP_FIELDS = ("name", "uuid", "tags")
JOB_FIELDS = ("id", "status", "summary", "received_ts", "start_ts", "end_ts")

ROLES = {"M": "master", "C": "candidate", "R": "regular", "D": "drained", "O": "offline"}
JOB_FINISHED = frozenset({"success", "error", "canceled"})
JOB_ACTIVE = frozenset({"queued", "waiting", "running", "canceling"})
# Disk templates whose instances can run on another node without copying disks:
# DRBD to its secondary, the others (shared or no storage) to any node.
INTERNALLY_MIRRORED = frozenset({"drbd"})
EXTERNALLY_MIRRORED = frozenset({"diskless", "sharedfile", "blockdev", "rbd", "ext", "gluster"})

Row = Mapping[str, Any]


@dataclass(frozen=True)
class Instance:
    """One line of ``gnt-instance list``: placement, size, state."""

    name: str
    pnode: str
    snodes: tuple[str, ...]
    status: str
    admin_state: str
    vcpus: int | None
    maxmem: int | None
    minmem: int | None
    auto_balance: bool
    oper_ram: int | None
    disk_usage: int | None
    disk_template: str
    tags: tuple[str, ...]

    @classmethod
    def from_row(cls, row: Row) -> Instance:
        get = row.get  # thousands of rows per listing: keep this lean
        return cls(
            name(get("name"), "name"), text(get("pnode"), "pnode") or "", texts(get("snodes"), "snodes"),
            text(get("status"), "status") or "unknown", _admin_state(get("admin_state")),
            integer(get("be/vcpus"), "be/vcpus"), integer(get("be/maxmem"), "be/maxmem"),
            integer(get("be/minmem"), "be/minmem"), bool(flag(get("be/auto_balance"), "be/auto_balance")),
            integer(get("oper_ram"), "oper_ram"), integer(get("disk_usage"), "disk_usage"),
            text(get("disk_template"), "disk_template") or "unknown", texts(get("tags"), "tags"),
        )

    @property
    def running(self) -> bool:
        return self.status == "running"

    @property
    def memory_in_use(self) -> int:
        """MiB this instance holds on its primary now (0 when not running)."""
        if not self.running:
            return 0
        return self.oper_ram if self.oper_ram is not None else (self.maxmem or 0)


@dataclass(frozen=True)
class Node:
    """One line of ``gnt-node list``; live values are None when the node did not answer."""

    name: str
    role: str
    offline: bool
    drained: bool
    vm_capable: bool
    group: str
    group_uuid: str
    mtotal: int | None
    mnode: int | None
    mfree: int | None
    dtotal: int | None
    dfree: int | None
    ctotal: int | None
    pinst_cnt: int
    sinst_cnt: int
    tags: tuple[str, ...]

    @classmethod
    def from_row(cls, row: Row) -> Node:
        get = row.get
        role = text(get("role"), "role") or ""
        return cls(
            name=name(get("name"), "name"),
            role=ROLES.get(role, role or "unknown"),
            offline=bool(flag(get("offline"), "offline")),
            drained=bool(flag(get("drained"), "drained")),
            vm_capable=flag(get("vm_capable"), "vm_capable") is not False,
            group=text(get("group"), "group") or "",
            group_uuid=text(get("group.uuid"), "group.uuid") or "",
            mtotal=integer(get("mtotal"), "mtotal"),
            mnode=integer(get("mnode"), "mnode"),
            mfree=integer(get("mfree"), "mfree"),
            dtotal=integer(get("dtotal"), "dtotal"),
            dfree=integer(get("dfree"), "dfree"),
            ctotal=integer(get("ctotal"), "ctotal"),
            pinst_cnt=integer(get("pinst_cnt"), "pinst_cnt") or 0,
            sinst_cnt=integer(get("sinst_cnt"), "sinst_cnt") or 0,
            tags=texts(get("tags"), "tags"),
        )

    @property
    def answering(self) -> bool:
        """False when the node's live data is missing: offline, or its node daemon is down."""
        return not self.offline and self.mtotal is not None

    @property
    def accepts_instances(self) -> bool:
        return self.answering and self.vm_capable and not self.drained


@dataclass(frozen=True)
class Group:
    name: str
    uuid: str
    tags: tuple[str, ...]

    @classmethod
    def from_row(cls, row: Row) -> Group:
        get = row.get
        return cls(text(get("name"), "name") or "", text(get("uuid"), "uuid") or "", texts(get("tags"), "tags"))


@dataclass(frozen=True)
class ClusterInfo:
    name: str
    master: str
    version: str
    hypervisors: tuple[str, ...]
    disk_templates: tuple[str, ...]
    iallocator: str
    tags: tuple[str, ...]

    @classmethod
    def from_rapi(cls, data: object) -> ClusterInfo:
        get = mapping(data, "the cluster information").get
        return cls(
            name=text(get("name"), "name") or "",
            master=text(get("master"), "master") or "",
            version=text(get("software_version"), "software_version") or "unknown",
            hypervisors=texts(get("enabled_hypervisors"), "enabled_hypervisors"),
            disk_templates=texts(get("enabled_disk_templates"), "enabled_disk_templates"),
            iallocator=text(get("default_iallocator"), "default_iallocator") or "",
            tags=texts(get("tags"), "tags"),
        )


@dataclass(frozen=True)
class Job:
    id: int
    status: str
    summary: tuple[str, ...]
    received: datetime | None
    started: datetime | None
    ended: datetime | None

    @classmethod
    def from_row(cls, row: Row) -> Job:
        get = row.get
        return cls(
            id=job_id(get("id"), "id"),
            status=text(get("status"), "status") or "unknown",
            summary=texts(get("summary"), "summary"),
            received=timestamp(get("received_ts"), "received_ts"),
            started=timestamp(get("start_ts"), "start_ts"),
            ended=timestamp(get("end_ts"), "end_ts"),
        )

    def duration(self, now: datetime) -> float | None:
        """Seconds it ran (or has been running); None if it never started."""
        if self.started is None:
            return None
        return ((self.ended or now) - self.started).total_seconds()


@dataclass(frozen=True)
class LogEntry:
    time: datetime | None
    message: str


@dataclass(frozen=True)
class JobDetail:
    """``gnt-job info``: the job, its log, and why each failed opcode failed."""

    job: Job
    log: tuple[LogEntry, ...]
    errors: tuple[str, ...]

    @classmethod
    def from_rapi(cls, data: object) -> JobDetail:
        job = mapping(data, "the job")
        log = tuple(_log_entry(entry) for opcode_log in items(job.get("oplog"), "'oplog'", null_is_empty=True)
                    for entry in items(opcode_log, "an opcode's log", null_is_empty=True))
        statuses = items(job.get("opstatus"), "'opstatus'", null_is_empty=True)
        results = items(job.get("opresult"), "'opresult'", null_is_empty=True)
        errors = tuple(_failure(result) for status, result in zip(statuses, results, strict=False) if status == "error")
        return cls(Job.from_row(job), log, errors)


def _log_entry(entry: object) -> LogEntry:
    """``[serial, [seconds, microseconds], type, message]``."""
    if type(entry) is not list or len(entry) < 4:
        raise Malformed(f"a log entry should be [serial, time, type, message], not {kind(entry)}")
    return LogEntry(timestamp(entry[1], "log time"), _log_text(entry[3]))


def _failure(result: object) -> str:
    """``["OpPrereqError", ["Instance 'x' not known", "unknown_entity"]]`` → readable text."""
    if isinstance(result, list) and len(result) == 2:
        error_class, details = shown(result[0]), result[1]
        if isinstance(details, list) and details:
            code = f" [{shown(details[1])}]" if len(details) > 1 and details[1] else ""
            return f"{error_class}: {shown(details[0])}{code}"
        return f"{error_class}: {shown(details)}"
    return shown(result)


def _log_text(message: object) -> str:
    if isinstance(message, list):  # "message-list" entries
        return "; ".join(shown(part) for part in message)
    return shown(message)


def _admin_state(value: object) -> str:
    if isinstance(value, bool):  # older servers and the docs say true/false
        return "up" if value else "down"
    return text(value, "admin_state") or "unknown"
