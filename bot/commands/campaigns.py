"""``!reboots``, ``!reboots last``, ``!reboot-plan``: reboot campaigns, followed and planned."""

from __future__ import annotations

import asyncio
import functools
import statistics
from collections.abc import Sequence
from datetime import UTC, datetime

from bot.campaigns import progress
from bot.campaigns.lines import Writer
from bot.campaigns.plan import Plan, reboot_plan
from bot.campaigns.runtime import CampaignRuntime
from bot.campaigns.state import Campaign, Phase
from bot.core.access import Permission
from bot.core.message import Reply
from bot.core.registry import Invocation, Registry
from bot.errors import GntbotError
from bot.ganeti.cluster import Cluster
from bot.ganeti.clusters import Clusters
from bot.ganeti.errors import InvalidName, RapiError, UnknownName
from bot.ganeti.names import checked_name, common_domain
from bot.ganeti.settings import CLUSTER_NAME

NOT_FOLLOWED = ("reboot campaigns are followed by the running bot (gntbot run with [campaigns] or [intake] "
                "in its configuration)")


class CampaignCommands:
    def __init__(self, runtime: CampaignRuntime, prefix: str, clusters: Clusters | None = None) -> None:
        self.runtime = runtime
        self.prefix = prefix
        self.clusters = clusters

    def register(self, registry: Registry) -> None:
        """``!reboots`` where campaigns are configured, ``!reboot-plan`` where clusters are."""
        if self.runtime.enabled:
            self._register_reboots(registry)
        if self.clusters is not None:
            self._register_plan(registry)

    def _register_reboots(self, registry: Registry) -> None:
        registry.command(
            "reboots", usage="[last [N]]", permission=Permission.READ,
            summary="the reboot campaign in progress (position, current host, ETA); 'last' lists past ones",
            details="Campaigns are announced by the reboot tooling (gntbot announce, gntbot reboot-log); "
                    "'!reboots last 5' lists the five latest that ended, with PASS/FAIL and counts.",
        )(self.reboots)

    def _register_plan(self, registry: Registry) -> None:
        registry.command(
            "reboot-plan", usage="[@cluster] [NODE...]", permission=Permission.READ,
            summary="which nodes can reboot together (like hroller), the N+1 check of each group, an estimate",
            details="Nodes in a group share no DRBD instance (nor a secondary); the master comes last and "
                    "needs a master failover first, so it is a group of its own. NODE... plans those nodes only. The estimate uses the "
                    "per-host durations of past campaigns.",
        )(self.reboot_plan)

    async def reboot_plan(self, call: Invocation) -> Reply:
        assert self.clusters is not None
        cluster_name, names = _split(call.args)
        chosen = self.clusters.select(cluster_name)
        if names and len(chosen) > 1:
            found = await self.clusters.find_node(names[0])
            chosen = (found.cluster,)
        service = self.runtime.service
        history = service.history if service is not None else []
        blocks = await asyncio.gather(*(cluster.run(functools.partial(_plan_lines, names=names, history=history))
                                        for cluster in chosen))
        return Reply.of(*(line for block in blocks for line in block))

    async def reboots(self, call: Invocation) -> Reply:
        service = self.runtime.service
        if service is None:
            return Reply.of(NOT_FOLLOWED)
        words = call.args.split()
        if not words:
            running = service.running()
            if not running:
                return Reply.of(f"no reboot campaign in progress; {self.prefix}reboots last lists the previous ones.")
            now = service.now()
            return Reply.of(*(self._running(campaign, service.estimate(campaign, now), now) for campaign in running))
        if words[0] != "last" or len(words) > 2 or (len(words) == 2 and not words[1].isdigit()):
            raise GntbotError(f"usage: {self.prefix}reboots [last [N]]")
        limit = min(int(words[1]) if len(words) == 2 else self.runtime.settings.history, 50)
        past = service.recent(max(limit, 1))
        if not past:
            return Reply.of("no reboot campaign has ended yet.")
        return Reply.of(*(_ended(campaign) for campaign in past))

    def _running(self, campaign: Campaign, found: progress.Estimate, now: float) -> str:
        writer = Writer(campaign)
        current = campaign.current
        where = f"at {writer.name(current.name)} ({current.phase})" if current is not None else "between hosts"
        left = len(campaign.hosts) - campaign.finished_hosts
        return (f"{writer.tag(current)} campaign {campaign.id} by {campaign.owner} ({campaign.reason}): {where}; "
                f"{campaign.count(Phase.DONE)} done, {campaign.count(Phase.FAILED)} failed, "
                f"{campaign.count(Phase.SKIPPED)} skipped, {left} to go — {progress.eta_text(found, now)}")


def _ended(campaign: Campaign) -> str:
    assert campaign.ended is not None
    began = datetime.fromtimestamp(campaign.started, UTC)
    outcome = "PASS" if campaign.passed else "FAIL"
    return (f"campaign {campaign.id} ({campaign.kind}, {campaign.owner}): {outcome}, {began:%Y-%m-%d %H:%M} UTC, "
            f"{progress.duration(campaign.ended - campaign.started)}: {campaign.count(Phase.DONE)} succeeded, "
            f"{campaign.count(Phase.FAILED)} failed, {campaign.count(Phase.SKIPPED)} skipped, "
            f"{campaign.untouched} untouched — {campaign.reason}")


def _split(args: str) -> tuple[str | None, list[str]]:
    """``"@gnt-fsn fsn-node-01 fsn-node-02"`` → ``("gnt-fsn", ["fsn-node-01", "fsn-node-02"])``."""
    cluster, names = None, []
    for word in args.split():
        if word.startswith("@"):
            if cluster is not None or not CLUSTER_NAME.fullmatch(word[1:]):
                raise InvalidName(f"{word[:40]!r}: name one cluster, as @name")
            cluster = word[1:]
        else:
            names.append(checked_name(word, "node name"))
    return cluster, names


def _plan_lines(cluster: Cluster, names: Sequence[str], history: Sequence[float]) -> list[str]:
    try:
        nodes, instances, info = cluster.nodes(), cluster.instances(), cluster.info()
    except RapiError as error:
        return [str(error)]
    known = [node.name for node in nodes]
    chosen = [_node_named(name, known, cluster.name) for name in names]
    plan = reboot_plan(nodes, instances, info.master, chosen)
    domain = common_domain(known)
    return [line.replace(domain, "") if domain else line for line in _plan_text(cluster.name, plan, history)]


def _node_named(name: str, known: Sequence[str], cluster: str) -> str:
    matches = [node for node in known if node == name or node.split(".", 1)[0] == name]
    if len(matches) != 1:
        raise UnknownName(f"no node {name} on @{cluster}")
    return matches[0]


def _plan_text(cluster: str, plan: Plan, history: Sequence[float]) -> list[str]:
    groups = plan.groups
    if not groups:
        return [f"{cluster}: no node to plan."]
    if history:
        per_host = statistics.median(history)
        estimate = (f"≈{progress.per_host_text(per_host)}/host from past campaigns: "
                    f"≈{progress.duration(per_host * plan.nodes)} one node at a time (as the reboot script does), "
                    f"≈{progress.duration(per_host * len(groups))} group by group")
    else:
        estimate = "no estimate: no past campaign has been recorded by this bot"
    lines = [(f"{cluster}: {plan.nodes} node(s) in {len(groups)} reboot group(s) (no two nodes of a group share "
             f"an instance; the master last); {estimate}")]
    for number, group in enumerate(groups, 1):
        listed = ", ".join(node + (" (master: fail it over first, gnt-cluster master-failover on a candidate)"
                                   if node == group.master else "") for node in group.nodes)
        check = "N+1 ok" if not group.shortfalls else "N+1 fails: " + "; ".join(group.shortfalls)
        down = f"; down with their node: {', '.join(group.going_down)}" if group.going_down else ""
        lines.append(f"group {number} ({len(group.nodes)}): {listed} — {check}{down}")
    if plan.offline:
        lines.append(f"left out (offline): {', '.join(plan.offline)}")
    return lines
