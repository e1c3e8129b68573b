"""How a runbook section is kept in the whoosh index: the schema, and the
stored fields of a section both ways.

The index is read back into the bot's process, so what it holds is checked
as it is decoded: a value of the wrong type means its files were damaged
(`DamagedIndex`), which a rebuild from the runbooks repairs.
"""

from __future__ import annotations

from dataclasses import dataclass

from whoosh.fields import ID, STORED, Schema

from bot.errors import GntbotError
from bot.knowledge.analysis import analyse_section
from bot.knowledge.sections import Section

_SEPARATOR = "\x1e"  # joins the trail and the code blocks in stored fields


class RunbookIndexError(GntbotError):
    """The index cannot be read or written."""


class DamagedIndex(RunbookIndexError):
    """The index on disk cannot be decoded; rebuilding it from the runbooks repairs it."""


def schema() -> Schema:
    return Schema(
        key=ID(unique=True, stored=True),
        file=ID(stored=True),
        heading=STORED,
        title=STORED,
        trail=STORED,
        text=STORED,
        code=STORED,
        code_after=STORED,
        anchor=STORED,
        level=STORED,
        position=STORED,
        terms=STORED,
        words=STORED,
    )


@dataclass(frozen=True)
class IndexedSection:
    """A section with what the ranker needs of it, as stored in the index."""

    section: Section
    terms: dict[str, dict[str, int]]  # field -> term -> frequency
    words: dict[str, int]  # surface words -> frequency, for spelling correction


def section_to_fields(section: Section) -> dict[str, object]:
    field_terms, written = analyse_section(section)
    return {
        "key": section.key,
        "file": section.file,
        "heading": section.heading,
        "title": section.title,
        "trail": _SEPARATOR.join(section.trail),
        "text": section.text,
        "code": _SEPARATOR.join(section.code),
        "code_after": list(section.code_after),
        "anchor": section.anchor,
        "level": section.level,
        "position": section.position,
        "terms": field_terms,
        "words": written,
    }


def fields_to_section(fields: dict[str, object]) -> Section:
    trail, code = str(fields["trail"]), str(fields["code"])
    return Section(
        file=str(fields["file"]),
        heading=str(fields["heading"]),
        title=str(fields["title"]),
        level=_stored_number(fields["level"]),
        trail=tuple(trail.split(_SEPARATOR)) if trail else (),
        anchor=str(fields["anchor"]),
        text=str(fields["text"]),
        code=tuple(code.split(_SEPARATOR)) if code else (),
        code_after=tuple(_stored_number(n) for n in _stored_list(fields.get("code_after", []))),
        position=_stored_number(fields["position"]),
    )


def _stored_number(value: object) -> int:
    """A number the index stored; anything else means its files were damaged."""
    if isinstance(value, int):
        return value
    raise DamagedIndex(f"the search index is damaged (it holds {type(value).__name__} where it stored a number)")


def _stored_list(value: object) -> list[object]:
    if isinstance(value, list | tuple):
        return list(value)
    raise DamagedIndex(f"the search index is damaged (it holds {type(value).__name__} where it stored a list)")
