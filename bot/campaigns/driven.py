"""The bot-driven way into a campaign: ``!drain`` and ``!migrate-back``.

This is the campaigns' side of `bot.actions.reboots.CampaignLink`. A drain
is told in the running campaign its node is part of (one whose host is not
finished yet: the tooling's, say), or else in a campaign of its own that the
bot starts: one host, mode migrate-back, the requester as its owner, told in
the room the drain was asked in and the configured rooms. The channel then
sees a bot-driven reboot as it sees the tooling's: START, the host's lines,
END.

What the drain moves is remembered in the store, tied to the node and its
campaign: the node's primaries when the jobs were submitted, and where each
went once they ended. When the node comes back from its reboot (the cluster
watcher sees it answer again), the campaign says so and highlights the owner:
``!migrate-back`` can bring them home now. A migrate-back's outcome moves the
host on: instances back; then, in a campaign of the bot's own, done and END.

Every event goes through the service's one door (`CampaignService.submit`),
under the source ``gntbot-actions``, read by `events.parse` like the
intake's, with ids made from the request's token: an event sent again after
a restart is a duplicate and is taken once.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
from collections.abc import Callable
from typing import Any

from bot.actions.ledger import Record
from bot.actions.outcomes import Ending
from bot.actions.plan import Refusal, Remembered
from bot.campaigns import events
from bot.campaigns.checks import names_node
from bot.campaigns.events import HostStep, Step, is_room, one_line
from bot.campaigns.progress import duration
from bot.campaigns.service import CampaignService, DuplicateEvent
from bot.campaigns.state import FINISHED, Campaign, HostState
from bot.ganeti.names import short

log = logging.getLogger(__name__)

SOURCE = "gntbot-actions"
_OWNER = re.compile(r"[^\s:,]{1,64}")


def own_campaign(node: str, token: str) -> str:
    """The id of the campaign a drain starts when its node is in none: ``drain-node3-k7q2x``."""
    return f"drain-{re.sub(r'[^A-Za-z0-9.-]', '-', short(node))[:40]}-{token}"


class DrivenCampaigns:
    def __init__(self, service: CampaignService, prefix: str = "!", clock: Callable[[], float] = time.time) -> None:
        self.service = service
        self.store = service.store
        self.prefix = prefix
        self._clock = clock
        self._telling: set[asyncio.Task[None]] = set()

    def attach(self) -> None:
        self.service.observe(self._changed)

    # -- what the actions ask ----------------------------------------------------

    def remembered(self, cluster: str, node: str) -> Remembered:
        for campaign in self._running_over(node):
            host = _host(campaign, node)
            assert host is not None
            rows = tuple((name, went) for name, where, went in self.store.remembered(campaign.id, host.name)
                         if where == cluster)
            if rows:
                return Remembered(campaign.id, node, rows)
        ended = self.store.last_remembered((node, short(node)), cluster)
        name = short(node)
        if ended is not None:
            raise Refusal(f"campaign {ended.id}, which emptied {name}, has ended: nothing is remembered in a running "
                          f"one. Bring its instances back one by one ({self.prefix}migrate INSTANCE {name})")
        raise Refusal(f"nothing is remembered of {name}'s instances: no running reboot campaign emptied it "
                      f"({self.prefix}drain {name} remembers them, and so does the bot's watch over a campaign of "
                      "the reboot tooling)")

    def told_in(self, cluster: str, node: str, token: str) -> tuple[str, str]:
        joined = self._joined(node)
        if joined is not None:
            host = _host(joined, node)
            assert host is not None
            return joined.id, f"told in campaign {joined.id} (host {host.position}/{len(joined.hosts)})"
        own = own_campaign(node, token)
        return own, f"told in a campaign of its own, {own}"

    # -- what the actions did ------------------------------------------------------

    async def submitted(self, record: Record) -> None:
        if record.action != "drain":
            return
        campaign, host = await self._drain_campaign(record)
        plan = record.plan
        primaries = [move.instance for move in plan.moves] + [name for name, _ in plan.stays]
        self.store.record_primaries(campaign.id, host, record.cluster, primaries, self._clock())
        moving = [move.instance for move in plan.moves]
        await self._send(campaign.id, f"{record.token}-emptying", type="host", host=host, step="emptying",
                         count=len(moving), instances=moving or None)

    async def finished(self, record: Record, ending: Ending) -> None:
        if record.action == "drain":
            await self._drained(record, ending)
        else:
            await self._brought_back(record, ending)

    async def _drained(self, record: Record, ending: Ending) -> None:
        campaign, host = await self._drain_campaign(record)
        token = record.token
        moved = {name: ending.placement[name] for name in self.store.primaries(campaign.id, host)
                 if ending.placement.get(name, record.target) != record.target}
        self.store.record_moves(campaign.id, host, moved)
        migration = ending.submitted()[0] if record.plan.moves else None
        if migration is not None and migration.state != "success":
            detail = one_line(f"the drain failed: {migration.summary}")
            if campaign.source == SOURCE:
                await self._send(campaign.id, f"{token}-failed", type="host", host=host, step="failed", detail=detail)
                await self._send(campaign.id, f"{token}-end", type="end")
            else:
                await self._send(campaign.id, f"{token}-failed", type="note", host=host, text=detail, warning=True)
            return
        count = sum(job.state == "success" for job in ending.children())
        await self._send(campaign.id, f"{token}-empty", type="host", host=host, step="empty", count=count)

    async def _brought_back(self, record: Record, ending: Ending) -> None:
        campaign = self.service.campaign(record.plan.campaign)
        host = _host(campaign, record.target) if campaign is not None and campaign.running else None
        if campaign is None or host is None:
            return  # it ended meanwhile: the requester heard the outcome
        jobs = ending.submitted()
        back = sum(job.state == "success" and job.op == "INSTANCE_MIGRATE" for job in jobs)
        token = record.token
        await self._send(campaign.id, f"{token}-back", type="host", host=host.name, step="instances-back", count=back)
        failed = [job.summary for job in jobs if job.state != "success"]
        if failed:
            await self._send(campaign.id, f"{token}-unfinished", type="note", host=host.name, warning=True,
                             text=one_line(f"not all came back: {'; '.join(failed)}; {self.prefix}migrate-back "
                                           f"{short(record.target)} again once fixed"))
        elif campaign.source == SOURCE:
            await self._send(campaign.id, f"{token}-done", type="host", host=host.name, step="done")
            after = self.service.campaign(campaign.id)
            if after is not None and all(other.phase in FINISHED for other in after.hosts):
                await self._send(campaign.id, f"{token}-end", type="end", exit_code=0)

    # -- the node back from its reboot ---------------------------------------------------

    def _changed(self, before: Campaign | None, after: Campaign, event: object) -> None:
        """A host the bot drained is up again: its owner may bring the instances back now."""
        if not isinstance(event, HostStep) or event.step is not Step.UP or not after.running:
            return
        host = after.host(event.host)
        was = before.host(event.host) if before is not None else None
        if host is None or was is None or was.up_at is not None or host.phase in FINISHED:
            return
        waiting = [name for name, _, went in self.store.remembered(after.id, host.name) if went is not None]
        if waiting:
            task = asyncio.get_running_loop().create_task(self._tell_up(after, host, waiting))
            self._telling.add(task)
            task.add_done_callback(self._told)

    async def _tell_up(self, campaign: Campaign, host: HostState, waiting: list[str]) -> None:
        downtime = host.downtime()
        after = f" after {duration(downtime)} down" if downtime is not None else ""
        text = (f"back up{after}: {self.prefix}migrate-back {short(host.name)} brings back "
                + ", ".join(short(name) for name in waiting))
        ident = "up-" + hashlib.sha256(f"{campaign.id}\n{host.name}".encode()).hexdigest()[:20]
        await self._send(campaign.id, ident, type="note", host=host.name, text=one_line(text))

    def _told(self, task: asyncio.Task[None]) -> None:
        self._telling.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("campaigns: could not say a drained node is back", exc_info=task.exception())

    # -- campaigns and events ----------------------------------------------------------

    async def _drain_campaign(self, record: Record) -> tuple[Campaign, str]:
        """The campaign a drain is told in (its own is started if needed), and the node's host name there."""
        joined = self.service.campaign(record.plan.campaign) if record.plan.campaign else None
        host = _host(joined, record.target) if joined is not None and joined.running else None
        if joined is not None and host is not None:
            return joined, host.name
        own = own_campaign(record.target, record.token)
        if self.service.campaign(own) is None:
            reason = one_line(record.reason) or f"maintenance of {short(record.target)} (no reason given)"
            rooms = [room for room in (f"{record.realm}:{record.place}", *self.service.settings.rooms) if is_room(room)]
            await self._send(own, f"{record.token}-start", type="start", reason=reason, kind="reboot",
                             mode="migrate-back", hosts=[record.target], rooms=list(dict.fromkeys(rooms)),
                             owner=record.nick if _OWNER.fullmatch(record.nick) else record.requester)
        started = self.service.campaign(own)
        assert started is not None
        return started, record.target

    def _running_over(self, node: str) -> list[Campaign]:
        """The running campaigns that have ``node`` as a host, the latest first."""
        return sorted((campaign for campaign in self.service.running() if _host(campaign, node) is not None),
                      key=lambda campaign: campaign.started, reverse=True)

    def _joined(self, node: str) -> Campaign | None:
        """The running campaign that has not finished with ``node`` yet, if any."""
        return next((campaign for campaign in self._running_over(node)
                     if (host := _host(campaign, node)) is not None and host.phase not in FINISHED), None)

    async def _send(self, campaign: str, ident: str, **fields: Any) -> None:
        """One event from the bot, checked as the intake checks the tooling's."""
        wire = {"id": ident, "campaign": campaign, "time": self._clock(),
                **{key: value for key, value in fields.items() if value is not None}}
        try:
            await self.service.submit(events.parse(wire), SOURCE)
        except DuplicateEvent:
            log.debug("campaigns: %s was sent before (a restart)", ident)


def _host(campaign: Campaign | None, node: str) -> HostState | None:
    return next((host for host in campaign.hosts if names_node(host.name, node)), None) if campaign else None
