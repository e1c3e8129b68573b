"""The sentences of a section's prose an answer shows: the gist and the warnings.

- The gist is the section's own first sentence that says what to do: one
  that introduces a block of commands ("To connect to it, run:") or reads as
  an instruction ("Stop every instance first."), with the sentences before it
  in its paragraph when they fit (they say what "it" is). Without such a
  sentence, the section's first sentence. Sentences are never glued across
  paragraphs or code blocks, and never cut unless one alone is longer than
  `MAX_GIST` characters.
- Warnings are the sentences that caution: an admonition (``WARNING:``,
  ``Note:``...) or words such as "last resort", "do not", "destroys". They go
  with the commands, whatever else is shortened.
"""

from __future__ import annotations

import re

from bot.knowledge.blocks import Kind, classify
from bot.knowledge.sections import Section

GIST_CHARS = 220  # the sentences before the instruction are kept within this
MAX_GIST = 400  # one sentence longer than this is cut at a word
MAX_WARNINGS = 3

_ABBREVIATIONS = re.compile(r"\b(?:e\.g|i\.e|etc|vs|cf|approx|incl)\.$", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9`\"'(\[])")
_INSTRUCTION = re.compile(
    r"^(?:(?:first|then|next|finally|now|also|otherwise|afterwards|(?:to|if|once|when|before|after)\s[^,]{1,80}),\s+)?"
    r"(?:please\s+|just\s+)?"
    r"(?:run|use|type|execute|issue|call|set|add|remove|stop|start|restart|reboot|migrate|move|check|make|create"
    r"|delete|edit|change|install|enable|disable|pick|choose|select|follow|connect|log\s+in|ssh|mount|unmount"
    r"|copy|open|wait|ensure|verify|try|drain|evacuate|rebalance|update|upgrade|shut|kill|fail|replace|grow"
    r"|resize|attach|detach|modify|list|find|limit|mark|put|rename|schedule|configure|apply|repeat|look)\b"
    r"|\byou (?:must|should|need to|have to|can)\b",
    re.IGNORECASE,
)
# An admonition label: "WARNING", "Note:", "**Caution**:" ("Note that ..." is not one).
_ADMONITION = re.compile(
    r"^\W*(?:WARNING|CAUTION|DANGER|IMPORTANT|ATTENTION|NOTE)\b"
    r"|^\W*(?:[Ww]arning|[Cc]aution|[Dd]anger|[Ii]mportant|[Aa]ttention|[Nn]ote)\W*[:!]"
)
_CAUTION = re.compile(
    r"\b(?:last resort|must not|data loss|irreversibl[ey]|cannot be undone|can't be undone|be careful"
    r"|dangerous|destroys|wipes out|throws away)\b|^(?:never|do not|don't)\b",
    re.IGNORECASE,
)


def sentences(paragraph: str) -> list[str]:
    """``paragraph`` cut into sentences (not after "e.g." and the like)."""
    found: list[str] = []
    for piece in _SENTENCE_END.split(paragraph.strip()):
        if found and _ABBREVIATIONS.search(found[-1]):
            found[-1] = f"{found[-1]} {piece}"
        else:
            found.append(piece)
    return [sentence for sentence in found if sentence]


def _introduces_commands(section: Section) -> set[int]:
    """Paragraph numbers whose last sentence introduces a block of commands."""
    return {
        section.code_after[number] - 1
        for number in range(min(len(section.code), len(section.code_after)))
        if section.code_after[number] and [b.kind for b in classify(section, number)] == [Kind.COMMANDS]
    }


def gist(section: Section) -> str:
    """The sentence that says what to do, with its paragraph's lead-in when it fits."""
    paragraphs = [sentences(paragraph) for paragraph in section.paragraphs]
    if not paragraphs:
        return ""
    introducing = _introduces_commands(section)
    for number, paragraph in enumerate(paragraphs):
        for position, sentence in enumerate(paragraph):
            last = position == len(paragraph) - 1
            if is_warning(sentence):
                continue  # shown as a warning
            if (last and number in introducing) or _INSTRUCTION.search(sentence):
                return _clipped(_with_lead_in(paragraph[:position], sentence))
    return _clipped(paragraphs[0][0])


def _with_lead_in(before: list[str], sentence: str) -> str:
    """``sentence`` preceded by as many of the sentences before it as fit."""
    kept: list[str] = []
    for earlier in reversed(before):
        if len(" ".join([earlier, *kept, sentence])) > GIST_CHARS:
            break
        kept.insert(0, earlier)
    return " ".join([*kept, sentence])


def _clipped(text: str) -> str:
    return text if len(text) <= MAX_GIST else text[: MAX_GIST - 1].rsplit(" ", 1)[0] + "…"


def is_warning(sentence: str) -> bool:
    return bool(_ADMONITION.match(sentence) or _CAUTION.search(sentence))


def warnings(section: Section) -> tuple[str, ...]:
    """The section's cautionary sentences, in order, at most `MAX_WARNINGS`."""
    found = [
        _clipped(sentence)
        for paragraph in section.paragraphs
        for sentence in sentences(paragraph)
        if is_warning(sentence)
    ]
    return tuple(dict.fromkeys(found))[:MAX_WARNINGS]
