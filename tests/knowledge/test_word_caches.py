"""The word-analysis caches stay small however many random words chat throws at them."""

from __future__ import annotations

import random
import string

from bot.config import SHIPPED_RUNBOOKS
from bot.knowledge import analysis
from bot.knowledge.base import KnowledgeBase

FLOOD = 50_000


def random_word(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(4, 12)))


def test_fifty_thousand_random_question_words_leave_the_caches_bounded(tmp_path):
    knowledge = KnowledgeBase(SHIPPED_RUNBOOKS, tmp_path / "index")
    knowledge.refresh()
    before = [hit.section.title for hit in knowledge.search("drbd split brain")]
    rng = random.Random(7)
    for _ in range(FLOOD // 10):  # questions of ten words, some of them compounds
        words = [random_word(rng) for _ in range(9)]
        analysis.terms(" ".join(words) + f" {words[0]}-{words[1]}")
    for cache in (analysis.normalize, analysis.written_terms):
        assert cache.cache_info().currsize <= analysis.CACHED_WORDS <= 10_000
    assert analysis.terms("rebooting instances") == ["reboot", "instanc"]  # still analysed the same way
    assert [hit.section.title for hit in knowledge.search("drbd split brain")] == before
