"""IRC chat lines: from a PRIVMSG to the dispatcher, and the answer to the outbox.

- where a line was said (`audience`): in private, in a channel, or to a
  channel's operators only (``@#ops``, STATUSMSG), which is no private line;
- what it says: normalised once (`bot.transports.text.inbound`), then
  `read_line` decides whether the bot has anything to do with it;
- whose budget it spends (`budget_key`): the account the server stamped on
  it, else the host, never the nick, which anyone can change; and the host
  (an IPv6 address as its /64), which all its accounts share;
- who sent it: the account tracker's verdict, with the full ``nick!user@host``
  as the address that the state kept for the unverified is keyed on.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from irc.client import Event, NickMask, is_channel

from bot.core.message import Message
from bot.transports.conversation import Lanes, read_line, respond
from bot.transports.flood import Admission, InboundLimiter, Sender
from bot.transports.irc_identity import fold
from bot.transports.text import inbound

if TYPE_CHECKING:
    from bot.transports.irc_session import IrcSession

Tags = list[dict[str, str | None]]


def audience(target: str, own_nick: str, statusmsg: str,
             same: Callable[[str, str], bool]) -> tuple[str | None, str | None] | None:
    """Where a line sent to ``target`` was said: ``(channel, where to answer)``.

    ``(None, None)`` in private (answer the sender); ``("#ops", "#ops")`` in a
    channel; ``("#ops", "@#ops")`` for a line to the channel's operators
    (``statusmsg`` lists the prefixes the server allows), whose answer goes to
    the same few; None when the target is neither us nor a channel.
    """
    if same(target, own_nick):
        return None, None
    bare = target.lstrip(statusmsg) if statusmsg else target
    if bare != target and is_channel(bare):
        return bare, target
    return (target, target) if is_channel(target) else None


def budget_key(source: NickMask, tags: Tags, account_tags: bool) -> Sender:
    """Whose budget a line spends: the account the server stamped on it (when
    the server stamps them), else the host, which a nick change does not change;
    either way also the host's, shared by every account on it."""
    host = host_key(source.host or str(source))
    if account_tags:
        account = next((tag["value"] for tag in tags if tag["key"] == "account"), None)
        if account:
            return Sender(f"account:{fold(account)}", host)
    return Sender(host, host)


def host_key(host: str) -> str:
    """A host as a budget key: an IPv6 address stands for its /64, which one
    subscriber usually has whole (a new address in it costs nothing)."""
    host = host.lower()
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return f"host:{host}"  # a name or a cloak
    if address.version == 6:
        return f"host:{ipaddress.ip_network((address, 64), strict=False)}"
    return f"host:{address}"


@dataclass(frozen=True)
class _Arrival:
    """What is known of a line's sender the moment it arrived."""

    nick: str
    address: str
    tags: Tags
    epoch: int
    budget: Sender


class IrcLines:
    """Answers the chat lines of one connection, each person's in order."""

    def __init__(self, session: IrcSession, limiter: InboundLimiter) -> None:
        self.session = session
        self.limiter = limiter
        self.lanes = Lanes()

    async def close(self) -> None:
        await self.lanes.close()

    def on_line(self, event: Event) -> None:
        """A PRIVMSG (in a channel or not) from someone."""
        session, chat = self.session, self.session.chat
        source: NickMask = event.source
        nick = source.nick
        if not session.established or any(session.same(nick, other) for other in (session.nick, *chat.ignore)):
            return
        statusmsg = getattr(session.conn.features, "statusmsg", "")
        where = audience(event.target, session.nick, statusmsg if isinstance(statusmsg, str) else "", session.same)
        if where is None:
            return
        channel, answer_to = where
        room = chat.room(channel) if channel else None
        if channel and room is None:
            return  # a channel the bot was made to join: not one it serves
        parsed = read_line(inbound(event.arguments[0]), names=(session.bot_name, session.nick),
                           prefix=session.dispatcher.prefix, private=channel is None,
                           recognise_errors=room is not None and room.recognise_errors)
        if parsed is None:
            return
        tags = list(event.tags or [])
        arrived = _Arrival(nick, session.fold(str(source)), tags,
                           session.tracker.epoch(),  # who "nick" is as the line arrives
                           budget_key(source, tags, "account-tag" in session.cap.enabled))
        if not self._admitted(arrived):
            return
        session.stats.received += 1
        text, addressed = parsed
        lane = (channel and channel.lower(), fold(nick))
        self.lanes.submit(lane, lambda: self._answer(arrived, text, channel, answer_to or nick, addressed))

    def _admitted(self, arrived: _Arrival) -> bool:
        admission = self.limiter.admit(arrived.budget)
        if admission is Admission.WARN:
            wait = int(self.limiter.retry_after(arrived.budget)) + 1
            self.session.outbox.notice(arrived.nick, f"you are sending faster than I can answer: "
                                                     f"I am ignoring your lines for about {wait} s.", arrived.budget)
        return admission is Admission.ACCEPT

    async def _answer(self, arrived: _Arrival, text: str, channel: str | None, answer_to: str,
                      addressed: bool) -> None:
        session = self.session
        identity = await session.tracker.identify(arrived.nick, arrived.tags, arrived.epoch)
        message = Message(text, replace(identity, address=arrived.address), channel, addressed)
        sent = 0
        for outgoing in await respond(session.dispatcher, message, session.chat.long_output):
            sent += session.outbox.privmsg(arrived.nick if outgoing.private else answer_to, outgoing.lines,
                                           arrived.budget)  # in this person's turn, not behind everyone's
        self.limiter.charge(arrived.budget, sent)  # long answers use up the budget sooner
