"""XMPP: the bot in its MUC rooms and in direct messages (slixmpp).

Who is speaking is the sender's real bare JID: the server vouches for it in
a direct message, the room service in a non-anonymous room. In a room that
hides real JIDs from the bot, senders are unverified and privileged
commands are refused with the reason. History the room replays on join,
and anything delivered late (``<delay/>``: offline storage), is never
executed: an old command must not run again.
The client (TLS, plugins, no passwords in its log): `bot.transports.xmpp_client`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, Literal

import slixmpp
from slixmpp.exceptions import IqError, IqTimeout, PresenceError

from bot.core.dispatch import Dispatcher
from bot.core.message import Identity, Message
from bot.core.people import XMPP
from bot.transports.conversation import Lanes, read_line, respond
from bot.transports.flood import (
    SHED,
    TARGET_QUEUE_SECONDS,
    Admission,
    Backlog,
    InboundLimiter,
    Sender,
    TokenBucket,
)
from bot.transports.metrics import ChatStats
from bot.transports.reconnect import ExponentialBackoff, ReconnectStrategy, Rejoins
from bot.transports.session import (
    BackgroundTasks,
    ConnectionClosed,
    LoginFailed,
    ReconnectingTransport,
    Session,
)
from bot.transports.settings import RoomSettings, XmppSettings
from bot.transports.text import inbound, outbound
from bot.transports.xmpp_client import hide_secrets, new_client

MessageKind = Literal["chat", "groupchat"]

log = logging.getLogger(__name__)

ANONYMOUS_ROOM = "this room hides real JIDs from me, so I cannot tell who you are; ask me in a direct message"
_KICKED = {301: "banned", 307: "kicked", 321: "removed (affiliation change)", 322: "removed (members only)",
           332: "removed (service shutting down)"}


class XmppTransport(ReconnectingTransport):
    def __init__(self, settings: XmppSettings, bot_name: str, strategy: ReconnectStrategy | None = None) -> None:
        chat = settings.chat
        super().__init__("xmpp", settings.server or settings.jid.split("@", 1)[1],
                         strategy or ExponentialBackoff(chat.reconnect_min, chat.reconnect_max))
        self.settings = settings
        self.bot_name = bot_name
        self.limiter = InboundLimiter(chat.flood.user_burst, chat.flood.user_rate)
        self.client: slixmpp.ClientXMPP | None = None
        hide_secrets()

    def new_session(self, dispatcher: Dispatcher) -> XmppSession:
        # One client for every connection: slixmpp is made to connect again,
        # and a client thrown away leaves its background task behind.
        self.client = self.client or new_client(self.settings)
        return XmppSession(self.settings, self.client, dispatcher, self.bot_name, self.limiter, self.stats)


def message_body(lines: Sequence[str]) -> str:
    """One message for ``lines``: only characters XML 1.0 allows, so the server keeps the stream."""
    return "\n".join(text for text in map(outbound, lines) if text.strip())


def budget_of(account: str | None, sender: slixmpp.JID, own_domain: str) -> Sender:
    """Whose budget a message spends: the real JID, else the room occupant. Its host is
    the JID's server (an account on ours is its own: our admins say who gets one), or
    for an occupant the room, where nobody can be told apart (a new nick is free)."""
    if account is None:
        return Sender(str(sender), sender.bare)
    domain = slixmpp.JID(account).domain
    return Sender(account, account if domain == own_domain else f"domain:{domain}")


def _delayed(stanza: slixmpp.Message) -> bool:
    return stanza.get_plugin("delay", check=True) is not None


class XmppSession(Session):
    def __init__(self, settings: XmppSettings, client: slixmpp.ClientXMPP, dispatcher: Dispatcher, bot_name: str,
                 limiter: InboundLimiter, stats: ChatStats | None = None) -> None:
        loop = asyncio.get_running_loop()
        self.settings = settings
        self.chat = settings.chat
        self.dispatcher = dispatcher
        self.bot_name = bot_name
        self.limiter = limiter
        self.stats = stats or ChatStats()
        self.client = client
        self.muc = self.client.plugin["xep_0045"]
        self.bucket = TokenBucket(self.chat.flood.burst, self.chat.flood.rate)
        self.backlog = Backlog(max(4, int(TARGET_QUEUE_SECONDS * self.chat.flood.rate)))  # answers per target
        self.lanes = Lanes()
        self.live: dict[str, str] = {}  # room -> our nick, once joined (history over)
        self._started: asyncio.Future[None] = loop.create_future()
        self._closed: asyncio.Future[str] = loop.create_future()
        self._tasks = BackgroundTasks()
        self._rejoins = Rejoins(self.chat.reconnect_min)
        self._handlers: dict[str, Callable[..., Any]] = {
            "session_start": self._on_session_start,
            "failed_all_auth": self._on_failed_auth,
            "disconnected": self._on_disconnected,
            "groupchat_message": self._on_groupchat,
            "message": self._on_direct,
            "groupchat_presence": self._on_room_presence,
            "presence_unavailable": self._on_unavailable,
        }
        for event, handler in self._handlers.items():
            client.add_event_handler(event, handler)

    # Life cycle.

    async def run(self) -> None:
        settings, timeout = self.settings, self.chat.ping_timeout
        if settings.server:  # else the SRV records of the JID's domain say where
            attempt = self.client.connect(settings.server, settings.port or (5223 if settings.direct_tls else 5222))
        else:
            attempt = self.client.connect()
        try:
            retry = await asyncio.wait_for(attempt, timeout)
        except TimeoutError:
            self.client.cancel_connection_attempt()
            raise TimeoutError(f"could not connect within {timeout:.0f} s") from None
        if retry is not None or not self.client.is_connected():
            self.client.cancel_connection_attempt()  # slixmpp would retry by itself
            raise ConnectionClosed("could not connect (see the debug log for each address tried)")
        waiting: set[asyncio.Future[Any]] = {self._started, self._closed}
        done, _ = await asyncio.wait(waiting, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if not done:
            raise TimeoutError(f"no session within {timeout:.0f} s (TLS, login or resource binding stuck)")
        if self._started in done:
            self._started.result()  # raises LoginFailed
        else:
            raise ConnectionClosed(self._closed.result())
        self.established = True
        self.client.send_presence()
        log.info("xmpp: logged in as %s", self.client.boundjid)
        for room in self.chat.rooms:
            self._tasks.spawn(self._join(room))
        self._tasks.spawn(self._watchdog())
        self.dispatcher.announcer.attach(XMPP, self._announce)
        raise ConnectionClosed(await self._closed)

    async def quit(self, reason: str) -> None:
        if self.client.is_connected():
            self.client.send_presence(ptype="unavailable", pstatus=reason)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.client.disconnect(wait=2, reason=reason), 3)

    def abort(self, reason: str) -> None:
        if not self._closed.done():
            self._closed.set_result(reason)
        self.client.cancel_connection_attempt()
        self.client.abort()

    async def close(self) -> None:
        self.dispatcher.announcer.detach(XMPP, self._announce)
        self.dispatcher.forget_transport(XMPP)  # room nicks mean nothing after a reconnect
        await self._tasks.cancel_all()
        await self.lanes.close()
        self.client.cancel_connection_attempt()
        self.client.abort()
        for event, handler in self._handlers.items():
            self.client.del_event_handler(event, handler)

    def _on_session_start(self, _: object) -> None:
        if not self._started.done():
            self._started.set_result(None)

    def _on_failed_auth(self, _: object) -> None:
        if not self._started.done():
            self._started.set_exception(LoginFailed(
                f"{self.settings.jid}: the server refused the password, or offered no way to log in safely"))

    def _on_disconnected(self, reason: object) -> None:
        if not self._closed.done():
            self._closed.set_result(str(reason or "connection lost"))

    async def _watchdog(self) -> None:
        """Ping the server; a connection that does not answer is dead."""
        interval = self.chat.ping_timeout / 3
        while True:
            await asyncio.sleep(interval)
            try:
                await self.client.plugin["xep_0199"].ping(timeout=self.chat.ping_timeout * 2 / 3)
            except IqTimeout:
                log.warning("xmpp: no answer to ping, dropping the connection")
                self.abort("ping timeout")
                return
            except IqError:
                pass  # an error reply is still an answer: the connection lives

    # Rooms.

    async def _join(self, room: RoomSettings, nick: str | None = None) -> None:
        nick = nick or self.chat.nick
        try:
            await self.muc.join_muc_wait(slixmpp.JID(room.name), nick, password=room.key, maxstanzas=0,
                                         timeout=self.chat.ping_timeout)
        except PresenceError as error:
            if error.condition == "conflict" and nick == self.chat.nick:
                await self._join(room, f"{nick}_")
                return
            self._rejoin_later(room, f"cannot join {room.name}: {error.condition} {error.text or ''}".strip())
            return
        except TimeoutError:
            self._rejoin_later(room, f"no answer from {room.name}")
            return
        self.live[room.name] = nick
        self._rejoins.joined(room.name)
        log.info("xmpp: joined %s as %s", room.name, nick)

    def _rejoin_later(self, room: RoomSettings, why: str) -> None:
        delay = self._rejoins.next_delay(room.name)
        log.warning("xmpp: %s; joining again in %.0f s", why, delay)

        async def later() -> None:
            await asyncio.sleep(delay)
            await self._join(room)

        self._tasks.spawn(later())

    def _on_room_presence(self, presence: slixmpp.Presence) -> None:
        room_name = presence["from"].bare
        if presence["type"] == "unavailable":
            self._on_unavailable(presence)  # rooms do not pass through presence_unavailable
        if presence["type"] != "unavailable" or presence["from"].resource != self.live.get(room_name):
            return
        codes = set(presence["muc"]["status_codes"])
        if 303 in codes:  # a nick change
            self.live[room_name] = presence["muc"]["item_nick"]
            return
        del self.live[room_name]
        room = self.chat.room(room_name)
        why = next((_KICKED[code] for code in sorted(codes) if code in _KICKED), "removed")
        if room is not None:
            self._rejoin_later(room, f"{why} from {room_name}")

    def _on_unavailable(self, presence: slixmpp.Presence) -> None:
        """Someone left a room, changed their room nick, or a contact went offline:
        what was kept for that address is not for whoever uses it next."""
        self.dispatcher.forget(XMPP, str(presence["from"]))

    # Messages.

    def _on_groupchat(self, stanza: slixmpp.Message) -> None:
        room_name, nick = stanza["from"].bare, stanza["mucnick"]
        ours = self.live.get(room_name)
        if ours is None or nick in ("", ours) or _delayed(stanza) or not stanza["body"]:
            return  # not joined yet (history), our own echo, replayed or empty
        real = self.muc.get_jid_property(room_name, nick, "jid")
        real_bare = slixmpp.JID(real).bare if real else None
        if real_bare is None:
            identity = Identity("xmpp", nick, None, ANONYMOUS_ROOM)
        else:
            identity = Identity("xmpp", nick, real_bare)
        room = self.chat.room(room_name)
        self._received(stanza, identity, room_name, room, (self.bot_name, ours), private=False)

    def _on_direct(self, stanza: slixmpp.Message) -> None:
        if stanza["type"] not in ("chat", "normal") or not stanza["body"] or _delayed(stanza):
            return
        sender = stanza["from"]
        if sender.bare == self.client.boundjid.bare:
            return
        # Only where it comes from says whether it came through a room: what a
        # stanza carries (a muc#user element) is the sender's to choose.
        if sender.bare not in self.live:
            if self.chat.room(sender.bare) is not None:
                return  # one of our rooms, not joined (yet): nobody there can be told apart
            identity = Identity("xmpp", sender.bare, sender.bare)  # the server vouches for it
        elif not sender.resource:
            return  # from the room itself (an invitation, a notice): nobody to answer
        else:  # a private message from someone in a room: only the room knows who
            real = self.muc.get_jid_property(sender.bare, sender.resource, "jid")
            identity = (Identity("xmpp", sender.resource, slixmpp.JID(real).bare) if real
                        else Identity("xmpp", sender.resource, None, ANONYMOUS_ROOM))
        self._received(stanza, identity, None, None, (self.bot_name,), private=True)

    def _received(self, stanza: slixmpp.Message, identity: Identity, room_name: str | None,
                  room: RoomSettings | None, names: tuple[str, ...], private: bool) -> None:
        ignored = {name.lower() for name in self.chat.ignore}
        if identity.name.lower() in ignored or (identity.account or "").lower() in ignored:
            return
        parsed = read_line(inbound(stanza["body"]), names=names, prefix=self.dispatcher.prefix, private=private,
                           recognise_errors=room is not None and room.recognise_errors)
        if parsed is None:
            return
        who = budget_of(identity.account, stanza["from"], self.client.boundjid.domain)
        admission = self.limiter.admit(who)
        if admission is Admission.WARN:
            wait = int(self.limiter.retry_after(who)) + 1
            self._send(stanza["from"], "chat", [(f"you are sending faster than I can answer: "
                                                 f"I am ignoring your lines for about {wait} s.")])
        if admission is not Admission.ACCEPT:
            return
        target = room_name or str(stanza["from"])
        room_or_sender = slixmpp.JID(room_name) if room_name else stanza["from"]
        kind: MessageKind = "groupchat" if room_name else "chat"
        waiting = self.backlog.reserve(target, who)
        if waiting is Admission.WARN:
            self._send(room_or_sender, kind, [SHED])  # may overrun the bound: once per target and episode
        if waiting is not Admission.ACCEPT:
            return
        self.stats.received += 1
        text, addressed = parsed
        message = Message(text, replace(identity, address=str(stanza["from"])), room_name, addressed)
        self.lanes.submit((room_name, str(stanza["from"])), lambda: self._answer(message, stanza["from"], who, target))

    async def _answer(self, message: Message, sender: slixmpp.JID, budget: Sender, target: str) -> None:
        try:
            await self._answer_now(message, sender, budget)
        finally:
            self.backlog.release(target, budget)

    async def _answer_now(self, message: Message, sender: slixmpp.JID, budget: Sender) -> None:
        for outgoing in await respond(self.dispatcher, message, self.chat.long_output):
            await self.bucket.take()
            self.limiter.charge(budget, 1)  # one message, however many lines
            if not outgoing.private:
                self._send(slixmpp.JID(message.room), "groupchat", outgoing.lines)
            elif message.room is not None and message.sender.account:
                self._send(slixmpp.JID(message.sender.account), "chat", outgoing.lines)
            else:
                self._send(sender, "chat", outgoing.lines)  # a direct message, or through the room

    def _announce(self, target: str, lines: Sequence[str]) -> None:
        """Lines the bot says on its own: to a configured room, or to a person's JID."""
        try:
            target = str(slixmpp.JID(target))  # as the server writes it, and as rooms are kept
        except ValueError as error:
            log.warning("xmpp: not announcing to %r: %s", target, error)
            return
        self._tasks.spawn(self._say_on_our_own(target, lines))

    async def _say_on_our_own(self, target: str, lines: Sequence[str]) -> None:
        in_room = self.chat.room(target) is not None
        while in_room and target not in self.live:  # not joined yet (or joining again)
            await asyncio.sleep(0.5)
        await self.bucket.take()
        self._send(slixmpp.JID(target), "groupchat" if in_room else "chat", lines)

    def _send(self, to: slixmpp.JID, kind: MessageKind, lines: Sequence[str]) -> None:
        body = message_body(lines)
        if body and self.client.is_connected():
            self.stats.sent += 1
            self.client.send_message(mto=to, mbody=body, mtype=kind)
