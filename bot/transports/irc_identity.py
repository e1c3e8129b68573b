"""Who is speaking on IRC: a services account the server vouches for, never a nick.

The sources, best first:

1. ``account-tag``: every message carries its sender's account; no tag means
   not logged in. Nothing is cached.
2. ``extended-join`` + ``account-notify``: the server tells the account of
   everyone who joins and every later login or logout, for as long as they
   share a channel with the bot. Kept in a table, trusted while they stay.
3. WHOIS: 330 (the account) or, on networks such as OFTC, 307 (the nick is
   registered and identified). Asked when needed, remembered for ``ttl``
   seconds at most, and forgotten at once on NICK, QUIT, PART, KICK or ACCOUNT.

Nothing is remembered about someone who shares no channel with the bot: the
server would not tell us if they left and somebody else took the nick.

A line is answered some time after it arrived (a slow command may be ahead of
it, a WHOIS takes a round trip). Each nick has an epoch that moves on every
NICK, QUIT, PART, KICK or ACCOUNT concerning it: a line is identified against
the epoch it arrived in, and if that moved, its sender is not vouched for.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

from bot.core.message import Identity

NOT_LOGGED_IN = "not logged in to a services account"
NICK_MOVED = "your nick changed hands while your line waited; send it again"
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_FOLDS = {
    "ascii": str.maketrans(_UPPER, _UPPER.lower()),
    "strict-rfc1459": str.maketrans(_UPPER + "[]\\", _UPPER.lower() + "{}|"),
    "rfc1459": str.maketrans(_UPPER + "[]\\~", _UPPER.lower() + "{}|^"),
}
_NAME_PREFIXES = "~&@%+"


def fold(name: str, casemapping: str = "rfc1459") -> str:
    """``name`` in the server's case-insensitive form (ISUPPORT CASEMAPPING)."""
    return name.translate(_FOLDS.get(casemapping, _FOLDS["rfc1459"]))


@dataclass
class _Known:
    account: str | None
    stamp: float


class _Whois:
    """One WHOIS in flight; everyone asking about the same nick shares it."""

    def __init__(self) -> None:
        self.done: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self.account: str | None = None
        self.registered_nick: str | None = None


class AccountTracker:
    """Follows what the server says about accounts; answers `identify`."""

    def __init__(
        self,
        ask_whois: Callable[[str], None],
        *,
        realm: str = "irc",
        ttl: float = 60.0,
        whois_timeout: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ask_whois = ask_whois
        self.realm = realm
        self.ttl = ttl
        self.whois_timeout = whois_timeout
        self._clock = clock
        self._tags = False
        self._notify = False
        self._casemapping = "rfc1459"
        self._channels: dict[str, set[str]] = {}  # folded nick -> folded channels shared
        self._known: dict[str, _Known] = {}
        self._whois: dict[str, _Whois] = {}
        self._epochs: dict[str, int] = {}

    def epoch(self, nick: str) -> int:
        """Where ``nick`` stands now; pass it to `identify` with its line."""
        return self._epochs.get(self._fold(nick), 0)

    def _moved(self, key: str) -> None:
        self._epochs[key] = self._epochs.get(key, 0) + 1

    def configure(self, caps: Collection[str], casemapping: str) -> None:
        """What the server offers, once registration is done."""
        self._tags = "account-tag" in caps
        self._notify = "account-notify" in caps and "extended-join" in caps
        self._casemapping = casemapping

    def _fold(self, name: str) -> str:
        return fold(name, self._casemapping)

    # What the server tells about presence and accounts.

    def names(self, channel: str, names: Iterable[str]) -> None:
        """A NAMES reply (353): who is already in ``channel``."""
        for name in names:
            nick = name.lstrip(_NAME_PREFIXES).split("!", 1)[0]
            if nick:
                self._channels.setdefault(self._fold(nick), set()).add(self._fold(channel))

    def joined(self, channel: str, nick: str, account: str | None = None, *, extended: bool = False) -> None:
        """A JOIN; with extended-join it names the account (``*``: none)."""
        key = self._fold(nick)
        self._channels.setdefault(key, set()).add(self._fold(channel))
        if extended and self._notify:
            self._known[key] = _Known(None if account in (None, "*") else account, self._clock())

    def parted(self, channel: str, nick: str) -> None:
        """A PART or KICK of someone else."""
        key = self._fold(nick)
        self._moved(key)
        channels = self._channels.get(key)
        if channels is not None:
            channels.discard(self._fold(channel))
            if not channels:
                self._forget(key)
        self._drop_unless_notified(key)

    def left(self, channel: str) -> None:
        """The bot itself left ``channel`` (or was kicked out of it)."""
        folded = self._fold(channel)
        for key in [k for k, channels in self._channels.items() if folded in channels]:
            self.parted(channel, key)

    def quit(self, nick: str) -> None:
        self._moved(self._fold(nick))
        self._forget(self._fold(nick))

    def renamed(self, old: str, new: str) -> None:
        """A NICK change: the account stays with the connection, but only a
        server that notifies account changes lets us carry it over."""
        old_key, new_key = self._fold(old), self._fold(new)
        self._moved(old_key)
        self._moved(new_key)
        channels = self._channels.pop(old_key, None)
        known = self._known.pop(old_key, None)
        self._forget(new_key)
        if channels:
            self._channels[new_key] = channels
            if known is not None and self._notify:
                self._known[new_key] = known

    def account_changed(self, nick: str, account: str) -> None:
        """An ACCOUNT message (account-notify): ``*`` means logged out."""
        key = self._fold(nick)
        self._moved(key)
        if self._notify and key in self._channels:
            self._known[key] = _Known(None if account == "*" else account, self._clock())
        else:
            self._known.pop(key, None)

    def reset(self) -> None:
        """The connection is gone: everything known is stale."""
        self._channels.clear()
        self._known.clear()
        self._epochs.clear()
        for pending in self._whois.values():
            if not pending.done.done():
                pending.done.set_result(None)
        self._whois.clear()

    def _forget(self, key: str) -> None:
        self._channels.pop(key, None)
        self._known.pop(key, None)

    def _drop_unless_notified(self, key: str) -> None:
        if not self._notify:
            self._known.pop(key, None)

    # WHOIS replies.

    def whois_account(self, nick: str, account: str) -> None:
        """330: ``nick`` is logged in as ``account``."""
        pending = self._whois.get(self._fold(nick))
        if pending is not None:
            pending.account = account

    def whois_registered(self, nick: str) -> None:
        """307: ``nick`` is registered and identified (the account is the nick)."""
        pending = self._whois.get(self._fold(nick))
        if pending is not None:
            pending.registered_nick = nick

    def whois_end(self, nick: str) -> None:
        """318 (end of WHOIS) or 401 (no such nick)."""
        key = self._fold(nick)
        pending = self._whois.pop(key, None)
        if pending is None:
            return
        account = pending.account or pending.registered_nick
        if key in self._channels:
            self._known[key] = _Known(account, self._clock())
        pending.done.set_result(account)

    # The question.

    async def identify(self, nick: str, tags: Iterable[dict[str, str | None]] = (),
                       epoch: int | None = None) -> Identity:
        """The identity of the sender of a line that carried ``tags`` and arrived
        at ``epoch`` (see `epoch`; None: now)."""
        if self._tags:  # the server stamped the account on the line itself
            account = next((tag["value"] for tag in tags if tag["key"] == "account"), None)
            return self._identity(nick, account or None)
        arrived = self.epoch(nick) if epoch is None else epoch
        known = self._valid(self._fold(nick))
        if known is not None:
            account = known.account
        else:
            try:
                account = await self.lookup(nick)
            except TimeoutError:
                return Identity(self.realm, nick, None, "your services login could not be checked (WHOIS timed out)")
        if self.epoch(nick) != arrived:
            return Identity(self.realm, nick, None, NICK_MOVED)
        return self._identity(nick, account)

    def _identity(self, nick: str, account: str | None) -> Identity:
        if account is None:
            return Identity(self.realm, nick, None, NOT_LOGGED_IN)
        return Identity(self.realm, nick, account)

    def _valid(self, key: str) -> _Known | None:
        known = self._known.get(key)
        if known is None or key not in self._channels:
            return None
        if not self._notify and self._clock() - known.stamp > self.ttl:
            del self._known[key]
            return None
        return known

    async def lookup(self, nick: str) -> str | None:
        """Ask the server (WHOIS) which account ``nick`` is logged in to."""
        key = self._fold(nick)
        pending = self._whois.get(key)
        if pending is None:
            pending = self._whois[key] = _Whois()
            self._ask_whois(nick)
        try:
            return await asyncio.wait_for(asyncio.shield(pending.done), self.whois_timeout)
        except TimeoutError:
            if self._whois.get(key) is pending:
                del self._whois[key]
            raise

