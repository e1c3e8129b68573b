"""Typo tolerance: map a word nobody wrote in the runbooks to one they did.

Operators type fast ("rebalnce", "migarte", "secondry"). A word absent from
the runbooks' vocabulary is replaced by the most frequent vocabulary word at
Damerau-Levenshtein distance 1 (2 for long words), found through
deletion neighbourhoods (the SymSpell idea) so a look-up costs a few dict
probes rather than a scan of the vocabulary.

Deletion neighbourhoods grow with the square of a word's length (and their
strings with its cube), and both questions and runbooks may hold a "word" of
thousands of letters: words over `MAX_LENGTH` are neither indexed nor
corrected, and at most `MAX_CANDIDATES` candidates are compared, the most
frequent first.

The runbooks decide the vocabulary, and a wiki of unique words would make
the deletion table the largest thing in the bot's process (15 pages of
19,000 distinct 32-letter words: 9 million variants, 1.9 GB, and collector
passes of over a second). So only the most frequent words, up to
`MAX_VARIANTS` deletion variants in all, are correction targets (every word
is still known, and never corrected); and the table maps each variant to a
string of its words, which the garbage collector never has to look at.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

MIN_LENGTH = 4  # shorter words are too often abbreviations to correct...
SHORT_TARGETS = frozenset({"the", "and", "for", "not", "can", "how", "you", "why", "its", "off", "out"})
LONG_WORD = 8  # from this length on, two edits are tolerated
MAX_LENGTH = 32  # the longest word of the shared corpus has 21 letters
MAX_CANDIDATES = 64  # the question set needs at most 7
MAX_VARIANTS = 250_000  # deletion variants of the correction targets; the shared corpus has 24,338
_JOIN = " "  # between the words of one variant (words are letters only)


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _distance(a: str, b: str) -> int:
    """Optimal-string-alignment distance (edits with adjacent transpositions)."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


def _by_frequency(vocabulary: Counter[str]) -> Iterator[str]:
    """The words of ``vocabulary``, the most frequent first (ties in the order
    seen). Not one `sorted` of them all: a sort is one call that holds the
    interpreter lock throughout (285,000 words: 0.9 s of stalled event loop)."""
    by_count: dict[int, list[str]] = {}
    for word, count in vocabulary.items():
        by_count.setdefault(count, []).append(word)
    for count in sorted(by_count, reverse=True):
        yield from by_count[count]


class Speller:
    """Corrects words against a vocabulary with frequencies."""

    def __init__(self, vocabulary: Counter[str]) -> None:
        self.vocabulary = vocabulary
        by_deletion: dict[str, list[str]] = {}
        budget = MAX_VARIANTS
        for word in _by_frequency(vocabulary):
            if word.isalpha() and MIN_LENGTH - 1 <= len(word) <= MAX_LENGTH:
                variants = _deletions(word)
                budget -= len(variants)
                if budget < 0:
                    break
                for variant in variants:
                    by_deletion.setdefault(variant, []).append(word)
        self._by_deletion = {variant: _JOIN.join(found) for variant, found in by_deletion.items()}

    def correct(self, word: str) -> str:
        """``word`` itself if known or uncorrectable, else the likeliest known word."""
        if word in self.vocabulary or not word.isalpha() or not MIN_LENGTH - 1 <= len(word) <= MAX_LENGTH:
            return word
        if len(word) < MIN_LENGTH:  # ...except into the little words everybody mistypes ("teh")
            fixes = [w for w in SHORT_TARGETS if _distance(word, w) == 1 and sorted(w) == sorted(word)]
            return fixes[0] if len(fixes) == 1 else word
        limit = 2 if len(word) >= LONG_WORD else 1
        candidates = self._candidates(word, limit)
        if not candidates:
            return word
        return min(candidates, key=lambda c: (_distance(word, c), -self.vocabulary[c], c))

    def _candidates(self, word: str, limit: int) -> list[str]:
        """At most `MAX_CANDIDATES` vocabulary words within ``limit`` edits of
        ``word``. Words one edit away share a deletion with ``word`` or are one
        of them, so those come first, then the rest, each the most frequent first."""
        probes = {word} | _deletions(word)
        near = self._found(probes)
        far = self._found({shorter for probe in probes for shorter in _deletions(probe)}) - near \
            if limit == 2 else set()
        likeliest = [*self._by_frequency(near), *self._by_frequency(far)][:MAX_CANDIDATES]
        return [c for c in likeliest if _distance(word, c) <= limit]

    def _found(self, probes: set[str]) -> set[str]:
        found: set[str] = set()
        for probe in probes:
            targets = self._by_deletion.get(probe)
            if targets:
                found.update(targets.split(_JOIN))
            if probe in self.vocabulary and probe.isalpha():
                found.add(probe)
        return found

    def _by_frequency(self, words: set[str]) -> list[str]:
        return sorted(words, key=lambda c: (-self.vocabulary[c], c))
