"""Everyday English: the words that are common outside any runbook.

A question word the runbooks never use is either a technical term they do
not cover ("rename", "swtpm", "logrotate": the mark of a question they do
not answer) or an everyday word that says nothing about the topic
("straight", "mistake", "prompt"). Telling the two apart needs a
background vocabulary, and one ships with gntbot: the 21,745 whole English
words of BERT's uncased WordPiece vocabulary (`wordpiece.VOCABULARY`), the
most frequent words of English Wikipedia and a book corpus. It is general
English, chosen without looking at any runbook or question.
"""

from __future__ import annotations

from functools import lru_cache

from bot.knowledge.wordpiece import VOCABULARY


@lru_cache(maxsize=1)
def common_words() -> frozenset[str]:
    """The background vocabulary: lower-case ASCII words, no word pieces."""
    try:
        lines = VOCABULARY.read_text(encoding="utf-8").splitlines()
    except OSError:
        return frozenset()  # without it every unknown word counts as a technical term
    return frozenset(line for line in lines if line.isascii() and line.isalpha())


def is_common(word: str) -> bool:
    """Is ``word`` (lower case, as typed) an everyday English word?"""
    return word in common_words()
