"""The bot's configuration: TOML → frozen dataclasses, validated at start-up.

Without a configuration file the bot runs on the shipped runbooks with a local
console: `Config.default()`. See ``config.example.toml`` for every key.
"""

from __future__ import annotations

import getpass
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from bot.configreader import ConfigError, Table
from bot.ganeti.settings import ClusterSettings, parse_clusters
from bot.transports.settings import IrcSettings, XmppSettings, parse_irc, parse_xmpp

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHIPPED_RUNBOOKS = PROJECT_ROOT / "runbooks"
DEFAULT_INDEX = PROJECT_ROOT / "index"


@dataclass(frozen=True)
class BotSettings:
    name: str = "gntbot"
    prefix: str = "!"
    page_lines: int = 5
    log_level: str = "INFO"


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
    operators: frozenset[str] = frozenset()
    console_user: str = field(default_factory=getpass.getuser)
    source: Path | None = None
    clusters: tuple[ClusterSettings, ...] = ()
    irc: tuple[IrcSettings, ...] = ()
    xmpp: XmppSettings | None = None

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
    config = Config(
        bot=bot,
        knowledge=_knowledge(root.table("knowledge")),
        operators=_operators(root.table("access")),
        console_user=_console_user(root.table("console")),
        source=path.resolve(),
        clusters=parse_clusters(root.tables("clusters")),
        irc=tuple(parse_irc(name, table, bot.name) for name, table in root.tables("irc")),
        xmpp=parse_xmpp(root.table("xmpp"), bot.name) if "xmpp" in data else None,
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


def _operators(table: Table) -> frozenset[str]:
    operators = table.strings("operators", ())
    for operator in operators:
        transport, _, account = operator.partition(":")
        if not transport or not account:
            raise table.error("operators", f"{operator!r} is not of the form transport:account (e.g. irc:alice)")
    table.done()
    return frozenset(operators)


def _console_user(table: Table) -> str:
    user = table.string("user", getpass.getuser())
    table.done()
    return user
