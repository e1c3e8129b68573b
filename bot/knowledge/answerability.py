"""Whether the runbooks answer a question at all, or it is a near miss.

Near misses are questions in the same domain that no runbook covers: a
Ganeti feature no page describes ("rename an instance", "swtpm"), an error
text no page mentions. Refusing a plain question the runbooks do answer
costs more than a missed abstention (an operator told "nothing found" stops
asking), so both tests below look only at *telling* words (`query.Word`):

- words, not numbers, host names, time stamps or compounds (their parts are
  judged instead); a word the runbooks never use counts fully when it is a
  technical word ("rename", "swtpm") and half when it is an everyday English
  word they happen not to use ("straight", "mistake"; `background`);
- the question is refused when words nobody wrote carry a large
  share of its weight (`MAX_UNKNOWN_SHARE`), or when none of the best few
  sections holds enough of the weight of the words the runbooks do know
  (`MIN_KNOWN_COVERAGE`, over `COVERAGE_DEPTH` sections: ranking is not
  perfect, and a right section second or third still shows the question is
  covered).

A pasted error text is judged apart (`quotes_error`): the page that
explains an error quotes it, so when none of the candidate sections holds
`MIN_QUOTED` of the word pairs of any error text the question pastes, the
error is one no page explains, however many of its words the pages use
("failed", "open", "device" are everywhere).

With the semantic extra, a question the words alone would refuse is still
answered when a candidate section means nearly the same (`RESCUE_COSINE`:
"unplug a volume" and "Detaching a disk" share no word); not a pasted error
no page quotes, whose meaning is near many pages.

Between refusing and answering there is a third way (`verdict`'s second half): a question
whose best sections hold less than `CLEAR_COVERAGE` of its known words is
answered as "the closest section", not as the procedure. On the development
questions, 57% of the answers given below it were near misses or had a
wrong first section, against 27% of those above it: the reader is told what
the words alone cannot settle.
"""

from __future__ import annotations

import bisect
import itertools
from array import array
from collections.abc import Collection, Iterable, Sequence

from bot.knowledge.analysis import STOP_WORDS
from bot.knowledge.query import Query, Word

MAX_UNKNOWN_SHARE = 0.35
MIN_KNOWN_COVERAGE = 0.35
COVERAGE_DEPTH = 3
EVERYDAY_WEIGHT = 0.5  # an everyday word nobody wrote counts half a technical one
RESCUE_COSINE = 0.55
CLEAR_COVERAGE = 0.5
MIN_QUOTED = 0.3  # share of an error text's word pairs the explaining page quotes
QUOTE_DEPTH = 10  # best candidate sections searched for the quote
QUOTE_CHARACTERS = 64_000  # read of each section (prose, then code): the quote is in there
QUOTABLE_SECTIONS = 256  # sections whose `quotable` text a ranker keeps (pastes meet the same pages again)


def _weight(word: Word) -> float:
    return word.weight * EVERYDAY_WEIGHT if word.everyday and not word.known else word.weight


def unknown_share(query: Query) -> float:
    """Share of the telling weight carried by words the runbooks never use."""
    telling = [word for word in query.words if word.telling]
    total = sum(map(_weight, telling))
    if not total:
        return 1.0
    return sum(_weight(word) for word in telling if not word.known) / total


def coverage(query: Query, vocabulary: Collection[str]) -> float:
    """Share of the weight of the question's known telling words found in ``vocabulary``."""
    known = [word for word in query.words if word.telling and word.known]
    total = sum(word.weight for word in known)
    if not total:
        return 0.0
    found = sum(word.weight for word in known if any(term in vocabulary for term, _ in word.alternatives))
    return found / total


def verdict(query: Query, best: Sequence[Collection[str]]) -> tuple[bool, bool]:
    """Do the runbooks answer ``query`` (``best``: the vocabularies of the best sections),
    and clearly: do they hold most of what it asks (`CLEAR_COVERAGE`), so that the first
    is given as the answer rather than as the closest section?"""
    if not best or unknown_share(query) >= MAX_UNKNOWN_SHARE:
        return False, False
    covered = max(coverage(query, vocabulary) for vocabulary in best[:COVERAGE_DEPTH])
    return covered >= MIN_KNOWN_COVERAGE, covered >= CLEAR_COVERAGE


def word_pairs(plain: Sequence[str]) -> set[tuple[str, str]]:
    """Each two consecutive words of ``plain``, unless both are function words
    ("is not", "on the" are in every page)."""
    return {pair for pair in itertools.pairwise(plain)
            if pair[0] not in STOP_WORDS or pair[1] not in STOP_WORDS}


def quotable(plain: Sequence[str]) -> array[int]:
    """A section's word pairs as `quotes_error` searches them: their hashes,
    sorted (8 bytes a pair; a set of the pairs themselves is some 40 times that)."""
    return array("q", sorted({hash(pair) for pair in itertools.pairwise(plain)}))


def _holds(section: array[int], pair: tuple[str, str]) -> bool:
    key = hash(pair)
    at = bisect.bisect_left(section, key)
    return at < len(section) and section[at] == key


def quotes_error(errors: Sequence[Sequence[str]], sections: Iterable[array[int]]) -> bool:
    """Does one of ``sections`` (`quotable`) quote one of the pasted ``errors``
    (their plain words, `pasted.error_texts`)? True without errors."""
    wanted = [pairs for pairs in map(word_pairs, errors) if pairs]
    if not wanted:
        return True
    return any(sum(_holds(section, pair) for pair in pairs) >= MIN_QUOTED * len(pairs)
               for section in sections for pairs in wanted)
