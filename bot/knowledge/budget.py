"""Bounds on the work one runbook file may cost, and on what the index may hold.

Runbooks are parsed in a worker thread, so a slow page does not block the
event loop by itself; but it would hold a core and the index lock for as long
as it takes, and a page built to be slow can take minutes. Each file gets
`SECONDS` of its thread's CPU time (CPU time, not wall time: a busy machine
must not make files drop out at random). The parser and the analysis call
`Budget.spend` as they go; a file that uses its budget up is skipped with a
warning, like any unreadable file.

Time is not the only cost: a page of unique words parses quickly, but its
terms and spellings then fill the ranker and the speller of the bot's own
process (five 2 MB pages of random words took 2.2 GB there). So a file may
also hold at most `MAX_SECTIONS` sections and `MAX_TERMS` distinct terms
(or words as written), and the whole index at most `INDEX_SECTIONS` sections
and `INDEX_POSTINGS` (section, term) pairs, which is what the ranker keeps
in memory; the files past that are skipped, and said in one warning.
"""

from __future__ import annotations

import time

from bot.knowledge.files import UnreadableRunbook

SECONDS = 2.0  # the largest page of the shared corpus (87 KB) takes 0.05 s
MAX_SECTIONS = 2_000  # per file; the shared corpus's largest page has 104
MAX_TERMS = 20_000  # distinct, per file; the corpus's richest page has 1,612 terms and 1,763 words
INDEX_SECTIONS = 10_000  # the corpus has 442; the ranker's load stays well under 0.1 s of GC pauses
INDEX_POSTINGS = 300_000  # the corpus has 27,000
_CHECK_EVERY = 64  # reading the clock costs ~0.3 µs; spending a step, ~30 ns


class Budget:
    """CPU time left for one file; raises `UnreadableRunbook` once it is spent."""

    def __init__(self, file: str, seconds: float | None = None) -> None:
        self.file = file
        self.seconds = SECONDS if seconds is None else seconds
        self._deadline = time.thread_time() + self.seconds
        self._steps = 0

    def spend(self) -> None:
        """One step of work; every few steps, check the clock."""
        self._steps += 1
        if self._steps % _CHECK_EVERY == 0:
            self.check()

    def check(self) -> None:
        if time.thread_time() > self._deadline:
            raise UnreadableRunbook(
                f"{self.file}: took over {self.seconds:g} s of CPU time to parse; "
                f"split the page or simplify its markup"
            )

    def measure(self, documents: list[dict]) -> dict[str, int]:
        """The size of this file's index ``documents`` (`index.section_to_fields`);
        `UnreadableRunbook` when it is over the per-file bounds."""
        if len(documents) > MAX_SECTIONS:
            raise UnreadableRunbook(f"{self.file}: over {MAX_SECTIONS:,} sections; split the page")
        terms: set[str] = set()
        written: set[str] = set()
        postings = 0
        for document in documents:
            vocabulary = {term for counts in document["terms"].values() for term in counts}
            postings += len(vocabulary)
            terms |= vocabulary
            written |= document["words"].keys()
        if max(len(terms), len(written)) > MAX_TERMS:
            raise UnreadableRunbook(f"{self.file}: over {MAX_TERMS:,} distinct words; "
                                    f"split the page (is it text at all?)")
        return {"sections": len(documents), "postings": postings}


class IndexFull(UnreadableRunbook):
    """The index holds as much as it may; this file is not indexed."""


class Capacity:
    """What the files indexed so far hold, against `INDEX_SECTIONS` and `INDEX_POSTINGS`."""

    def __init__(self) -> None:
        self.sections = 0
        self.postings = 0

    def fits(self, size: dict[str, int]) -> bool:
        """Is there room for a file of ``size`` (as `Budget.measure` gives it)?"""
        return (self.sections + size["sections"] <= INDEX_SECTIONS
                and self.postings + size["postings"] <= INDEX_POSTINGS)

    def admit(self, file: str, size: dict[str, int]) -> None:
        """Count a file of ``size`` in, or raise `IndexFull`."""
        if not self.fits(size):
            raise IndexFull(f"{file}: not indexed, the index is full ({INDEX_SECTIONS:,} sections "
                            f"or {INDEX_POSTINGS:,} section terms); remove or merge pages")
        self.sections, self.postings = self.sections + size["sections"], self.postings + size["postings"]
