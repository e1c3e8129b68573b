"""The bot's configuration: TOML → frozen dataclasses, validated at start-up.

Without a configuration file the bot runs on the shipped runbooks with a local
console: `Config.default()`. See ``config.example.toml`` for every key.
"""

from __future__ import annotations

import os
import pwd
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.actions.settings import ActionSettings, parse_actions
from bot.campaigns.settings import (
    AnnounceSettings,
    CampaignSettings,
    IntakeSettings,
    check_cluster_rooms,
    parse_announce,
    parse_campaigns,
    parse_intake,
    parse_phrases,
)
from bot.configreader import ConfigError, Table
from bot.core.access import AccessPolicy, room_key
from bot.core.people import XMPP, Acl, Directory, DirectoryError
from bot.ganeti.settings import ClusterSettings, parse_clusters
from bot.metrics import MetricsSettings, parse_metrics_settings
from bot.transports.settings import IrcSettings, XmppSettings, parse_irc, parse_xmpp

PACKAGE = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE.parent  # of a source checkout; an installed gntbot has none


def shipped_runbooks() -> Path:
    """The runbooks that come with gntbot: bot/runbooks in an installed package
    (setup.py copies them into the wheel), else runbooks/ of the source checkout."""
    installed = PACKAGE / "runbooks"
    return installed if installed.is_dir() else PROJECT_ROOT / "runbooks"


SHIPPED_RUNBOOKS = shipped_runbooks()


def default_state_dir() -> Path:
    """Where state that must survive a restart lives when ``[bot] state_dir`` is not set:
    systemd's ``$STATE_DIRECTORY``, else ``$XDG_STATE_HOME/gntbot``, else
    ``~/.local/state/gntbot``."""
    systemd = os.environ.get("STATE_DIRECTORY", "").split(":")[0]
    if systemd:
        return Path(systemd)
    xdg = os.environ.get("XDG_STATE_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "state"
    return base / "gntbot"


@dataclass(frozen=True)
class BotSettings:
    name: str = "gntbot"
    prefix: str = "!"
    page_lines: int = 5
    log_level: str = "INFO"
    state_dir: Path = field(default_factory=default_state_dir)


def default_index() -> Path:
    """The search index lives in the state directory unless ``[knowledge] index`` says otherwise."""
    return default_state_dir() / "index"


@dataclass(frozen=True)
class KnowledgeSettings:
    runbooks: Path = SHIPPED_RUNBOOKS
    index: Path = field(default_factory=default_index)
    base_url: str = ""
    reload_seconds: float = 30.0


def local_user() -> str:
    """The name of the user the bot runs as: the console's verified account. From the
    process's uid, never from LOGNAME or USER, which anyone starting it can set."""
    return pwd.getpwuid(os.getuid()).pw_name


@dataclass(frozen=True)
class Config:
    bot: BotSettings = BotSettings()
    knowledge: KnowledgeSettings = KnowledgeSettings()
    access: AccessPolicy = field(default_factory=AccessPolicy)
    console_user: str = field(default_factory=local_user)
    source: Path | None = None
    clusters: tuple[ClusterSettings, ...] = ()
    irc: tuple[IrcSettings, ...] = ()
    xmpp: XmppSettings | None = None
    metrics: MetricsSettings | None = None  # None: no /metrics endpoint
    actions: ActionSettings | None = None  # None: no [actions] table, so no actions at all
    campaigns: CampaignSettings | None = None  # reboot campaigns (bot/campaigns/settings.py)
    intake: IntakeSettings | None = None
    announce: AnnounceSettings | None = None
    reboot_log_phrases: tuple[tuple[str, str], ...] = ()

    @classmethod
    def default(cls) -> Config:
        return cls()


NO_CLUSTERS: tuple[ClusterSettings, ...] = ()


def load_config(path: Path) -> Config:
    """Read and validate ``path``; `ConfigError` names the file and key of every problem."""
    source = path.resolve()
    root = Table(_read_toml(path), "", source)
    problems = root.problems
    part = problems.attempt
    bot = part(_bot, root.table("bot"), fallback=BotSettings())
    irc = tuple(network for name, table in root.tables("irc")
                if (network := part(parse_irc, name, table, bot.name, fallback=None)) is not None)
    part(_distinct_realms, root, irc, fallback=None)
    xmpp = part(parse_xmpp, root.table("xmpp"), bot.name, fallback=None) if "xmpp" in root else None
    clusters = tuple(cluster for name, table in root.tables("clusters")
                     for cluster in part(parse_clusters, [(name, table)], fallback=NO_CLUSTERS))
    access = part(_access, root, irc, xmpp, fallback=AccessPolicy())
    actions = (part(parse_actions, root.table("actions"), access.directory, bot.state_dir, fallback=None)
               if "actions" in root else None)
    config = Config(
        bot=bot,
        knowledge=part(_knowledge, root.table("knowledge"), bot.state_dir, fallback=KnowledgeSettings()),
        access=access,
        console_user=part(_console_user, root.table("console"), fallback=local_user()),
        source=source,
        clusters=clusters,
        irc=irc,
        xmpp=xmpp,
        metrics=part(parse_metrics_settings, root.table("metrics"), fallback=None),
        actions=actions,
        campaigns=part(parse_campaigns, root.table("campaigns"), fallback=None) if "campaigns" in root
        else None,
        intake=part(parse_intake, root.table("intake"), fallback=None),
        announce=part(parse_announce, root.table("announce"), fallback=None),
        reboot_log_phrases=part(parse_phrases, root.table("reboot_log"), fallback=()),
    )
    part(check_cluster_rooms, config.campaigns, config.clusters, source, fallback=None)
    root.done()
    problems.check()
    return config


def check_runnable(config: Config) -> None:
    """What ``gntbot run`` needs beyond a valid file: at least one chat network.

    ``check-config`` asks the same, so it refuses exactly what ``run`` refuses."""
    if not config.irc and config.xmpp is None:
        where = config.source or "the built-in defaults"
        raise ConfigError(f"{where}: no chat transport is configured: add [irc.NAME] or [xmpp] sections "
                          "(see config.example.toml); gntbot run needs one, console, ask and search do not")


def check_knowledge_paths(settings: KnowledgeSettings) -> str | None:
    """Why the runbook folder or the index cannot be used, or None (also for --runbooks/--index)."""
    if not settings.runbooks.is_dir():
        return f"runbooks: {settings.runbooks} is not a directory"
    if settings.index.exists() and not settings.index.is_dir():
        return f"index: {settings.index} is a file: name a folder for the index (it is created if absent)"
    return None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_bytes().decode("utf-8")
        return tomllib.loads(text)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the configuration: {error.strerror}") from error
    except UnicodeDecodeError as error:
        line = error.object[: error.start].count(b"\n") + 1
        raise ConfigError(f"{path}: line {line}: not UTF-8 text ({error.reason}); "
                          "save the file as UTF-8") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from error


def _distinct_realms(root: Table, irc: tuple[IrcSettings, ...]) -> None:
    """The same account name on two IRC networks may be two different people."""
    by_realm: dict[str, list[str]] = {}
    for network in irc:
        by_realm.setdefault(network.realm, []).append(network.network)
    for realm, networks in by_realm.items():
        if len(networks) > 1:
            root.report(f"irc.{networks[1]}.realm",
                        f"[irc.{networks[0]}] and [irc.{networks[1]}] both give principals as "
                        f'"{realm}:account"; set a distinct realm in each (e.g. realm = "irc-{networks[1]}")')


def _bot(table: Table) -> BotSettings:
    defaults = BotSettings()
    settings = BotSettings(
        name=table.string("name", defaults.name),
        prefix=table.string("prefix", defaults.prefix),
        page_lines=table.integer("page_lines", defaults.page_lines, low=1, high=50),
        log_level=table.string("log_level", defaults.log_level, choices=("DEBUG", "INFO", "WARNING", "ERROR")),
        state_dir=table.path("state_dir", str(defaults.state_dir)),
    )
    if not settings.prefix or " " in settings.prefix:
        raise table.error("prefix", "must be a non-empty string without spaces")
    if not settings.name.strip():
        raise table.error("name", "must not be empty")
    table.done()
    return settings


def _knowledge(table: Table, state_dir: Path) -> KnowledgeSettings:
    defaults = KnowledgeSettings()
    settings = KnowledgeSettings(
        runbooks=table.path("runbooks", str(defaults.runbooks)),
        index=table.path("index", str(state_dir / "index")),
        base_url=table.string("base_url", defaults.base_url),
        reload_seconds=table.number("reload_seconds", defaults.reload_seconds, low=0),
    )
    if settings.base_url and not settings.base_url.startswith(("https://", "http://")):
        raise table.error("base_url", f"must start with https:// or http://, not {settings.base_url!r}")
    table.done()
    problem = check_knowledge_paths(settings)
    if problem is not None:
        key, _, text = problem.partition(": ")
        raise table.error(key, text)
    return settings


def _access(root: Table, irc: tuple[IrcSettings, ...], xmpp: XmppSettings | None) -> AccessPolicy:
    """``[people]``, ``[groups]`` and ``[access]``: who is who, and who may do what.

    Every room the bot is configured to be in may read cluster data there."""
    people_table, groups_table = root.table("people"), root.table("groups")
    people = {name: people_table.strings(name) for name in people_table.names()}
    groups = {name: groups_table.strings(name) for name in groups_table.names()}
    try:
        directory = Directory(people, groups)
    except DirectoryError as error:
        raise root.error("people" if not groups else "people/groups", str(error)) from error
    people_table.done()
    groups_table.done()
    table = root.table("access")
    lists = {}
    for key in ("operators", "readers"):
        try:
            lists[key] = Acl.parse(table.strings(key, ()), directory)
        except DirectoryError as error:
            raise table.error(key, str(error)) from error
    table.done()
    rooms = [room_key(settings.realm, room.name) for settings in irc for room in settings.chat.rooms]
    if xmpp is not None:
        rooms.extend(room_key(XMPP, room.name) for room in xmpp.chat.rooms)
    return AccessPolicy(directory, lists["operators"], lists["readers"], frozenset(rooms))


def _console_user(table: Table) -> str:
    user = table.string("user", local_user())
    table.done()
    return user
