"""What one question or one section may cost stays bounded, whatever the wiki holds."""

from __future__ import annotations

import gc
import random
import string
import tracemalloc
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from bot.commands.runbook import format_answer
from bot.knowledge import answer as answers
from bot.knowledge.answer import Hit, build_answer
from bot.knowledge.base import KnowledgeBase
from bot.knowledge.markdown import parse_runbook
from bot.knowledge.sections import Section
from bot.knowledge.spelling import Speller


def peak_bytes(work: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_chat_words_work_on_a_wiki_without_the_words_they_map_to(tmp_path: Path):
    # "vm" maps to "instance", "server" to "node": this wiki uses neither.
    root = tmp_path / "wiki"
    root.mkdir()
    (root / "kvm.md").write_text("# KVM guests\n\nA vm console opens with virsh console.\n")
    knowledge = KnowledgeBase(root, tmp_path / "index")
    answer, _ = knowledge.answer("how do I open the console of a vm")
    assert answer is not None and answer.section.title == "KVM guests"
    assert knowledge.lookup("server console", 1).hits[0].section.title == "KVM guests"


def test_correcting_one_very_long_word_costs_little_memory():
    speller = Speller(Counter({"rebalance": 5, "migrate": 3, "secondary": 2}))
    word = "rebalance" * 45  # 405 letters: the two-edit neighbourhood alone was 36 MB
    assert peak_bytes(lambda: speller.correct(word)) < 1_000_000
    assert speller.correct(word) == word
    assert speller.correct("rebalnce") == "rebalance"


def test_a_very_long_word_in_a_runbook_costs_little_memory():
    vocabulary = Counter({"abcdefghijklmnopqrstuvwxyz" * 120: 1, "rebalance": 2})  # its deletions were 10 MB
    assert peak_bytes(lambda: Speller(vocabulary)) < 1_000_000
    assert Speller(vocabulary).correct("rebalnce") == "rebalance"


def test_an_answer_carries_a_bounded_number_of_commands_of_bounded_length():
    code = ("x" * 200_000 + "\n" + "\n".join(f"gnt-node list --node {n}" for n in range(10_000)),)
    section = Section("big.md", "Big", "Big", 1, (), "big", "Text.", code, 0)
    answer = build_answer(Hit(section, 1.0), "")
    assert len(answer.commands) == answers.MAX_COMMANDS
    assert max(len(command) for command in answer.commands) <= answers.MAX_COMMAND_CHARS
    assert answer.more_commands == 10_001 - answers.MAX_COMMANDS
    assert format_answer(answer)[-1] == "  … 9989 more command lines in the runbook"


def test_a_huge_heading_is_clipped():
    sections = parse_runbook("# " + "![" * 100_000 + "\n\ntext\n", "page.md")
    assert sections[0].text == "text" and len(sections[0].heading) <= 200


def test_parsing_a_page_costs_the_bot_process_no_memory(runbooks: Path, tmp_path: Path):
    # Parsed in the bot's process, a 2 MB page made millions of markdown-it
    # tokens, and the garbage collector's passes over them held the interpreter
    # lock for 0.1-0.3 s at a time: every transport stalled. Pages are parsed
    # in a child process now; what stays here is the finished index.
    (runbooks / "table.md").write_text("# Table\n\n|a|b|\n|-|-|\n" + "|cell|tail|\n" * 10_000)
    knowledge = KnowledgeBase(runbooks, tmp_path / "index")
    peak = peak_bytes(knowledge.refresh)
    assert peak < 5_000_000, f"{peak / 1e6:.0f} MB"
    assert knowledge.last_refresh is not None and "table.md" in knowledge.last_refresh[1].added
    assert knowledge.search("split brain recovery", 1)[0].section.title == "Split brain recovery"


def unique_words(count: int, length: int) -> list[str]:
    rng = random.Random(7)
    return ["".join(rng.choices(string.ascii_lowercase, k=length)) for _ in range(count)]


def test_a_wiki_of_unique_words_gives_the_speller_a_bounded_table_the_collector_never_walks():
    vocabulary = Counter(dict.fromkeys(unique_words(30_000, 32), 1)) + Counter({"rebalance": 9})
    gc.collect()
    tracked = len(gc.get_objects())
    speller = Speller(vocabulary)  # ~950,000 deletion variants: each was a list for the collector
    assert len(gc.get_objects()) - tracked < 100
    assert speller.correct("rebalnce") == "rebalance"  # the frequent words stay correctable
    assert peak_bytes(lambda: Speller(vocabulary)) < 120_000_000


def test_the_collector_leaves_a_loaded_ranker_alone(runbooks: Path, tmp_path: Path):
    knowledge = KnowledgeBase(runbooks, tmp_path / "index", semantic=False)
    try:
        knowledge.refresh()
        ranker_objects = {id(knowledge.ranker), id(knowledge.ranker.docs), *map(id, knowledge.ranker.docs)}
        assert not ranker_objects & {id(tracked) for tracked in gc.get_objects()}  # frozen, not walked
        assert knowledge.search("split brain")[0].section.heading == "Split brain recovery"
    finally:
        gc.unfreeze()


def test_garbage_cycles_made_while_a_ranker_is_built_are_not_frozen(runbooks: Path, tmp_path: Path, monkeypatch):
    import weakref

    from bot.knowledge import base

    class Node:
        partner: Node

    made: list[weakref.ref[Node]] = []
    ranker = base.Ranker

    def ranker_and_garbage(*args: object) -> base.Ranker:
        first, second = Node(), Node()
        first.partner, second.partner = second, first  # a cycle, dropped at once: only the collector frees it
        made.append(weakref.ref(first))
        return ranker(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(base, "Ranker", ranker_and_garbage)
    knowledge = KnowledgeBase(runbooks, tmp_path / "index", semantic=False)
    try:
        knowledge.refresh()
        gc.collect()
        assert made and made[0]() is None
    finally:
        gc.unfreeze()
