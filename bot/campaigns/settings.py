"""Configuration of reboot campaigns: ``[campaigns]``, ``[intake]``, ``[announce]``, ``[reboot_log]``.

- ``[campaigns]``: where campaigns are announced and how they are paced,
  when a stall is worth a nudge, how often the bot looks at the clusters;
- ``[intake]``: the HTTP endpoint in ``gntbot run`` that takes signed events,
  with one ``[intake.sources.NAME]`` (and its own secret) per sender;
- ``[announce]``: where ``gntbot announce`` and ``gntbot reboot-log`` send them;
- ``[reboot_log.phrases]``: more log phrases for the log wrapper.

Every key is documented in ``config.example.toml``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from bot.campaigns.events import Step, is_room
from bot.configreader import ConfigError, Table
from bot.ganeti.settings import ClusterSettings

SOURCE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
MIN_SECRET = 16


@dataclass(frozen=True)
class CampaignSettings:
    rooms: tuple[str, ...] = ()  # realm:room, for campaigns that name none
    cluster_rooms: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (cluster, rooms): also told of its nodes
    line_interval: float = 2.0
    hold_seconds: float = 5.0
    repeat_seconds: float = 300.0
    down_seconds: float = 900.0
    silence_seconds: float = 1800.0
    watch_seconds: float = 15.0  # 0: the bot does not read the clusters during campaigns
    history: int = 10  # campaigns "!reboots last" lists

    def rooms_of_cluster(self, cluster: str) -> tuple[str, ...]:
        return next((rooms for name, rooms in self.cluster_rooms if name == cluster), ())

    @property
    def all_rooms(self) -> frozenset[str]:
        return frozenset(self.rooms) | {room for _, rooms in self.cluster_rooms for room in rooms}


@dataclass(frozen=True)
class Source:
    """One sender of events, with its own secret and the rooms it may announce in."""

    name: str
    secret: bytes = field(repr=False)
    rooms: tuple[str, ...] = ()  # empty: the rooms of [campaigns]


@dataclass(frozen=True)
class IntakeSettings:
    host: str
    port: int
    sources: tuple[Source, ...]
    tls_cert: Path | None = None
    tls_key: Path | None = None
    max_body: int = 16384
    skew_seconds: float = 300.0

    def source(self, name: str) -> Source | None:
        return next((source for source in self.sources if source.name == name), None)


@dataclass(frozen=True)
class AnnounceSettings:
    """Where the client sends events; ``queue`` keeps what could not be delivered."""

    url: str
    source: str
    secret: bytes = field(repr=False)
    queue: Path | None = None
    timeout: float = 3.0
    ca_file: Path | None = None


def parse_campaigns(table: Table) -> CampaignSettings:
    defaults = CampaignSettings()
    cluster_table = table.table("cluster_rooms")
    cluster_rooms = tuple((name, _rooms(cluster_table, name)) for name in cluster_table.names())
    cluster_table.done()
    settings = CampaignSettings(
        rooms=_rooms(table, "rooms"),
        cluster_rooms=cluster_rooms,
        line_interval=table.number("line_interval", defaults.line_interval, low=0),
        hold_seconds=table.number("hold_seconds", defaults.hold_seconds, low=0),
        repeat_seconds=table.number("repeat_seconds", defaults.repeat_seconds, low=0),
        down_seconds=table.number("down_seconds", defaults.down_seconds, low=1),
        silence_seconds=table.number("silence_seconds", defaults.silence_seconds, low=0),
        watch_seconds=table.number("watch_seconds", defaults.watch_seconds, low=0),
        history=table.integer("history", defaults.history, low=1, high=50),
    )
    table.done()
    return settings


def check_cluster_rooms(settings: CampaignSettings | None, clusters: Sequence[ClusterSettings], source: Path) -> None:
    """``[campaigns.cluster_rooms]`` may only name configured clusters."""
    known = {cluster.name for cluster in clusters}
    for name, _ in settings.cluster_rooms if settings else ():
        if name not in known:
            raise ConfigError(f"{source}: campaigns.cluster_rooms.{name}: no [clusters.{name}] is configured")


def parse_intake(table: Table) -> IntakeSettings | None:
    """``[intake]``, or None when the configuration has none."""
    if not table.names():
        return None
    host, port = _listen(table)
    sources = tuple(_source(name, sub) for name, sub in table.tables("sources"))
    if not sources:
        raise table.error("sources", "add at least one [intake.sources.NAME] with its secret")
    tls_cert, tls_key = table.optional_file("tls_cert"), table.optional_file("tls_key")
    if tls_key is not None and tls_cert is None:
        raise table.error("tls_key", "set tls_cert too (the key alone serves nothing)")
    settings = IntakeSettings(
        host=host, port=port, sources=sources, tls_cert=tls_cert, tls_key=tls_key,
        max_body=table.integer("max_body", 16384, low=1024, high=1048576),
        skew_seconds=table.number("skew_seconds", 300.0, low=1),
    )
    table.done()
    return settings


def parse_announce(table: Table) -> AnnounceSettings | None:
    if not table.names():
        return None
    url = table.string("url")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise table.error("url", f"expected http(s)://HOST:PORT of the bot's intake, not {url!r}")
    source = table.string("source")
    if not SOURCE_NAME.fullmatch(source):
        raise table.error("source", "letters, digits, '-', '_' and '.'")
    settings = AnnounceSettings(url=url.rstrip("/"), source=source, secret=_secret(table),
                                queue=table.optional_path("queue"), timeout=table.number("timeout", 3.0, low=0.1),
                                ca_file=table.optional_file("ca_file"))
    table.done()
    return settings


def parse_phrases(table: Table) -> tuple[tuple[str, str], ...]:
    """``[reboot_log.phrases]``: step = [regular expressions], checked here."""
    phrases_table = table.table("phrases")
    phrases = []
    for step in phrases_table.names():
        if step not in tuple(Step):
            raise phrases_table.error(step, f"not a step; one of {', '.join(Step)}")
        for pattern in phrases_table.strings(step):
            try:
                re.compile(pattern)
            except re.error as error:
                raise phrases_table.error(step, f"{pattern!r} is not a regular expression: {error}") from error
            phrases.append((step, pattern))
    phrases_table.done()
    table.done()
    return tuple(phrases)


def _source(name: str, table: Table) -> Source:
    if not SOURCE_NAME.fullmatch(name):
        raise ConfigError(f"{table.source}: {table.name}: a source name is letters, digits, '-', '_', '.'")
    source = Source(name, _secret(table), _rooms(table, "rooms"))
    table.done()
    return source


def _secret(table: Table) -> bytes:
    secret = table.secret("secret")
    assert secret is not None
    if len(secret) < MIN_SECRET:
        raise table.error("secret", f"too short: use at least {MIN_SECRET} random characters "
                                    "(e.g. openssl rand -hex 32)")
    return secret.encode()


def _rooms(table: Table, key: str) -> tuple[str, ...]:
    rooms = table.strings(key, ())
    for room in rooms:
        if not is_room(room):
            raise table.error(key, f"{room!r} is not realm:room (e.g. irc:#tor-project or "
                                   "xmpp:ops@conference.example.org)")
    return rooms


def _listen(table: Table) -> tuple[str, int]:
    text = table.string("listen")
    host, colon, port = text.rpartition(":")
    host = host.strip("[]")
    try:
        ipaddress.ip_address(host)
        number = int(port)
    except ValueError:
        raise table.error("listen", f"expected ADDRESS:PORT (e.g. 127.0.0.1:8089 or [::1]:8089), not {text!r}") \
            from None
    if not colon or not 0 < number < 65536:
        raise table.error("listen", f"bad port in {text!r}")
    return host, number
