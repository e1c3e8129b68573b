"""What ``!drain`` and ``!migrate-back`` need from the reboot campaigns.

The two actions are the bot-driven way into a campaign: a drain remembers
which instances were primaries on the node, and its campaign (the one the
node is part of, or one of its own) tells the channel; a migrate-back brings
back what was remembered. The campaigns live in `bot.campaigns`, which
implements this protocol (`bot.campaigns.driven`) when the running bot
follows campaigns; the actions only see the protocol, so they can be tested
and run without it, and refuse the two actions then.
"""

from __future__ import annotations

from typing import Protocol

from bot.actions.ledger import Record
from bot.actions.outcomes import Ending
from bot.actions.plan import Remembered

CAMPAIGN_ACTIONS = frozenset({"drain", "migrate-back"})


class CampaignLink(Protocol):
    def remembered(self, cluster: str, node: str) -> Remembered:
        """What was remembered of ``node``'s primaries, or `Refusal` saying why nothing is."""

    def told_in(self, cluster: str, node: str, token: str) -> tuple[str, str]:
        """The campaign a drain of ``node`` (request ``token``) will be told in, and how its plan says so."""

    async def submitted(self, record: Record) -> None:
        """``record``'s jobs were submitted: tell its campaign (starting one if needed)."""

    async def finished(self, record: Record, ending: Ending) -> None:
        """``record``'s jobs all ended: remember where the instances went, tell the campaign."""
