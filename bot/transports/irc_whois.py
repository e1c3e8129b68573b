"""WHOIS as a question and its answer: the replies matched to the WHOIS sent.

A server answers WHOISes in the order it gets them, each with a run of
numerics ending in 318: 330 "is logged in as" and 307 "has identified for
this nick" are the ones that matter here. A nick that is not there gets 401
and then 318 all the same (ircd-hybrid, InspIRCd and ngircd alike), and a
401 also answers a PRIVMSG to a nick that is gone: it ends nothing.
Nothing in the replies says which WHOIS they answer, so they are matched by
order: the oldest WHOIS still open for a nick gets them. One given up on
(timed out) stays open until its reply comes after all, so that a late
reply is never taken for a newer question's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

# A nick whose WHOISes go unanswered keeps at most this many open.
_UNANSWERED_KEPT = 4


class WhoisBusy(TimeoutError):
    """The WHOIS was never sent: too many requests wait to go out already."""


@dataclass(frozen=True)
class WhoisReply:
    """What one WHOIS said about a nick's login."""

    nick: str
    account: str | None = None  # 330: logged in as this account
    identified: bool = False  # 307: identified for this very nick

    @property
    def vouched(self) -> str | None:
        """The account the server vouches for: 330's, else (307) the nick."""
        return self.account or (self.nick if self.identified else None)


class PendingWhois:
    """One WHOIS sent; everyone asking about the same nick meanwhile shares it."""

    def __init__(self, nick: str, asked: int) -> None:
        self.nick = nick
        self.asked = asked  # when it was sent, in the tracker's order of events
        self.done: asyncio.Future[WhoisReply] = asyncio.get_running_loop().create_future()
        self.account: str | None = None
        self.identified = False
        self.abandoned = False

    def finish(self, reply: WhoisReply) -> None:
        if not self.done.done():
            self.done.set_result(reply)


class OpenWhois:
    """The WHOISes sent and not yet answered, per nick, oldest first."""

    def __init__(self, send: Callable[[str], bool], fold: Callable[[str], str], capacity: int) -> None:
        self._send = send
        self._fold = fold
        self.capacity = capacity
        self._open: dict[str, list[PendingWhois]] = {}  # folded nick -> oldest first; nicks oldest first

    def __len__(self) -> int:
        return len(self._open)

    def ask(self, nick: str, asked: int) -> PendingWhois:
        """Send a WHOIS for ``nick``, numbered ``asked``. If too many are open (for
        this nick, or nicks in all) or ``send`` refuses it (the queue of requests is
        full), the answer is `WhoisBusy` at once, and nothing is kept open: no reply
        is coming to be matched to it."""
        key = self._fold(nick)
        pending = PendingWhois(nick, asked)
        queue = self._open.get(key, [])
        # Forgetting an open WHOIS would hand its reply to the next one: refuse instead.
        full = len(queue) >= _UNANSWERED_KEPT or (not queue and len(self._open) >= self.capacity)
        if full or not self._send(nick):
            pending.done.set_exception(WhoisBusy(f"no room to ask WHOIS {nick}"))
            return pending
        self._open[key] = [*queue, pending]
        return pending

    def latest(self, nick: str) -> PendingWhois | None:
        """The newest WHOIS about ``nick`` still worth waiting for."""
        queue = self._open.get(self._fold(nick))
        return queue[-1] if queue and not queue[-1].abandoned else None

    def _answering(self, nick: str) -> PendingWhois | None:
        queue = self._open.get(self._fold(nick))
        return queue[0] if queue else None

    def account(self, nick: str, account: str) -> None:
        """330: ``nick`` is logged in as ``account``."""
        pending = self._answering(nick)
        if pending is not None:
            pending.account = account

    def identified(self, nick: str) -> None:
        """307: ``nick`` is registered and identified for."""
        pending = self._answering(nick)
        if pending is not None:
            pending.identified = True

    def end(self, nick: str) -> tuple[PendingWhois, WhoisReply] | None:
        """318: the oldest open WHOIS for ``nick`` is answered. Returns
        it with its reply, or None if nobody waits for it any more."""
        key = self._fold(nick)
        queue = self._open.get(key)
        if not queue:
            return None
        pending = queue.pop(0)
        if not queue:
            del self._open[key]
        if pending.abandoned:
            return None
        reply = WhoisReply(pending.nick, pending.account, pending.identified)
        pending.finish(reply)
        return pending, reply

    async def wait(self, pending: PendingWhois, timeout: float) -> WhoisReply:
        """``pending``'s reply; TimeoutError (and ``pending`` given up) after ``timeout`` seconds."""
        try:
            return await asyncio.wait_for(asyncio.shield(pending.done), timeout)
        except TimeoutError:
            pending.abandoned = True
            raise

    def close(self) -> None:
        """No reply is coming (the connection is gone): nobody is vouched for."""
        for queue in self._open.values():
            for pending in queue:
                pending.finish(WhoisReply(pending.nick))
        self._open.clear()
