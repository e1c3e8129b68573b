"""The semantic re-ranker: what the ``semantic`` extra adds to the ranking.

Lexical ranking finds the right section among its best 30 for nearly every
answerable question but often not first: an operator's words ("give a vm
more ram") are not the runbook's ("memory changes"). The re-ranker embeds
the question once and re-orders those candidates by a fused score: mostly
the cosine between question and section (`embedding`), partly the lexical
score relative to the best one, so exact command names and pasted error
texts still count. A section's cosine is the mean of its whole's and its
closest passage's (the whole section or one of its chunks, `vectors.passages`:
`PASSAGE_WEIGHT`). Passage vectors are
computed when the index changes, only for passages whose text changed
(`vectors`), one at a time.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot.knowledge.embedding import Embedder
from bot.knowledge.pasted import printed
from bot.knowledge.sections import Section
from bot.knowledge.vectors import VectorCache, passages

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

COSINE_WEIGHT = 0.7  # share of the fused score given to the cosine (the rest: lexical score / best)
# A section's cosine: its whole's, moved this far towards its closest passage's.
# The closest passage alone gives a long section one more chance per chunk to
# be near any question, and long sections then crowd out the short one that
# answers (-0.06 hit@1 on questions the passages were not tuned on).
PASSAGE_WEIGHT = 0.5


class SemanticReranker:
    """Cosine similarities between a question and the sections of one index."""

    def __init__(self, embedder: Embedder, sections: Sequence[Section], index_dir: Path) -> None:
        import numpy

        self.embedder = embedder
        texts: list[str] = []
        starts: list[int] = []  # each section's first passage; its passages are consecutive rows
        for section in sections:
            starts.append(len(texts))
            texts.extend(passages(section))
        self.matrix, self.embedded = VectorCache(index_dir).matrix(texts, embedder.embed)
        self._starts = numpy.array(starts, dtype=numpy.intp)
        self.sections = len(sections)
        if self.embedded:
            log.info("embedded %d changed passages", self.embedded)

    def cosines(self, question: str) -> np.ndarray:
        """The cosine between ``question`` and each section (`PASSAGE_WEIGHT`), in the
        order of the sections it was built over. Of a pasted shell session the model
        reads what it printed (`pasted`)."""
        import numpy

        if not self.sections:
            return numpy.zeros(0, dtype=numpy.float32)
        vector = self.embedder.embed([printed(question)])[0]
        every = self.matrix @ vector
        whole = every[self._starts]
        closest = numpy.maximum.reduceat(every, self._starts)
        return (1 - PASSAGE_WEIGHT) * whole + PASSAGE_WEIGHT * closest

    @staticmethod
    def fused(lexical: float, best_lexical: float, cosine: float) -> float:
        return (1 - COSINE_WEIGHT) * lexical / (best_lexical or 1.0) + COSINE_WEIGHT * cosine
