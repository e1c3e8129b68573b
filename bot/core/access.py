"""Who may run what. Every check fails closed: no verified account, no access."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from bot.core.message import Message


class Permission(enum.Enum):
    """What a command needs from its caller."""

    ANYONE = "anyone"  # reading and searching: nicks are fine
    VERIFIED = "verified"  # a services account / real JID, whoever it is
    OPERATOR = "operator"  # a verified account listed in [access] operators


@dataclass(frozen=True)
class AccessPolicy:
    """Decides permissions from the configured operator principals.

    Principals are written ``transport:account``, e.g. ``irc:anarcat`` or
    ``xmpp:anarcat@example.org``; see ``Identity.principal``.
    """

    operators: frozenset[str] = frozenset()

    @classmethod
    def of(cls, operators: Iterable[str]) -> AccessPolicy:
        return cls(frozenset(operators))

    def refusal(self, permission: Permission, message: Message) -> str | None:
        """Why ``message``'s sender may not use ``permission``, or None if they may."""
        if permission is Permission.ANYONE:
            return None
        sender = message.sender
        if not sender.verified:
            return f"refused: {sender.unverified_reason}."
        if permission is Permission.VERIFIED:
            return None
        if permission is Permission.OPERATOR and sender.principal in self.operators:
            return None
        return f"refused: {sender.principal} is not an operator of this bot."
