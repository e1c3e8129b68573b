"""``[actions]``: which actions the bot offers, who may ask, who may confirm.

Fail closed: without an ``[actions]`` table no action is offered at all; with
one, ``migrate`` and ``activate-disks`` are, unless ``enabled`` says otherwise.
Each action has a policy: who may request it (an `Acl`), who may confirm it,
whether the requester may confirm their own request (``"self"``) or a second,
different *person* must (``"second"``), and how long a confirmation waits.
``[actions.NAME]`` overrides the table-wide defaults for one action::

    [actions]
    requesters = ["@tpa"]
    confirmation = "self"
    [actions.node-migrate]
    confirmation = "second"
    window_seconds = 300

``drain`` and ``migrate-back`` are told in reboot campaigns: a bot that
offers either follows campaigns (`bot.campaigns.runtime`), with the defaults
of ``[campaigns]`` if it has no such table.

Rooms that are bridged into one (an IRC channel and its XMPP twin) can be
declared one room for confirmations with ``linked_rooms``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.configreader import Table
from bot.core.access import room_key
from bot.core.announce import Place
from bot.core.people import Acl, Directory, DirectoryError

ACTIONS = ("migrate", "failover", "activate-disks", "node-migrate", "drain", "migrate-back")
DEFAULT_ENABLED = ("migrate", "activate-disks")
CONFIRMATIONS = ("self", "second")
AUDIT_FILE = "audit.jsonl"


@dataclass(frozen=True)
class ActionPolicy:
    """Who may request and confirm one action, and how."""

    action: str
    requesters: Acl
    approvers: Acl
    confirmation: str = "self"  # "self": the requester may confirm; "second": another person must
    window: float = 120.0  # seconds a confirmation waits

    @property
    def needs_second_person(self) -> bool:
        return self.confirmation == "second"


@dataclass(frozen=True)
class ActionSettings:
    policies: tuple[ActionPolicy, ...]  # the enabled actions only
    audit_file: Path
    linked_rooms: tuple[frozenset[str], ...] = ()  # each a set of room keys "realm:room"
    poll_seconds: float = 1.0  # first wait before asking how a job is doing
    poll_max_seconds: float = 10.0  # the wait grows up to this
    progress_seconds: float = 60.0  # a running job says how it is doing this often

    def policy(self, action: str) -> ActionPolicy | None:
        """The policy of ``action``, or None when it is not enabled."""
        return next((policy for policy in self.policies if policy.action == action), None)

    def room(self, realm: str, room: str) -> str:
        """The one name of ``room`` and the rooms linked to it."""
        key = room_name(realm, room)
        for linked in self.linked_rooms:
            if key in linked:
                return min(linked)
        return key


def second_person_doubts(settings: ActionSettings, directory: Directory) -> list[str]:
    """Where a "second" policy may not get a second human: it admits two or more accounts
    that no ``[people]`` entry names, and each of those counts as a person of its own."""
    doubts = []
    for policy in settings.policies:
        accounts = policy.requesters.accounts | policy.approvers.accounts
        people = {account: directory.person(account) for account in accounts}
        loose = sorted(account for account, person in people.items() if person and not directory.knows(person.name))
        if policy.needs_second_person and len(loose) > 1:
            doubts.append(f"[actions] {policy.action} needs a second person, and admits {', '.join(loose)}, which "
                          "no [people] entry names: each counts as a person of its own, so one human with two of "
                          "them could confirm their own request; name them under [people]")
    return doubts


def room_name(realm: str, room: str) -> str:
    """``realm:room`` with the room in the form access lists compare it."""
    realm, name = room_key(realm, room)
    return f"{realm}:{name}"


def parse_actions(table: Table, directory: Directory, state_dir: Path) -> ActionSettings:
    """The ``[actions]`` table (present, possibly empty), validated."""
    enabled = table.strings("enabled", DEFAULT_ENABLED)
    unknown = sorted(set(enabled) - set(ACTIONS))
    if unknown:
        raise table.error("enabled", f"no action {unknown[0]!r}; the actions are {', '.join(ACTIONS)}")
    defaults = _policy("*", table, directory, None)
    policies = []
    for action in ACTIONS:
        own = table.table(action)
        if action not in enabled:
            if stray := own.names():
                raise own.error(stray[0], f"{action} is not in [actions] enabled, so this has no effect")
            continue
        policies.append(_policy(action, own, directory, defaults))
        own.done()
    settings = ActionSettings(
        policies=tuple(policies),
        audit_file=table.path("audit_file", str(state_dir / AUDIT_FILE)),
        linked_rooms=_linked_rooms(table),
        poll_seconds=table.number("poll_seconds", 1.0, low=0.1),
        poll_max_seconds=table.number("poll_max_seconds", 10.0, low=0.1),
        progress_seconds=table.number("progress_seconds", 60.0, low=1),
    )
    if settings.poll_max_seconds < settings.poll_seconds:
        raise table.error("poll_max_seconds", "must not be less than poll_seconds")
    table.done()
    return settings


def _policy(action: str, table: Table, directory: Directory, defaults: ActionPolicy | None) -> ActionPolicy:
    def acl(key: str, fallback: Acl) -> Acl:
        if key not in table:
            table.strings(key, ())  # mark it read
            return fallback
        try:
            return Acl.parse(table.strings(key), directory)
        except DirectoryError as error:
            raise table.error(key, str(error)) from error

    requesters = acl("requesters", defaults.requesters if defaults else Acl())
    approvers = acl("approvers", defaults.approvers if defaults else requesters)
    return ActionPolicy(
        action=action,
        requesters=requesters,
        approvers=approvers,
        confirmation=table.string("confirmation", defaults.confirmation if defaults else "self",
                                  choices=CONFIRMATIONS),
        window=table.number("window_seconds", defaults.window if defaults else 120.0, low=1),
    )


def _linked_rooms(table: Table) -> tuple[frozenset[str], ...]:
    groups: list[frozenset[str]] = []
    seen: set[str] = set()
    for entry in table.string_lists("linked_rooms", ()):
        if len(entry) < 2:
            raise table.error("linked_rooms", 'expected lists of two or more rooms, e.g. [["irc:#ops", '
                              '"xmpp:ops@conference.example.org"]]')
        names = set()
        for text in entry:
            try:
                place = Place.parse(text)
            except ValueError as error:
                raise table.error("linked_rooms", str(error)) from error
            name = room_name(place.realm, place.target)
            if name in seen:
                raise table.error("linked_rooms", f"{text} is in two groups")
            seen.add(name)
            names.add(name)
        groups.append(frozenset(names))
    return tuple(groups)
