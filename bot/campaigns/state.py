"""Where a campaign stands: each host's phase and times, and the campaign's outcome.

`apply` is the one way a campaign changes: it takes the current `Campaign`
(or None before the start) and an event, and returns the new one. It is a
pure function, so the same events give the same state whether they come from
the intake, from the bot's own watcher, or from the store after a restart.

A host only moves forward (pending → checking → emptying → empty → shutting
down → down → waiting for unlock → up → instances back → done, or skipped, or
failed): a step it has passed, sent again by a second source (the script
says "down", the watcher saw it too) changes nothing but may add what it
knows (how many instances moved). Once a host is done, skipped or failed,
later steps for it are ignored.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from bot.campaigns.events import (
    CampaignEnded,
    CampaignStarted,
    Event,
    HostStep,
    Kind,
    Mode,
    Note,
    Step,
)
from bot.errors import GntbotError


class CampaignConflict(GntbotError):
    """An event that does not fit the campaign as the bot knows it."""


class Phase(enum.StrEnum):
    PENDING = "pending"
    CHECKING = "checking"
    EMPTYING = "emptying"
    EMPTY = "empty"
    SHUTTING_DOWN = "shutting-down"
    DOWN = "down"
    WAITING_UNLOCK = "waiting-unlock"
    UP = "up"
    INSTANCES_BACK = "instances-back"
    DONE = "done"
    SKIPPED = "skipped"
    FAILED = "failed"


ORDER = (Phase.PENDING, Phase.CHECKING, Phase.EMPTYING, Phase.EMPTY, Phase.SHUTTING_DOWN, Phase.DOWN,
         Phase.WAITING_UNLOCK, Phase.UP, Phase.INSTANCES_BACK)
RANK = {phase: rank for rank, phase in enumerate(ORDER)}
FINISHED = frozenset({Phase.DONE, Phase.SKIPPED, Phase.FAILED})
OFFLINE = frozenset({Phase.SHUTTING_DOWN, Phase.DOWN, Phase.WAITING_UNLOCK})  # the host is (going) away
STEP_PHASE = {
    Step.NEED_CHECK: Phase.CHECKING, Step.SKIPPED: Phase.SKIPPED, Step.EMPTYING: Phase.EMPTYING,
    Step.EMPTY: Phase.EMPTY, Step.SHUTTING_DOWN: Phase.SHUTTING_DOWN, Step.DOWN: Phase.DOWN,
    Step.WAITING_UNLOCK: Phase.WAITING_UNLOCK, Step.UP: Phase.UP, Step.INSTANCES_BACK: Phase.INSTANCES_BACK,
    Step.DONE: Phase.DONE, Step.FAILED: Phase.FAILED,
}


@dataclass(frozen=True)
class HostState:
    name: str
    position: int  # 1-based, in the campaign's order
    phase: Phase = Phase.PENDING
    started: float | None = None  # its first event
    down_since: float | None = None
    up_at: float | None = None
    finished: float | None = None
    to_move: int | None = None  # instances the tooling said it would move or stop
    instances: tuple[str, ...] = ()
    moved: int | None = None  # instances that did leave (the tooling's or the watcher's count)
    back: int | None = None  # instances brought back (migrated back or restarted)
    unlock_wait: bool = False  # it waited at the disk unlock prompt
    detail: str = ""  # why it was skipped or failed, what the need check found

    @property
    def finished_ok(self) -> bool:
        return self.phase in (Phase.DONE, Phase.SKIPPED)

    @property
    def active(self) -> bool:
        return self.phase not in FINISHED and self.phase is not Phase.PENDING

    def downtime(self) -> float | None:
        if self.down_since is None or self.up_at is None:
            return None
        return max(0.0, self.up_at - self.down_since)


@dataclass(frozen=True)
class Campaign:
    id: str
    source: str
    reason: str
    kind: Kind
    mode: Mode
    owner: str
    rooms: tuple[str, ...]
    hosts: tuple[HostState, ...]
    started: float
    last_event: float
    delay_up: float | None = None
    delay_hosts: float | None = None
    ended: float | None = None
    exit_code: int | None = None
    end_detail: str = ""

    def host(self, name: str) -> HostState | None:
        for host in self.hosts:
            if host.name == name:
                return host
        return None

    @property
    def running(self) -> bool:
        return self.ended is None

    @property
    def current(self) -> HostState | None:
        """The host being worked on (the first active one), if any."""
        return next((host for host in self.hosts if host.active), None)

    @property
    def finished_hosts(self) -> int:
        return sum(host.phase in FINISHED for host in self.hosts)

    def count(self, *phases: Phase) -> int:
        return sum(host.phase in phases for host in self.hosts)

    @property
    def untouched(self) -> int:
        """Hosts never started (pending), and, once ended, hosts left half-way."""
        pending = self.count(Phase.PENDING)
        return pending if self.running else pending + sum(host.active for host in self.hosts)

    @property
    def passed(self) -> bool:
        """PASS: every host done or skipped, and the tooling exited 0 (if it said)."""
        return (all(host.finished_ok for host in self.hosts) and not self.exit_code)


def apply(campaign: Campaign | None, event: Event, source: str) -> Campaign:
    """The campaign after ``event``; `CampaignConflict` if it does not fit."""
    if isinstance(event, CampaignStarted):
        if campaign is not None:
            raise CampaignConflict(f"campaign {event.campaign} was started already")
        return _started(event, source)
    if campaign is None:
        raise CampaignConflict(f"no campaign {event.campaign}: send its start first")
    if not campaign.running:
        raise CampaignConflict(f"campaign {campaign.id} has ended")
    campaign = replace(campaign, last_event=max(campaign.last_event, event.time))
    if isinstance(event, HostStep):
        return _host_step(campaign, event)
    if isinstance(event, CampaignEnded):
        return replace(campaign, ended=event.time, exit_code=event.exit_code, end_detail=event.detail)
    if isinstance(event, Note) and event.host and campaign.host(event.host) is None:
        raise CampaignConflict(f"host {event.host} is not in campaign {campaign.id}")
    return campaign


def _started(event: CampaignStarted, source: str) -> Campaign:
    return Campaign(
        id=event.campaign, source=source, reason=event.reason, kind=event.kind, mode=event.mode,
        owner=event.owner, rooms=event.rooms,
        hosts=tuple(HostState(name, position) for position, name in enumerate(event.hosts, 1)),
        started=event.time, last_event=event.time, delay_up=event.delay_up, delay_hosts=event.delay_hosts)


def _host_step(campaign: Campaign, event: HostStep) -> Campaign:
    host = campaign.host(event.host)
    if host is None:
        raise CampaignConflict(f"host {event.host} is not in campaign {campaign.id}")
    if host.phase in FINISHED:
        return campaign
    changed = advance(host, event)
    hosts = tuple(changed if other.name == host.name else other for other in campaign.hosts)
    return replace(campaign, hosts=hosts)


def advance(host: HostState, event: HostStep) -> HostState:
    """``host`` after one of its steps (see the module docstring)."""
    phase = STEP_PHASE[event.step]
    when = event.time
    changes: dict[str, object] = {"started": host.started if host.started is not None else when}
    if phase in FINISHED:
        changes.update(phase=phase, finished=when)
    elif RANK[phase] > RANK[host.phase]:
        changes["phase"] = phase
    step = event.step
    if event.detail and step in (Step.NEED_CHECK, Step.SKIPPED, Step.FAILED):
        changes["detail"] = event.detail
    if step is Step.EMPTYING:
        changes["to_move"] = event.count if event.count is not None else len(event.instances) or host.to_move
        changes["instances"] = event.instances or host.instances
    elif step is Step.EMPTY and event.count is not None:
        changes["moved"] = event.count
    elif step is Step.INSTANCES_BACK and event.count is not None:
        changes["back"] = event.count
    elif step is Step.DOWN and host.down_since is None:
        changes["down_since"] = when
    elif step is Step.WAITING_UNLOCK:
        changes.update(unlock_wait=True, down_since=host.down_since if host.down_since is not None else when)
    elif step is Step.UP and host.up_at is None:
        changes["up_at"] = when
    return replace(host, **changes)  # type: ignore[arg-type]
