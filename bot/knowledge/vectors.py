"""Passage vectors, cached in the index folder and keyed by passage content.

A section is embedded as a few *passages* (`passages`): the section as a
whole (the model reads its first 256 tokens) and, when it is longer than
one chunk, its text cut into `CHUNK_WORDS`-word chunks, each prefixed with
the section's heading path. A question about one step of a long procedure
is close to the chunk that holds the step even when it is far from the
section's average; the heading path tells the model what the chunk is about.

A passage's key is the SHA-256 of the model id and the exact text that is
embedded, so a ``git pull`` re-embeds only the passages whose text changed
(a moved or renamed section keeps its vectors), and vectors made by another
model are never reused. The cache is one ``.npz`` file (keys and a float32
matrix, no pickles) written atomically; a missing or unreadable cache is
rebuilt.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot.knowledge.embedding import DIMENSIONS, MODEL_ID
from bot.knowledge.sections import Section

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

CACHE = "gntbot-vectors.npz"
CHUNK_WORDS = 60  # the retrieval study's chunk: long enough for a step, short enough to be about one
MAX_CHUNKS = 16  # per section: bounds the cost of embedding a huge page (no section of the corpus needed more)


def embedded_text(section: Section) -> str:
    """What the model reads of a section as a whole: its heading path, prose and
    code, white space made single (the tokenizer ignores it, so the cache key does too)."""
    return " ".join(" ".join((section.breadcrumbs, section.text, *section.code)).split())


def passages(section: Section) -> list[str]:
    """The texts embedded for ``section``: the whole, then its chunks if it has more than one."""
    body = " ".join((section.text, *section.code)).split()
    whole = embedded_text(section)
    if len(body) <= CHUNK_WORDS:
        return [whole]
    starts = range(0, min(len(body), CHUNK_WORDS * MAX_CHUNKS), CHUNK_WORDS)
    return [whole, *(f"{section.breadcrumbs}: {' '.join(body[start : start + CHUNK_WORDS])}" for start in starts)]


def content_key(text: str) -> str:
    return hashlib.sha256(f"{MODEL_ID}\n{text}".encode()).hexdigest()


class VectorCache:
    """Content key → unit vector, persisted in ``index_dir``."""

    def __init__(self, index_dir: Path) -> None:
        import numpy

        self._np = numpy
        self.path = index_dir / CACHE
        self.vectors: dict[str, np.ndarray] = self._read()

    def _read(self) -> dict[str, np.ndarray]:
        np = self._np
        try:
            with np.load(self.path, allow_pickle=False) as stored:
                keys, matrix = stored["keys"], stored["vectors"]
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, KeyError) as error:
            log.warning("ignoring the unreadable vector cache %s: %s", self.path, error)
            return {}
        if matrix.ndim != 2 or matrix.shape != (len(keys), DIMENSIONS) or matrix.dtype != np.float32:
            log.warning("ignoring the vector cache %s: shape %s does not fit the model", self.path, matrix.shape)
            return {}
        return {str(key): matrix[row] for row, key in enumerate(keys)}

    def matrix(self, texts: Sequence[str], embed: Callable[[list[str]], np.ndarray]) -> tuple[np.ndarray, int]:
        """One row per text, embedding only the texts not cached yet (``embed``
        gets them all at once and batches itself); the cache then holds exactly
        these texts. Returns the matrix and how many texts were embedded."""
        np = self._np
        keys = [content_key(text) for text in texts]
        missing = {key: text for key, text in zip(keys, texts, strict=True) if key not in self.vectors}
        if missing:
            fresh = embed(list(missing.values()))
            self.vectors.update(zip(missing, fresh, strict=True))
        self.vectors = {key: self.vectors[key] for key in keys}
        if missing or len(self.vectors) != len(keys) or not self.path.exists():
            self._write()
        matrix = np.stack([self.vectors[key] for key in keys]) if keys else np.zeros((0, DIMENSIONS), np.float32)
        return matrix.astype(np.float32, copy=False), len(missing)

    def _write(self) -> None:
        np = self._np
        keys = list(self.vectors)
        matrix = np.stack([self.vectors[k] for k in keys]) if keys else np.zeros((0, DIMENSIONS), np.float32)
        temporary = self.path.with_name(self.path.name + ".tmp")
        try:
            with temporary.open("wb") as out:
                np.savez(out, keys=np.array(keys, dtype="U64"), vectors=matrix.astype(np.float32))
            os.replace(temporary, self.path)
        except OSError as error:
            log.warning("cannot write the vector cache %s: %s", self.path, error)
