"""Checking and shortening the names people type in chat.

RAPI accepts ``[\\w._-]+`` in a URL path (anything else is a 404 at best), so a
name from chat is checked here before it can become part of a URL: no slashes,
no dots-only path tricks, no query strings, no percent-escapes.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable, Sequence

from bot.ganeti.errors import InvalidName

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,252}")
# ASCII digits only: str.isdigit() and int() also take "²" or "٣", and int("²") raises.
_NUMBER = re.compile(r"[0-9]{1,12}")


def is_name(text: str) -> bool:
    """Whether ``text`` can be a Ganeti instance, node or group name (and so a URL segment)."""
    return _NAME.fullmatch(text) is not None and ".." not in text


def checked_name(text: str, kind: str = "name") -> str:
    """``text`` if it can be a Ganeti instance, node or group name, else `InvalidName`."""
    if not is_name(text):
        shown = text if len(text) <= 40 else text[:40] + "…"
        raise InvalidName(f"{shown!r} is not a valid {kind} (letters, digits, '.', '-', '_')")
    return text


def number(text: str) -> int | None:
    """A number typed in chat (ASCII digits, at most 12), or None."""
    return int(text) if _NUMBER.fullmatch(text) else None


def checked_job_id(text: str) -> int:
    """A job ID from chat: digits only."""
    job_id = number(text)
    if job_id is None:
        raise InvalidName(f"{text[:40]!r} is not a job ID (a number, as in gnt-job list)")
    return job_id


LISTED = 6  # names in one chat line, by default, before "and N more"


def listed(items: Sequence[str], most: int = LISTED, separator: str = ", ") -> str:
    """The first ``most`` of ``items`` joined for one chat line, and how many more."""
    more = f" and {len(items) - most} more" if len(items) > most else ""
    return separator.join(items[:most]) + more


def short(name: str) -> str:
    """The first label of a DNS name: ``test-01.example.org`` → ``test-01``."""
    return name.split(".", 1)[0]


def common_domain(names: Iterable[str]) -> str:
    """The DNS domain all ``names`` share (``".example.org"``), or ``""``.

    Listings drop it so that a line shows ``fsn-node-01 web-01`` rather than
    two fully qualified names; it is said once, in the header.
    """
    unique = set(names)
    if not unique:
        return ""
    labels = next(iter(unique)).split(".")[1:]
    for name in unique:
        while labels and not name.endswith("." + ".".join(labels)):
            labels.pop(0)
    # a bare top-level domain (".org") shared by chance is not worth dropping
    return "." + ".".join(labels) if len(labels) >= 2 else ""


def strip_domain(name: str, domain: str) -> str:
    return name[: -len(domain)] if domain and name.endswith(domain) else name


TAG_PATTERN = re.compile(r"[\w.+*/:@?\[\]!-]{1,128}")


def tag_matcher(pattern: str) -> Callable[[str], bool]:
    """Tags containing ``pattern``, a shell-style wildcard (``htools:iextags:*``).

    Like ``gnt-cluster search-tags`` it matches anywhere in the tag, but it is
    a wildcard rather than a regular expression: a pattern typed in chat
    cannot make the bot backtrack for minutes.
    """
    if not TAG_PATTERN.fullmatch(pattern):
        raise InvalidName(f"{pattern[:40]!r} is not a tag pattern (tag characters and the wildcards * ? [ ])")
    regex = re.compile(fnmatch.translate(f"*{pattern}*"))
    return lambda tag: regex.match(tag) is not None
