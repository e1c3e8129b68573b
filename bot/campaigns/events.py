"""The events of a reboot campaign, and how they are checked.

A campaign is told in four kinds of events, as JSON objects on the wire
(``gntbot announce`` sends them, the intake reads them) and as frozen
dataclasses inside the bot:

- ``start``: the campaign's id, reason, kind (reboot, halt, cancel), mode
  (empty the nodes first, reboot the instances with them, or also migrate
  them back), its hosts in order, its owner and the rooms that hear of it;
- ``host``: one step of one host (`Step`): the need check, skipped, emptying
  N instances, empty, shutting down, down, waiting for the disk unlock, up,
  instances back, done, failed;
- ``note``: free text, optionally about a host (``warning`` marks the bot's
  own warnings, e.g. disks still syncing);
- ``end``: the tooling is done, with its exit status.

Every event has an ``id`` that its source never reuses (replays and resent
queued events are recognised by it) and the ``time`` it happened, which for
an event delivered late from a queue is long before it arrived.

Anything from the wire is untrusted: `parse` checks every field's type,
length and vocabulary and raises `InvalidEvent` saying which field is wrong.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.errors import GntbotError

CAMPAIGN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{2,63}")
EVENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,79}")
HOST_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]{0,252}")
INSTANCE_NAME = HOST_NAME
MAX_HOSTS = 500
MAX_TEXT = 400  # a reason, a note, a failure: one chat line at most
MAX_ROOMS = 10
MAX_INSTANCES = 1000


class InvalidEvent(GntbotError):
    """An event that cannot be accepted; the text names the field at fault."""


class Kind(enum.StrEnum):
    """What happens to each host, as the ``--kind`` of the reboot script."""

    REBOOT = "reboot"
    HALT = "halt"
    CANCEL = "cancel"  # no shutdown: only the Ganeti side (instances moved off and back)


class Mode(enum.StrEnum):
    """What happens to a Ganeti node's instances."""

    EMPTY = "empty"  # migrated away, and left there (the script's default)
    WITH_INSTANCES = "with-instances"  # stopped, rebooted with the node (--skip-ganeti-empty)
    MIGRATE_BACK = "migrate-back"  # migrated away and back afterwards (--ganeti-migrate-back)


class Step(enum.StrEnum):
    NEED_CHECK = "need-check"
    SKIPPED = "skipped"
    EMPTYING = "emptying"
    EMPTY = "empty"
    SHUTTING_DOWN = "shutting-down"
    DOWN = "down"
    WAITING_UNLOCK = "waiting-unlock"
    UP = "up"
    INSTANCES_BACK = "instances-back"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class CampaignStarted:
    id: str
    campaign: str
    time: float
    reason: str
    kind: Kind
    mode: Mode
    hosts: tuple[str, ...]
    owner: str
    rooms: tuple[str, ...] = ()  # realm:room; empty: the configured rooms
    delay_up: float | None = None  # seconds the tooling waits for a host to come back
    delay_hosts: float | None = None  # its pause between hosts


@dataclass(frozen=True)
class HostStep:
    id: str
    campaign: str
    time: float
    host: str
    step: Step
    count: int | None = None  # instances being moved, stopped or brought back
    instances: tuple[str, ...] = ()
    needed: bool | None = None  # for need-check: does the host need the reboot?
    detail: str = ""  # why skipped or failed, what needrestart found


@dataclass(frozen=True)
class Note:
    id: str
    campaign: str
    time: float
    text: str
    host: str = ""
    warning: bool = False


@dataclass(frozen=True)
class CampaignEnded:
    id: str
    campaign: str
    time: float
    exit_code: int | None = None
    detail: str = ""


Event = CampaignStarted | HostStep | Note | CampaignEnded
TYPES: dict[str, type] = {"start": CampaignStarted, "host": HostStep, "note": Note, "end": CampaignEnded}
_NAMES = {kind: name for name, kind in TYPES.items()}


def type_name(event: Event) -> str:
    return _NAMES[type(event)]


def to_wire(event: Event) -> dict[str, Any]:
    """The JSON object for ``event`` (what `parse` reads back)."""
    data: dict[str, Any] = {"type": type_name(event)}
    for key, value in vars(event).items():
        if value is None or value == () or value == "":
            continue
        data[key] = list(value) if isinstance(value, tuple) else str(value) if isinstance(value, enum.Enum) else value
    return data


def parse(data: Any) -> Event:
    """The event in a decoded JSON object, checked; `InvalidEvent` otherwise."""
    if not isinstance(data, Mapping):
        raise InvalidEvent("an event is a JSON object")
    fields = _Fields(data)
    kind = fields.choice("type", tuple(TYPES))
    ident, campaign, when = (fields.matching("id", EVENT_ID), fields.matching("campaign", CAMPAIGN_ID),
                             fields.number("time", low=0))
    event: Event
    if kind == "start":
        hosts = fields.names("hosts", HOST_NAME, MAX_HOSTS, required=True)
        if len(set(hosts)) != len(hosts):
            raise InvalidEvent("hosts: a host is listed twice")
        event = CampaignStarted(
            id=ident, campaign=campaign, time=when, reason=fields.text("reason"), kind=Kind(fields.choice("kind", tuple(Kind), "reboot")),
            mode=Mode(fields.choice("mode", tuple(Mode), "empty")), hosts=hosts,
            owner=fields.matching("owner", re.compile(r"[^\s:,]{1,64}")),
            rooms=fields.rooms("rooms"),
            delay_up=fields.optional_number("delay_up"), delay_hosts=fields.optional_number("delay_hosts"))
    elif kind == "host":
        event = HostStep(
            id=ident, campaign=campaign, time=when, host=fields.matching("host", HOST_NAME), step=Step(fields.choice("step", tuple(Step))),
            count=fields.optional_count("count"), instances=fields.names("instances", INSTANCE_NAME, MAX_INSTANCES),
            needed=fields.optional_bool("needed"), detail=fields.text("detail", required=False))
    elif kind == "note":
        host = fields.text("host", required=False)
        if host and not HOST_NAME.fullmatch(host):
            raise InvalidEvent("host: not a host name")
        event = Note(id=ident, campaign=campaign, time=when, text=fields.text("text"), host=host, warning=bool(fields.optional_bool("warning")))
    else:
        event = CampaignEnded(id=ident, campaign=campaign, time=when, exit_code=fields.optional_count("exit_code", high=255),
                              detail=fields.text("detail", required=False))
    fields.done()
    return event


class _Fields:
    """Typed reads of one untrusted event object; unknown keys are refused."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data
        self.read: set[str] = set()

    def _get(self, key: str) -> Any:
        self.read.add(key)
        return self.data.get(key)

    def choice(self, key: str, choices: Sequence[str], default: str | None = None) -> str:
        value = self._get(key)
        if value is None and default is not None:
            return default
        if value not in choices:
            raise InvalidEvent(f"{key}: must be one of {', '.join(choices)}")
        return value

    def matching(self, key: str, pattern: re.Pattern[str]) -> str:
        value = self._get(key)
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise InvalidEvent(f"{key}: missing or malformed")
        return value

    def text(self, key: str, *, required: bool = True) -> str:
        value = self._get(key)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
            raise InvalidEvent(f"{key}: expected text of 1 to {MAX_TEXT} characters")
        if any(ord(c) < 32 for c in value):  # no newlines or IRC control codes into the channel
            raise InvalidEvent(f"{key}: control characters are not allowed")
        return value.strip()

    def number(self, key: str, *, low: float) -> float:
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value < 1e11:
            raise InvalidEvent(f"{key}: expected a number of seconds")
        return float(value)

    def optional_number(self, key: str) -> float | None:
        return None if self.data.get(key) is None else self.number(key, low=0)

    def optional_count(self, key: str, high: int = 100_000) -> int | None:
        value = self._get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high:
            raise InvalidEvent(f"{key}: expected a whole number from 0 to {high}")
        return value

    def optional_bool(self, key: str) -> bool | None:
        value = self._get(key)
        if value is not None and not isinstance(value, bool):
            raise InvalidEvent(f"{key}: expected true or false")
        return value

    def names(self, key: str, pattern: re.Pattern[str], limit: int, *, required: bool = False) -> tuple[str, ...]:
        value = self._get(key)
        if value is None and not required:
            return ()
        if (not isinstance(value, list) or not 0 < len(value) <= limit
                or not all(isinstance(name, str) and pattern.fullmatch(name) for name in value)):
            raise InvalidEvent(f"{key}: expected a list of 1 to {limit} names")
        return tuple(value)

    def rooms(self, key: str) -> tuple[str, ...]:
        value = self._get(key)
        if value is None:
            return ()
        if (not isinstance(value, list) or len(value) > MAX_ROOMS
                or not all(isinstance(room, str) and is_room(room) for room in value)):
            raise InvalidEvent(f"{key}: expected up to {MAX_ROOMS} rooms written realm:room (irc:#ops)")
        return tuple(value)

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.read)
        if unknown:
            raise InvalidEvent(f"{unknown[0]}: unknown field")


def one_line(text: str, limit: int = MAX_TEXT) -> str:
    """``text`` made fit for a note: one line (a RAPI error may hold several), not too long."""
    flat = " ".join("".join(c if ord(c) >= 32 else " " for c in text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def is_room(text: str) -> bool:
    realm, colon, room = text.partition(":")
    return bool(colon and re.fullmatch(r"[a-z][a-z0-9-]{0,31}", realm) and 0 < len(room) <= 200
                and not any(c.isspace() or ord(c) < 32 for c in room))
