"""Who is speaking on IRC: a services account the server vouches for, never a nick.

The sources, best first:

1. ``account-tag``: every message carries its sender's account; no tag means
   not logged in. Nothing is cached.
2. ``extended-join`` + ``account-notify``: the server tells the account of
   everyone who joins and every later login or logout, for as long as they
   share a channel with the bot. Kept in a table, trusted while they stay.
3. WHOIS: 330 (the account) or, on networks such as OFTC, 307 alone (the
   nick is registered and its user identified for it: the account is taken
   to be the nick, and it does not follow a nick change). Without
   account-notify nobody tells the bot when someone logs out, so an answer
   counts only for lines that arrived before the WHOIS was asked: every
   later line asks again.

Nothing is remembered about someone who shares no channel with the bot: the
server would not tell us if they left and somebody else took the nick.

A line is answered some time after it arrived (a slow command may be ahead of
it, a WHOIS takes a round trip). Every nick move and every WHOIS sent is
numbered in order (`epoch` is the number now): a line carries the number it
arrived at, and if its nick moved after that (NICK, QUIT, PART, KICK or
ACCOUNT), its sender is not vouched for.

The tables are bounded, whoever comes and goes: at most ``capacity`` answers,
nick moves and open WHOISes are kept, the oldest dropped first; answers taken
without account-notify expire after ``ttl`` seconds, moves after `MOVES_KEPT`.
A line that arrived before the newest move forgotten counts as if its own
nick had moved (fail closed: "send it again").
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

from bot.core.message import Identity
from bot.transports.irc_whois import OpenWhois, PendingWhois, WhoisBusy, WhoisReply

NOT_LOGGED_IN = "not logged in to a services account"
NICK_MOVED = "your nick changed hands while your line waited; send it again"
WHOIS_TIMED_OUT = "your services login could not be checked (WHOIS timed out)"
WHOIS_BUSY = "your services login could not be checked (too many lookups are waiting); send it again in a minute"
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_FOLDS = {
    "ascii": str.maketrans(_UPPER, _UPPER.lower()),
    "strict-rfc1459": str.maketrans(_UPPER + "[]\\", _UPPER.lower() + "{}|"),
    "rfc1459": str.maketrans(_UPPER + "[]\\~", _UPPER.lower() + "{}|^"),
}
_NAME_PREFIXES = "~&@%+"
# How long (seconds) a nick move is remembered. A line that waited longer to
# be answered may be refused ("send it again"): whether its nick moved
# meanwhile is forgotten.
MOVES_KEPT = 600.0


def fold(name: str, casemapping: str = "rfc1459") -> str:
    """``name`` in the server's case-insensitive form (ISUPPORT CASEMAPPING)."""
    return name.translate(_FOLDS.get(casemapping, _FOLDS["rfc1459"]))


@dataclass(frozen=True)
class _Known:
    account: str | None
    stamp: float  # clock time of the answer
    asked: int  # the epoch at which it was asked (0: told by the server unasked)
    follows_nick_changes: bool  # False for a 307-only answer, which vouches for the nick


class AccountTracker:
    """Follows what the server says about accounts; answers `identify`."""

    def __init__(
        self,
        ask_whois: Callable[[str], bool],  # False: no room to send it now
        *,
        realm: str = "irc",
        ttl: float = 60.0,
        whois_timeout: float = 10.0,
        capacity: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.realm = realm
        self.ttl = ttl
        self.whois_timeout = whois_timeout
        self.capacity = capacity
        self._clock = clock
        self._tags = False
        self._notify = False
        self._casemapping = "rfc1459"
        self._channels: dict[str, set[str]] = {}  # folded nick -> folded channels shared
        self._known: dict[str, _Known] = {}  # oldest first
        self._whois = OpenWhois(ask_whois, self._fold, capacity)
        self._moves: dict[str, tuple[int, float]] = {}  # folded nick -> (epoch, clock) of its last move
        self._forgotten = 0  # the newest move dropped from _moves
        self._epoch = 0

    def epoch(self) -> int:
        """Where things stand now; pass it to `identify` with a line arriving now."""
        return self._epoch

    def _next_epoch(self) -> int:
        self._epoch += 1
        return self._epoch

    @property
    def remembered(self) -> int:
        """How many nicks the tracker keeps answers, moves or open WHOISes
        for (each of the three bounded by ``capacity``)."""
        return len(self._known) + len(self._moves) + len(self._whois)

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
            self._remember(key, None if account in (None, "*") else account, asked=0)

    def parted(self, channel: str, nick: str) -> None:
        """A PART or KICK of someone else."""
        key = self._fold(nick)
        self._moved(key)
        channels = self._channels.get(key)
        if channels is not None:
            channels.discard(self._fold(channel))
            if not channels:
                self._forget(key)
        if not self._notify:
            self._known.pop(key, None)

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
        server that notifies account changes lets us carry it over, and a
        307 answer never moves (it vouched for the old nick)."""
        old_key, new_key = self._fold(old), self._fold(new)
        self._moved(old_key)
        self._moved(new_key)
        channels = self._channels.pop(old_key, None)
        known = self._known.pop(old_key, None)
        self._forget(new_key)
        if channels:
            self._channels[new_key] = channels
            if known is not None and self._notify and known.follows_nick_changes:
                self._known[new_key] = known

    def account_changed(self, nick: str, account: str) -> None:
        """An ACCOUNT message (account-notify): ``*`` means logged out."""
        key = self._fold(nick)
        self._moved(key)
        if self._notify and key in self._channels:
            self._remember(key, None if account == "*" else account, asked=0)
        else:
            self._known.pop(key, None)

    def reset(self) -> None:
        """The connection is gone: everything known is stale."""
        self._channels.clear()
        self._known.clear()
        self._moves.clear()
        self._forgotten = self._next_epoch()  # lines from before vouch for nobody
        self._whois.close()

    def _forget(self, key: str) -> None:
        self._channels.pop(key, None)
        self._known.pop(key, None)

    def _moved(self, key: str) -> None:
        """``key`` changed hands (or may have): lines that arrived before are void."""
        self._moves.pop(key, None)
        now = self._clock()
        self._moves[key] = (self._next_epoch(), now)
        while self._moves:  # oldest first: past capacity or MOVES_KEPT, forget
            oldest_key = next(iter(self._moves))
            epoch, stamp = self._moves[oldest_key]
            if len(self._moves) <= self.capacity and now - stamp <= MOVES_KEPT:
                break
            del self._moves[oldest_key]
            self._forgotten = max(self._forgotten, epoch)

    def _moved_since(self, key: str, epoch: int) -> bool:
        moved, _ = self._moves.get(key, (self._forgotten, 0.0))
        return moved > epoch

    def _remember(self, key: str, account: str | None, *, asked: int, follows: bool = True) -> None:
        self._known.pop(key, None)
        self._known[key] = _Known(account, self._clock(), asked, follows)
        self._expire()

    def _expire(self) -> None:
        """Drop the oldest answers past ``capacity``, and (without
        account-notify, where they count for a burst at most) past ``ttl``."""
        now = self._clock()
        while self._known:
            oldest_key = next(iter(self._known))
            oldest = self._known[oldest_key]
            if len(self._known) <= self.capacity and (self._notify or now - oldest.stamp <= self.ttl):
                break
            del self._known[oldest_key]

    # WHOIS replies.

    def whois_account(self, nick: str, account: str) -> None:
        """330: ``nick`` is logged in as ``account``."""
        self._whois.account(nick, account)

    def whois_registered(self, nick: str) -> None:
        """307: ``nick`` is registered and identified for."""
        self._whois.identified(nick)

    def whois_end(self, nick: str) -> None:
        """318: the end of a WHOIS reply."""
        answered = self._whois.end(nick)
        key = self._fold(nick)
        if answered is not None and key in self._channels:
            pending, reply = answered
            self._remember(key, reply.vouched, asked=pending.asked, follows=reply.account is not None)

    # The question.

    async def identify(self, nick: str, tags: Iterable[dict[str, str | None]] = (),
                       epoch: int | None = None) -> Identity:
        """The identity of the sender of a line that carried ``tags`` and arrived
        at ``epoch`` (see `epoch`; None: now)."""
        if self._tags:  # the server stamped the account on the line itself
            account = next((tag["value"] for tag in tags if tag["key"] == "account"), None)
            return self._identity(nick, account or None)
        arrived = self.epoch() if epoch is None else epoch
        try:
            account = await self._account_after(nick, arrived)
        except WhoisBusy:
            return Identity(self.realm, nick, None, WHOIS_BUSY)  # fail closed
        except TimeoutError:
            return Identity(self.realm, nick, None, WHOIS_TIMED_OUT)
        if self._moved_since(self._fold(nick), arrived):
            return Identity(self.realm, nick, None, NICK_MOVED)
        return self._identity(nick, account)

    def _identity(self, nick: str, account: str | None) -> Identity:
        if account is None:
            return Identity(self.realm, nick, None, NOT_LOGGED_IN)
        return Identity(self.realm, nick, account)

    async def _account_after(self, nick: str, arrived: int) -> str | None:
        """The account of ``nick`` as the server saw it after ``arrived``:
        from the table, or from a WHOIS asked after the line arrived."""
        known = self._valid(self._fold(nick), arrived)
        if known is not None:
            return known.account
        latest = self._whois.latest(nick)
        pending = latest if latest is not None and latest.asked > arrived else self._ask(nick)
        reply = await self._whois.wait(pending, self.whois_timeout)
        return reply.vouched

    def _valid(self, key: str, arrived: int) -> _Known | None:
        known = self._known.get(key)
        if known is None or key not in self._channels:
            return None
        if self._notify:
            return known  # the server tells every change
        if known.asked <= arrived or self._clock() - known.stamp > self.ttl:
            return None
        return known

    def _ask(self, nick: str) -> PendingWhois:
        return self._whois.ask(nick, self._next_epoch())

    async def lookup(self, nick: str) -> WhoisReply:
        """What ``nick`` is logged in to, from a WHOIS sent now (or one on its way)."""
        return await self._whois.wait(self._whois.latest(nick) or self._ask(nick), self.whois_timeout)
