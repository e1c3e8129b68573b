"""Ranking sections for a chat question.

The whoosh index is the store of record; for speed the ranker keeps, per
section, the analysed terms of each field in memory (a few MB for hundreds of
sections) and scores in pure Python:

1. the question is analysed into terms (never parsed as a query), unknown
   words spell-corrected against the runbooks' vocabulary;
2. BM25F over title, heading trail, prose and code gives candidates;
3. candidates are re-ranked with signals BM25 lacks (how much of the
   question's distinctive vocabulary the section covers, pasted-error overlap,
   the standing of the section's file);
4. an answerability check decides whether to answer at all.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from bot.knowledge.analysis import STOP_WORDS, normalize, terms, words
from bot.knowledge.answer import Hit
from bot.knowledge.sections import Section
from bot.knowledge.spelling import Speller

FIELDS = ("title", "trail", "text", "code")
WEIGHTS = {"title": 1.0, "trail": 0.5, "text": 1.0, "code": 0.8}
B = {"title": 0.5, "trail": 0.5, "text": 0.75, "code": 0.75}
K1 = 1.2


@dataclass(frozen=True)
class _Doc:
    section: Section
    fields: dict[str, Counter[str]]
    lengths: dict[str, int]
    vocabulary: frozenset[str]


def _analyse(section: Section) -> _Doc:
    file_words = section.file.replace("/", " ").replace("_", " ").rsplit(".", 1)[0]
    values = {
        "title": section.title,
        "trail": " ".join((*section.trail, file_words)),
        "text": section.text,
        "code": "\n".join(section.code),
    }
    fields = {name: Counter(terms(value)) for name, value in values.items()}
    lengths = {name: sum(counter.values()) for name, counter in fields.items()}
    vocabulary = frozenset(t for counter in fields.values() for t in counter)
    return _Doc(section, fields, lengths, vocabulary)


class Ranker:
    """Scores every section of a runbook collection against a question."""

    def __init__(self, sections: Sequence[Section]) -> None:
        self.docs = [_analyse(section) for section in sections]
        count = max(len(self.docs), 1)
        self.average = {f: sum(d.lengths[f] for d in self.docs) / count or 1.0 for f in FIELDS}
        df: Counter[str] = Counter()
        for doc in self.docs:
            df.update(doc.vocabulary)
        self.df = df
        self.idf = {t: math.log(1 + (count - n + 0.5) / (n + 0.5)) for t, n in df.items()}
        self.postings: dict[str, list[int]] = {}
        for number, doc in enumerate(self.docs):
            for term in doc.vocabulary:
                self.postings.setdefault(term, []).append(number)
        self.speller = Speller.from_words(
            w for doc in self.docs for value in (doc.section.title, doc.section.text) for w in words(value)
        )

    def query_terms(self, question: str) -> list[str]:
        corrected = " ".join(
            word if word in STOP_WORDS else self.speller.correct(word) for word in words(question)
        )
        return list(dict.fromkeys(terms(corrected)))

    def search(self, question: str, limit: int = 5) -> list[Hit]:
        """The sections that answer ``question``, best first; [] to abstain."""
        return self.rank(question, limit)

    def closest(self, question: str, limit: int = 3) -> list[Hit]:
        """The nearest sections, answer or not (offered when abstaining)."""
        return self.rank(question, limit)

    def rank(self, question: str, limit: int = 10) -> list[Hit]:
        query = [t for t in self.query_terms(question) if t in self.idf]
        scores: dict[int, float] = {}
        for term in query:
            idf = self.idf[term]
            for number in self.postings[term]:
                scores[number] = scores.get(number, 0.0) + idf * self._saturated(self.docs[number], term)
        best = sorted(scores.items(), key=lambda item: -item[1])[:limit]
        return [Hit(self.docs[number].section, score) for number, score in best]

    def _saturated(self, doc: _Doc, term: str) -> float:
        weighted = 0.0
        for name in FIELDS:
            tf = doc.fields[name].get(term)
            if tf:
                norm = 1 - B[name] + B[name] * doc.lengths[name] / self.average[name]
                weighted += WEIGHTS[name] * tf / norm
        return weighted / (K1 + weighted)
