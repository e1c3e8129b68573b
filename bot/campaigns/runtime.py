"""Campaigns inside ``gntbot run``: the store, the service, the intake, the watcher,
and the bot's own drains and migrate-backs.

Only a bot configured for campaigns (``[campaigns]`` or ``[intake]``, or the
``drain`` or ``migrate-back`` action, which are told in campaigns) uses the
state store for them: the application's (which the actions opened, when
configured), else one opened here. Two bots on one state would both act, and
the store refuses that.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from bot.actions.reboots import CAMPAIGN_ACTIONS
from bot.actions.service import ActionService
from bot.campaigns.driven import DrivenCampaigns
from bot.campaigns.service import CampaignService
from bot.campaigns.settings import CampaignSettings
from bot.campaigns.store import CampaignStore
from bot.campaigns.watcher import Watcher
from bot.config import Config
from bot.core.announce import Announcer
from bot.errors import GntbotError
from bot.ganeti.cluster import Cluster
from bot.state.store import Store
from bot.web.intake import Intake

log = logging.getLogger(__name__)


class CampaignRuntime:
    def __init__(self, config: Config, announcer: Announcer,
                 actions: Callable[[], ActionService | None] = lambda: None) -> None:
        """``actions``: the application's confirmed actions, once made (their drains are told here)."""
        self.config = config
        self.announcer = announcer
        self._find_actions = actions
        self.settings = config.campaigns or CampaignSettings()
        self.service: CampaignService | None = None
        self.intake: Intake | None = None
        self.watcher: Watcher | None = None
        self._actions: ActionService | None = None  # whose drains and migrate-backs are told here
        self._own_store: Store | None = None  # opened here (no other capability had opened the state)

    @property
    def enabled(self) -> bool:
        actions = self.config.actions
        drives = actions is not None and any(actions.policy(action) for action in CAMPAIGN_ACTIONS)
        return self.config.campaigns is not None or self.config.intake is not None or drives

    async def start(self, clusters: Sequence[Cluster] = (), store: Store | None = None) -> None:
        """Resume, listen; ``clusters`` (the application's, metered) are watched, ``store`` is
        the application's state if it has one open; the actions' drains are told here."""
        if not self.enabled:
            return
        if store is None:  # its connection belongs to this (the loop's) thread
            store = self._own_store = Store.open(self.config.bot.state_dir)
        self.service = CampaignService(CampaignStore(store), self.announcer, self.settings)
        actions = self._find_actions()
        if clusters and self.settings.watch_seconds > 0:
            self.watcher = Watcher(clusters, self.service, self.settings,
                                   submitted_by_bot=actions.ledger.submitted_job if actions is not None else None)
            self.watcher.attach()
        if actions is not None:
            driven = DrivenCampaigns(self.service, self.config.bot.prefix)
            driven.attach()
            actions.follow_campaigns(driven)
            self._actions = actions
        await self.service.start()
        if self.config.intake is not None:
            self.intake = Intake(self.config.intake, self.service, self.settings)
            try:
                await self.intake.start()
            except OSError as error:
                await self.stop()
                raise GntbotError(f"cannot listen on {self.config.intake.host}:{self.config.intake.port} for "
                                  f"[intake]: {error.strerror}") from error

    async def stop(self) -> None:
        if self._actions is not None:
            self._actions.follow_campaigns(None)
            self._actions = None
        if self.intake is not None:
            await self.intake.stop()
            self.intake = None
        if self.watcher is not None:
            await self.watcher.close()
            self.watcher = None
        if self.service is not None:
            await self.service.close(drain=2.0)
            self.service = None
        if self._own_store is not None:
            self._own_store.close()
            self._own_store = None
