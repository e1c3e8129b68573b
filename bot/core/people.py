"""People, not accounts: who is behind a verified identity, and which groups they are in.

One person may have several accounts (``irc:anarcat`` on OFTC, ``xmpp:anarcat@torproject.org``,
``console:anarcat`` on the bot's host). Every permission is decided on the *person*:
requesting on IRC and confirming on XMPP is one person acting twice, never two approvers.
A verified account that no ``[people]`` entry names is a person of its own, named after
the account, so a small team can list accounts directly in the access lists.

Principals are ``realm:account``. The realms ``console`` and ``xmpp`` are the console and
XMPP transports; every other realm is an IRC network (``irc``, or a configured
``realm = "irc-oftc"``). Accounts are compared the way their network compares them:
XMPP bare JIDs and IRC services accounts without regard to case (IRC with its
RFC 1459 folding, where ``[]\\~`` are the capitals of ``{}|^``), console users exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

CONSOLE = "console"
XMPP = "xmpp"
RESERVED_REALMS = frozenset({CONSOLE, XMPP})
_RFC1459 = str.maketrans("[]\\~", "{}|^")


def normalise_principal(principal: str) -> str:
    """``realm:account`` in the one form used for comparisons (see the module docstring)."""
    realm, _, account = principal.partition(":")
    realm = realm.strip().lower()
    account = account.strip()
    if realm == CONSOLE:
        return f"{realm}:{account}"
    if realm == XMPP:
        return f"{realm}:{account.lower()}"
    return f"{realm}:{account.lower().translate(_RFC1459)}"


def is_principal(entry: str) -> bool:
    """True for ``realm:account`` with both parts present."""
    realm, colon, account = entry.partition(":")
    return bool(colon and realm.strip() and account.strip())


@dataclass(frozen=True)
class Person:
    """Someone the bot knows: a configured person, or a lone verified account."""

    name: str
    accounts: frozenset[str]
    groups: frozenset[str] = frozenset()

    def __str__(self) -> str:
        return self.name


class DirectoryError(ValueError):
    """The people and groups do not fit together; the text says which entry is wrong."""


class Directory:
    """The configured people and groups: account → person, person → groups."""

    def __init__(self, people: Mapping[str, Iterable[str]] | None = None,
                 groups: Mapping[str, Iterable[str]] | None = None) -> None:
        people = people or {}
        groups = groups or {}
        self._owner: dict[str, str] = {}
        for name, accounts in people.items():
            for account in accounts:
                if not is_principal(account):
                    raise DirectoryError(f"{name}: {account!r} is not of the form realm:account (e.g. irc:alice)")
                key = normalise_principal(account)
                other = self._owner.setdefault(key, name)
                if other != name:
                    raise DirectoryError(f"{account} is listed for both {other} and {name}")
        self._accounts = {name: frozenset(normalise_principal(a) for a in accounts) for name, accounts in people.items()}
        self._members: dict[str, frozenset[str]] = {}
        for group, members in groups.items():
            members = frozenset(members)
            unknown = sorted(members - set(self._accounts))
            if unknown:
                raise DirectoryError(f"group {group}: {unknown[0]!r} is not a person of [people]")
            self._members[group] = members

    @property
    def people(self) -> frozenset[str]:
        return frozenset(self._accounts)

    @property
    def groups(self) -> frozenset[str]:
        return frozenset(self._members)

    def knows(self, name: str) -> bool:
        """True if ``name`` is a configured person."""
        return name in self._accounts

    def person(self, principal: str | None) -> Person | None:
        """The person behind a verified ``principal``; None for an unverified sender."""
        if not principal:
            return None
        key = normalise_principal(principal)
        name = self._owner.get(key)
        if name is None:
            return Person(key, frozenset({key}))
        groups = frozenset(group for group, members in self._members.items() if name in members)
        return Person(name, self._accounts[name], groups)


@dataclass(frozen=True)
class Acl:
    """Who an access list admits: people by name, ``@group`` members, and accounts."""

    people: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    accounts: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, entries: Iterable[str], directory: Directory) -> Acl:
        """Read ``["anarcat", "@tpa", "irc:weasel"]``; `DirectoryError` names a wrong entry."""
        people, groups, accounts = set(), set(), set()
        for entry in entries:
            if entry.startswith("@"):
                if entry[1:] not in directory.groups:
                    raise DirectoryError(f"{entry!r}: no such group in [groups]")
                groups.add(entry[1:])
            elif is_principal(entry):
                accounts.add(normalise_principal(entry))
            elif directory.knows(entry):
                people.add(entry)
            else:
                raise DirectoryError(f"{entry!r} is neither a person of [people], an @group, "
                                     f"nor an account written realm:account (e.g. irc:alice)")
        return cls(frozenset(people), frozenset(groups), frozenset(accounts))

    def admits(self, person: Person | None) -> bool:
        if person is None:
            return False
        return (person.name in self.people or bool(person.groups & self.groups)
                or bool(person.accounts & self.accounts))

    def __bool__(self) -> bool:
        return bool(self.people or self.groups or self.accounts)
