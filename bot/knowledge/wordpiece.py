"""BERT's uncased WordPiece tokenizer, from its vocabulary file alone.

The sentence-embedding model (`embedding`) reads token ids made the way
BERT's uncased tokenizer makes them: text cleaned of control characters,
accents stripped, lower-cased, split on white space and around every
punctuation mark, each word then cut greedily into the longest pieces the
vocabulary holds (``##`` marks a piece that continues a word). That needs
nothing but the vocabulary, a plain list of 30,522 pieces (`VOCABULARY`,
shipped with its licence and provenance beside it), so the semantic extra
needs no tokenizer package and its dependencies.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

from bot.errors import GntbotError

VOCABULARY = Path(__file__).parent / "data" / "bert-uncased-vocab.txt"
VOCABULARY_SHA256 = "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"
MAX_WORD_CHARS = 100  # longer "words" are one unknown token, as in BERT


class VocabularyError(GntbotError):
    """The tokenizer's vocabulary file is missing or not the expected one."""


def _is_punctuation(char: str) -> bool:
    code = ord(char)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def _is_cjk(code: int) -> bool:
    return (
        0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0x20000 <= code <= 0x2A6DF
        or 0x2A700 <= code <= 0x2B73F or 0x2B740 <= code <= 0x2B81F or 0x2B820 <= code <= 0x2CEAF
        or 0xF900 <= code <= 0xFAFF or 0x2F800 <= code <= 0x2FA1F
    )


def _normalised(text: str) -> str:
    """Control characters dropped, white space unified, CJK ideographs set
    apart, accents stripped, lower case: BERT's uncased normaliser."""
    out: list[str] = []
    for char in text:
        if char.isspace() or unicodedata.category(char) == "Zs":
            out.append(" ")
        elif char == "\0" or char == "\ufffd" or unicodedata.category(char).startswith("C"):
            continue
        elif _is_cjk(ord(char)):
            out.append(f" {char} ")
        else:
            out.append(char)
    decomposed = unicodedata.normalize("NFD", "".join(out))
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn").lower()


def _words(text: str) -> Iterator[str]:
    """White-space separated words, each punctuation mark a word of its own."""
    for chunk in text.split():
        start = 0
        for position, char in enumerate(chunk):
            if _is_punctuation(char):
                if position > start:
                    yield chunk[start:position]
                yield char
                start = position + 1
        if start < len(chunk):
            yield chunk[start:]


class WordPiece:
    """Text → BERT token ids, ``[CLS] ... [SEP]``, at most ``max_tokens`` long."""

    def __init__(self, vocabulary: Path = VOCABULARY, expected_sha256: str | None = VOCABULARY_SHA256) -> None:
        try:
            data = vocabulary.read_bytes()
        except OSError as error:
            raise VocabularyError(f"cannot read the tokenizer vocabulary {vocabulary}: {error}") from error
        if expected_sha256 and hashlib.sha256(data).hexdigest() != expected_sha256:
            raise VocabularyError(f"{vocabulary} is not the BERT uncased vocabulary (SHA-256 differs): "
                                  "reinstall gntbot")
        self.ids = {piece: number for number, piece in enumerate(data.decode("utf-8").splitlines())}
        self.unknown, self.first, self.last = self.ids["[UNK]"], self.ids["[CLS]"], self.ids["[SEP]"]
        self._pieces = lru_cache(maxsize=50_000)(self._word_pieces)

    def encode(self, text: str, max_tokens: int) -> list[int]:
        """The ids of ``text``'s first ``max_tokens - 2`` pieces, between [CLS] and [SEP]."""
        room = max_tokens - 2
        ids: list[int] = [self.first]
        for word in _words(_normalised(text)):
            ids.extend(self._pieces(word))
            if len(ids) > room:
                del ids[room + 1 :]
                break
        ids.append(self.last)
        return ids

    def _word_pieces(self, word: str) -> tuple[int, ...]:
        """Greedy longest-first pieces of one word; one unknown token if any part has none."""
        if len(word) > MAX_WORD_CHARS:
            return (self.unknown,)
        pieces: list[int] = []
        start = 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                found = self.ids.get(piece)
                if found is not None:
                    pieces.append(found)
                    break
                end -= 1
            else:
                return (self.unknown,)
            start = end
        return tuple(pieces)
