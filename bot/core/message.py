"""What a transport hands to the core, and what it gets back."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.people import normalise_principal


@dataclass(frozen=True)
class Identity:
    """Who sent a message, as far as the transport could verify it.

    ``name`` is what people see (an IRC nick, a MUC nickname) and proves nothing.
    ``account`` is set only when the transport verified it: a services account on
    IRC, the real bare JID on XMPP, the local user on the console. Anything
    privileged is decided on ``account``, never on ``name``.
    ``address`` is where the line came from as the network names it: the full
    ``nick!user@host`` on IRC, the full JID on XMPP (normalised by the
    transport). It proves nothing either, but it changes when the nick changes
    hands, which is what per-person state of the unverified is keyed on.
    """

    transport: str
    name: str
    account: str | None = None
    unverified_reason: str = "your identity could not be verified"
    address: str = ""

    @property
    def verified(self) -> bool:
        """An empty account string vouches for nobody."""
        return bool(self.account and self.account.strip())

    @property
    def principal(self) -> str | None:
        """``transport:account``, normalised as access lists compare it; None if unverified."""
        return normalise_principal(f"{self.transport}:{self.account}") if self.verified else None

    @property
    def origin(self) -> tuple[str, str]:
        """``(transport, address)``: the connection that sent the line; state kept
        for it is dropped when the transport says that address went away."""
        return self.transport, self.address or self.name

    @property
    def key(self) -> str:
        """Who this is, for per-person state: the verified principal, else the address."""
        return self.principal or f"{self.transport}:{self.address or self.name}"

    def __str__(self) -> str:
        if not self.verified:
            return f"{self.name} (unverified)"
        if self.account == self.name:
            return self.name
        return f"{self.name} ({self.account})"


@dataclass(frozen=True)
class Message:
    """One line of chat, already stripped of any "gntbot:" address.

    ``room`` is the channel or MUC room, or None for a private conversation.
    ``addressed`` is True when the line was meant for the bot: said in private,
    or prefixed with the bot's name. Lines with the command prefix are commands
    whether addressed or not.
    """

    text: str
    sender: Identity
    room: str | None = None
    addressed: bool = False

    @property
    def private(self) -> bool:
        return self.room is None

    @property
    def conversation(self) -> tuple[str, str, str]:
        """Where this line was said and by whom (`Identity.key`, never the bare
        nick): the key of per-person state such as pending ``!more`` pages."""
        return (self.sender.transport, self.room or "", self.sender.key)


@dataclass(frozen=True)
class Reply:
    """Lines to send back, in order.

    ``private`` asks the transport to send them to the sender alone.
    ``paged`` says the lines are already one page (``!more`` output), so the
    dispatcher must not cut them again.
    """

    lines: tuple[str, ...] = ()
    private: bool = False
    paged: bool = False

    @classmethod
    def of(cls, *lines: str, private: bool = False) -> Reply:
        return cls(tuple(lines), private)

    def __bool__(self) -> bool:
        return bool(self.lines)


NO_REPLY = Reply()
