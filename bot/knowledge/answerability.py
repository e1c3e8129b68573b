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

With the semantic extra, a question the words alone would refuse is still
answered when a candidate section means nearly the same (`RESCUE_COSINE`:
"unplug a volume" and "Detaching a disk" share no word).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from bot.knowledge.query import Query, Word

MAX_UNKNOWN_SHARE = 0.35
MIN_KNOWN_COVERAGE = 0.35
COVERAGE_DEPTH = 3
EVERYDAY_WEIGHT = 0.5  # an everyday word nobody wrote counts half a technical one
RESCUE_COSINE = 0.55


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


def answerable(query: Query, best: Sequence[Collection[str]]) -> bool:
    """Do the runbooks answer ``query``? ``best``: the vocabularies of the best sections."""
    if not best or unknown_share(query) >= MAX_UNKNOWN_SHARE:
        return False
    return max(coverage(query, vocabulary) for vocabulary in best[:COVERAGE_DEPTH]) >= MIN_KNOWN_COVERAGE
