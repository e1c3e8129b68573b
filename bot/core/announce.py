"""What the bot says on its own: a job's outcome, a reboot campaign's progress.

Replies answer a message; announcements go to a room that nobody just spoke in,
often minutes or hours after the request. Capabilities name the room as a
`Place` (the realm of the network and the room or person there) and call
`Announcer.announce`; each connected transport attaches a sink for its realm.
While a network is down (reconnecting), its lines wait in a bounded queue and
go out when it is back; a bot restart loses that queue, so whoever must not
lose a line (a job's outcome) keeps it in the store until it was handed over.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.core.clipping import DEFAULT_LIMITS, OutputLimits, clip

log = logging.getLogger(__name__)

Sink = Callable[[str, Sequence[str]], None]
"""A transport's way to send lines to a target (a room, or a person in private)."""

QUEUED_LINES = 200  # per realm, while its network is away


@dataclass(frozen=True)
class Place:
    """Where to say something: ``realm`` (``irc``, ``irc-oftc``, ``xmpp``, ``console``)
    and ``target`` (``#tor-admin``, ``ops@conference.example.org``, or a nick/JID)."""

    realm: str
    target: str

    def __str__(self) -> str:
        return f"{self.realm}:{self.target}"

    @classmethod
    def parse(cls, text: str) -> Place:
        """``irc:#tor-admin`` → ``Place("irc", "#tor-admin")``."""
        realm, colon, target = text.partition(":")
        if not colon or not realm or not target:
            raise ValueError(f"{text!r} is not realm:room (e.g. irc:#tor-admin or xmpp:ops@conference.example.org)")
        return cls(realm, target)


class Announcer:
    """Routes announcements to the transports attached for each realm."""

    def __init__(self, limits: OutputLimits = DEFAULT_LIMITS, queued_lines: int = QUEUED_LINES) -> None:
        self._sinks: dict[str, Sink] = {}
        self._waiting: dict[str, deque[tuple[str, tuple[str, ...]]]] = {}
        self._limits = limits
        self._queued_lines = queued_lines

    def attach(self, realm: str, sink: Sink) -> None:
        """A transport of ``realm`` is connected: send what waited, then everything new."""
        self._sinks[realm] = sink
        waiting = self._waiting.pop(realm, deque())
        for target, lines in waiting:
            sink(target, lines)

    def detach(self, realm: str, sink: Sink) -> None:
        """The connection that attached ``sink`` is gone (a newer one may have attached since)."""
        if self._sinks.get(realm) is sink:
            del self._sinks[realm]

    def connected(self, realm: str) -> bool:
        return realm in self._sinks

    def announce(self, place: Place, lines: Sequence[str]) -> None:
        """Say ``lines`` (clipped as replies are) at ``place`` now, or as soon as its network is back."""
        clipped = clip(lines, self._limits)
        if not clipped:
            return
        sink = self._sinks.get(place.realm)
        if sink is not None:
            sink(place.target, clipped)
            return
        waiting = self._waiting.setdefault(place.realm, deque())
        waiting.append((place.target, clipped))
        while sum(len(queued) for _, queued in waiting) > self._queued_lines and len(waiting) > 1:
            target, dropped = waiting.popleft()
            log.warning("%s is not connected: dropped %d queued line(s) for %s", place.realm, len(dropped), target)
