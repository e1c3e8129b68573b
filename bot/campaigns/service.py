"""The running side of campaigns: events in, state kept, lines out, stalls noticed.

`CampaignService.submit` is the one door for events, whoever sends them: the
intake (the tooling's signed events), the bot's cluster watcher, and later
the bot's own drain and migrate-back actions, each under its own source name.
An event is checked against the ids already accepted from its source (a
replay or a re-sent queued event is a `DuplicateEvent`), applied, written to
the store with the new state, and then told: each campaign has a `Pacer`
that coalesces its lines. Observers (the watcher) hear of every change.

A restarted bot loads the running campaigns from the store, says it resumed
and at which host, and says what happened while it was away that was not
said yet; what was said before is never said again.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace

from bot.campaigns import lines, progress, stall
from bot.campaigns.announce import Pacer, Render
from bot.campaigns.events import CampaignEnded, CampaignStarted, Event, HostStep, Note
from bot.campaigns.settings import CampaignSettings
from bot.campaigns.state import Campaign, CampaignConflict, apply
from bot.campaigns.store import CampaignStore
from bot.core.announce import Announcer, Place
from bot.errors import GntbotError

log = logging.getLogger(__name__)

# (before, after, event); event None: the campaign was resumed after a restart
Observer = Callable[[Campaign | None, Campaign, Event | None], None]
RoomFinder = Callable[[Sequence[str]], Awaitable[tuple[str, ...]]]  # hosts → rooms of their clusters


class DuplicateEvent(GntbotError):
    """This source sent an event with this id before: it was taken then, not again."""


class CampaignService:
    def __init__(self, store: CampaignStore, announcer: Announcer, settings: CampaignSettings,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.announcer = announcer
        self.settings = settings
        self._clock = clock
        self._live: dict[str, Campaign] = {campaign.id: campaign for campaign in store.running()}
        self._said: dict[str, dict[str, str]] = {cid: store.said(cid) for cid in self._live}
        self._recent_notes: dict[str, dict[str, float]] = {}
        self._pacers: dict[str, Pacer] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._lock = asyncio.Lock()
        self._observers: list[Observer] = []
        self.cluster_rooms: RoomFinder | None = None
        self.history = store.past_cycles()
        self._stall_task: asyncio.Task[None] | None = None
        self.lines_said = 0

    def observe(self, observer: Observer) -> None:
        self._observers.append(observer)

    # -- life cycle --------------------------------------------------------------

    async def start(self) -> None:
        """Resume the campaigns the store says are running, and watch for stalls."""
        now = self._clock()
        for campaign in self._live.values():
            log.info("resuming campaign %s (%d of %d hosts finished)", campaign.id, campaign.finished_hosts,
                     len(campaign.hosts))
            pacer = self._pacer(campaign.id)
            pacer.put(f"resumed:{now:.3f}", _fixed(f"resumed:{now:.3f}", lines.Writer(campaign).resumed(now)))
            for host in campaign.hosts:
                self._tell_host(campaign.id, host.name)
            for observer in self._observers:
                observer(None, campaign, None)
        self._stall_task = asyncio.create_task(self._watch_stalls(), name="campaign stalls")

    async def close(self, drain: float = 0.0) -> None:
        """Stop; with ``drain`` seconds, let waiting lines go out first."""
        if drain:
            await asyncio.gather(*(pacer.drain(drain) for pacer in self._pacers.values()))
        tasks = [*self._tasks.values(), *([self._stall_task] if self._stall_task else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- events ------------------------------------------------------------------

    async def submit(self, event: Event, source: str, received: float | None = None) -> Campaign:
        """Take ``event`` from ``source``: `DuplicateEvent` or `CampaignConflict` if it cannot be."""
        async with self._lock:
            if self.store.seen(source, event.id):
                raise DuplicateEvent(f"event {event.id} from {source} was received before")
            before = self._live.get(event.campaign)
            if before is None:
                stored = self.store.load(event.campaign)
                if stored is not None:
                    raise CampaignConflict(f"campaign {event.campaign} " + (
                        "was started already" if isinstance(event, CampaignStarted) else "has ended"))
            after = apply(before, event, source)
            if isinstance(event, CampaignStarted):
                after = replace(after, rooms=await self._rooms(event))
            self.store.commit(source, event, received if received is not None else self._clock(), before, after)
            self._live[after.id] = after
            self._said.setdefault(after.id, {})
            self._tell(after, event)
            for observer in self._observers:
                observer(before, after, event)
            return after

    async def _rooms(self, event: CampaignStarted) -> tuple[str, ...]:
        rooms = list(event.rooms or self.settings.rooms)
        if self.cluster_rooms is not None:
            rooms.extend(await self.cluster_rooms(event.hosts))
        if not rooms:
            raise CampaignConflict("no room to announce this campaign in: name rooms in its start, "
                                   "or set [campaigns] rooms in the bot's configuration")
        return tuple(dict.fromkeys(rooms))

    # -- what the rooms hear --------------------------------------------------------

    def _tell(self, campaign: Campaign, event: Event) -> None:
        pacer = self._pacer(campaign.id)
        cid = campaign.id
        if isinstance(event, CampaignStarted):
            pacer.put("start", lambda: ("start", lines.Writer(self._live[cid]).start(
                self.estimate(self._live[cid]), self._clock())))
        elif isinstance(event, HostStep):
            self._tell_host(cid, event.host)
        elif isinstance(event, Note):
            text = lines.Writer(campaign).note(event.text, event.host, event.warning)
            pacer.put(f"note:{event.id}", functools.partial(self._note, cid, f"note:{event.id}", text))
        elif isinstance(event, CampaignEnded):
            pacer.put("end", lambda: ("end", lines.Writer(self._live[cid]).end()))

    def _tell_host(self, cid: str, name: str) -> None:
        campaign = self._live[cid]
        host = campaign.host(name)
        if host is None or lines.milestone(host) <= self._said_milestone(cid, name):
            return
        self._pacer(cid).put(f"host:{name}", lambda: self._host_line(cid, name),
                             hold=lines.milestone(host) < lines.FINAL)

    def _host_line(self, cid: str, name: str) -> tuple[str, str] | None:
        campaign = self._live[cid]
        host = campaign.host(name)
        assert host is not None
        milestone = lines.milestone(host)
        if milestone <= self._said_milestone(cid, name):
            return None
        now = self._clock()
        return f"host:{name}:{milestone}", lines.Writer(campaign).host(host, self.estimate(campaign, now), now)

    def _said_milestone(self, cid: str, name: str) -> int:
        said = self._said.get(cid, {})
        return max((m for m in range(1, lines.FINAL + 1) if f"host:{name}:{m}" in said), default=0)

    def _note(self, cid: str, subject: str, text: str) -> tuple[str, str] | None:
        """Free text, unless the very same was said within ``repeat_seconds``."""
        recent = self._recent_notes.setdefault(cid, {})
        now = self._clock()
        if now - recent.get(text, float("-inf")) < self.settings.repeat_seconds:
            return None
        recent[text] = now
        return subject, text

    def _pacer(self, cid: str) -> Pacer:
        pacer = self._pacers.get(cid)
        if pacer is None:
            pacer = self._pacers[cid] = Pacer(lambda subject, text: self._send(cid, subject, text),
                                               self.settings.line_interval, self.settings.hold_seconds)
            self._tasks[cid] = asyncio.create_task(pacer.run(), name=f"campaign {cid}")
        return pacer

    def _send(self, cid: str, subject: str, text: str) -> None:
        campaign = self._live[cid]
        for room in campaign.rooms:
            self.announcer.announce(Place.parse(room), [text])
        self.lines_said += 1
        now = self._clock()
        self.store.mark_said(cid, subject, text, now)
        self._said[cid][subject] = text
        if subject == "end":
            asyncio.get_running_loop().call_soon(self._retire, cid)

    def _retire(self, cid: str) -> None:
        """An ended campaign whose END line went out: it lives on in the store only."""
        self._live.pop(cid, None)
        self._said.pop(cid, None)
        self._recent_notes.pop(cid, None)
        self._pacers.pop(cid, None)
        task = self._tasks.pop(cid, None)
        if task is not None:
            task.cancel()
        self.history = self.store.past_cycles()

    # -- stalls -----------------------------------------------------------------------

    async def _watch_stalls(self) -> None:
        settings = self.settings
        period = max(0.05, min(30.0, settings.down_seconds / 4, (settings.silence_seconds or 120) / 4))
        while True:
            await asyncio.sleep(period)
            now = self._clock()
            for cid, campaign in list(self._live.items()):
                for nudge in stall.nudges(campaign, now, settings.down_seconds, settings.silence_seconds,
                                          self._said.get(cid, {})):
                    log.info("campaign %s: nudging %s (%s)", cid, campaign.owner, nudge.subject)
                    self._said[cid][nudge.subject] = nudge.text  # once, even before it is sent
                    self._pacer(cid).put(nudge.subject, _fixed(nudge.subject, nudge.text))

    # -- for the chat commands ---------------------------------------------------------

    def campaign(self, cid: str) -> Campaign | None:
        """A campaign the service follows (running, or ended with its END line still to go)."""
        return self._live.get(cid)

    def now(self) -> float:
        return self._clock()

    def running(self) -> list[Campaign]:
        return [campaign for campaign in self._live.values() if campaign.running]

    def recent(self, limit: int) -> list[Campaign]:
        return self.store.recent(limit)

    def estimate(self, campaign: Campaign, now: float | None = None) -> progress.Estimate:
        return progress.estimate(campaign, self._clock() if now is None else now, self.history)

    def idle(self) -> bool:
        """Nothing waits to be said (for tests and benchmarks)."""
        return all(pacer.idle for pacer in self._pacers.values())


def _fixed(subject: str, text: str) -> Render:
    """A line whose words are known already (a resume, a nudge)."""
    return lambda: (subject, text)


async def wait_idle(service: CampaignService, timeout: float) -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            while not service.idle():
                await asyncio.sleep(0.02)
