"""A question as the ranker sees it: its content words, each with its weight."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Word:
    """One content term of a question.

    ``alternatives`` maps each index term that stands for the word to how much
    a match on it counts (1 for the word itself, less for an equivalent); a
    word the runbooks never use has none. ``weight`` is how distinctive the
    word is (its idf; the most for a word the runbooks never use).
    ``telling`` says whether the word counts when judging if the runbooks
    answer the question at all, and ``everyday`` whether it is an everyday
    English word (`answerability`).
    """

    text: str
    alternatives: tuple[tuple[str, float], ...]
    weight: float
    telling: bool = True
    everyday: bool = False

    @property
    def known(self) -> bool:
        return bool(self.alternatives)


@dataclass(frozen=True)
class Query:
    words: tuple[Word, ...]
