"""The words the channel sees: START, a few lines per host, END.

Each host gets at most three lines, one per *milestone*: it is being emptied,
it is going down (or is down, or back up), and it is finished (done, failed,
skipped). A line is written from the host's state when it is sent, not when
its event came in, so a host that moved on while its line waited is told as
it is now ("down after migrating 5 instances off" rather than two lines).
Host names lose the domain they all share, as in the cluster listings.
"""

from __future__ import annotations

from bot.campaigns import progress
from bot.campaigns.events import Kind, Mode
from bot.campaigns.state import Campaign, HostState, Phase
from bot.ganeti.names import common_domain, strip_domain

MILESTONES = {
    Phase.EMPTYING: 1, Phase.EMPTY: 1,
    Phase.SHUTTING_DOWN: 2, Phase.DOWN: 2, Phase.WAITING_UNLOCK: 2, Phase.UP: 2, Phase.INSTANCES_BACK: 2,
    Phase.DONE: 3, Phase.FAILED: 3, Phase.SKIPPED: 3,
}
FINAL = 3


def milestone(host: HostState) -> int:
    """0 (nothing worth a line yet), 1, 2 or 3 (finished)."""
    return MILESTONES.get(host.phase, 0)


class Writer:
    """Lines about one campaign."""

    def __init__(self, campaign: Campaign) -> None:
        self.campaign = campaign
        self.domain = common_domain(host.name for host in campaign.hosts) if len(campaign.hosts) > 1 else ""

    def name(self, host: str) -> str:
        return strip_domain(host, self.domain)

    def tag(self, host: HostState | None = None) -> str:
        campaign = self.campaign
        if host is None:
            return f"[{campaign.kind}]"
        return f"[{campaign.kind} {host.position}/{len(campaign.hosts)} {progress.percent(campaign)}%]"

    # -- the campaign ------------------------------------------------------------

    def start(self, estimate: progress.Estimate, now: float) -> str:
        campaign = self.campaign
        count = len(campaign.hosts)
        what = {Mode.EMPTY: "nodes emptied first", Mode.WITH_INSTANCES: "instances rebooted with their node",
                Mode.MIGRATE_BACK: "instances migrated off and back"}[campaign.mode]
        rooms = ", ".join(campaign.rooms) or "nowhere"
        return (f"{self.tag()} START {campaign.owner}: {campaign.kind} of {count} host{_s(count)} ({what}), "
                f"reason: {campaign.reason} — campaign {campaign.id}, in {rooms} — "
                f"{progress.eta_text(estimate, now)}")

    def end(self) -> str:
        campaign = self.campaign
        assert campaign.ended is not None
        outcome = "PASS" if campaign.passed else "FAIL"
        counts = (f"{campaign.count(Phase.DONE)} succeeded, {campaign.count(Phase.FAILED)} failed, "
                  f"{campaign.count(Phase.SKIPPED)} skipped, {campaign.untouched} untouched")
        failed = [f"{self.name(host.name)} ({host.detail or 'no reason given'})"
                  for host in campaign.hosts if host.phase is Phase.FAILED]
        extra = f"; failed: {', '.join(failed)}" if failed else ""
        if campaign.exit_code:
            extra += f"; the tooling exited with status {campaign.exit_code}"
        return (f"{self.tag()} END ({outcome}) campaign {campaign.id} after "
                f"{progress.duration(campaign.ended - campaign.started)}: {counts}{extra}")

    def resumed(self, now: float) -> str:
        campaign = self.campaign
        current = campaign.current
        where = (f"at {self.name(current.name)} ({current.phase})" if current is not None
                 else f"after {campaign.finished_hosts} of {len(campaign.hosts)} hosts")
        return f"{self.tag(current)} gntbot restarted: resuming campaign {campaign.id} {where}"

    def note(self, text: str, host: str, warning: bool) -> str:
        state = self.campaign.host(host) if host else None
        about = f"{self.name(host)}: " if host else ""
        who = "warning" if warning else self.campaign.owner
        return f"{self.tag(state)} {who}: {about}{text}"

    # -- one host ---------------------------------------------------------------

    def host(self, host: HostState, estimate: progress.Estimate, now: float) -> str:
        """The line for ``host`` as it is now (see the module docstring)."""
        text = self._host_text(host, now)
        if milestone(host) == FINAL:
            text += f" — {progress.eta_text(estimate, now)}" if self.campaign.finished_hosts < len(
                self.campaign.hosts) else ""
        return f"{self.tag(host)} {text}"

    def _host_text(self, host: HostState, now: float) -> str:
        name = self.name(host.name)
        phase = host.phase
        if phase is Phase.SKIPPED:
            return f"{name} skipped: {host.detail or 'no reboot needed'}"
        if phase is Phase.FAILED:
            return f"{name} FAILED: {host.detail or 'the tooling gave no reason'}"
        if phase is Phase.DONE:
            return self._done(host, name)
        if phase in (Phase.EMPTYING, Phase.EMPTY):
            return f"{name}: {self._emptied(host, phase is Phase.EMPTY)}"
        moved = self._emptied(host, True) + ", " if host.to_move or host.moved else ""
        if phase is Phase.SHUTTING_DOWN:
            return f"{name}: {moved}shutting down ({self.campaign.kind})"
        if phase is Phase.DOWN:
            limit = f" (up to {progress.duration(self.campaign.delay_up)})" if self.campaign.delay_up else ""
            return f"{name}: {moved}down, waiting for it to come back{limit}"
        if phase is Phase.WAITING_UNLOCK:
            return f"{name}: {moved}waiting at its disk unlock prompt (mandos)"
        downtime = host.downtime()
        after = f" after {progress.duration(downtime)}" if downtime is not None else ""
        back = f", {self._bringing_back(host)}" if host.to_move else ""
        return f"{name} back up{after}{back}"

    def _emptied(self, host: HostState, done: bool) -> str:
        count = host.moved if done and host.moved is not None else host.to_move
        noun = f"{count} instance{_s(count)}" if count is not None else "its instances"
        if self.campaign.mode is Mode.WITH_INSTANCES:
            return f"{noun} stopped, to reboot with it" if done else f"stopping {noun}, they reboot with it"
        return f"{noun} migrated off" if done else f"migrating {noun} off"

    def _bringing_back(self, host: HostState) -> str:
        if self.campaign.mode is Mode.WITH_INSTANCES:
            return "starting its instances"
        if self.campaign.mode is Mode.MIGRATE_BACK:
            return "migrating its instances back"
        return "its instances stay where they went"

    def _done(self, host: HostState, name: str) -> str:
        took = progress.duration((host.finished or 0) - (host.started or host.finished or 0))
        downtime = host.downtime()
        parts = [f"{name} done in {took}" + (f" (down {progress.duration(downtime)})" if downtime else "")]
        if self.campaign.kind is Kind.HALT:
            parts = [f"{name} halted after {took}"]
        if host.back is not None:
            verb = "restarted" if self.campaign.mode is Mode.WITH_INSTANCES else "migrated back"
            parts.append(f"{host.back} instance{_s(host.back)} {verb}")
        elif host.moved is not None or host.to_move is not None:
            parts.append(self._emptied(host, True))
        return ", ".join(parts)

    # -- nudges -----------------------------------------------------------------------

    def long_down(self, host: HostState, seconds: float, bound: float) -> str:
        return (f"{self.campaign.owner}: {self.tag(host)} {self.name(host.name)} has been down for "
                f"{progress.duration(seconds)}, longer than the {progress.duration(bound)} expected: "
                f"is it stuck (disk unlock prompt, console, BIOS)?")

    def silence(self, seconds: float) -> str:
        current = self.campaign.current
        last = f" (last: {self.name(current.name)} {current.phase})" if current is not None else ""
        return (f"{self.campaign.owner}: {self.tag(current)} no news from campaign {self.campaign.id} for "
                f"{progress.duration(seconds)}{last}: is the tooling still running?")


def _s(count: int | None) -> str:
    return "" if count == 1 else "s"
