"""Choosing instances the way people grep ``gnt-instance list``.

A filter is a few words, all of which must match. A word may say what it is
(``node=fsn-node-02``, ``status=running``, ``tag=env:prod``, ``name=web``) or
not, and then it is read as, in order: a status (``running``, ``ERROR_down``,
or the groups ``error`` and ``down``), a node name (full or short; primary or
secondary), a tag (exact, or a wildcard such as ``env:*``), and otherwise a
part of the instance name.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot.ganeti.errors import InvalidName
from bot.ganeti.model import Instance
from bot.ganeti.names import TAG_PATTERN, short

KINDS = ("name", "node", "status", "tag")
STATUSES = ("running", "ADMIN_down", "ADMIN_offline", "USER_down", "ERROR_up", "ERROR_down",
            "ERROR_nodedown", "ERROR_nodeoffline", "ERROR_wrongnode")
_GROUPS = {
    "error": frozenset(status for status in STATUSES if status.startswith("ERROR_")),
    "down": frozenset({"ADMIN_down", "USER_down", "ERROR_down"}),
}

Predicate = Callable[[Instance], bool]


@dataclass(frozen=True)
class Term:
    kind: str  # one of KINDS, or "" when the word did not say
    value: str


def parse_terms(words: Sequence[str]) -> tuple[Term, ...]:
    """Check and split the words of a filter; nothing here is sent anywhere."""
    terms = []
    for word in words:
        key, equals, value = word.partition("=")
        if equals and key.lower() in KINDS:
            kind, text = key.lower(), value
        else:
            kind, text = "", word
        if not TAG_PATTERN.fullmatch(text):  # filter words look like tags, names or states
            raise InvalidName(f"{word[:40]!r} is not a filter word (try a name part, node, status or tag)")
        terms.append(Term(kind, text))
    return tuple(terms)


def select(instances: Sequence[Instance], terms: Sequence[Term]) -> list[Instance]:
    """The instances that match every term; a word's meaning is guessed from the data."""
    if not terms:
        return list(instances)
    nodes: dict[str, set[str]] = {}  # full or short name, lower case → full names
    for node in {node for i in instances for node in (i.pnode, *i.snodes)}:
        for alias in (node.lower(), short(node).lower()):
            nodes.setdefault(alias, set()).add(node)
    tags = {tag for i in instances for tag in i.tags}
    predicates = [_predicate(term.kind or _guess(term.value, nodes, tags), term.value, nodes) for term in terms]
    return [instance for instance in instances if all(predicate(instance) for predicate in predicates)]


def _guess(value: str, nodes: Mapping[str, set[str]], tags: set[str]) -> str:
    lowered = value.lower()
    if lowered in _GROUPS or lowered in (status.lower() for status in STATUSES):
        return "status"
    if lowered in nodes:
        return "node"
    if any(fnmatch.fnmatchcase(tag, value) for tag in tags):
        return "tag"
    return "name"


def _predicate(kind: str, value: str, nodes: Mapping[str, set[str]]) -> Predicate:
    lowered = value.lower()
    if kind == "status":
        wanted = _GROUPS.get(lowered) or {status for status in STATUSES if status.lower() == lowered} or {value}
        return lambda i: i.status in wanted
    if kind == "node":
        on = nodes.get(lowered, set())
        return lambda i: i.pnode in on or any(node in on for node in i.snodes)
    if kind == "tag":
        return lambda i: any(fnmatch.fnmatchcase(tag, value) for tag in i.tags)
    if any(c in value for c in "*?["):
        return lambda i: fnmatch.fnmatch(i.name.lower(), lowered) or fnmatch.fnmatch(short(i.name).lower(), lowered)
    return lambda i: lowered in i.name.lower()


def describe(terms: Iterable[Term]) -> str:
    return " ".join(f"{term.kind}={term.value}" if term.kind else term.value for term in terms)
