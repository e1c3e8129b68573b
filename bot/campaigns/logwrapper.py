"""The reboot script's ``-v`` log, read as campaign events.

The team's ``reboot`` script logs what it does, one message a line (its
logging format is the bare message). `PHRASES` maps those messages to steps;
a message that names no host is about the host the log last named. The
script's wording changes between versions, so ``[reboot_log.phrases]`` in the
configuration adds patterns (tried before these), and a line nothing matches
is simply not an event. A line may start with a timestamp (a log written with
``%(asctime)s``): the event then has that time rather than the time it was read.

`script_options` reads the hosts, reason, kind and mode from the script's own
command line, so wrapping it needs no other argument.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.campaigns import events
from bot.campaigns.events import Kind, Mode, Step

HOST = r"(?P<host>\S+)"
CURRENT = "current"  # a phrase that only says which host the log is about


@dataclass(frozen=True)
class Phrase:
    step: str  # a Step value, or CURRENT
    pattern: re.Pattern[str]
    fields: dict[str, Any] = field(default_factory=dict)  # fixed fields of the event


def _phrase(step: str, pattern: str, **fixed: Any) -> Phrase:
    return Phrase(step, re.compile(pattern), fixed)


# Order matters: the first phrase that matches a line wins.
PHRASES: tuple[Phrase, ...] = (
    _phrase(CURRENT, rf"^checking if host {HOST} needs a reboot$"),
    _phrase(Step.NEED_CHECK, r"^reboot required: (?P<detail>.+)$", needed=True),
    _phrase(Step.NEED_CHECK, r"^no reboot required$", needed=False),
    _phrase(Step.SKIPPED, rf"^host {HOST} does not need a reboot, skipping$", detail="no reboot needed"),
    _phrase(Step.FAILED, rf"^rebooting host {HOST} failed, aborting$"),
    _phrase(CURRENT, rf"^rebooting host {HOST}$"),
    _phrase(Step.EMPTYING, rf"^ganeti node detected, migrating (?P<count>\d+) instances from {HOST}:"
                           r"\s*(?P<instances>.*)$"),
    _phrase(Step.EMPTYING, rf"^forcibly stopping all instances \((?P<count>\d+)\) on {HOST} from master"),
    _phrase(Step.EMPTY, r"^All instances migrated successfully\.$"),
    _phrase(Step.EMPTY, rf"^No primary instances on node {HOST}, exiting\.$", count=0),
    _phrase(Step.SHUTTING_DOWN, rf"^running shutdown -[rh] \+\d+ .* on {HOST}$"),
    _phrase(Step.SHUTTING_DOWN, r"^host shutting down, waiting up to \d+ seconds for confirmation"),
    _phrase(Step.DOWN, r"^host down, waiting \d+ seconds for host to go up"),
    _phrase(Step.DOWN, rf"^host {HOST} shutdown$"),
    _phrase(Step.WAITING_UNLOCK, r"^server waiting for crypto password, sleeping \d+ seconds for mandos$"),
    _phrase(Step.UP, rf"^host {HOST} rebooted$"),
    _phrase(Step.INSTANCES_BACK, r"^(?:migrating back|starting) (?P<count>\d+) instances$"),
    _phrase(Step.DONE, rf"^done with host {HOST}$"),
    _phrase(Step.FAILED, rf"^host {HOST} did not return after \d+ seconds, aborting$",
            detail="did not come back in time"),
    _phrase(Step.FAILED, r"^unexpected exception during reboot: \[.*?\] (?P<detail>.+)$"),
)
_TIMESTAMP = re.compile(r"^(\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d)(?:[.,]\d+)?\s+(?:-\s+)?")


def configured(extra: Sequence[tuple[str, str]]) -> tuple[Phrase, ...]:
    """The configured phrases (``(step, pattern)``) first, then the built-in ones."""
    return (*(_phrase(step, pattern) for step, pattern in extra), *PHRASES)


def new_id() -> str:
    return uuid.uuid4().hex[:20]


class LogReader:
    """Turns log lines into the events of one campaign."""

    def __init__(self, campaign: str, hosts: Sequence[str], phrases: Sequence[Phrase] = PHRASES,
                 clock: Callable[[], float] = time.time) -> None:
        self.campaign = campaign
        self.hosts = tuple(hosts)
        self.phrases = tuple(phrases)
        self._clock = clock
        self.current: str | None = None

    def feed(self, line: str) -> events.Event | None:
        """The event ``line`` tells, if any."""
        text = line.strip()
        when = self._clock()
        stamp = _TIMESTAMP.match(text)
        if stamp:
            when = datetime.fromisoformat(stamp.group(1).replace(" ", "T")).replace(tzinfo=UTC).timestamp()
            text = text[stamp.end():]
        for phrase in self.phrases:
            found = phrase.pattern.search(text)
            if found is None:
                continue
            groups = found.groupdict()
            host = self._host(groups.get("host"))
            if host is None:
                return None
            self.current = host
            if phrase.step == CURRENT:
                return None
            return self._event(phrase, groups, host, when)
        return None

    def _host(self, named: str | None) -> str | None:
        if named is None:
            return self.current
        if named in self.hosts:
            return named
        return next((host for host in self.hosts if host.split(".", 1)[0] == named.split(".", 1)[0]), None)

    def _event(self, phrase: Phrase, groups: dict[str, str | None], host: str, when: float) -> events.Event:
        data: dict[str, Any] = {"type": "host", "id": new_id(), "campaign": self.campaign, "time": when,
                                "host": host, "step": phrase.step, **phrase.fields}
        if groups.get("count"):
            data["count"] = int(groups["count"] or 0)
        if groups.get("instances"):
            data["instances"] = (groups["instances"] or "").replace(",", " ").split()
        if groups.get("detail"):
            data["detail"] = (groups["detail"] or "")[: events.MAX_TEXT]
        return events.parse(data)


@dataclass(frozen=True)
class ScriptOptions:
    hosts: tuple[str, ...] = ()
    reason: str = "rebooting for security upgrades"  # the script's default
    kind: Kind = Kind.REBOOT
    mode: Mode = Mode.EMPTY
    delay_up: float | None = 300.0
    delay_hosts: float | None = 120.0


_KINDS = {"-r": Kind.REBOOT, "-h": Kind.HALT, "-c": Kind.CANCEL, "reboot": Kind.REBOOT, "halt": Kind.HALT,
          "cancel": Kind.CANCEL}


def script_options(argv: Sequence[str]) -> ScriptOptions:
    """What ``./reboot -H a,b --reason ... --kind ... --ganeti-migrate-back`` will do."""
    hosts: list[str] = []
    values: dict[str, Any] = {}
    tokens = list(argv[1:])
    taking_hosts = False
    while tokens:
        token = tokens.pop(0)
        option, equals, inline = token.partition("=")
        value = inline if equals else None
        if option in ("-H", "--hosts"):
            taking_hosts = True
            if value:
                hosts.extend(name for name in value.split(",") if name)
            continue
        if taking_hosts and not token.startswith("-"):
            hosts.extend(name for name in token.split(",") if name)
            continue
        taking_hosts = False
        if option in ("--reason", "--kind", "--delay-up", "--delay-hosts") and value is None and tokens:
            value = tokens.pop(0)
        if option == "--reason" and value:
            values["reason"] = value
        elif option == "--kind" and value in _KINDS:
            values["kind"] = _KINDS[value]
        elif option in ("--delay-up", "--delay-hosts") and value and value.isdigit():
            values[option[2:].replace("-", "_")] = float(value)
        elif option == "--skip-ganeti-empty":
            values["mode"] = Mode.WITH_INSTANCES
        elif option == "--ganeti-migrate-back" and values.get("mode") is not Mode.WITH_INSTANCES:
            values["mode"] = Mode.MIGRATE_BACK
    return ScriptOptions(hosts=tuple(dict.fromkeys(hosts)), **values)
