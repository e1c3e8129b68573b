"""Reading RAPI's JSON as untrusted input: every value is checked before a model holds it.

An answer can be broken in any way: a proxy's error page, a truncated body,
another Ganeti version, a bug. Reading it either yields the kinds of values the
models promise (a name is a string, a size an integer, a tag list a list of
strings) or raises `Malformed` saying which field was wrong, in words that are
safe to show: the kind of value found, never the value itself. `answer_of`
turns that into the cluster's own `RapiBadAnswer`.

``None`` is accepted wherever RAPI leaves a value out (a node that did not
answer, an unknown field); the models say "unknown" for it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from bot.ganeti.errors import RapiBadAnswer
from bot.ganeti.names import is_name

T = TypeVar("T")
Row = Mapping[str, Any]
# Sizes, counts and IDs beyond this are nonsense, and would not survive the float
# arithmetic of formatting (2**53 MiB is 8 ZiB).
LIMIT = 2**53
LAST_SECOND = 253402300799  # 9999-12-31T23:59:59Z, the last moment a datetime can hold
_DIGITS = re.compile(r"[0-9]{1,15}")


class Malformed(ValueError):
    """An answer lacks a field or holds the wrong kind of value; the text says which."""


@contextmanager
def answer_of(cluster: str, what: str) -> Iterator[None]:
    """Reading ``what`` from ``cluster``: a `Malformed` answer becomes that cluster's `RapiBadAnswer`."""
    try:
        yield
    except Malformed as error:
        raise RapiBadAnswer(cluster, f"the bot cannot read RAPI's answer for {what} ({error}); is a proxy "
                                     "in the way, or is this a Ganeti version the bot does not know?") from None


def kind(value: object) -> str:
    """The JSON name of ``value``'s type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "an object"


def wrong(key: str, expected: str, value: object) -> Malformed:
    return Malformed(f"{key!r} should be {expected}, not {kind(value)}")


def shown(value: object, depth: int = 3) -> str:
    """Any JSON value as text (Ganeti's error details, log messages), nested
    structures cut at ``depth``: ``str()`` of an answer nested a thousand deep
    would exhaust the recursion limit."""
    if isinstance(value, str):
        return value
    if isinstance(value, list | dict) and depth <= 0:
        return "…"
    if isinstance(value, list):
        return "[" + ", ".join(shown(item, depth - 1) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {shown(item, depth - 1)}" for key, item in value.items()) + "}"
    return "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


# -- containers -----------------------------------------------------------------


def mapping(value: object, what: str) -> Mapping[str, Any]:
    if type(value) is not dict:
        raise Malformed(f"{what} should be an object, not {kind(value)}")
    return value


def items(value: object, what: str, *, null_is_empty: bool = False) -> list[Any]:
    if value is None and null_is_empty:
        return []
    if type(value) is not list:
        raise Malformed(f"{what} should be a list, not {kind(value)}")
    return value


def each(rows: Sequence[Row], build: Callable[[Row], T], what: str) -> tuple[T, ...]:
    """``build`` applied to every row (as `query_rows` returns them); a failure says which row."""
    try:
        return tuple(map(build, rows))
    except Malformed as error:  # thousands of rows: number them only when one fails
        number = next(number for number, row in enumerate(rows, 1) if _fails(build, row))
        raise Malformed(f"{what} {number}: {error}") from None


def _fails(build: Callable[[Row], object], row: Row) -> bool:
    try:
        build(row)
    except Malformed:
        return True
    return False


# -- scalars ---------------------------------------------------------------------
# Each takes the value and its key: the key only names the field in a message.


def name(value: object, key: str) -> str:
    """A Ganeti instance or node name: it may become part of a URL later."""
    if type(value) is str and is_name(value):
        return value
    if value is None:
        raise Malformed(f"{key!r} is missing")
    if type(value) is str:
        raise Malformed(f"{key!r} should be a host name (letters, digits, '.', '-', '_')")
    raise wrong(key, "a host name", value)


def text(value: object, key: str) -> str | None:
    if value is None or type(value) is str:
        return value
    raise wrong(key, "a string", value)


def texts(value: object, key: str) -> tuple[str, ...]:
    """A list of strings (names, tags); null is none."""
    if value is None:
        return ()
    if type(value) is list:
        try:
            "".join(value)  # the quickest check that every item is a string
        except TypeError:
            pass
        else:
            return tuple(value)
    raise wrong(key, "a list of strings", value)


def optional_texts(value: object, key: str) -> list[str | None]:
    """A list whose entries may be null (per-NIC and per-disk lists); null is none."""
    if value is None:
        return []
    if type(value) is list and all(item is None or type(item) is str for item in value):
        return value
    raise wrong(key, "a list of strings", value)


def integer(value: object, key: str) -> int | None:
    if value is None or (type(value) is int and -LIMIT <= value <= LIMIT):
        return value
    if type(value) is int:
        raise Malformed(f"{key!r} is a number out of range")
    raise wrong(key, "an integer", value)


def integers(value: object, key: str) -> list[int]:
    if value is None:
        return []
    if type(value) is list and all(type(item) is int and 0 <= item <= LIMIT for item in value):
        return value
    raise wrong(key, "a list of sizes", value)


def flag(value: object, key: str) -> bool | None:
    if value is None or type(value) is bool:
        return value
    raise wrong(key, "true or false", value)


def job_id(value: object, key: str = "job ID") -> int:
    """Job IDs are numbers on current servers and digit strings on old ones."""
    if type(value) is int and 0 <= value <= LIMIT:
        return value
    if type(value) is str and _DIGITS.fullmatch(value):
        return int(value)
    raise wrong(key, "a job number", value)


def timestamp(value: object, key: str) -> datetime | None:
    """Job times: ``[seconds, microseconds]``."""
    if value is None:
        return None
    if type(value) is list and len(value) == 2 and all(type(part) in (int, float) for part in value):
        seconds = value[0] + value[1] / 1e6
        if 0 <= value[1] < 1_000_000 and 0 <= seconds <= LAST_SECOND:
            return datetime.fromtimestamp(seconds, UTC)
    raise wrong(key, "[seconds, microseconds]", value)


def epoch(value: object, key: str) -> datetime | None:
    """Creation and modification times: seconds since 1970."""
    if value is None:
        return None
    if type(value) in (int, float) and 0 <= value <= LAST_SECOND:  # type: ignore[operator]
        return datetime.fromtimestamp(value, UTC)  # type: ignore[arg-type]
    raise wrong(key, "seconds since 1970", value)


# -- whole answers ------------------------------------------------------------------


def query_rows(body: object) -> list[dict[str, Any]]:
    """The rows of a ``/2/query/RESOURCE`` answer as dicts of field → value.

    Cells are ``[status, value]``; a status other than 0 (unknown field, no
    data, node offline) makes the value None.
    """
    answer = mapping(body, "the answer")
    fields = [name_of(field) for field in items(answer.get("fields"), "'fields'")]
    rows = items(answer.get("data"), "'data'")
    try:  # thousands of rows: the plain comprehension first, the details only if it fails
        return [{field: value if status == 0 else None for field, (status, value) in zip(fields, row, strict=True)}
                for row in rows]
    except (TypeError, ValueError):
        raise _first_bad_row(rows, fields) from None


def _first_bad_row(rows: list[Any], fields: list[str]) -> Malformed:
    for number, row in enumerate(rows, 1):
        if type(row) is not list or len(row) != len(fields):
            return Malformed(f"row {number} should be a list of {len(fields)} cells, not {kind(row)}"
                             + (f" of {len(row)}" if type(row) is list else ""))
        for field, cell in zip(fields, row):
            if type(cell) is not list or len(cell) != 2:
                return Malformed(f"row {number}, field {field!r}: a cell should be [status, value], not {kind(cell)}")
    return Malformed("a row does not match its fields")


def name_of(field: object) -> str:
    described = mapping(field, "a field description")
    found = described.get("name")
    if type(found) is not str:
        raise wrong("name", "a string", found)
    return found


def entry_ids(body: object) -> list[str]:
    """The names in ``/2/instances`` or ``/2/nodes``: ``[{"id": NAME, "uri": ...}, ...]``."""
    return [name(mapping(entry, "an entry").get("id"), "id") for entry in items(body, "the listing")]
