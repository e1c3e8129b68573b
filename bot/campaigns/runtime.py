"""Campaigns inside ``gntbot run``: the store, the service, the intake, the watcher.

Only a bot configured for campaigns (``[campaigns]`` or ``[intake]``) uses
the state store for them: the application's (which the actions opened, when
configured), else one opened here. Two bots on one state would both act, and
the store refuses that.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

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
    def __init__(self, config: Config, announcer: Announcer) -> None:
        self.config = config
        self.announcer = announcer
        self.settings = config.campaigns or CampaignSettings()
        self.service: CampaignService | None = None
        self.intake: Intake | None = None
        self.watcher: Watcher | None = None
        self._own_store: Store | None = None  # opened here (no other capability had opened the state)

    @property
    def enabled(self) -> bool:
        return self.config.campaigns is not None or self.config.intake is not None

    async def start(self, clusters: Sequence[Cluster] = (), store: Store | None = None) -> None:
        """Resume, listen; ``clusters`` (the application's, metered) are watched, ``store`` is
        the application's state if it has one open."""
        if not self.enabled:
            return
        if store is None:  # its connection belongs to this (the loop's) thread
            store = self._own_store = Store.open(self.config.bot.state_dir)
        self.service = CampaignService(CampaignStore(store), self.announcer, self.settings)
        if clusters and self.settings.watch_seconds > 0:
            self.watcher = Watcher(clusters, self.service, self.settings)
            self.watcher.attach()
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
