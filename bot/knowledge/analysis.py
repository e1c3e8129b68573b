"""Text → search terms, the same way for runbooks and for chat questions.

Chat text is never fed to a query parser: a question is analysed into plain
terms exactly like the indexed text. Terms are lower-cased words; compounds
such as ``gnt-instance``, ``activate-disks`` or ``/var/log/ganeti`` are kept
whole *and* split into their parts, so "activate disks" finds
``activate-disks`` and the other way round. Plain words are Porter-stemmed.

The analysis of a word is kept in a small LRU: the runbooks of a team have a
few thousand distinct words (the shipped ones 3,000, the 27-file reference
corpus 6,400, with compounds 7,400) and a busy channel's questions repeat a
thousand or so, so `CACHED_WORDS` covers them; random words pasted into chat
push out only each other instead of growing the process (100,000 entries
each were some 60 MB).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from functools import lru_cache

from whoosh.lang.porter import stem

from bot.knowledge.sections import Section

_WORD = re.compile(r"\w+(?:[-.:/+]\w+)*(?:'\w+)?", re.UNICODE)
_CONTRACTIONS = frozenset({"t", "re", "ve", "ll", "d", "m"})
_PART = re.compile(r"[^\W_]+|_", re.UNICODE)

CACHED_WORDS = 8192  # per cache; the most recently used words stay

STOP_WORDS = frozenset(
    ["a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any", "are", "as", "at", "be", "because", "been", "before", "being", "below", "between", "both", "but", "by", "can", "could", "did", "do", "does", "doing", "down", "during", "each", "few", "for", "from", "further", "had", "has", "have", "having", "he", "her", "here", "hers", "herself", "him", "himself", "his", "how", "i", "if", "in", "into", "is", "it", "its", "itself", "just", "me", "more", "most", "my", "myself", "no", "nor", "not", "now", "of", "off", "on", "once", "only", "or", "other", "our", "ours", "ourselves", "out", "over", "own", "same", "she", "should", "so", "some", "such", "than", "that", "the", "their", "theirs", "them", "themselves", "then", "there", "these", "they", "this", "those", "through", "to", "too", "under", "until", "up", "very", "was", "we", "were", "what", "when", "where", "which", "while", "who", "whom", "why", "will", "with", "would", "you", "your", "yours", "yourself", "yourselves", "anyone", "anybody", "someone", "somebody", "hi", "hey", "hello", "please", "pls", "plz", "thanks", "thx", "ty", "wtf", "ok", "okay", "lol", "hmm", "uh", "um", "guys", "folks", "gntbot", "bot", "help", "me", "dont", "don't", "doesnt", "isn't", "im", "i'm", "ive", "i've", "whats", "what's", "hows", "how's", "there's", "thats", "that's", "cant", "can't", "wont", "won't", "get", "got", "getting", "gets", "go", "going", "want", "need", "trying", "try", "tried", "know", "way", "thing", "stuff", "like", "again", "still", "also", "really", "just", "anyway", "whats", "diff", "difference", "crazy", "weird", "strange", "odd", "big", "huge", "tiny", "small", "lot", "lots", "bunch", "everything", "anything", "something", "nothing", "somehow", "anymore", "suddenly", "randomly", "basically", "actually", "probably", "maybe", "guess", "seems", "seem", "seemed", "keeps", "keep", "kept", "sure", "fine", "ok", "idea", "tell", "said", "says", "saying", "see", "seeing", "saw", "look", "looks", "looking", "yes", "yeah", "nope", "mean", "means", "supposed", "able", "proper", "properly", "correct", "correctly", "right"]
    # chat drops the apostrophe of a contraction ("isnt", "theyre"): the same function words
    + ["didnt", "couldnt", "wouldnt", "shouldnt", "isnt", "arent", "wasnt", "werent", "hasnt", "havent", "hadnt", "mustnt", "neednt", "aint", "youre", "theyre", "youve", "weve", "theyve", "youll", "theyll", "vs", "versus", "smth", "sth"]
)


@lru_cache(maxsize=CACHED_WORDS)
def normalize(word: str) -> str:
    """The indexed form of one lower-cased word."""
    if word.isalpha() and len(word) > 3:
        return stem(word)
    return word


def words(text: str) -> Iterator[str]:
    """Lower-cased words and compounds of ``text``, stop words included.

    A possessive is its word ("instance's" is "instance"); a contraction
    ("doesn't", "we're") is a function word and dropped.
    """
    for match in _WORD.finditer(text.lower().replace("\u2019", "'")):
        word, apostrophe, suffix = match.group().partition("'")
        if not apostrophe or suffix == "s":
            yield word
        elif suffix not in _CONTRACTIONS:
            yield match.group()


def terms(text: str) -> list[str]:
    """The terms of ``text``: compounds whole and in parts, stemmed, no stop words."""
    return terms_of(words(text))


def terms_of(lowered_words: Iterable[str]) -> list[str]:
    """`terms` for words already split out by `words`."""
    out: list[str] = []
    for word in lowered_words:
        out.extend(word_terms(word))
    return out


def word_terms(word: str) -> tuple[str, ...]:
    """The terms of one lower-cased word (a compound gives itself and its parts)."""
    return tuple(term for _, term in written_terms(word))


@lru_cache(maxsize=CACHED_WORDS)
def written_terms(word: str) -> tuple[tuple[str, str], ...]:
    """Each term of one lower-cased word with the text it was made from."""
    if word.isalnum():
        return () if word in STOP_WORDS else ((word, normalize(word)),)
    parts = ((part, normalize(part)) for part in _PART.findall(word) if part not in STOP_WORDS and part != "_")
    return ((word, word), *parts)


FIELDS = ("title", "trail", "text", "code")


def analyse_section(section: Section) -> tuple[dict[str, dict[str, int]], dict[str, int]]:
    """Term frequencies of each ranked field of ``section``, and the frequencies
    of its words as written (for spelling correction).

    ``trail`` holds the enclosing headings and the file's path words, so a
    section of ``drbd.md`` matches "drbd" even when its own text does not
    repeat it.
    """
    path_words = section.file.replace("/", " ").replace("_", " ").rsplit(".", 1)[0]
    split = {
        "title": list(words(section.title)),
        "trail": list(words(" ".join((*section.trail, path_words)))),
        "text": list(words(section.text)),
        "code": list(words("\n".join(section.code))),
    }
    field_terms = {name: dict(Counter(terms_of(found))) for name, found in split.items()}
    return field_terms, dict(Counter(split["title"] + split["text"]))
