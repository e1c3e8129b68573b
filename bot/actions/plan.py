"""What a plan is: the request, the snapshot it was made from, the frozen `Plan`.

A `Plan` says what will be submitted (action, target, source, destination),
how it reads in the channel (`Plan.describe`), which instances and nodes it
holds while it waits and runs, and the ``facts`` it relied on: just before
submitting, a plan is made again from a fresh snapshot, and any fact that
changed stops the action (`changes`). `bot.actions.rules` makes plans.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from bot.errors import GntbotError
from bot.ganeti.model import (
    JOB_ACTIVE,
    ClusterInfo,
    Instance,
    Job,
    Node,
)
from bot.ganeti.names import common_domain, strip_domain
from bot.ganeti.sizes import mib

READ_ONLY = ("INSTANCE_QUERY_DATA(",)
"""Job summaries that change nothing (``GET /2/instances/NAME/info``: shared locks only)."""


class Refusal(GntbotError):
    """The action cannot (or must not) go ahead; the text says why, in the cluster's terms."""


@dataclass(frozen=True)
class Request:
    """What someone asked for, with every name already checked against the cluster's listing."""

    action: str
    cluster: str
    target: str  # full instance name, or node name for the node actions (node-migrate, drain, migrate-back)
    node: str | None = None  # migrate's NODE, full name
    reason: str = ""  # free text or ticket, for the job's reason trail


@dataclass(frozen=True)
class Remembered:
    """A node's primary instances as a reboot campaign remembered them when the node
    was emptied, each with the node it went to (None: not known, or it stayed)."""

    campaign: str
    node: str
    instances: tuple[tuple[str, str | None], ...]


@dataclass(frozen=True)
class Snapshot:
    """What the rules decide on: the cluster now, and for a migrate-back what was
    remembered of the node and how the DRBD disks of those instances are."""

    info: ClusterInfo
    nodes: tuple[Node, ...]
    instances: tuple[Instance, ...]
    jobs: tuple[Job, ...]
    remembered: Remembered | None = None
    disks: tuple[tuple[str, tuple[str, ...] | None], ...] = ()  # instance → problems; None: no answer

    def disk_problems(self, name: str) -> tuple[str, ...] | None:
        """What is wrong with ``name``'s DRBD disks (empty: in sync), or None if the cluster did not say."""
        return next((problems for instance, problems in self.disks if instance == name), None)

    def node(self, name: str) -> Node | None:
        return next((node for node in self.nodes if node.name == name), None)

    def instance(self, name: str) -> Instance | None:
        return next((instance for instance in self.instances if instance.name == name), None)

    def busy(self, names: Iterable[str]) -> list[Job]:
        """Unfinished jobs whose summary names one of ``names``, but for the read-only info jobs
        (`READ_ONLY`) that the bot and its readers start: the campaign watcher reads a rebooted
        node's DRBD disks just as its owner is told to ask for the migrate-back."""
        patterns = [re.compile(rf"(?<![\w.-]){re.escape(name)}(?![\w.-])") for name in names]
        return [job for job in self.jobs if job.status in JOB_ACTIVE
                and any(pattern.search(summary) for summary in job.summary for pattern in patterns
                        if not summary.startswith(READ_ONLY))]


@dataclass(frozen=True)
class Move:
    """One instance a node action moves; ``to`` is None when the iallocator picks."""

    instance: str
    template: str
    memory: int  # MiB in use
    to: str | None
    source: str | None = None  # where it is now, when that is not the node (migrate-back)


@dataclass(frozen=True)
class Plan:
    """What will be submitted, how it reads, and what it relied on."""

    action: str
    cluster: str
    target: str
    source: str | None = None  # the instance's primary node (instance actions)
    destination: str | None = None  # None: the iallocator picks when the job runs
    memory: int = 0  # MiB the instance uses (instance actions)
    moves: tuple[Move, ...] = ()
    stays: tuple[tuple[str, str], ...] = ()  # (instance, why it does not move)
    notes: tuple[str, ...] = ()
    facts: tuple[tuple[str, str], ...] = ()
    locks: tuple[str, ...] = ()  # instances and nodes no other action may touch meanwhile
    iallocator: str = ""
    disk_usage: int | None = None  # MiB (activate-disks)
    drained: bool | None = None  # the node's drained flag to set (drain: True, migrate-back: False)
    campaign: str = ""  # the reboot campaign it is told in (drain), or that remembered the instances (migrate-back)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Plan:
        values = dict(data)
        values["moves"] = tuple(Move(**move) if isinstance(move, Mapping) else Move(*move)
                                for move in values.get("moves", ()))
        for key in ("stays", "facts"):
            values[key] = tuple(tuple(pair) for pair in values.get(key, ()))
        for key in ("notes", "locks"):
            values[key] = tuple(values.get(key, ()))
        return cls(**values)

    def describe(self) -> str:
        """The plan in one line, with names shortened by the domain they share."""
        names = [self.target, self.source or "", self.destination or "",
                 *(move.instance for move in self.moves), *(name for name, _ in self.stays)]
        short = shortener(names)
        head = f"{self.action} {short(self.target)} @{self.cluster}"
        if self.action in ("node-migrate", "drain", "migrate-back"):
            text = f"{head}: {self._moving(short)}"
            if self.stays:
                text += "; stay: " + ", ".join(f"{short(name)} ({why})" for name, why in self.stays)
        elif self.action == "activate-disks":
            text = f"{head} on {short(self.source or '?')} (disks: {mib(self.disk_usage)})"
        else:
            to = short(self.destination) if self.destination else f"a node {self.iallocator or 'the iallocator'} picks"
            how = "live" if self.action == "migrate" else "shut down and started again" if self.memory else "stopped"
            text = f"{head}: {short(self.source or '?')} → {to} ({how}, {mib(self.memory)})"
        return "; ".join((text, *self.notes))

    def _moving(self, short: Callable[[str], str]) -> str:
        if not self.moves:
            return "no instance moves"
        one = len(self.moves) == 1
        count = f"{len(self.moves)} instance{'' if one else 's'}"
        if self.action == "migrate-back":
            back = ", ".join(f"{short(m.instance)} (from {short(m.source or '?')}, {mib(m.memory)})" for m in self.moves)
            return f"{count} come{'s' if one else ''} back: {back}"
        picker = f"{self.iallocator or 'the iallocator'}'s choice"
        moving = ", ".join(f"{short(m.instance)} → {short(m.to) if m.to else picker} ({mib(m.memory)})"
                           for m in self.moves)
        return f"{count} move{'s' if one else ''}: {moving}"


def changes(before: Plan, after: Plan) -> list[str]:
    """What is no longer as the plan said: ``"inst3 primary: node2, now node1"``."""
    old, new = dict(before.facts), dict(after.facts)
    return [f"{key}: {old.get(key, 'unknown')}, now {new.get(key, 'unknown')}"
            for key in sorted(set(old) | set(new)) if old.get(key) != new.get(key)]


def shortener(names: Iterable[str]) -> Callable[[str], str]:
    domain = common_domain(name for name in names if name)
    return lambda name: strip_domain(name, domain)


