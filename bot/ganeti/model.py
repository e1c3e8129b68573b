"""Typed, read-only views of what RAPI returns, and the fields asked for.

Listings come from ``/2/query/RESOURCE?fields=...`` with the ``*_FIELDS`` below
(one request, only what the bot shows); single items from ``/2/instances/X``
and ``/2/nodes/X``. Live values a node could not provide (its node daemon is
down, it is offline) are None, never 0: "no data" must not read as "empty".
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

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
            row["name"], get("pnode") or "", tuple(get("snodes") or ()), get("status") or "unknown",
            _admin_state(get("admin_state")), get("be/vcpus"), get("be/maxmem"), get("be/minmem"),
            bool(get("be/auto_balance")), get("oper_ram"), get("disk_usage"), get("disk_template") or "unknown",
            tuple(get("tags") or ()),
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
        return cls(
            name=row["name"],
            role=ROLES.get(row.get("role") or "", row.get("role") or "unknown"),
            offline=bool(row.get("offline")),
            drained=bool(row.get("drained")),
            vm_capable=row.get("vm_capable") is not False,
            group=row.get("group") or "",
            group_uuid=row.get("group.uuid") or "",
            mtotal=row.get("mtotal"),
            mnode=row.get("mnode"),
            mfree=row.get("mfree"),
            dtotal=row.get("dtotal"),
            dfree=row.get("dfree"),
            ctotal=row.get("ctotal"),
            pinst_cnt=row.get("pinst_cnt") or 0,
            sinst_cnt=row.get("sinst_cnt") or 0,
            tags=tuple(row.get("tags") or ()),
        )

    @property
    def answering(self) -> bool:
        """False when the node's live data is missing: offline, or its node daemon is down."""
        return not self.offline and self.mtotal is not None

    @property
    def accepts_instances(self) -> bool:
        return self.answering and self.vm_capable and not self.drained


@dataclass(frozen=True)
class NodeDetail:
    """``gnt-node info``: a `Node` plus its instance lists and addresses."""

    node: Node
    primaries: tuple[str, ...]
    secondaries: tuple[str, ...]
    primary_ip: str
    secondary_ip: str

    @classmethod
    def from_rapi(cls, data: Mapping[str, Any], group_names: Mapping[str, str]) -> NodeDetail:
        row = dict(data, group=group_names.get(data.get("group.uuid") or "", ""))
        return cls(
            node=Node.from_row(row),
            primaries=tuple(sorted(data.get("pinst_list") or ())),
            secondaries=tuple(sorted(data.get("sinst_list") or ())),
            primary_ip=data.get("pip") or "",
            secondary_ip=data.get("sip") or "",
        )


@dataclass(frozen=True)
class Group:
    name: str
    uuid: str
    tags: tuple[str, ...]

    @classmethod
    def from_row(cls, row: Row) -> Group:
        return cls(row["name"], row.get("uuid") or "", tuple(row.get("tags") or ()))


@dataclass(frozen=True)
class Disk:
    size: int  # MiB
    name: str | None
    location: str | None  # volume group, or directory for file-based disks; None if unknown


@dataclass(frozen=True)
class Nic:
    ip: str | None
    mac: str
    mode: str
    link: str
    network: str | None


@dataclass(frozen=True)
class InstanceDetail:
    """``gnt-instance info`` essentials."""

    instance: Instance
    os: str
    group: str | None
    disks: tuple[Disk, ...]
    nics: tuple[Nic, ...]
    created: datetime | None
    modified: datetime | None

    @classmethod
    def from_rapi(cls, data: Mapping[str, Any], query_data: Mapping[str, Any] | None) -> InstanceDetail:
        """``data`` from ``/2/instances/NAME``; ``query_data`` from the info job, if it ran."""
        beparams = data.get("beparams") or {}
        row = {key: data.get(key) for key in ("name", "pnode", "snodes", "status", "admin_state", "oper_ram",
                                              "disk_usage", "disk_template", "tags")}
        row.update({f"be/{key}": beparams.get(key) for key in ("vcpus", "maxmem", "minmem", "auto_balance")})
        sizes, names = data.get("disk.sizes") or [], data.get("disk.names") or []
        locations = [disk_location(disk) for disk in (query_data or {}).get("disks") or ()]
        return cls(
            instance=Instance.from_row(row),
            os=data.get("os") or "",
            group=(query_data or {}).get("pnode_group_name"),
            disks=tuple(Disk(size, _at(names, i), _at(locations, i)) for i, size in enumerate(sizes)),
            nics=tuple(
                Nic(ip, mac, _at(data.get("nic.modes"), i) or "", _at(data.get("nic.links"), i) or "",
                    _at(data.get("nic.networks.names"), i) or _at(data.get("nic.networks"), i))
                for i, (ip, mac) in enumerate(zip(data.get("nic.ips") or [], data.get("nic.macs") or [], strict=False))
            ),
            created=_epoch(data.get("ctime")),
            modified=_epoch(data.get("mtime")),
        )


def disk_location(disk: Mapping[str, Any]) -> str | None:
    """Where a disk's data lives, from an info job's disk: the volume group for
    LVM-backed disks (``vg_ganeti_hdd`` vs ``vg_ganeti``: HDD or SSD), the
    directory for file-based ones."""
    kind, logical_id = disk.get("dev_type"), disk.get("logical_id") or []
    if kind == "drbd":  # the data lives in the first child, an LVM volume
        children = disk.get("children") or []
        return disk_location(children[0]) if children else None
    if kind == "plain" and logical_id:
        return str(logical_id[0])
    if kind in ("file", "sharedfile", "gluster") and len(logical_id) > 1:
        return posixpath.dirname(str(logical_id[1]))
    if len(logical_id) > 1:  # blockdev: path; rbd: pool/name; ext: provider
        return str(logical_id[1] if kind == "blockdev" else logical_id[0])
    return None


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
    def from_rapi(cls, data: Mapping[str, Any]) -> ClusterInfo:
        return cls(
            name=data.get("name") or "",
            master=data.get("master") or "",
            version=data.get("software_version") or "unknown",
            hypervisors=tuple(data.get("enabled_hypervisors") or ()),
            disk_templates=tuple(data.get("enabled_disk_templates") or ()),
            iallocator=data.get("default_iallocator") or "",
            tags=tuple(data.get("tags") or ()),
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
        return cls(
            id=int(row["id"]),
            status=row.get("status") or "unknown",
            summary=tuple(row.get("summary") or ()),
            received=_timestamp(row.get("received_ts")),
            started=_timestamp(row.get("start_ts")),
            ended=_timestamp(row.get("end_ts")),
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
    def from_rapi(cls, data: Mapping[str, Any]) -> JobDetail:
        log = tuple(
            LogEntry(_timestamp(entry[1]), _log_text(entry[3]))
            for opcode_log in data.get("oplog") or () for entry in opcode_log or ()
        )
        statuses, results = data.get("opstatus") or [], data.get("opresult") or []
        errors = tuple(_failure(result) for status, result in zip(statuses, results, strict=False) if status == "error")
        return cls(Job.from_row(data), log, errors)


def _failure(result: Any) -> str:
    """``["OpPrereqError", ["Instance 'x' not known", "unknown_entity"]]`` → readable text."""
    if isinstance(result, Sequence) and not isinstance(result, str) and len(result) == 2:
        kind, details = result
        if isinstance(details, Sequence) and not isinstance(details, str) and details:
            code = f" [{details[1]}]" if len(details) > 1 and details[1] else ""
            return f"{kind}: {details[0]}{code}"
        return f"{kind}: {details}"
    return str(result)


def _log_text(message: Any) -> str:
    if isinstance(message, str):
        return message
    if isinstance(message, Sequence):  # "message-list" entries
        return "; ".join(str(part) for part in message)
    return str(message)


def _admin_state(value: Any) -> str:
    if isinstance(value, bool):  # older servers and the docs say true/false
        return "up" if value else "down"
    return value or "unknown"


def _timestamp(value: Any) -> datetime | None:
    """RAPI job times are ``[seconds, microseconds]``."""
    if not value:
        return None
    return datetime.fromtimestamp(value[0] + value[1] / 1e6, UTC)


def _epoch(value: Any) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if isinstance(value, int | float) else None


def _at(values: Sequence[Any] | None, index: int) -> Any:
    return values[index] if values is not None and index < len(values) else None
