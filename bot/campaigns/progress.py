"""How far a campaign has got, and when it will be done.

A host's *cycle* is the time from the end of the host before it (or the
campaign's start, for the first) to its own end: the pause between hosts and
the need check are part of it, as they are part of the wait. The time per
host is the median of the cycles of the hosts done so far: one host that
hung at its disk unlock prompt for an hour does not make every later ETA an
hour late, as an average would. Before any host is done the bot has no
data of this campaign; it then uses past campaigns' cycles if the store has
some, and says which, or it says it has no estimate yet.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.campaigns.state import FINISHED, Campaign, Phase

NO_DATA = "no ETA yet (no host done)"


@dataclass(frozen=True)
class Estimate:
    per_host: float | None  # seconds
    eta: float | None  # epoch seconds
    basis: str  # "" (this campaign's hosts), "past campaigns", or "" with no estimate


def cycles(campaign: Campaign) -> list[float]:
    """Seconds each host that is done took, pauses included, in the order they ended."""
    ended = sorted((host for host in campaign.hosts if host.phase in FINISHED and host.finished is not None),
                   key=lambda host: host.finished or 0.0)
    previous = campaign.started
    result = []
    for host in ended:
        assert host.finished is not None
        if host.phase is Phase.DONE:
            result.append(max(0.0, host.finished - previous))
        previous = max(previous, host.finished)
    return result


def estimate(campaign: Campaign, now: float, history: Sequence[float] = ()) -> Estimate:
    """The ETA of ``campaign`` at ``now``; ``history`` holds past campaigns' cycles."""
    own = cycles(campaign)
    samples, basis = (own, "") if own else (list(history), "past campaigns")
    if not samples:
        return Estimate(None, None, "")
    per_host = statistics.median(samples)
    if not campaign.running:
        return Estimate(per_host, campaign.ended, basis)
    pending = campaign.count(Phase.PENDING)
    current = campaign.current
    left = pending * per_host
    if current is not None:
        left += max(0.0, per_host - (now - _cycle_start(campaign)))
    return Estimate(per_host, now + left, basis)


def _cycle_start(campaign: Campaign) -> float:
    ends = [host.finished for host in campaign.hosts if host.finished is not None]
    return max([campaign.started, *ends])


def percent(campaign: Campaign) -> int:
    return round(100 * campaign.finished_hosts / len(campaign.hosts)) if campaign.hosts else 100


def eta_text(found: Estimate, now: float) -> str:
    """``ETA 16:40 UTC (≈19 min/host)``, or the honest lack of one."""
    if found.eta is None or found.per_host is None:
        return NO_DATA
    basis = f", from {found.basis}" if found.basis else ""
    return f"ETA {clock(found.eta, now)} (≈{per_host_text(found.per_host)}/host{basis})"


def clock(when: float, now: float) -> str:
    """A time of day in UTC; with the weekday when it is not today."""
    moment, today = datetime.fromtimestamp(when, UTC), datetime.fromtimestamp(now, UTC)
    return moment.strftime("%H:%M UTC" if moment.date() == today.date() else "%a %H:%M UTC")


def per_host_text(seconds: float) -> str:
    minutes = seconds / 60
    return f"{minutes:.0f} min" if minutes >= 1 else f"{seconds:.0f} s"


def duration(seconds: float) -> str:
    """``45s``, ``4m12s``, ``1h05m``, ``2d03h``."""
    whole = round(max(0.0, seconds))
    if whole < 60:
        return f"{whole}s"
    minutes, rest = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m{rest:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"
