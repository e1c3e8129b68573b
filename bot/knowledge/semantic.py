"""The semantic re-ranker: what the ``semantic`` extra adds to the ranking.

Lexical ranking finds the right section among its best 30 for nearly every
answerable question but often not first: an operator's words ("give a vm
more ram") are not the runbook's ("memory changes"). The re-ranker embeds
the question once and re-orders those candidates by a fused score, mostly
the cosine between question and section (`embedding`), partly the lexical
score relative to the best one, so exact command names and pasted error
texts still count. Section vectors are computed when the index changes,
only for sections whose text changed (`vectors`), one at a time.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from bot.knowledge.embedding import Embedder
from bot.knowledge.sections import Section
from bot.knowledge.vectors import VectorCache

log = logging.getLogger(__name__)

COSINE_WEIGHT = 0.7  # share of the fused score given to the cosine (the rest: lexical score / best)


class SemanticReranker:
    """Cosine similarities between a question and the sections of one index."""

    def __init__(self, embedder: Embedder, sections: Sequence[Section], index_dir: Path) -> None:
        self.embedder = embedder
        self.matrix, self.embedded = VectorCache(index_dir).matrix(list(sections), embedder.embed)
        self.rows = {section.key: row for row, section in enumerate(sections)}
        if self.embedded:
            log.info("embedded %d changed sections", self.embedded)

    def similarities(self, question: str, keys: Sequence[str]) -> list[float]:
        """The cosine between ``question`` and each section named in ``keys``."""
        vector = self.embedder.embed([question])[0]
        rows = [self.rows[key] for key in keys]
        return [float(value) for value in self.matrix[rows] @ vector]

    @staticmethod
    def fused(lexical: float, best_lexical: float, cosine: float) -> float:
        return (1 - COSINE_WEIGHT) * lexical / (best_lexical or 1.0) + COSINE_WEIGHT * cosine
