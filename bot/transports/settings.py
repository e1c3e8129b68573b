"""Settings of the chat transports: ``[irc.NAME]`` tables and ``[xmpp]``.

Secure unless the file says otherwise: TLS on and verified, plaintext only
with an explicit ``tls = false``, passwords and channel keys only from files
or environment variables (``password_file`` / ``password_env``), and a bot
that may not log in to services only with an explicit ``login = "none"``.
Secrets are kept out of every ``repr``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import slixmpp

from bot.configreader import Table, shown
from bot.core.people import RESERVED_REALMS

LONG_OUTPUT = ("more", "private")
IRC_LOGINS = ("auto", "sasl", "nickserv", "none")
SASL_MECHANISMS = ("PLAIN", "EXTERNAL")
_CHANNEL = re.compile(r"^[#&+!][^\s,\x07]{1,199}$")
_NICK = re.compile(r"^[A-Za-z\[\]\\`_^{|}][A-Za-z0-9\[\]\\`_^{|}-]{0,29}$")


@dataclass(frozen=True)
class FloodSettings:
    """Outgoing pace (``burst`` lines at once, then ``rate`` per second) and the
    per-person budget: every line of theirs the bot acts on costs one, and so
    does every line (IRC) or message (XMPP) it sends in answer."""

    burst: int = 4
    rate: float = 1.0
    user_burst: int = 20
    user_rate: float = 0.5


@dataclass(frozen=True)
class RoomSettings:
    """One IRC channel or XMPP room. ``key`` is the channel key / room password."""

    name: str
    key: str | None = field(default=None, repr=False)
    recognise_errors: bool = False


@dataclass(frozen=True)
class ChatSettings:
    """What IRC networks and XMPP have in common."""

    nick: str
    rooms: tuple[RoomSettings, ...] = ()
    ignore: tuple[str, ...] = ()
    long_output: str = "more"
    ping_timeout: float = 180.0
    reconnect_min: float = 2.0
    reconnect_max: float = 300.0
    flood: FloodSettings = FloodSettings()

    def room(self, name: str) -> RoomSettings | None:
        folded = name.lower()
        return next((room for room in self.rooms if room.name.lower() == folded), None)


@dataclass(frozen=True)
class IrcSettings:
    """One ``[irc.NAME]`` network."""

    network: str
    server: str
    port: int
    chat: ChatSettings
    tls: bool = True
    ca_file: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None
    username: str = "gntbot"
    realname: str = "gntbot, the Ganeti runbook bot"
    login: str = "auto"
    sasl_mechanism: str = "PLAIN"
    account: str = ""
    password: str | None = field(default=None, repr=False)
    nickserv: str = "NickServ"
    rejoin_delay: float = 10.0
    realm: str = "irc"  # principals on this network are "realm:account"


@dataclass(frozen=True)
class XmppSettings:
    """The ``[xmpp]`` account."""

    jid: str
    password: str = field(repr=False)
    chat: ChatSettings
    server: str | None = None
    port: int | None = None
    tls: bool = True
    direct_tls: bool = False
    ca_file: Path | None = None


def bare_jid(text: str) -> str:
    """``text`` as the bare JID ``user@domain`` in the form servers send it
    (``Ops@Conference.Example.org`` is ``ops@conference.example.org``), or ValueError."""
    try:
        jid = slixmpp.JID(text.strip())
    except ValueError as error:
        raise ValueError(f"{text!r} is not a JID: {error}") from None
    if not jid.node or jid.resource:
        raise ValueError(f"{text!r} is not a bare JID (user@domain)")
    return jid.bare


def _channel_name(text: str) -> str:
    if not _CHANNEL.match(text):
        raise ValueError(f"{text!r} is not a valid IRC channel name")
    return text


def _rooms(table: Table, key: str, sub: str, secret: str, canonical: Callable[[str], str]) -> tuple[RoomSettings, ...]:
    """Rooms from the ``key`` list (``rooms``/``channels``) plus ``[...SUB."NAME"]`` tables,
    whose ``SECRET_file``/``SECRET_env`` is the channel key or room password.
    Names are checked, and written the way the network writes them, by ``canonical``;
    every bad one is reported, and left out."""
    rooms: dict[str, RoomSettings] = {}
    bad = []
    for text in table.strings(key, ()):
        try:
            name = canonical(text)
        except ValueError as error:
            bad.append(str(error))
            continue
        rooms[name] = RoomSettings(name)
    if bad:
        table.report(key, "; ".join(bad))
    for text, room in table.tables(sub):
        settings = RoomSettings(text, key=room.problems.attempt(room.secret, secret, required=False, fallback=None),
                                recognise_errors=room.boolean("recognise_errors", False))
        room.done()
        try:
            name = canonical(text)
        except ValueError as error:
            table.report(f"{sub}.{shown(text)}", str(error))
            continue
        rooms[name] = replace(settings, name=name)
    return tuple(rooms.values())


def _chat(table: Table, default_nick: str, rooms: tuple[RoomSettings, ...], defaults: FloodSettings) -> ChatSettings:
    flood_table = table.table("flood")
    flood = FloodSettings(
        burst=flood_table.integer("burst", defaults.burst, low=1, high=100),
        rate=flood_table.number("rate", defaults.rate, low=0.01),
        user_burst=flood_table.integer("user_burst", defaults.user_burst, low=1, high=1000),
        user_rate=flood_table.number("user_rate", defaults.user_rate, low=0.001),
    )
    flood_table.done()
    settings = ChatSettings(
        nick=table.string("nick", default_nick),
        rooms=rooms,
        ignore=table.strings("ignore", ()),
        long_output=table.string("long_output", "more", choices=LONG_OUTPUT),
        ping_timeout=table.number("ping_timeout", ChatSettings.ping_timeout, low=3),
        reconnect_min=table.number("reconnect_min", ChatSettings.reconnect_min, low=0.1),
        reconnect_max=table.number("reconnect_max", ChatSettings.reconnect_max, low=0.1),
        flood=flood,
    )
    if settings.reconnect_max < settings.reconnect_min:
        table.report("reconnect_max", "must not be less than reconnect_min")
    return settings


def parse_irc(network: str, table: Table, default_nick: str) -> IrcSettings:
    """One ``[irc.NETWORK]`` table."""
    tls = table.boolean("tls", True)
    channels = _rooms(table, "channels", "channel", "key", _channel_name)
    chat = _chat(table, default_nick, channels, FloodSettings())
    if not _NICK.match(chat.nick):
        table.report("nick", f"{chat.nick!r} is not a valid IRC nick")
    client_cert, client_key = table.optional_file("client_cert"), table.optional_file("client_key")
    if client_key and not client_cert:
        table.report("client_key", "needs client_cert")
    password = table.problems.attempt(table.secret, "password", required=False, fallback=None)
    login = table.string("login", "auto", choices=IRC_LOGINS)
    mechanism = table.string("sasl_mechanism", "EXTERNAL" if client_cert and not password else "PLAIN",
                             choices=SASL_MECHANISMS)
    if login != "none" and not password and not client_cert:
        table.report("login", 'set password_file or password_env (or client_cert), or say login = "none" '
                                   "to run without a services account")
    if login in ("auto", "sasl") and mechanism == "PLAIN" and not password:
        table.report("sasl_mechanism", "PLAIN needs a password; use EXTERNAL with a client certificate")
    if login in ("auto", "sasl") and mechanism == "EXTERNAL" and not client_cert:
        table.report("sasl_mechanism", "EXTERNAL needs client_cert")
    settings = IrcSettings(
        network=network,
        server=table.string("server"),
        port=table.integer("port", 6697 if tls else 6667, low=1, high=65535),
        chat=chat,
        tls=tls,
        ca_file=table.optional_file("ca_file"),
        client_cert=client_cert,
        client_key=client_key,
        username=table.string("username", chat.nick),
        realname=table.string("realname", IrcSettings.realname),
        login=login,
        sasl_mechanism=mechanism,
        account=table.string("account", chat.nick),
        password=password,
        nickserv=table.string("nickserv", IrcSettings.nickserv),
        rejoin_delay=table.number("rejoin_delay", IrcSettings.rejoin_delay, low=0),
        realm=table.string("realm", IrcSettings.realm),
    )
    if not re.match(r"^[a-z][a-z0-9_.-]*$", settings.realm):
        table.report("realm", f"{settings.realm!r}: use lower-case letters, digits, '.', '_' or '-'")
    if settings.realm in RESERVED_REALMS:
        table.report("realm", f"{settings.realm!r} is reserved for the {settings.realm} transport: "
                                   f"an IRC account must never pass for one of its principals")
    if (settings.ca_file or client_cert) and not tls:
        table.report("tls", "ca_file and client_cert need tls = true")
    table.done()
    return settings


def parse_xmpp(table: Table, default_nick: str) -> XmppSettings:
    """The ``[xmpp]`` table."""
    rooms = _rooms(table, "rooms", "room", "password", bare_jid)
    chat = _chat(table, default_nick, rooms, FloodSettings(burst=10, rate=5.0))
    given = table.string("jid")
    bare, slash, resource = given.partition("/")
    try:
        jid = bare_jid(bare) + slash + resource
    except ValueError as error:
        table.report("jid", str(error))
        jid = given
    tls = table.boolean("tls", True)
    settings = XmppSettings(
        jid=jid,
        password=table.problems.attempt(table.secret, "password", fallback=None) or "",
        chat=chat,
        server=table.optional_string("server"),
        port=table.integer("port", 0, low=0, high=65535) or None,
        tls=tls,
        direct_tls=table.boolean("direct_tls", False),
        ca_file=table.optional_file("ca_file"),
    )
    if settings.direct_tls and not tls:
        table.report("direct_tls", "needs tls = true")
    if settings.port and not settings.server:
        table.report("port", "needs server")
    table.done()
    return settings
