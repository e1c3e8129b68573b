"""Ranking sections for a chat question.

The ranker holds the analysed terms of every section in memory (loaded from
the whoosh index; a few MB for hundreds of sections) and scores in pure
Python, a couple of milliseconds per question:

1. the question is analysed into words (never parsed as a query); a word
   nobody wrote in the runbooks is spell-corrected; each word then matches
   its own term, near variants of its stem, and domain equivalents
   (`vocabulary`) at a discount;
2. BM25F over title, heading trail, prose and code ranks the sections, each
   word scored by its best alternative;
3. the best candidates are re-ranked with a bonus for a heading that says
   what the question asks (BM25F's length normalisation otherwise lets a
   two-line aside beat the section titled with the question's own words);
4. with the semantic extra, those candidates are re-ordered by a fused
   score of words and meaning (`semantic`);
5. an answerability check (`answerability`) decides whether to answer at
   all: the best sections must contain enough of the question's distinctive
   words (or, with the extra, one must be very close in meaning), and an
   error text the question pastes must be quoted by one of the candidates.
"""

from __future__ import annotations

import bisect
import heapq
import math
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from bot.knowledge import answerability
from bot.knowledge.analysis import FIELDS, STOP_WORDS, terms, words, written_terms
from bot.knowledge.answer import Hit
from bot.knowledge.background import is_common
from bot.knowledge.index import IndexedSection
from bot.knowledge.pasted import error_texts, plain_words
from bot.knowledge.query import Query, Word
from bot.knowledge.sections import Section
from bot.knowledge.semantic import SemanticReranker
from bot.knowledge.spelling import Speller
from bot.knowledge.vocabulary import EQUIVALENT_WEIGHT, equivalents

WEIGHTS = {"title": 1.0, "trail": 0.5, "text": 1.0, "code": 0.8}
B = {"title": 0.5, "trail": 0.5, "text": 0.75, "code": 0.75}
K1 = 1.2
HEADING_BONUS = 0.3  # share of the top score earned by a heading holding all the question's words
CANDIDATES = 30
STEM_SLACK = 3  # "rebal" and "rebalanc" are one word to a reader
MIN_STEM = 5


@dataclass(frozen=True, slots=True)
class _Doc:
    section: Section
    fields: dict[str, dict[str, int]]
    lengths: dict[str, int]
    vocabulary: frozenset[str]


def _doc(indexed: IndexedSection) -> _Doc:
    fields = indexed.terms
    lengths = {name: sum(counts.values()) for name, counts in fields.items()}
    vocabulary = frozenset(term for counts in fields.values() for term in counts)
    return _Doc(indexed.section, fields, lengths, vocabulary)


def _sorted_in_steps(words: Iterable[str], step: int = 8192) -> list[str]:
    """``sorted(words)`` without one call over all of them: a sort holds the
    interpreter lock throughout (285,000 terms: 0.3 s of stalled event loop),
    so slices are sorted and then merged by `heapq.merge`, Python code
    between whose steps other threads run."""
    items = list(words)
    return list(heapq.merge(*(sorted(items[start:start + step]) for start in range(0, len(items), step))))


def _bounded(parts: Iterable[str], characters: int) -> Iterator[str]:
    """``parts`` in order, cut once ``characters`` of them have been given (a
    hostile page's megabytes are never joined)."""
    for part in parts:
        if characters <= 0:
            return
        yield part[:characters]
        characters -= len(part)


@dataclass(frozen=True)
class Ranking:
    """The best sections for a question, and whether the best one answers it
    (when it does not, the hits are still worth offering as "closest"), and
    whether they do so clearly (`answerability.verdict`: judged on the words'
    best sections, or, with the re-ranker, one very close in meaning), or the
    first is only the closest section there is."""

    hits: list[Hit]
    answerable: bool
    clear: bool = True


class Ranker:
    """Scores every section of a runbook collection against a question."""

    def __init__(self, sections: Sequence[IndexedSection], semantic: SemanticReranker | None = None) -> None:
        self.semantic = semantic
        self.docs = [_doc(indexed) for indexed in sections]
        if semantic is not None and semantic.sections != len(self.docs):
            raise ValueError("the semantic re-ranker was built over other sections than the ranker")
        count = max(len(self.docs), 1)
        self.average = {f: sum(d.lengths[f] for d in self.docs) / count or 1.0 for f in FIELDS}
        df: Counter[str] = Counter()
        for doc in self.docs:
            df.update(doc.vocabulary)
        self.idf = {t: math.log(1 + (count - n + 0.5) / (n + 0.5)) for t, n in df.items()}
        self.unknown_idf = math.log(1 + (count + 0.5) / 0.5)
        self.sorted_terms = _sorted_in_steps(self.idf)
        postings: dict[str, list[int]] = {}
        for number, doc in enumerate(self.docs):
            for term in doc.vocabulary:
                postings.setdefault(term, []).append(number)
        # Tuples of numbers, unlike lists, drop out of the garbage collector's
        # view: its full passes then need not walk every posting of the index.
        self.postings = {term: tuple(numbers) for term, numbers in postings.items()}
        vocabulary: Counter[str] = Counter()
        for indexed in sections:
            vocabulary.update(indexed.words)
        self.speller = Speller(vocabulary)
        self.equivalents = equivalents()
        self._quotables: dict[int, array[int]] = {}  # section number -> `answerability.quotable`, made on demand

    # -- the question --------------------------------------------------------

    def analyse(self, question: str) -> Query:
        """Spell-correct unknown words, then give each word its alternatives."""
        found: dict[tuple, Word] = {}
        for raw in words(question):
            if raw in STOP_WORDS:
                continue
            word = self._corrected(raw)
            written = written_terms(word)
            for written_as, term in written:
                alternatives = dict(self._variants(term))
                if len(written) == 1:  # a plain word, not a compound or one of its parts
                    for equivalent in self.equivalents.get(word, ()):
                        for alternative in terms(equivalent)[:1]:
                            if alternative in self.idf:  # a wiki need not use every word the vocabulary maps to
                                alternatives.setdefault(alternative, EQUIVALENT_WEIGHT)
                weight = self.idf.get(term, self.unknown_idf)
                if any(c.isdigit() for c in term):
                    weight *= 0.3  # host numbers and sizes say little about the topic
                everyday = is_common(written_as)
                telling = bool(alternatives) or written_as.isalpha()  # not a number, host or compound
                key = tuple(sorted(alternatives)) or (term,)
                if key not in found:
                    found[key] = Word(term, tuple(alternatives.items()), weight, telling, everyday)
        return Query(tuple(found.values()))

    def _corrected(self, word: str) -> str:
        """``word`` spell-corrected against the runbooks' vocabulary. An everyday
        English word is taken as meant ("pause" is not a typo of "cause") unless
        two swapped letters make it a runbook word ("brian"), the typo fast
        typing makes most."""
        if not is_common(word):
            return self.speller.correct(word)
        known = self.speller.vocabulary
        if word in known:
            return word
        swapped = {word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(len(word) - 1)}
        return max((w for w in swapped if w in known), key=lambda w: (known[w], w), default=word)

    def _variants(self, term: str) -> list[tuple[str, float]]:
        """The term itself if indexed, and indexed terms that differ from it only
        by a short stem ending ("rebal" / "rebalanc", "add" / "ad")."""
        variants = [(term, 1.0)] if term in self.idf else []
        if not term.isalpha():
            return variants
        # Porter undoubles a final consonant ("adding" -> "ad") but leaves short
        # words alone ("add"): treat the two forms as one.
        other = term[:-1] if term[-2:] == term[-1] * 2 else term + term[-1]
        if other in self.idf:
            variants.append((other, 1.0))
        if len(term) >= MIN_STEM:
            start = bisect.bisect_left(self.sorted_terms, term)
            for other in self.sorted_terms[start : start + 20]:
                if not other.startswith(term):
                    break
                if other != term and other.isalpha() and len(other) - len(term) <= STEM_SLACK:
                    variants.append((other, 1.0))
            for cut in range(1, STEM_SLACK + 1):
                shorter = term[:-cut]
                if len(shorter) >= MIN_STEM and shorter in self.idf:
                    variants.append((shorter, 1.0))
        return variants

    # -- scoring -------------------------------------------------------------

    def _scores(self, query: Query) -> dict[int, float]:
        """BM25F score of every section holding a word of ``query``, by section number."""
        scores: dict[int, float] = {}
        for word in query.words:
            best: dict[int, float] = {}
            for term, factor in word.alternatives:
                idf = self.idf[term]
                for number in self.postings[term]:
                    value = factor * idf * self._saturated(self.docs[number], term)
                    if value > best.get(number, 0.0):
                        best[number] = value
            for number, value in best.items():
                scores[number] = scores.get(number, 0.0) + value
        return scores

    def _candidates(self, query: Query, scores: dict[int, float]) -> list[tuple[int, float]]:
        """The best `CANDIDATES` sections, re-scored with the heading bonus, best first."""
        candidates = sorted(scores.items(), key=lambda item: -item[1])[:CANDIDATES]
        if not candidates:
            return []
        bonus = HEADING_BONUS * candidates[0][1]
        rescored = [(number, score + bonus * self._heading_coverage(query, self.docs[number]))
                    for number, score in candidates]
        return sorted(rescored, key=lambda item: -item[1])

    def _heading_coverage(self, query: Query, doc: _Doc) -> float:
        """Share of the question's weight found in the section's own heading."""
        total = sum(word.weight for word in query.words) or 1.0
        title = doc.fields["title"]
        return sum(
            word.weight for word in query.words if any(term in title for term, _ in word.alternatives)
        ) / total

    def _saturated(self, doc: _Doc, term: str) -> float:
        weighted = 0.0
        for name in FIELDS:
            tf = doc.fields[name].get(term)
            if tf:
                norm = 1 - B[name] + B[name] * doc.lengths[name] / self.average[name]
                weighted += WEIGHTS[name] * tf / norm
        return weighted / (K1 + weighted)

    def _quotable(self, number: int) -> array[int]:
        """What `answerability.quotes_error` searches of a section, made when a
        question pastes an error, for its candidates only, and kept for the
        next paste (at most `QUOTABLE_SECTIONS` at a time: then all are dropped)."""
        found = self._quotables.get(number)
        if found is None:
            section = self.docs[number].section
            text = "\n".join(_bounded((section.title, section.text, *section.code), answerability.QUOTE_CHARACTERS))
            found = answerability.quotable(plain_words(text))
            if len(self._quotables) >= answerability.QUOTABLE_SECTIONS:
                self._quotables.clear()
            self._quotables[number] = found
        return found

    def _reranked(self, semantic: SemanticReranker, question: str,
                  candidates: list[tuple[int, float]]) -> tuple[list[tuple[int, float]], float]:
        """``candidates`` in the order of their fused score, and the best cosine among them."""
        cosines = semantic.cosines(question)[[number for number, _ in candidates]]
        best = candidates[0][1]
        fused = [(number, semantic.fused(score, best, float(cosine)))
                 for (number, score), cosine in zip(candidates, cosines, strict=True)]
        return sorted(fused, key=lambda item: -item[1]), float(cosines.max())

    # -- the public face -----------------------------------------------------

    def lookup(self, question: str, limit: int = 5) -> Ranking:
        """The best sections for ``question``, and whether to answer at all.

        The bot abstains when even the best section lacks most of what makes
        the question distinctive: a near miss (a feature or an error text the
        runbooks never mention) rather than a question they answer.
        """
        query = self.analyse(question)
        scores = self._scores(query)
        candidates = self._candidates(query, scores)
        best = [self.docs[number].vocabulary for number, _ in candidates[: answerability.COVERAGE_DEPTH]]
        answerable, clear = answerability.verdict(query, best)
        quoted = answerability.quotes_error(
            error_texts(question), (self._quotable(n) for n, _ in candidates[: answerability.QUOTE_DEPTH]))
        if self.semantic is not None and candidates:
            candidates, closest = self._reranked(self.semantic, question, candidates)
            near = closest >= answerability.RESCUE_COSINE
            answerable, clear = answerable or near, clear or near
        answerable = answerable and quoted
        hits = [Hit(self.docs[number].section, score) for number, score in candidates[:limit]]
        return Ranking(hits, answerable, answerable and clear)

    def search(self, question: str, limit: int = 5) -> list[Hit]:
        """The sections that answer ``question``, best first; [] to abstain."""
        ranking = self.lookup(question, limit)
        return ranking.hits if ranking.answerable else []
