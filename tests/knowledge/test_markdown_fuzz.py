"""Property-based fuzzing of the runbook parser: random and adversarial Markdown.

Whatever a page holds, parsing it raises nothing, yields well-formed sections,
and stays within its CPU budget; the worst CPU time per input is printed at
the end of the module (a longer run: ``bench/fuzz_markdown.py``).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import FUZZ_WORST
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.knowledge import budget
from bot.knowledge.files import UnreadableRunbook, read_runbook
from bot.knowledge.markdown import MAX_HEADING, parse_runbook
from bot.knowledge.sections import Section

# Pieces that mean something to Markdown, to the wiki clean-up or to the analysis.
FRAGMENTS = (
    "#", "## ", "### x", "\n", "\n\n", "\r\n", "\r", " ", "    ", "\t", "```", "~~~", "`", "``", "*", "**",
    "_", "__", "***", "[", "]", "(", ")", "![", "](", "<", ">", "<a ", "</b>", "<!--", "-->", "<http:",
    "[[!", "]]", "[[_TOC_]]", "---", "+++", "===", "|", "|-|", "- ", "1. ", "> ", "\\", "\\*", "&amp;",
    "&#", "\ufeff", "\u200b", "\x00", "\x1b[31m", "é", "gnt-instance", "word", "a:b/c-d", "x" * 40,
)
SETTINGS = settings(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
WORST: dict[str, tuple[float, int]] = {}


markdownish = st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=8), max_size=60).map("".join)
repeated = st.tuples(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=4).map("".join),
                     st.integers(min_value=1, max_value=6_000)).map(lambda pair: pair[0] * pair[1])
adversarial = st.lists(repeated | markdownish, min_size=1, max_size=4).map("".join)


def parsed(text: str, strategy: str) -> list[Section]:
    started = time.thread_time()
    sections = parse_runbook(text, "fuzz/page.md")
    spent = time.thread_time() - started
    if spent > WORST.get(strategy, (0.0, 0))[0]:
        WORST[strategy] = (spent, len(text))
    assert spent <= budget.SECONDS * 1.5, f"{spent:.2f} s of CPU for {len(text)} characters"
    return sections


def assert_well_formed(sections: list[Section]) -> None:
    assert [s.position for s in sections] == list(range(len(sections)))
    anchors = [s.anchor for s in sections if s.anchor]
    assert len(anchors) == len(set(anchors))
    for number, section in enumerate(sections):
        assert section.file == "fuzz/page.md"
        assert 0 <= section.level <= 6 and (section.level > 0 or section.anchor == "")
        assert section.level > 0 or number == 0  # the page's intro comes first, or not at all
        assert section.heading and section.title and len(section.heading) <= MAX_HEADING
        assert len(section.trail) < max(section.level, 1)
        assert all(part and "\n" not in part for part in (*section.trail, section.title))
        assert "\r" not in section.text and not any("\r" in block for block in section.code)


@pytest.fixture(scope="module", autouse=True)
def report_worst_case(request: pytest.FixtureRequest) -> None:
    request.config.stash[FUZZ_WORST] = WORST


@settings(SETTINGS, max_examples=2_000)
@given(markdownish)
def test_random_markdown_parses_into_well_formed_sections(text: str):
    assert_well_formed(parsed(text, "random"))


@settings(SETTINGS, max_examples=300)
@given(adversarial)
def test_adversarial_repetitions_parse_within_the_budget(text: str):
    assert_well_formed(parsed(text, "adversarial"))


@settings(SETTINGS, max_examples=300)
@given(st.binary(max_size=2_000))
def test_any_bytes_are_read_or_refused_never_crash(tmp_path_factory: pytest.TempPathFactory, data: bytes):
    path = Path(tmp_path_factory.mktemp("bytes")) / "page.md"
    path.write_bytes(data)
    try:
        text = read_runbook(path).text
    except UnreadableRunbook as refusal:
        assert "binary" in str(refusal)
        return
    assert_well_formed(parsed(text, "bytes"))
