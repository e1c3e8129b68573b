"""``!reboots``, ``!reboots last``: reboot campaigns, as the running bot follows them."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.campaigns import progress
from bot.campaigns.lines import Writer
from bot.campaigns.runtime import CampaignRuntime
from bot.campaigns.state import Campaign, Phase
from bot.core.access import Permission
from bot.core.message import Reply
from bot.core.registry import Invocation, Registry
from bot.errors import GntbotError

NOT_FOLLOWED = ("reboot campaigns are followed by the running bot (gntbot run with [campaigns] or [intake] "
                "in its configuration)")


class CampaignCommands:
    def __init__(self, runtime: CampaignRuntime, prefix: str) -> None:
        self.runtime = runtime
        self.prefix = prefix

    def register(self, registry: Registry) -> None:
        registry.command(
            "reboots", usage="[last [N]]", permission=Permission.READ,
            summary="the reboot campaign in progress (position, current host, ETA); 'last' lists past ones",
            details="Campaigns are announced by the reboot tooling (gntbot announce, gntbot reboot-log); "
                    "'!reboots last 5' lists the five latest that ended, with PASS/FAIL and counts.",
        )(self.reboots)

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
