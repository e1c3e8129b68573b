"""Who may run what. Every check fails closed: no verified person, no access.

Permissions are decided on the person behind a verified identity (`bot.core.people`),
never on a nick. Reading cluster data is a permission too: the configured rooms may
read (what is said there is public to their members anyway), and so may the
configured readers wherever they ask; a stranger in private gets the runbooks only.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.core.message import Message
from bot.core.people import CONSOLE, Acl, Directory, Person, normalise_principal


class Permission(enum.Enum):
    """What a command needs from its caller."""

    ANYONE = "anyone"  # the runbooks: nicks are fine
    READ = "read"  # cluster data: in a configured room, by a reader, or on the local console
    VERIFIED = "verified"  # a services account / real JID, whoever it is
    OPERATOR = "operator"  # a verified person that [access] operators admits


READ_REFUSED = ("cluster data is answered in the team's channels and rooms, and in private only "
                "to the people the bot's configuration lists as readers; ask in the channel")


def room_key(transport: str, room: str) -> tuple[str, str]:
    """A room as the access layer compares it: channel names ignore case."""
    return transport, normalise_principal(f"{transport}:{room}").partition(":")[2]


@dataclass(frozen=True)
class AccessPolicy:
    """Decides permissions from the configured people, groups and access lists."""

    directory: Directory = field(default_factory=Directory)
    operators: Acl = field(default_factory=Acl)
    readers: Acl = field(default_factory=Acl)
    rooms: frozenset[tuple[str, str]] = frozenset()  # room_key of every configured room

    @classmethod
    def of(cls, operators: Iterable[str], *, rooms: Iterable[tuple[str, str]] = ()) -> AccessPolicy:
        """A policy over bare accounts (``irc:alice``), without people or readers."""
        directory = Directory()
        return cls(directory, Acl.parse(operators, directory), Acl(), frozenset(room_key(*r) for r in rooms))

    def person(self, message: Message) -> Person | None:
        """The verified person who sent ``message``, or None."""
        return self.directory.person(message.sender.principal)

    def refusal(self, permission: Permission, message: Message) -> str | None:
        """Why ``message``'s sender may not use ``permission``, or None if they may."""
        if permission is Permission.ANYONE:
            return None
        if permission is Permission.READ:
            return None if self.may_read(message) else f"refused: {READ_REFUSED}."
        sender = message.sender
        if not sender.verified:
            return f"refused: {sender.unverified_reason}."
        if permission is Permission.VERIFIED:
            return None
        if self.operators.admits(self.person(message)):
            return None
        return f"refused: {sender.principal} is not an operator of this bot."

    def may_read(self, message: Message) -> bool:
        """Cluster data: in a configured room, for a reader or operator, or on the console."""
        sender = message.sender
        if message.room is not None and room_key(sender.transport, message.room) in self.rooms:
            return True
        if sender.transport == CONSOLE and sender.verified:
            return True  # the local user of the bot's own host
        person = self.person(message)
        return self.readers.admits(person) or self.operators.admits(person)
