"""One connection to an IRC server: from connect to disconnect.

The ``irc`` library (its asyncio flavour) parses the server's lines into
events; `IrcSession` keeps the state of the connection (nick, channels,
accounts) and hands chat lines to `IrcLines`, which turns them into
`Message`s for the dispatcher. Reconnecting is not its business: `run` returns or raises when
the connection is over, and `IrcTransport` decides what comes next.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from irc.client import Event, NickMask, is_channel
from irc.client_aio import AioConnection
from irc.connection import AioFactory
from jaraco.stream.buffer import LenientDecodingLineBuffer

from bot.core.dispatch import Dispatcher
from bot.transports.flood import TARGET_QUEUE_SECONDS, InboundLimiter, TokenBucket
from bot.transports.irc_auth import CapNegotiation, nickserv_login
from bot.transports.irc_channels import ChannelKeeper
from bot.transports.irc_identity import AccountTracker, fold
from bot.transports.irc_lines import IrcLines
from bot.transports.irc_outbox import Outbox
from bot.transports.irc_whois import WhoisReply
from bot.transports.irc_wire import WireReactor
from bot.transports.metrics import ChatStats
from bot.transports.session import BackgroundTasks, ConnectionClosed, Session
from bot.transports.settings import IrcSettings

log = logging.getLogger(__name__)
T = TypeVar("T")

_NICK_TAKEN = {"nicknameinuse", "erroneusnickname", "nickcollision", "unavailresource"}
# 477 ("nochanmodes" to the library) is "you need a registered nick" on most networks.
_JOIN_REFUSED = {"channelisfull", "inviteonlychan", "bannedfromchan", "badchannelkey", "nochanmodes"}
LOGIN_TIMEOUT = 15.0
# How much may wait in the outbox, in seconds of sending at the configured rate.
TOTAL_QUEUE_SECONDS = 120
WHOIS_QUEUE_SECONDS = 10  # a WHOIS that waits longer would time out anyway


def tls_context(settings: IrcSettings) -> ssl.SSLContext:
    """Verified TLS: the system's CAs, or only ``ca_file``; a client certificate for CertFP."""
    context = ssl.create_default_context(cafile=str(settings.ca_file) if settings.ca_file else None)
    if settings.client_cert:
        context.load_cert_chain(settings.client_cert, settings.client_key)
    return context


class IrcSession(Session):
    def __init__(
        self,
        settings: IrcSettings,
        dispatcher: Dispatcher,
        bot_name: str,
        limiter: InboundLimiter,
        stats: ChatStats | None = None,
    ) -> None:
        loop = asyncio.get_running_loop()
        self.settings = settings
        self.chat = settings.chat
        self.dispatcher = dispatcher
        self.bot_name = bot_name
        self.stats = stats or ChatStats()
        self.reactor = WireReactor(loop=loop)
        self.conn: AioConnection = self.reactor.server()
        self.conn.buffer_class = LenientDecodingLineBuffer
        self.reactor.add_global_handler("all_events", self._on_event)
        self.cap = CapNegotiation(settings, self._write, self._write_secret)
        self.tracker = AccountTracker(self._whois, realm=settings.realm)
        flood = self.chat.flood
        target_lines = max(10, int(TARGET_QUEUE_SECONDS * flood.rate))
        self.outbox = Outbox(self._write_paced, TokenBucket(flood.burst, flood.rate), self.chat.nick,
                             settings.username, target_lines=target_lines,
                             total_lines=max(target_lines, int(TOTAL_QUEUE_SECONDS * flood.rate)),
                             control_lines=max(4, int(WHOIS_QUEUE_SECONDS * flood.rate)))
        self.nick = self.chat.nick
        self.established = False
        self.logged_in = False
        self.nickserv_missing = False
        self._quitting = False
        self.last_heard = loop.time()
        self._welcome: asyncio.Future[None] = loop.create_future()
        self._closed: asyncio.Future[str] = loop.create_future()
        self._nick_tries = 0
        self._tasks = BackgroundTasks()
        self.channels = ChannelKeeper(settings, self.outbox.control, self._write_secret, self._tasks.spawn)
        self.lines = IrcLines(self, limiter)
        self._handlers: dict[str, Callable[[Event], None]] = {
            "disconnect": self._on_disconnect, "error": self._on_error, "welcome": self._on_welcome,
            "featurelist": self._on_featurelist, "loggedin": self._on_loggedin, "nick": self._on_nick,
            "quit": self._on_quit, "join": self._on_join, "part": self._on_part, "kick": self._on_kick,
            "account": self._on_account, "namreply": self._on_namreply, "whoisaccount": self._on_whoisaccount,
            "307": self._on_whoisregnick, "endofwhois": self._on_endofwhois, "nosuchnick": self._on_nosuchnick,
            "pubmsg": self.lines.on_line, "privmsg": self.lines.on_line,
            **{kind: self._nick_taken for kind in _NICK_TAKEN},
            **{kind: self._join_refused for kind in _JOIN_REFUSED},
        }

    # Life cycle.

    async def run(self) -> None:
        """Connect, register, log in, join, and serve until the connection ends.

        Raises `LoginFailed`, `ConnectionClosed`, `TimeoutError` or `OSError`.
        """
        timeout = self.chat.ping_timeout
        await self._within(self._connect(), timeout, "connecting")
        await self._within(self.cap.finished, timeout, "capability negotiation")
        await self._within(self._welcome, timeout, "registration")
        self._tasks.spawn(self.outbox.run())  # the NickServ login asks WHOIS through it
        if self.settings.login in ("auto", "nickserv") and not self.cap.sasl_done:
            await self._within(
                nickserv_login(self.settings, self._write_secret, lambda: self.logged_in,
                               lambda: self.nickserv_missing, self._whois_self, LOGIN_TIMEOUT),
                LOGIN_TIMEOUT + 5, "NickServ login")
        log.info("%s: registered as %s on %s:%d (capabilities: %s)", self.settings.network, self.nick,
                 self.settings.server, self.settings.port, " ".join(sorted(self.cap.enabled)) or "none")
        self.established = True
        self._tasks.spawn(self._watchdog())
        self.channels.join_all()
        self.dispatcher.announcer.attach(self.settings.realm, self._announce)
        reason = await self._closed
        raise ConnectionClosed(reason)

    async def _connect(self) -> None:
        settings = self.settings
        base = AioFactory(ssl=tls_context(settings), server_hostname=settings.server) if settings.tls else AioFactory()

        async def factory(protocol, address):  # type: ignore[no-untyped-def]
            transport, proto = await base(protocol, address)
            transport.write(b"CAP LS 302\r\n")  # before the library's NICK and USER
            return transport, proto

        await self.conn.connect(settings.server, settings.port, self.nick, username=settings.username,
                                ircname=settings.realname, connect_factory=factory)

    async def _within(self, step: Awaitable[T], timeout: float, what: str) -> T:
        """``step``, unless the connection closes or ``timeout`` passes first."""
        task = asyncio.ensure_future(step)
        waiting: set[asyncio.Future[Any]] = {task, self._closed}
        done, _ = await asyncio.wait(waiting, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            return task.result()
        task.cancel()
        if self._closed.done():
            raise ConnectionClosed(f"{self._closed.result()} (while {what})")
        raise TimeoutError(f"no answer from the server within {timeout:.0f} s while {what}")

    async def quit(self, reason: str) -> None:
        """Say goodbye (QUIT) and wait briefly for the server to close."""
        if self.conn.connected and not self._closed.done():
            self._quitting = True
            self._write(f"QUIT :{reason}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._closed), 3)

    async def close(self) -> None:
        """Release everything, whatever state the connection is in."""
        self.dispatcher.announcer.detach(self.settings.realm, self._announce)
        self.dispatcher.forget_transport(self.settings.realm)  # nicks mean nothing after a reconnect
        await self._tasks.cancel_all()
        await self.lines.close()
        self.tracker.reset()
        await self.quit("")  # if the server still listens (e.g. after a refused login)
        transport = getattr(self.conn, "transport", None)
        if transport is not None:
            transport.abort()

    async def _watchdog(self) -> None:
        """Ping a quiet server; drop the connection if it stays silent.

        A dead peer (a frozen server, a broken NAT) sends nothing and no FIN,
        so without this the bot would wait forever on a connection that is gone.
        """
        loop = asyncio.get_running_loop()
        timeout = self.chat.ping_timeout
        while True:
            await asyncio.sleep(timeout / 6)
            quiet = loop.time() - self.last_heard
            if quiet >= timeout:
                log.warning("%s: nothing from %s for %.0f s, dropping the connection",
                            self.settings.network, self.settings.server, quiet)
                self.abort(f"ping timeout ({quiet:.0f} s)")
                return
            if quiet >= timeout / 3:
                self._write(f"PING :gntbot-{int(loop.time())}")

    def abort(self, reason: str) -> None:
        transport = getattr(self.conn, "transport", None)
        self._set_closed(reason)
        if transport is not None:
            transport.abort()

    def _set_closed(self, reason: str) -> None:
        if not self._closed.done():
            self._closed.set_result(reason)

    # Output.

    def _write(self, line: str) -> None:
        log.debug("%s > %s", self.settings.network, line)
        self._raw(line)

    def _write_paced(self, line: str) -> None:
        """A line the outbox lets out."""
        self.stats.sent += 1
        self._write(line)

    def _write_secret(self, line: str) -> None:
        """A line holding a password: sent, never logged."""
        log.debug("%s > %s ***", self.settings.network, line.split(" ", 1)[0])
        self._raw(line)

    def _raw(self, line: str) -> None:
        self.conn.send_raw(line)  # which refuses a line that would be two (bot.transports.irc_wire)

    def _announce(self, target: str, lines: Sequence[str]) -> None:
        """Lines the bot says on its own, to one of its channels or to a person."""
        if is_channel(target) and self.chat.room(target) is None:
            log.warning("%s: not announcing to %s: not one of the configured channels", self.settings.network, target)
            return
        self.outbox.privmsg(target, lines)

    def _whois(self, nick: str) -> bool:
        return self.outbox.request(f"WHOIS {nick}")

    async def _whois_self(self) -> WhoisReply | None:
        try:
            return await self.tracker.lookup(self.nick)
        except TimeoutError:
            return None

    # Input.

    def same(self, a: str, b: str) -> bool:
        """Whether two nicks or channels are one, as this server compares them."""
        return self.fold(a) == self.fold(b)

    def fold(self, name: str) -> str:
        return fold(name, getattr(self.conn.features, "casemapping", "rfc1459"))

    def _on_event(self, connection: AioConnection, event: Event) -> None:
        kind = event.type
        if kind == "all_raw_messages":
            self.last_heard = asyncio.get_running_loop().time()
            return
        self.cap.on_event(event)
        handler = self._handlers.get(kind)
        if handler is None:
            return
        try:
            handler(event)
        except (IndexError, AttributeError):  # a line short of its parameters
            log.warning("%s: ignoring a malformed %s from the server: %r", self.settings.network, kind, event)

    def _on_disconnect(self, event: Event) -> None:
        self._set_closed(event.arguments[0] if event.arguments and event.arguments[0] else "connection lost")

    def _on_error(self, event: Event) -> None:
        log.log(logging.INFO if self._quitting else logging.WARNING, "%s: server says: %s",
                self.settings.network, event.target)
        self._set_closed(f"server error: {event.target}")

    def _on_welcome(self, event: Event) -> None:
        self._renamed(event.target)
        self._configure_tracker()
        if not self._welcome.done():
            self._welcome.set_result(None)

    def _on_featurelist(self, event: Event) -> None:
        self._configure_tracker()

    def _configure_tracker(self) -> None:
        self.tracker.configure(self.cap.enabled, getattr(self.conn.features, "casemapping", "rfc1459"))

    def _on_loggedin(self, event: Event) -> None:
        self.logged_in = True

    def _nick_taken(self, event: Event) -> None:
        if self._welcome.done():
            return  # a failed attempt to take the configured nick back: keep ours
        self._nick_tries += 1
        base = self.chat.nick[:27]
        self.nick = base + "_" * self._nick_tries if self._nick_tries <= 3 else f"{base}{self._nick_tries}"
        log.warning("%s: nick %s unavailable, trying %s", self.settings.network, event.arguments[0], self.nick)
        self._write(f"NICK {self.nick}")

    def _renamed(self, nick: str) -> None:
        """Our own nick changed (or the server told it at registration)."""
        self.nick = nick
        self.outbox.source = nick + self.outbox.source[self.outbox.source.index("!"):]

    def _join_refused(self, event: Event) -> None:
        channel = event.arguments[0]
        self.channels.lost(channel, f"cannot join {channel}: {event.arguments[-1]}")

    def _reclaim_nick(self, freed: str) -> None:
        """Someone left the configured nick: take it back."""
        if self.established and self.same(freed, self.chat.nick) and not self.same(self.nick, self.chat.nick):
            self._write(f"NICK {self.chat.nick}")

    def _on_nick(self, event: Event) -> None:
        old, new = event.source.nick, event.target
        if self.same(old, self.nick):
            self._renamed(new)
        self.tracker.renamed(old, new)
        self._gone(event.source)
        self._reclaim_nick(old)

    def _on_quit(self, event: Event) -> None:
        self.tracker.quit(event.source.nick)
        self._gone(event.source)
        self._reclaim_nick(event.source.nick)

    def _gone(self, source: NickMask) -> None:
        """``source`` changed nick, quit or left: what was kept for it is not for the next holder."""
        self.dispatcher.forget(self.settings.realm, self.fold(str(source)))

    def _on_join(self, event: Event) -> None:
        channel, nick = event.target, event.source.nick
        if self.same(nick, self.nick):
            self.outbox.source = str(event.source)  # our real nick!user@host, for the line limit
            self.channels.joined(channel)
            return
        extended = "extended-join" in self.cap.enabled and bool(event.arguments)
        self.tracker.joined(channel, nick, event.arguments[0] if extended else None, extended=extended)

    def _on_part(self, event: Event) -> None:
        self._left(event.target, event.source.nick)
        self._gone(event.source)

    def _on_kick(self, event: Event) -> None:
        channel, nick = event.target, event.arguments[0]
        if self._left(channel, nick):
            reason = event.arguments[1] if len(event.arguments) > 1 else ""
            self.channels.lost(channel, f"kicked from {channel} by {event.source.nick} ({reason})")

    def _left(self, channel: str, nick: str) -> bool:
        """Someone left ``channel``; True if it was the bot."""
        if self.same(nick, self.nick):
            self.tracker.left(channel)
            return True
        self.tracker.parted(channel, nick)
        return False

    def _on_account(self, event: Event) -> None:
        self.tracker.account_changed(event.source.nick, event.target)

    def _on_namreply(self, event: Event) -> None:
        self.tracker.names(event.arguments[1], event.arguments[2].split())

    def _on_whoisaccount(self, event: Event) -> None:
        self.tracker.whois_account(event.arguments[0], event.arguments[1])

    def _on_whoisregnick(self, event: Event) -> None:
        self.tracker.whois_registered(event.arguments[0])

    def _on_endofwhois(self, event: Event) -> None:
        self.tracker.whois_end(event.arguments[0])

    def _on_nosuchnick(self, event: Event) -> None:
        # Not the end of a WHOIS: 318 follows even then (and a PRIVMSG to a
        # nick that is gone gets a 401 too).
        if self.same(event.arguments[0], self.settings.nickserv):
            self.nickserv_missing = True
