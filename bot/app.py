"""Assembles the bot from its configuration: capabilities, commands, dispatcher, metrics.

The dispatcher is made once and lives as long as the process, because the
transports hold it; `Application.reload` (SIGHUP) rebuilds everything behind it
from the configuration file read again (commands, access lists, runbooks,
clusters) and swaps it in at once, without touching the chat connections.

With ``[actions]`` it also opens the bot's state (pending confirmations,
watched jobs), which one running bot only may hold: a second one fails here,
naming the first one's pid. The actions and their state are set up once, at
start-up; a reload does not change them (``[actions]`` needs a restart).

A reload builds new `Cluster` objects (new settings, credentials, metering)
but hands each the worker threads of the one of the same name before it, and
the runbook commands keep theirs: what is in flight finishes, and a bot that is
reloaded a thousand times runs the same threads. The threads of a cluster the
reload removed are closed. The actions and the campaign watcher are kept, and
given the new clusters (a campaign already being watched goes on with the ones
it started with).
"""

from __future__ import annotations

import asyncio
import logging

from bot.actions.audit import AuditLog
from bot.actions.ledger import Ledger
from bot.actions.metrics import ActionMetrics
from bot.actions.service import ActionService
from bot.campaigns.metrics import CampaignCollector
from bot.campaigns.runtime import CampaignRuntime
from bot.commands import actions as action_commands
from bot.commands import help as help_commands
from bot.commands import identity
from bot.commands.campaigns import CampaignCommands
from bot.commands.cluster import ClusterCommands
from bot.commands.runbook import RunbookCommands, knowledge_workers
from bot.config import Config, load_config
from bot.core.dispatch import Dispatcher
from bot.core.message import Message, Reply
from bot.core.paging import Pager
from bot.core.registry import Registry
from bot.errors import GntbotError
from bot.ganeti.cluster import Cluster
from bot.ganeti.clusters import Clusters
from bot.ganeti.metrics import RapiMetrics
from bot.ganeti.rapi import RapiClient
from bot.knowledge.base import KnowledgeBase
from bot.knowledge.metrics import KnowledgeMetrics
from bot.metrics import Metrics
from bot.state.private import prepare_directory
from bot.state.store import Store

log = logging.getLogger(__name__)

# What a reload cannot change in a running bot: the connections, the endpoint, the state.
RESTART_ONLY = {"irc": "[irc.*]", "xmpp": "[xmpp]", "metrics": "[metrics]", "actions": "[actions]",
                "campaigns": "[campaigns]", "intake": "[intake]"}
RESTART_ONLY_BOT = ("name", "state_dir")
IDLE_WATCH_SECONDS = 30.0  # how often a switched-off runbook watcher looks whether a reload switched it on


class Application:
    """Everything a transport needs: the dispatcher, and the background upkeep."""

    def __init__(self, config: Config, knowledge: KnowledgeBase | None = None,
                 metrics: Metrics | None = None, *, act: bool = True) -> None:
        """``act=False`` leaves the actions and their state alone (``gntbot ask``,
        which may run beside the bot)."""
        self.metrics = metrics or Metrics()
        self.store: Store | None = None
        self.actions: ActionService | None = None
        self._act = act
        self.clusters: tuple[Cluster, ...] = ()
        self._knowledge_workers = knowledge_workers()
        self.knowledge_metrics = KnowledgeMetrics(self.metrics)
        self.rapi_metrics = RapiMetrics(self.metrics)
        self.reloads = self.metrics.counter(
            "config_reloads_total", "Configuration reloads (SIGHUP) by result: applied, or refused (the "
            "configuration in use stayed).", ["result"], initial=[("applied",), ("refused",)])
        self.dispatcher = Dispatcher(
            Registry(),
            config.access,
            Pager(config.bot.page_lines),
            prefix=config.bot.prefix,
            on_question=self._question,
            on_chatter=self._chatter,  # transports pass only pasted errors, where enabled
        )
        # Reboot campaigns: started by `gntbot run` (runner.serve), idle elsewhere; a restart applies
        # a change to [campaigns] or [intake].
        self.campaigns = CampaignRuntime(config, self.dispatcher.announcer, lambda: self.actions)
        self.metrics.collect(CampaignCollector(self.campaigns))
        self._install(config, knowledge or knowledge_base(config), first=True)

    def _install(self, config: Config, knowledge: KnowledgeBase, *, first: bool = False) -> None:
        """Build the commands for ``config`` and put them behind the dispatcher in one step."""
        registry = Registry()
        runbook = RunbookCommands(knowledge, config.bot.prefix, self.knowledge_metrics, self._knowledge_workers)
        threads = {cluster.name: cluster.workers for cluster in self.clusters}
        clusters = tuple(Cluster(settings, RapiClient(settings, meter=self.rapi_metrics.cluster(settings.name)),
                                 workers=threads.pop(settings.name, None))
                         for settings in config.clusters)
        self.rapi_metrics.keep_only(cluster.name for cluster in clusters)
        dispatcher = self.dispatcher
        dispatcher.registry, dispatcher.policy, dispatcher.prefix = registry, config.access, config.bot.prefix
        if dispatcher.pager.page_lines != config.bot.page_lines:
            dispatcher.pager = Pager(config.bot.page_lines)
        help_commands.register(dispatcher, config.bot.name)
        identity.register(registry, config.access)
        runbook.register(registry)
        catalogue = Clusters(clusters) if clusters else None
        if catalogue is not None:
            ClusterCommands(catalogue, config.bot.prefix).register(registry)
            self._install_actions(config, registry, catalogue, first)
        CampaignCommands(self.campaigns, config.bot.prefix, catalogue).register(registry)
        self.config, self.knowledge, self.clusters, self._runbook = config, knowledge, clusters, runbook
        self.policy = config.access
        self.knowledge_metrics.watch(knowledge)
        if self.campaigns.watcher is not None:
            self.campaigns.watcher.clusters = clusters
        for removed in threads.values():
            removed.close()

    def _install_actions(self, config: Config, registry: Registry, clusters: Clusters, first: bool) -> None:
        """The action commands; the service and its state only the first time."""
        if first and self._act and config.actions is not None:
            self.store = Store.open(config.bot.state_dir)  # refuses a second bot on the same state
            prepare_directory(config.actions.audit_file.parent, "the audit log's directory")
            self.actions = ActionService(config.actions, clusters, Ledger(self.store),
                                         AuditLog(config.actions.audit_file), self.dispatcher.announcer,
                                         ActionMetrics(self.metrics, config.actions), config.bot.prefix)
        elif self.actions is not None:
            self.actions.clusters = clusters  # the reloaded settings (credentials, timeouts)
        settings = self.actions.settings if self.actions is not None else config.actions
        action_commands.register(registry, self.actions, config.access, settings, config.bot.prefix)

    async def upkeep(self) -> None:
        """What runs beside the transports: re-reading the runbooks, and the actions'
        watching of jobs and expiry of unconfirmed requests."""
        tasks = [self.watch_runbooks()]
        if self.actions is not None:
            tasks.append(self.actions.run())
        await asyncio.gather(*tasks)

    def close(self) -> None:
        """Stop the worker threads (without waiting for a call that hangs) and close the state."""
        for cluster in self.clusters:
            cluster.workers.close()
        self._knowledge_workers.close()
        self.knowledge.close()
        if self.store is not None:
            self.store.close()
            self.store = None

    async def _question(self, message: Message) -> Reply:
        return await self._runbook.question(message)

    async def _chatter(self, message: Message) -> Reply:
        return await self._runbook.offer(message)

    async def reload(self) -> bool:
        """Read the configuration file again and apply it; False if it was refused.

        A file with errors changes nothing: the bot goes on with what it had and
        logs every error. Chat networks, ``[metrics]``, the bot's name and its
        state directory need a restart; a change there is logged as such.
        """
        source = self.config.source
        try:
            config = await asyncio.to_thread(load_config, source) if source else self.config
            same = config.knowledge == self.config.knowledge
            knowledge = self.knowledge if same else knowledge_base(config)
        except GntbotError as error:
            return self._refused(error)
        try:
            await _refreshed(knowledge, force=True)  # an operator asked: no back-off
        except GntbotError as error:
            if knowledge is not self.knowledge:
                knowledge.close()
            return self._refused(error)
        if knowledge is not self.knowledge:
            self.knowledge.close()
        for part in needs_restart(self.config, config):
            log.warning("reload: the change to %s takes effect at the next restart", part)
        self._install(config, knowledge)
        self.reloads.labels("applied").inc()
        log.info("reloaded %s: %d command(s), %d cluster(s)", source or "the built-in defaults",
                 len(list(self.dispatcher.registry)), len(self.clusters))
        return True

    def _refused(self, error: GntbotError) -> bool:
        self.reloads.labels("refused").inc()
        log.error("reload refused, the running configuration stays in use: %s", error)
        return False

    async def watch_runbooks(self) -> None:
        """Re-index whenever the runbook directory changes (e.g. after ``git pull``)."""
        while True:
            interval = self.config.knowledge.reload_seconds
            await asyncio.sleep(interval if interval > 0 else IDLE_WATCH_SECONDS)
            if interval <= 0:
                continue
            try:
                await _refreshed(self.knowledge)
            except Exception:
                self.knowledge_metrics.reload_failures.inc()
                log.exception("re-indexing the runbooks failed; the previous index stays in use")


async def _refreshed(knowledge: KnowledgeBase, force: bool = False) -> None:
    """`KnowledgeBase.refresh` in a thread; if the caller gives up waiting (it is
    cancelled: the bot is stopping), the indexer it runs is killed, not waited for."""
    try:
        await asyncio.to_thread(knowledge.refresh, force)
    except asyncio.CancelledError:
        knowledge.indexer.stop()
        raise


def knowledge_base(config: Config) -> KnowledgeBase:
    settings = config.knowledge
    return KnowledgeBase(settings.runbooks, settings.index, settings.base_url)


def needs_restart(old: Config, new: Config) -> list[str]:
    """The parts of the configuration that differ and that only a restart applies."""
    parts = [table for name, table in RESTART_ONLY.items() if getattr(old, name) != getattr(new, name)]
    parts += [f"[bot] {name}" for name in RESTART_ONLY_BOT if getattr(old.bot, name) != getattr(new.bot, name)]
    return parts
