"""Anyone who can push to the wiki writes the runbooks: nothing they push may
leak a file, hang or stall the indexer, or bury the log in warnings."""

from __future__ import annotations

import logging
import os
import random
import stat
import string
from pathlib import Path

import pytest
from whoosh import index as whoosh_index

from bot.knowledge.base import KnowledgeBase
from bot.knowledge.index import RunbookIndex
from bot.knowledge.markdown import parse_runbook
from bot.knowledge.stored import section_to_fields
from bot.state.private import UnsafeDirectory

SECRET = "root:$6$not-for-the-channel:19000:0:99999:7:::"


def indexed_text(index: RunbookIndex) -> str:
    return "\n".join(s.section.text + "\n".join(s.section.code) for s in index.sections())


def skip_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "skipping" in r.getMessage()]


def test_links_out_of_the_runbook_folder_are_refused_links_inside_are_followed(runbooks: Path, tmp_path: Path,
                                                                                caplog):
    secret = tmp_path / "shadow"
    secret.write_text(f"# Secrets\n\n{SECRET}\n")
    (runbooks / "shadow.md").symlink_to(secret)
    (runbooks / "outside").symlink_to(tmp_path, target_is_directory=True)
    (runbooks / "drbd-again.md").symlink_to(runbooks / "howto" / "drbd.md")
    index = RunbookIndex(runbooks, tmp_path / "index")
    report = index.update()
    assert SECRET not in indexed_text(index)
    assert any("outside the runbook folder" in reason for reason in report.skipped)
    assert "drbd-again.md" in report.added
    assert "shadow.md" in " ".join(skip_warnings(caplog))


@pytest.mark.timeout(30)
def test_a_fifo_named_like_a_runbook_does_not_hang_the_indexer(runbooks: Path, tmp_path: Path):
    os.mkfifo(runbooks / "pipe.md")
    report = RunbookIndex(runbooks, tmp_path / "index").update()
    assert any("not a regular file" in reason for reason in report.skipped)
    assert report.sections == 5


@pytest.mark.timeout(60)
def test_a_paragraph_of_unclosed_markup_is_indexed_as_text(runbooks: Path, tmp_path: Path):
    # Each of these took 10-75 s with backtracking patterns, holding the interpreter lock.
    hostile = {"brackets": "[" * 72_000, "stars": "*a " * 24_000, "directives": "[[!" * 24_000,
               "autolinks": "<http:" * 12_000, "comments": "x <!--" * 12_000}
    for name, paragraph in hostile.items():
        (runbooks / f"{name}.md").write_text(f"# {name}\n\n{paragraph} tail-{name}\n")
    index = RunbookIndex(runbooks, tmp_path / "index")
    report = index.update()
    assert not report.skipped
    texts = indexed_text(index)
    assert all(f"tail-{name}" in texts for name in hostile)


def test_a_page_that_costs_more_than_its_budget_is_skipped_with_a_warning(runbooks: Path, tmp_path: Path,
                                                                          monkeypatch, caplog):
    from bot.knowledge import budget

    monkeypatch.setattr(budget, "SECONDS", 0.05)
    (runbooks / "long.md").write_text("# Long\n\n" + "line\n" * 400_000)
    report = RunbookIndex(runbooks, tmp_path / "index").update()
    assert len(report.skipped) == 1 and "CPU time" in report.skipped[0]
    assert report.sections == 5
    assert "long.md" in " ".join(skip_warnings(caplog))


def test_invalid_utf8_is_indexed_and_said_in_a_warning_once(runbooks: Path, tmp_path: Path, caplog):
    page = runbooks / "latin.md"
    page.write_bytes(b"# Caf\xe9\n\nok\n\nline four \xff\n")
    index = RunbookIndex(runbooks, tmp_path / "index")
    report = index.update()
    assert report.warnings and "line 1 is not valid UTF-8" in report.warnings[0]
    assert "latin.md" in caplog.text and "not valid UTF-8" in caplog.text
    assert "Caf\ufffd" in {s.section.title for s in index.sections()}
    caplog.clear()
    os.utime(page, ns=(page.stat().st_atime_ns, page.stat().st_mtime_ns + 10**9))  # touched, same bytes
    assert not index.update().warnings and "UTF-8" not in caplog.text


def test_a_byte_order_mark_does_not_eat_the_first_heading(runbooks: Path, tmp_path: Path):
    (runbooks / "bom.md").write_bytes("\ufeff# Master failover\n\nPromote a candidate.\n".encode())
    index = RunbookIndex(runbooks, tmp_path / "index")
    index.update()
    assert [s.section.heading for s in index.sections() if s.section.file == "bom.md"] == ["Master failover"]


def test_a_skipped_file_is_warned_about_once_per_change(runbooks: Path, tmp_path: Path, caplog):
    broken = runbooks / "diagram.md"
    broken.write_bytes(b"\0\1\2binary")
    index = RunbookIndex(runbooks, tmp_path / "index")
    reports = [index.update() for _ in range(3)]
    assert len(skip_warnings(caplog)) == 1
    assert all(len(report.skipped) == 1 for report in reports)  # still skipped, and still counted
    broken.write_bytes(b"\0\1\2still binary")
    index.update()
    assert len(skip_warnings(caplog)) == 2
    broken.write_text("# Diagram\n\nNow text.\n")
    report = index.update()
    assert report.added == ["diagram.md"] and not report.skipped


def test_an_index_directory_others_can_write_to_is_refused(runbooks: Path, tmp_path: Path):
    shared = tmp_path / "index"
    shared.mkdir()
    shared.chmod(0o777)
    with pytest.raises(UnsafeDirectory, match="chmod go-w"):
        RunbookIndex(runbooks, shared).update()
    created = tmp_path / "fresh"
    RunbookIndex(runbooks, created).update()
    assert stat.S_IMODE(created.stat().st_mode) & 0o077 == 0
    assert stat.S_IMODE((created / "whoosh").stat().st_mode) & 0o077 == 0


@pytest.mark.parametrize("damage", ["truncate", "overwrite", "a stored field", "delete"])
def test_a_damaged_segment_is_rebuilt_and_said_in_the_log(runbooks: Path, tmp_path: Path, caplog, monkeypatch,
                                                           damage):
    KnowledgeBase(runbooks, tmp_path / "index").refresh()
    segment = next((tmp_path / "index" / "whoosh").glob("*.seg"))
    data = segment.read_bytes()
    if damage == "truncate":
        segment.write_bytes(data[: len(data) // 2])
    elif damage == "overwrite":
        segment.write_bytes((bytes(range(256)) * (len(data) // 256 + 1))[: len(data)])
    elif damage == "a stored field":  # the segment opens and counts: found only once every section is read
        index = whoosh_index.open_dir(tmp_path / "index" / "whoosh")
        with index.writer() as writer:
            writer.add_document(**(section_to_fields(parse_runbook("# Odd\n\nText.\n", "odd.md")[0]) | {"level": "1"}))
    else:
        segment.unlink()
    knowledge = KnowledgeBase(runbooks, tmp_path / "index")  # a restarted bot
    monkeypatch.setattr(RunbookIndex, "update", lambda self: pytest.fail("re-indexed in the bot's own process"))
    report = knowledge.refresh()
    assert report.rebuilt and report.summary().startswith("full rebuild: 2 added")
    assert knowledge.search("split brain recovery", 1)[0].section.title == "Split brain recovery"
    assert "damaged" in caplog.text and "rebuilding" in caplog.text


def test_a_reindex_asked_for_rebuilds_a_damaged_index_of_an_unchanged_folder(runbooks: Path, tmp_path: Path):
    """A poll trusts the manifest; ``!reindex`` (a forced refresh) checks the index itself."""
    knowledge = KnowledgeBase(runbooks, tmp_path / "index")
    knowledge.refresh()
    segment = next((tmp_path / "index" / "whoosh").glob("*.seg"))
    segment.write_bytes(segment.read_bytes()[:100])
    assert not knowledge.refresh().touched
    report = knowledge.refresh(force=True)
    assert report.rebuilt and report.sections == 5
    assert knowledge.search("split brain recovery", 1)[0].section.title == "Split brain recovery"


def test_a_refresh_of_an_unchanged_folder_starts_no_indexer(runbooks: Path, tmp_path: Path, monkeypatch):
    from bot.knowledge import builder

    knowledge = KnowledgeBase(runbooks, tmp_path / "index")
    first = knowledge.refresh()
    monkeypatch.setattr(builder.Indexer, "update", lambda self, index: pytest.fail("an indexer was started"))
    monkeypatch.setattr(RunbookIndex, "_open", lambda self: pytest.fail("the index was opened to count it"))
    again = knowledge.refresh()
    assert not again.touched and again.sections == first.sections == 5
    monkeypatch.undo()
    (runbooks / "howto" / "drbd.md").write_text("# DRBD\n\n## Resync\n\nWait for the resync.\n")
    assert knowledge.refresh().changed == ["howto/drbd.md"]


def test_a_page_of_unique_words_is_skipped_with_one_warning(runbooks: Path, tmp_path: Path, caplog):
    # Five such pages of 2 MB filled the ranker and the speller with 2.2 GB.
    rng = random.Random(7)
    junk = " ".join("".join(rng.choices(string.ascii_lowercase, k=12)) for _ in range(25_000))
    (runbooks / "junk.md").write_text(f"# Junk\n\n{junk}\n")
    index = RunbookIndex(runbooks, tmp_path / "index")
    report = index.update()
    assert len(report.skipped) == 1 and "distinct words" in report.skipped[0]
    assert skip_warnings(caplog) == [f"skipping runbook {report.skipped[0]}"]
    assert report.sections == 5 and junk.split()[0] not in indexed_text(index)


def test_a_page_of_too_many_sections_is_skipped(runbooks: Path, tmp_path: Path):
    (runbooks / "headings.md").write_text("".join(f"# h{n}\n\ntext\n\n" for n in range(2_500)))
    report = RunbookIndex(runbooks, tmp_path / "index").update()
    assert len(report.skipped) == 1 and "over 2,000 sections" in report.skipped[0]


def test_files_past_what_the_index_may_hold_are_skipped_in_one_warning(runbooks: Path, tmp_path: Path,
                                                                         monkeypatch, caplog):
    from bot.knowledge import budget

    monkeypatch.setattr(budget, "INDEX_SECTIONS", 4)
    for number in range(6):
        (runbooks / f"page{number}.md").write_text(f"# Page {number}\n\ntext {number}\n")
    index = RunbookIndex(runbooks, tmp_path / "index")
    report = index.update()
    assert report.added == [f"page{number}.md" for number in range(4)] and len(report.skipped) == 4
    assert all("the index is full" in reason for reason in report.skipped)
    assert len(skip_warnings(caplog)) == 1 and "3 more file(s)" in skip_warnings(caplog)[0]
    caplog.clear()
    assert index.update().sections == 4 and not skip_warnings(caplog)  # said once, not at every reload


def test_files_skipped_for_a_full_index_come_back_once_pages_are_removed(tmp_path: Path, monkeypatch):
    from bot.knowledge import budget

    monkeypatch.setattr(budget, "INDEX_SECTIONS", 3)
    folder = tmp_path / "runbooks"
    folder.mkdir()
    for name in "abcd":
        (folder / f"{name}.md").write_text(f"# Page {name}\n\ntext {name}\n\n## More {name}\n\nmore {name}\n")
    index = RunbookIndex(folder, tmp_path / "index")
    report = index.update()
    assert report.added == ["a.md"] and len(report.skipped) == 3
    assert index.update().added == []  # still full: nothing comes and goes
    (folder / "a.md").unlink()  # what the warning asks for
    report = index.update()
    assert (report.added, report.removed, len(report.skipped)) == (["b.md"], ["a.md"], 2)
    assert {s.section.file for s in index.sections()} == {"b.md"}
