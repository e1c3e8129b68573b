"""``gnt-instance info`` and ``gnt-node info``: one object in full, from ``/2/instances/NAME``
and ``/2/nodes/NAME`` (and, for where an instance's disks live and whether its
DRBD disks are in sync, an info job).

Checked as it is read, like the listings in `bot.ganeti.model`.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from bot.ganeti.model import Instance, Node
from bot.ganeti.names import short
from bot.ganeti.shapes import epoch, integers, mapping, optional_texts, text, texts

T = TypeVar("T")


@dataclass(frozen=True)
class NodeDetail:
    """``gnt-node info``: a `Node` plus its instance lists and addresses."""

    node: Node
    primaries: tuple[str, ...]
    secondaries: tuple[str, ...]
    primary_ip: str
    secondary_ip: str

    @classmethod
    def from_rapi(cls, data: object, group_names: Mapping[str, str]) -> NodeDetail:
        """``data`` from ``/2/nodes/NAME``; it names its group by UUID only."""
        node = mapping(data, "the node")
        row = dict(node, group=group_names.get(text(node.get("group.uuid"), "group.uuid") or "", ""))
        return cls(
            node=Node.from_row(row),
            primaries=tuple(sorted(texts(node.get("pinst_list"), "pinst_list"))),
            secondaries=tuple(sorted(texts(node.get("sinst_list"), "sinst_list"))),
            primary_ip=text(node.get("pip"), "pip") or "",
            secondary_ip=text(node.get("sip"), "sip") or "",
        )


@dataclass(frozen=True)
class Disk:
    size: int  # MiB
    name: str | None
    location: str | None  # volume group, or directory for file-based disks; None if unknown


@dataclass(frozen=True)
class Nic:
    ip: str | None
    mac: str | None
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
    def from_rapi(cls, data: object, query_data: object) -> InstanceDetail:
        """``data`` from ``/2/instances/NAME``; ``query_data`` from the info job, if it ran.

        The info job's result is an internal Ganeti structure, less stable than
        RAPI's own fields: what cannot be read in it leaves the group and the
        disk locations unknown instead of failing the answer.
        """
        instance = mapping(data, "the instance")
        get = instance.get
        beparams = mapping(get("beparams") or {}, "'beparams'")
        row = {key: get(key) for key in ("name", "pnode", "snodes", "status", "admin_state", "oper_ram",
                                         "disk_usage", "disk_template", "tags")}
        row.update({f"be/{key}": beparams.get(key) for key in ("vcpus", "maxmem", "minmem", "auto_balance")})
        sizes, names = integers(get("disk.sizes"), "disk.sizes"), optional_texts(get("disk.names"), "disk.names")
        nic = {key: optional_texts(get(f"nic.{key}"), f"nic.{key}")
               for key in ("ips", "macs", "modes", "links", "networks", "networks.names")}
        job = query_data if isinstance(query_data, dict) else {}
        disks = job.get("disks")
        locations = [disk_location(disk) for disk in disks] if isinstance(disks, list) else []
        group = job.get("pnode_group_name")
        return cls(
            instance=Instance.from_row(row),
            os=text(get("os"), "os") or "",
            group=group if isinstance(group, str) else None,
            disks=tuple(Disk(size, _at(names, i), _at(locations, i)) for i, size in enumerate(sizes)),
            nics=tuple(
                Nic(ip, _at(nic["macs"], i), _at(nic["modes"], i) or "", _at(nic["links"], i) or "",
                    _at(nic["networks.names"], i) or _at(nic["networks"], i))
                for i, ip in enumerate(nic["ips"])
            ),
            created=epoch(get("ctime"), "ctime"),
            modified=epoch(get("mtime"), "mtime"),
        )


def disk_location(disk: object) -> str | None:
    """Where a disk's data lives, from an info job's disk: the volume group for
    LVM-backed disks (``vg_ganeti_hdd`` vs ``vg_ganeti``: HDD or SSD), the
    directory for file-based ones. None for anything it does not recognise."""
    while isinstance(disk, dict) and disk.get("dev_type") == "drbd":
        children = disk.get("children")  # the data lives in the first child, an LVM volume
        disk = children[0] if isinstance(children, list) and children else None
    if not isinstance(disk, dict):
        return None
    kind, logical_id = disk.get("dev_type"), disk.get("logical_id")
    if not isinstance(logical_id, list) or not all(isinstance(part, str | int) for part in logical_id):
        return None
    if kind == "plain" and logical_id:
        return str(logical_id[0])
    if kind in ("file", "sharedfile", "gluster") and len(logical_id) > 1:
        return posixpath.dirname(str(logical_id[1]))
    if len(logical_id) > 1:  # blockdev: path; rbd: pool/name; ext: provider
        return str(logical_id[1] if kind == "blockdev" else logical_id[0])
    return None


def disk_problems(name: str, info: Mapping[str, Any]) -> list[str]:
    """The DRBD disks of ``name`` (its info job's answer) that a migration would trip on.

    Each disk's ``pstatus``/``sstatus`` is ``[path, major, minor, sync_percent,
    estimated_time, is_degraded, ldisk_status]`` on the primary and the
    secondary, or null where the node has no such device: after a reboot, until
    ``activate-disks`` (the ganeti-watcher runs it within minutes) sets it up
    again. Ganeti then aborts the migration ("Disk N is degraded or not fully
    synchronized on target node"): the runbook's broken migrate-back.
    """
    problems = []
    for index, disk in enumerate(info.get("disks") or ()):
        if not isinstance(disk, Mapping) or disk.get("dev_type") != "drbd":
            continue
        for side, role in (("pstatus", "primary"), ("sstatus", "secondary")):
            status = disk.get(side)
            if status is None:
                problems.append(f"{short(name)} disk/{index} is not active on its {role}")
                break
            if not isinstance(status, Sequence) or len(status) < 6:
                continue
            percent, degraded = status[3], status[5]
            if percent is not None:
                problems.append(f"{short(name)} disk/{index} syncing ({_percent(percent)})")
                break
            if degraded:
                problems.append(f"{short(name)} disk/{index} degraded")
                break
    return problems


def _percent(value: object) -> str:
    return f"{float(value):.0f}%" if isinstance(value, int | float) else "?%"


def _at(values: Sequence[T | None], index: int) -> T | None:
    return values[index] if index < len(values) else None
