"""Noticing a campaign that is stuck, and saying so to its owner, once.

Two signs: a host down for longer than expected (the ``delay_up`` the tooling
announced it would wait, else ``[campaigns] down_seconds``), which is when
someone should look at its console or its disk unlock prompt; and no event
at all for ``[campaigns] silence_seconds``, which is when the tooling may
have died with nobody watching its terminal. Each nudge highlights the owner
once: its subject is remembered with what was said, and a campaign that goes
quiet again after new events gets a new silence nudge.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from bot.campaigns.lines import Writer
from bot.campaigns.state import OFFLINE, Campaign


@dataclass(frozen=True)
class Nudge:
    subject: str
    text: str


def nudges(campaign: Campaign, now: float, down_seconds: float, silence_seconds: float,
           said: Collection[str]) -> list[Nudge]:
    """The nudges ``campaign`` deserves at ``now`` that were not said yet."""
    if not campaign.running:
        return []
    writer = Writer(campaign)
    found = []
    bound = campaign.delay_up or down_seconds
    for host in campaign.hosts:
        if host.phase not in OFFLINE or host.down_since is None or now - host.down_since <= bound:
            continue
        subject = f"nudge:down:{host.name}"
        if subject not in said:
            found.append(Nudge(subject, writer.long_down(host, now - host.down_since, bound)))
    quiet = now - campaign.last_event
    subject = f"nudge:silence:{campaign.last_event:.3f}"
    if silence_seconds and quiet > silence_seconds and subject not in said:
        found.append(Nudge(subject, writer.silence(quiet)))
    return found
