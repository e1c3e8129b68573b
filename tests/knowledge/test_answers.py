"""What an operator sees of an answer, on every section of the shipped runbooks and the corpus.

An answer never shows program output or a log as commands, nor a shell prompt;
it keeps a section's warnings with its commands; its gist is one paragraph's own
whole sentences; no line is longer than a chat line; inline markup a reader
needs (``Control-<Closing Bracket>``) survives.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import CORPUS, SHIPPED

from bot.commands.runbook import LINE_BYTES, format_answer
from bot.knowledge.answer import Hit, build_answer
from bot.knowledge.base import KnowledgeBase
from bot.knowledge.index import runbook_files
from bot.knowledge.markdown import parse_runbook
from bot.knowledge.prose import MAX_GIST, is_warning, sentences
from bot.knowledge.sections import Section

PROMPT = re.compile(r"^\s*(?:[\w.-]+@[\w.-]+:\S*\s?[#$]|\$\s)")
LOG_LINE = re.compile(r"^\s*(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                      r"|\d{4}-\d\d-\d\d \d\d:\d\d|- (?:ERROR|WARNING):)")


APPENDIX_HEADINGS = {"output, as the runbook shows it:", "quoted as the cause, not to run:"}


def sections_of(root: Path) -> list[Section]:
    return [section for path in runbook_files(root)
            for section in parse_runbook(path.read_text(errors="replace"), path.relative_to(root).as_posix())]


def collections() -> list[Path]:
    return [SHIPPED, *([CORPUS] if CORPUS.is_dir() else [])]


@pytest.fixture(scope="module", params=["shipped", "corpus"])
def every_section(request) -> list[Section]:
    if request.param == "corpus" and not CORPUS.is_dir():
        pytest.skip("../shared/corpus is not present on this machine")
    return sections_of(SHIPPED if request.param == "shipped" else CORPUS)


def shown_commands(lines: list[str]) -> list[str]:
    """The lines an operator reads as commands: indented, not a placeholder, before the appendix."""
    commands = []
    for line in lines:
        if line in APPENDIX_HEADINGS:
            break  # the appendix of output and quoted blocks
        if line.startswith("  ") and not line.startswith(("  (", "  … ")):
            commands.append(line[2:])
    return commands


def normalised(text: str) -> str:
    return " ".join(text.split())


def test_no_shell_prompt_and_no_log_line_is_shown_as_a_command(every_section):
    for section in every_section:
        for command in shown_commands(format_answer(build_answer(Hit(section, 1.0), ""))):
            assert not PROMPT.match(command), (section.key, command)
            assert not LOG_LINE.match(command), (section.key, command)


def test_no_prose_line_is_longer_than_a_chat_line(every_section):
    """Heading, gist, warnings and placeholders are wrapped between words; a long
    command is left whole for the transport to split (see tests/chat)."""
    for section in every_section:
        answer = build_answer(Hit(section, 1.0), "https://wiki.example.org/tpa/")
        for line in format_answer(answer):
            if line.startswith("  ") and not line.startswith("  ("):
                continue  # a command, or a line of output
            assert len(line.encode()) <= LINE_BYTES, (section.key, line)


def test_the_gist_is_whole_sentences_of_one_paragraph(every_section):
    for section in every_section:
        gist = build_answer(Hit(section, 1.0), "").gist
        if not gist:
            assert not section.paragraphs
            continue
        if gist.endswith("…"):  # only a single over-long sentence is cut
            assert len(gist) == len(gist[:MAX_GIST]) and " " in gist
            continue
        home = [p for p in section.paragraphs if normalised(gist) in normalised(p)]
        assert home, (section.key, gist)
        assert any(normalised(s) == normalised(gist) or normalised(gist).endswith(normalised(s))
                   for s in sentences(home[0])), (section.key, gist)


def test_warnings_come_before_the_first_command(every_section):
    for section in every_section:
        cautions = [s for p in section.paragraphs for s in sentences(p) if is_warning(s)]
        lines = format_answer(build_answer(Hit(section, 1.0), ""))
        if not cautions or not shown_commands(lines):
            continue
        first_command = next(i for i, line in enumerate(lines) if line.startswith("  ") and not line.startswith("  ("))
        warned = [i for i, line in enumerate(lines) if line.startswith("⚠ ")]
        assert warned and warned[0] < first_command, section.key


@pytest.fixture(scope="module")
def shipped(tmp_path_factory) -> KnowledgeBase:
    knowledge = KnowledgeBase(SHIPPED, tmp_path_factory.mktemp("index"), semantic=False)
    knowledge.refresh()
    return knowledge


def test_split_brain_does_not_lead_with_the_command_that_caused_it(shipped):
    answer, _ = shipped.answer("drbd split brain")
    assert answer is not None and answer.section.title == "Split brain recovery"
    lines = format_answer(answer)
    commands = shown_commands(lines)
    assert not any("--ignore-consistency" in command for command in commands)
    assert commands[:2] == ["gnt-instance info onionbalance-01.torproject.org", "gnt-instance stop $INSTANCES"]
    placeholder = next(line for line in lines if "quotes as the cause" in line)
    assert "lines of output: after the commands" in placeholder
    assert lines.index(placeholder) < lines.index("  gnt-instance stop $INSTANCES")
    quoted = lines.index("quoted as the cause, not to run:")
    assert lines[quoted + 1] == "  | gnt-node failover --ignore-consistency fsn-node-07.torproject.org"
    assert any(line.startswith("⚠ ") and "destroys" in line for line in lines[:4])


def test_node_failure_says_last_resort_with_its_commands(shipped):
    answer, _ = shipped.answer("node failure")
    assert answer is not None and answer.section.title == "Node failure"
    lines = format_answer(answer)
    assert any(line.startswith("⚠ ") and "LAST RESORT" in line for line in lines[:5])
    assert "  gnt-node failover fsn-node-07.torproject.org" in lines


def test_the_serial_console_answer_keeps_control_closing_bracket_and_says_what_to_run(shipped):
    answer, _ = shipped.answer("how do i get a serial console on an instance")
    assert answer is not None and answer.section.title == "Accessing serial console"
    assert answer.gist.endswith("To connect to it, run:")
    assert "Control-<Closing Bracket>" in answer.section.text
    assert format_answer(answer)[2] == "  gnt-instance console test01.torproject.org"


def test_escaped_markup_in_the_corpus_reads_as_written():
    page = CORPUS / "tor-tsa-wiki" / "tsa" / "howto" / "ganeti.md"
    if not page.is_file():
        pytest.skip("../shared/corpus is not present on this machine")
    texts = [section.text for section in parse_runbook(page.read_text(), "ganeti.md")]
    assert any("Control-<Closing Bracket>" in text for text in texts)
    assert not any("&lt;" in text for text in texts)
