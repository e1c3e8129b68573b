"""The bot's own eyes on the clusters during a campaign (read-only RAPI).

For every host of a campaign that is a node of a configured cluster, while
the host is under way, the watcher reads every ``watch_seconds``:

- the node's ``bootid`` and live state (one node query per cluster and round):
  live data gone means the node went down; live data back means it is up, and
  an unchanged boot id then means it was *not* rebooted, which is worth saying;
  a boot id other than the first one seen (kept in the store) once the node
  is empty or shut down means it went down and came back, even if no round
  saw it down (a quick reboot, or the bot restarted meanwhile); one while it
  is still being emptied is a crash or someone else's reboot, said, and the
  new id kept;
- the job list, while the node is being emptied: its node-migrate job and the
  children it submitted (`checks.migration`), so the channel hears how many
  instances really left, and which could not, with Ganeti's reason; unless
  the bot itself submitted that job (a confirmed ``!drain``), see `_migration`;
- the instances: once, when the node is reached, which were its primaries
  (kept in the store: what a migrate-back must bring home) and what will go
  wrong (`checks.preflight`); once more before the migrate-back, whether their
  DRBD disks are in sync and whether N+1 holds.

What it sees goes into the campaign as events of its own source, through the
same door as the tooling's; a step the tooling already told changes nothing.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.campaigns import checks
from bot.campaigns.events import HostStep, Kind, Mode, Note, Step, one_line
from bot.campaigns.logwrapper import new_id
from bot.campaigns.service import CampaignService
from bot.campaigns.settings import CampaignSettings
from bot.campaigns.state import OFFLINE, Campaign, CampaignConflict, HostState, Phase
from bot.ganeti.capacity import redundancy
from bot.ganeti.cluster import Cluster
from bot.ganeti.details import disk_problems
from bot.ganeti.errors import RapiError
from bot.ganeti.jobs import JobView
from bot.ganeti.model import JobDetail
from bot.ganeti.names import listed, short
from bot.ganeti.sizes import mib

log = logging.getLogger(__name__)

SOURCE = "gntbot-watcher"
BACK_CHECK_TRIES = 3  # rounds in which RAPI may fail the look before migrating back
NODE_FIELDS = ("name", "bootid", "offline", "pinst_list")
JOB_FIELDS = ("id", "status", "summary", "ops", "received_ts")
# A new boot id in these phases is not the campaign's reboot (a crash, someone else's)...
BEFORE_SHUTDOWN = frozenset({Phase.CHECKING, Phase.EMPTYING})
# ... and in these it is: the tooling shuts the node down, or (a bot-driven !drain, where
# nothing says "shutting-down") the operator reboots it once it is empty.
REBOOTING = OFFLINE | {Phase.EMPTY}


@dataclass
class _Tracked:
    """What the watcher knows of one host (a node) of one campaign."""

    cluster: Cluster
    node: str
    bootid: str | None = None
    recorded: bool = False
    preflight_done: bool = False
    children: tuple[int, ...] | None = None  # of its node-migrate job, once that ended
    migration_told: bool = False
    went_down: bool = False
    came_up: bool = False
    back_checked: bool = False
    back_tries: int = 0
    told: set[str] = field(default_factory=set)


class Watcher:
    def __init__(self, clusters: Sequence[Cluster], service: CampaignService, settings: CampaignSettings,
                 clock: Callable[[], float] = time.time,
                 submitted_by_bot: Callable[[str, int], bool] | None = None) -> None:
        """``submitted_by_bot(cluster, job_id)``: whether that job is one of the bot's own actions
        (`bot.actions.ledger.Ledger.submitted_job`), which tell how it ended themselves; None:
        the bot runs no actions."""
        self.clusters = tuple(clusters)
        self.service = service
        self.settings = settings
        self._submitted_by_bot = submitted_by_bot
        self._clock = clock
        self._tracked: dict[tuple[str, str], _Tracked] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def attach(self) -> None:
        self.service.observe(self._changed)
        self.service.cluster_rooms = self.rooms_for

    async def close(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    async def rooms_for(self, hosts: Sequence[str]) -> tuple[str, ...]:
        """The rooms of the clusters these hosts are nodes of."""
        members = await self.membership(hosts)
        clusters = dict.fromkeys(cluster.name for cluster, _ in members.values())
        return tuple(room for name in clusters for room in self.settings.rooms_of_cluster(name))

    async def membership(self, hosts: Sequence[str]) -> dict[str, tuple[Cluster, str]]:
        """host → (its cluster, its node name), for the hosts that are nodes."""
        async def names(cluster: Cluster) -> tuple[str, ...]:
            try:
                return await cluster.run(Cluster.node_names)
            except RapiError as error:
                log.warning("campaigns: cannot list the nodes of %s: %s", cluster.name, error)
                return ()

        listings = await asyncio.gather(*(names(cluster) for cluster in self.clusters))
        found: dict[str, tuple[Cluster, str]] = {}
        for cluster, nodes in zip(self.clusters, listings, strict=True):
            for host in hosts:
                node = next((n for n in nodes if checks.names_node(host, n)), None)
                if node is not None and host not in found:
                    found[host] = (cluster, node)
        return found

    def _changed(self, before: Campaign | None, after: Campaign, event: object) -> None:
        if after.running and after.id not in self._tasks:
            self._tasks[after.id] = asyncio.create_task(self._follow(after.id), name=f"watching {after.id}")

    async def _follow(self, cid: str) -> None:
        campaign = self.service.campaign(cid)
        if campaign is None:
            return
        members = await self.membership([host.name for host in campaign.hosts])
        if not members:
            return
        log.info("campaigns: watching %d node(s) of campaign %s", len(members), cid)
        while (campaign := self.service.campaign(cid)) is not None and campaign.running:
            try:
                await self._round(campaign, members)
            except RapiError as error:
                log.warning("campaigns: %s: %s", cid, error)
            except CampaignConflict:
                return  # it ended between two looks
            except Exception:  # a bug, or an answer nobody expected: log it and keep watching
                log.exception("campaigns: watching %s failed this round", cid)
            await asyncio.sleep(self.settings.watch_seconds)
        self._tasks.pop(cid, None)

    async def _round(self, campaign: Campaign, members: dict[str, tuple[Cluster, str]]) -> None:
        by_cluster: dict[str, list[HostState]] = {}
        for host in campaign.hosts:
            if host.active and host.name in members:
                by_cluster.setdefault(members[host.name][0].name, []).append(host)
        for hosts in by_cluster.values():
            cluster = members[hosts[0].name][0]
            tracked = [self._tracked.setdefault((campaign.id, host.name), _Tracked(cluster, members[host.name][1]))
                       for host in hosts]
            rows = await cluster.run(lambda c: c.client.query("node", NODE_FIELDS))
            nodes = {row["name"]: row for row in rows}
            emptying = campaign.mode is not Mode.WITH_INSTANCES and any(not t.migration_told for t in tracked)
            jobs = await cluster.run(lambda c: c.client.query("job", JOB_FIELDS)) if emptying else []
            for host, track in zip(hosts, tracked, strict=True):
                await self._host(campaign, host, track, nodes.get(track.node), jobs)

    async def _host(self, campaign: Campaign, host: HostState, track: _Tracked, row: dict[str, Any] | None,
                    jobs: list[dict[str, Any]]) -> None:
        boot = _boot_id(row)
        store = self.service.store
        if track.bootid is None:  # the first boot id seen of the node, kept across restarts
            track.bootid = store.known_boot(campaign.id, host.name, self._node(track))
            if track.bootid is None and boot is not None:
                self._keep_boot(campaign, host, track, boot)
        if not track.recorded and row is not None and boot is not None:
            track.recorded = True
            store.record_primaries(campaign.id, host.name, track.cluster.name, row.get("pinst_list") or (),
                                   self._clock())
        if not track.preflight_done:
            track.preflight_done = True
            if host.phase in (Phase.CHECKING, Phase.EMPTYING):
                await self._preflight(campaign, host, track)
        if jobs and not track.migration_told:
            await self._migration(campaign, host, track, jobs)
        if campaign.kind is Kind.CANCEL or track.bootid is None:
            return
        await self._down_and_up(campaign, host, track, boot)
        if (campaign.mode is Mode.MIGRATE_BACK and not track.back_checked
                and (track.came_up or host.phase in (Phase.UP, Phase.INSTANCES_BACK))):
            await self._check_before_migrate_back(campaign, host, track)

    async def _down_and_up(self, campaign: Campaign, host: HostState, track: _Tracked, boot: str | None) -> None:
        """Tell the node going down and coming back, as its live data and boot id show it."""
        if boot is None:
            if not track.went_down:
                track.went_down = True
                if host.phase not in (Phase.DOWN, Phase.WAITING_UNLOCK):  # else the tooling said so already
                    await self._step(campaign, host, Step.DOWN)
            return
        if boot != track.bootid and not track.went_down:
            if host.phase in REBOOTING:
                # Down and back between two looks, or while the bot was away: nobody saw when it
                # went down, so no DOWN step (its time would make up the downtime); the tooling's
                # own, if it comes, still sets it.
                track.went_down = True
            else:
                if host.phase in BEFORE_SHUTDOWN:  # not the campaign's reboot: that one is still to come
                    await self._warn(campaign, host, "its boot id changed before the campaign shut it down "
                                                     "(a crash, or a reboot by someone else?)", once=boot)
                self._keep_boot(campaign, host, track, boot)
        if track.went_down and not track.came_up:
            track.came_up = True
            if boot == track.bootid and campaign.kind is Kind.REBOOT:
                await self._warn(campaign, host, "its node daemon answers again, but its boot id did not change: "
                                                 "it was not rebooted")
            await self._step(campaign, host, Step.UP)

    def _keep_boot(self, campaign: Campaign, host: HostState, track: _Tracked, boot: str) -> None:
        """``boot`` as the node's boot id from now on, in the store too (a restart compares with it)."""
        track.bootid = boot
        self.service.store.keep_boot(campaign.id, host.name, self._node(track), boot, self._clock())

    @staticmethod
    def _node(track: _Tracked) -> tuple[str, str]:
        return track.cluster.name, track.node

    async def _check_before_migrate_back(self, campaign: Campaign, host: HostState, track: _Tracked) -> None:
        """`_before_migrate_back`, taken again next round when RAPI failed it
        (`BACK_CHECK_TRIES` rounds at most: a cluster that keeps failing must
        not stall every later host of the campaign), then said to be impossible."""
        track.back_tries += 1
        track.back_checked = track.back_tries >= BACK_CHECK_TRIES
        try:
            await self._before_migrate_back(campaign, host, track)
        except RapiError:
            if not track.back_checked:
                raise
            await self._warn(campaign, host, f"before migrating back: its disks could not be checked (RAPI failed "
                                             f"{BACK_CHECK_TRIES} rounds in a row): check with gnt-cluster verify-disks")
        track.back_checked = True

    async def _preflight(self, campaign: Campaign, host: HostState, track: _Tracked) -> None:
        nodes, instances = await track.cluster.run(lambda c: (c.nodes(), c.instances()))
        for warning in checks.preflight(track.node, nodes, instances, campaign.mode is not Mode.WITH_INSTANCES):
            await self._warn(campaign, host, warning)

    async def _migration(self, campaign: Campaign, host: HostState, track: _Tracked, jobs: list[dict[str, Any]]) -> None:
        """How the node-migrate job of ``host`` and its children ended, told once.

        Not when the bot itself submitted that job (a confirmed ``!drain``): the action then
        owns the job. It follows the job and its children from the ledger, across restarts,
        says in the requester's room how each child ended (Ganeti's error for a failure), and
        hands the campaign the host's step (`bot.campaigns.driven`). Telling the children here
        as well would say every failure twice. The watcher tells what nobody else in the bot
        follows: the tooling's ``gnt-node migrate``.
        """
        parent = checks.parent_job(jobs, track.node, campaign.id, (host.started or 0) - 60)
        if parent is None:
            return
        if self._submitted_by_bot is not None and self._submitted_by_bot(track.cluster.name, parent["id"]):
            track.migration_told = True
            return
        if parent.get("status") == "error":
            track.migration_told = True
            await self._warn(campaign, host, f"its node-migrate job {parent['id']} failed: "
                                             f"{await self._failure(track, parent['id'])}")
            return
        if parent.get("status") != "success":
            return
        if track.children is None:
            track.children = JobView.from_rapi(await track.cluster.run(lambda c: c.client.job(parent["id"]))).child_ids
        found = checks.migration(parent, track.children, jobs)
        if not found.finished:
            return
        track.migration_told = True
        await self._step(campaign, host, Step.EMPTY, count=len(found.moved))
        for child, instance in found.failed:
            await self._warn(campaign, host, f"{short(instance)} could not migrate: {await self._failure(track, child)}")

    async def _failure(self, track: _Tracked, job_id: int) -> str:
        detail = JobDetail.from_rapi(await track.cluster.run(lambda c: c.client.job(job_id)))
        return detail.errors[0] if detail.errors else f"job {job_id} ended {detail.job.status}"

    async def _before_migrate_back(self, campaign: Campaign, host: HostState, track: _Tracked) -> None:
        cluster = track.cluster
        primaries = set(self.service.store.primaries(campaign.id, host.name))
        nodes, instances = await cluster.run(lambda c: (c.nodes(), c.instances()))
        mirrored = [instance.name for instance in instances
                    if instance.name in primaries and instance.disk_template == "drbd"]
        # The live disk status comes from an instance info job each (read users may run them).
        infos = await asyncio.gather(*(cluster.run(functools.partial(_live_info, name)) for name in mirrored))
        problems = [problem for name, info in zip(mirrored, infos, strict=True) if info is not None
                    for problem in disk_problems(name, info)]
        unknown = [short(name) for name, info in zip(mirrored, infos, strict=True) if info is None]
        if problems:
            await self._warn(campaign, host, "before migrating back: " + listed(problems, 8, "; ") +
                             " — wait for the sync (gnt-cluster verify-disks), or the migrations will fail")
        if unknown:
            await self._warn(campaign, host, "before migrating back: " +
                             listed([f"{name} disk status unknown" for name in unknown], 8, "; ") +
                             " (its info job failed or took too long) — check with gnt-cluster verify-disks")
        shortfalls = redundancy(nodes, instances).shortfalls
        if shortfalls:
            worst = shortfalls[0]
            await self._warn(campaign, host, f"before migrating back: N+1 fails on {len(shortfalls)} node pair(s), "
                                             f"e.g. {short(worst.node)} lacks {mib(worst.needed - worst.available)}"
                                             f" should {short(worst.peer)} fail")

    # -- telling the campaign --------------------------------------------------------

    async def _step(self, campaign: Campaign, host: HostState, step: Step, count: int | None = None) -> None:
        await self.service.submit(HostStep(new_id(), campaign.id, self._clock(), host.name, step, count=count), SOURCE)

    async def _warn(self, campaign: Campaign, host: HostState, text: str, once: str = "") -> None:
        """Say ``text`` of ``host``, once per ``once`` (by default: once)."""
        key = f"{host.name}:{text}:{once}"
        track = self._tracked.get((campaign.id, host.name))
        if track is not None and key in track.told:
            return
        if track is not None:
            track.told.add(key)
        await self.service.submit(Note(new_id(), campaign.id, self._clock(), one_line(text), host.name, warning=True),
                                  SOURCE)


def _boot_id(row: dict[str, Any] | None) -> str | None:
    """The node's boot id when its node daemon answers (live data), else None."""
    boot = row.get("bootid") if row is not None and not row.get("offline") else None
    return boot if isinstance(boot, str) and boot.strip() else None


def _live_info(name: str, cluster: Cluster) -> dict[str, Any] | None:
    return cluster.query_data(name, live=True)
