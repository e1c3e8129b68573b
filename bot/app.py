"""Assembles the bot from its configuration: capabilities, commands, dispatcher."""

from __future__ import annotations

import asyncio
import logging

from bot.commands import help as help_commands
from bot.commands import cluster, identity
from bot.commands.runbook import RunbookCommands
from bot.config import Config
from bot.core.dispatch import Dispatcher
from bot.core.paging import Pager
from bot.core.registry import Registry
from bot.knowledge.base import KnowledgeBase

log = logging.getLogger(__name__)


class Application:
    """Everything a transport needs: the dispatcher, and the background upkeep."""

    def __init__(self, config: Config, knowledge: KnowledgeBase | None = None) -> None:
        self.config = config
        settings = config.knowledge
        self.knowledge = knowledge or KnowledgeBase(settings.runbooks, settings.index, settings.base_url)
        self.policy = config.access
        registry = Registry()
        runbook = RunbookCommands(self.knowledge, config.bot.prefix)
        self.dispatcher = Dispatcher(
            registry,
            self.policy,
            Pager(config.bot.page_lines),
            prefix=config.bot.prefix,
            on_question=runbook.question,
            on_chatter=runbook.offer,  # transports pass only pasted errors, where enabled
        )
        help_commands.register(self.dispatcher, config.bot.name)
        identity.register(registry, self.policy)
        runbook.register(registry)
        if config.clusters:
            cluster.register(registry, config.clusters, config.bot.prefix)

    async def watch_runbooks(self) -> None:
        """Re-index whenever the runbook directory changes (e.g. after ``git pull``)."""
        interval = self.config.knowledge.reload_seconds
        if interval <= 0:
            return
        while True:
            await asyncio.sleep(interval)
            try:
                await asyncio.to_thread(self.knowledge.refresh)
            except Exception:
                log.exception("re-indexing the runbooks failed; the previous index stays in use")
