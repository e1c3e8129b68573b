"""The knowledge base: one runbook directory, its index, and the ranker over it.

Thread-safe: the bot refreshes it from a worker thread while questions are
answered; a refresh builds a new ranker and swaps it in whole.

A ranker lives until the runbooks change, and holds one object per section
and term: it is built with the collector paused, and once it is swapped in
`gc.freeze` moves everything alive into the collector's permanent
generation (after one collection, so that no garbage made meanwhile is kept
for good), so that the full collections the bot's own chatter triggers no
longer walk the ranker each time (a 20,000-file wiki: 80 ms passes, holding
the interpreter lock). The ranker it replaces is freed by reference counting
(it holds no cycles).
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.knowledge import embedding
from bot.knowledge.answer import Answer, Hit, build_answer
from bot.knowledge.builder import Indexer
from bot.knowledge.index import (
    DamagedIndex,
    IndexedSection,
    RunbookIndex,
    RunbookIndexError,
    UpdateReport,
)
from bot.knowledge.manifest import folder_state
from bot.knowledge.retry import Retry
from bot.knowledge.search import Ranker, Ranking
from bot.knowledge.semantic import SemanticReranker

log = logging.getLogger(__name__)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No collections while a ranker is built, and the result frozen after.

    Building makes hundreds of thousands of lists that live on; each
    collection they trigger would walk all of them, holding the interpreter
    lock (15 pages of unique words: 140 ms pauses, over and over).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.collect()  # the cycles left while paused would otherwise be frozen, never freed
        gc.freeze()
        if enabled:
            gc.enable()


class KnowledgeBase:
    """Answers questions from the Markdown runbooks under ``runbooks``."""

    def __init__(self, runbooks: Path, index_dir: Path, base_url: str = "", semantic: bool | None = None) -> None:
        """``semantic``: re-rank with sentence embeddings; by default whenever the
        ``semantic`` extra is installed."""
        self.index = RunbookIndex(runbooks, index_dir)
        self.base_url = base_url
        self._ranker: Ranker | None = None
        self._lock = threading.Lock()
        self.last_refresh: tuple[float, UpdateReport] | None = None  # when (Unix time), and what it found
        self._semantic = embedding.available() if semantic is None else semantic
        self._retry = Retry()
        self.indexer = Indexer()  # the child process that re-indexes, stopped by `close`
        self.deferrals = 0  # refreshes that left the folder alone after a failed update (`retry`)

    def refresh(self, force: bool = False) -> UpdateReport:
        """Re-index changed runbooks and reload the ranker if anything changed.

        The folder is looked at here; re-indexing runs in a child process
        (`builder`), so that parsing costs this process neither time nor memory.
        After a failed update the same folder is not tried again for a while
        (the report says `deferred`, and `last_refresh` stays as it was);
        ``force`` (an operator's ``!reindex``, a reload) tries it at once, and
        runs a whole update even when the folder looks unchanged: an operator
        who asks gets the index checked (a damaged one is rebuilt), not the
        manifest's word for it.
        """
        with self._lock:
            report = (None if force else self.index.unchanged()) or self._update(force)
            if report.touched or self._ranker is None:
                try:
                    sections = self.index.sections()
                except DamagedIndex:  # found only now that every section is read: rebuild it
                    report = self.indexer.update(self.index)
                    sections = self.index.sections()
                with _collector_paused():
                    self._ranker = Ranker(sections, self._reranker(sections))
                if report.touched:
                    log.info("runbook index updated: %s", report.summary())
            if not report.deferred:
                self.last_refresh = (time.time(), report)
            return report

    def _update(self, force: bool) -> UpdateReport:
        """`Indexer.update`, unless it failed lately on this very folder (`retry`)
        and ``force`` is not set: then nothing changes, the previous index stays
        in use, and the report says when the next try is."""
        state = folder_state(self.index.root)
        deferred = None if force else self._retry.deferred(state)
        if deferred is not None:
            self.deferrals += 1
            sections = self.last_refresh[1].sections if self.last_refresh else 0
            return UpdateReport(sections=sections, retry_in=deferred[0], last_error=deferred[1])
        try:
            report = self.indexer.update(self.index)
        except RunbookIndexError as error:
            delay = self._retry.failed(state, str(error))
            raise RunbookIndexError(f"{error}; tried again in {delay:g} s or when the runbooks change") from error
        self._retry.succeeded()
        return report

    def close(self) -> None:
        """Kill a running re-index (the bot is stopping, or this knowledge base was replaced)."""
        self.indexer.close()

    def _reranker(self, sections: list[IndexedSection]) -> SemanticReranker | None:
        """The semantic re-ranker over ``sections``, or None without the extra
        (or when its model cannot be used: the error is logged, ranking goes on)."""
        if not self._semantic:
            return None
        try:
            embedder = embedding.shared_embedder()
            return SemanticReranker(embedder, [s.section for s in sections], self.index.index_dir)
        except embedding.EmbeddingModelError as error:
            log.error("semantic re-ranking is off: %s", error)
            self._semantic = False
            return None

    @property
    def ranker(self) -> Ranker:
        ranker = self._ranker
        if ranker is None:
            self.refresh()
            ranker = self._ranker
        assert ranker is not None
        return ranker

    def lookup(self, query: str, limit: int = 5) -> Ranking:
        """The best sections for ``query`` and whether they answer it."""
        return self.ranker.lookup(query, limit)

    def search(self, query: str, limit: int = 5) -> list[Hit]:
        """The best sections for ``query``, best first; empty when nothing answers it."""
        return self.ranker.search(query, limit)

    def answer(self, question: str) -> tuple[Answer | None, list[Hit]]:
        """The answer to ``question`` (`Answer.clear` says whether it is only the
        closest section), or None with the closest sections when the runbooks do
        not answer it."""
        ranking = self.lookup(question, limit=3)
        if ranking.answerable:
            return build_answer(ranking.hits[0], self.base_url, ranking.clear), ranking.hits
        return None, ranking.hits
