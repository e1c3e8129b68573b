"""The bot's configuration: TOML → frozen dataclasses, validated at start-up.

Without a configuration file the bot runs on the shipped runbooks with a local
console: `Config.default()`. See ``config.example.toml`` for every key.
"""

from __future__ import annotations

import getpass
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from bot.configreader import ConfigError, Table
from bot.core.access import AccessPolicy, room_key
from bot.core.people import XMPP, Acl, Directory, DirectoryError
from bot.ganeti.settings import ClusterSettings, parse_clusters
from bot.metrics import MetricsSettings, parse_metrics_settings
from bot.transports.settings import IrcSettings, XmppSettings, parse_irc, parse_xmpp

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHIPPED_RUNBOOKS = PROJECT_ROOT / "runbooks"
DEFAULT_INDEX = PROJECT_ROOT / "index"


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


@dataclass(frozen=True)
class KnowledgeSettings:
    runbooks: Path = SHIPPED_RUNBOOKS
    index: Path = DEFAULT_INDEX
    base_url: str = ""
    reload_seconds: float = 30.0


@dataclass(frozen=True)
class Config:
    bot: BotSettings = BotSettings()
    knowledge: KnowledgeSettings = KnowledgeSettings()
    access: AccessPolicy = AccessPolicy()
    console_user: str = field(default_factory=getpass.getuser)
    source: Path | None = None
    clusters: tuple[ClusterSettings, ...] = ()
    irc: tuple[IrcSettings, ...] = ()
    xmpp: XmppSettings | None = None
    metrics: MetricsSettings | None = None  # None: no /metrics endpoint

    @classmethod
    def default(cls) -> Config:
        return cls()


def load_config(path: Path) -> Config:
    """Read and validate ``path``; `ConfigError` names the file and key at fault."""
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the configuration: {error.strerror}") from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from error
    root = Table(data, "", path.resolve())
    bot = _bot(root.table("bot"))
    irc = tuple(parse_irc(name, table, bot.name) for name, table in root.tables("irc"))
    xmpp = parse_xmpp(root.table("xmpp"), bot.name) if "xmpp" in data else None
    config = Config(
        bot=bot,
        knowledge=_knowledge(root.table("knowledge")),
        access=_access(root, irc, xmpp),
        console_user=_console_user(root.table("console")),
        source=path.resolve(),
        clusters=parse_clusters(root.tables("clusters")),
        irc=irc,
        xmpp=xmpp,
        metrics=parse_metrics_settings(root.table("metrics")),
    )
    root.done()
    return config


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


def _knowledge(table: Table) -> KnowledgeSettings:
    defaults = KnowledgeSettings()
    settings = KnowledgeSettings(
        runbooks=table.path("runbooks", str(defaults.runbooks)),
        index=table.path("index", str(defaults.index)),
        base_url=table.string("base_url", defaults.base_url),
        reload_seconds=table.number("reload_seconds", defaults.reload_seconds, low=0),
    )
    if settings.base_url and not settings.base_url.startswith(("https://", "http://")):
        raise table.error("base_url", f"must start with https:// or http://, not {settings.base_url!r}")
    if not settings.runbooks.is_dir():
        raise table.error("runbooks", f"{settings.runbooks} is not a directory")
    table.done()
    return settings


def _access(root: Table, irc: tuple[IrcSettings, ...], xmpp: XmppSettings | None) -> AccessPolicy:
    """``[people]``, ``[groups]`` and ``[access]``: who is who, and who may do what.

    Every room the bot is configured to be in may read cluster data there."""
    people_table, groups_table = root.table("people"), root.table("groups")
    people = {name: people_table.strings(name) for name in people_table.keys()}
    groups = {name: groups_table.strings(name) for name in groups_table.keys()}
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
    user = table.string("user", getpass.getuser())
    table.done()
    return user
