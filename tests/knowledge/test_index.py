"""The index follows the runbook folder: incrementally, and in a running bot."""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import replace
from pathlib import Path

import pytest

from bot.app import Application
from bot.commands.runbook import RunbookCommands
from bot.config import Config
from bot.core.message import Identity, Message
from bot.core.registry import Invocation
from bot.knowledge import builder
from bot.knowledge.base import KnowledgeBase
from bot.knowledge.index import RunbookIndex, RunbookIndexError
from bot.knowledge.metrics import KnowledgeMetrics
from bot.metrics import Metrics


def test_first_build_indexes_every_markdown_file(runbooks: Path, tmp_path: Path):
    (runbooks / "notes.txt").write_text("# not markdown\n")
    (runbooks / ".git").mkdir()
    (runbooks / ".git" / "HEAD.md").write_text("# hidden\n")
    report = RunbookIndex(runbooks, tmp_path / "index").update()
    assert report.rebuilt
    assert sorted(report.added) == ["howto/drbd.md", "howto/ganeti.md"]
    assert report.sections == 5


def test_only_changed_files_are_reindexed(runbooks: Path, tmp_path: Path):
    index = RunbookIndex(runbooks, tmp_path / "index")
    index.update()
    assert not index.update().touched

    ganeti = runbooks / "howto" / "ganeti.md"
    ganeti.write_text(ganeti.read_text() + "\n## Master failover\n\ngnt-cluster master-failover\n")
    (runbooks / "howto" / "kvm.md").write_text("# KVM\n\nqemu monitor\n")
    (runbooks / "howto" / "drbd.md").unlink()
    report = index.update()
    assert (report.changed, report.added, report.removed) == (["howto/ganeti.md"], ["howto/kvm.md"], ["howto/drbd.md"])
    assert {s.section.title for s in index.sections()} == {
        "Ganeti", "Rebalancing a cluster", "Node failure", "Master failover", "KVM"}


def test_a_touched_but_identical_file_is_not_reindexed(runbooks: Path, tmp_path: Path):
    index = RunbookIndex(runbooks, tmp_path / "index")
    index.update()
    drbd = runbooks / "howto" / "drbd.md"
    os.utime(drbd, ns=(drbd.stat().st_atime_ns, drbd.stat().st_mtime_ns + 10**9))
    report = index.update()
    assert not report.touched


def test_unreadable_files_are_skipped_with_a_warning(runbooks: Path, tmp_path: Path, caplog):
    (runbooks / "diagram.md").write_bytes(b"\0\1\2binary")
    report = RunbookIndex(runbooks, tmp_path / "index").update()
    assert len(report.skipped) == 1 and "binary" in report.skipped[0]
    assert "skipping runbook" in caplog.text
    assert report.sections == 5


def test_another_runbook_folder_or_a_damaged_manifest_rebuilds(runbooks: Path, tmp_path: Path):
    index_dir = tmp_path / "index"
    RunbookIndex(runbooks, index_dir).update()
    other = tmp_path / "other"
    other.mkdir()
    (other / "a.md").write_text("# Alpha\n\ntext\n")
    report = RunbookIndex(other, index_dir).update()
    assert report.rebuilt and report.sections == 1
    (index_dir / "gntbot-manifest.json").write_text("{broken")
    assert RunbookIndex(other, index_dir).update().rebuilt
    manifest = json.loads((index_dir / "gntbot-manifest.json").read_text())
    del manifest["files"]["a.md"]["sections"]  # an entry short of what a poll reads: a rebuild, not a crash
    (index_dir / "gntbot-manifest.json").write_text(json.dumps(manifest))
    assert RunbookIndex(other, index_dir).unchanged() is None
    assert RunbookIndex(other, index_dir).update().rebuilt
    (other / "b.md").write_bytes(b"\x00\x01 not text")  # skipped: its entry has a reason and a fingerprint
    RunbookIndex(other, index_dir).update()
    manifest = json.loads((index_dir / "gntbot-manifest.json").read_text())
    del manifest["skipped"]["b.md"]["reason"]
    (index_dir / "gntbot-manifest.json").write_text(json.dumps(manifest))
    assert RunbookIndex(other, index_dir).unchanged() is None
    assert RunbookIndex(other, index_dir).update().rebuilt


def test_many_small_updates_keep_the_index_compact(runbooks: Path, tmp_path: Path):
    index = RunbookIndex(runbooks, tmp_path / "index")
    index.update()
    page = runbooks / "howto" / "drbd.md"
    for number in range(12):
        page.write_text(page.read_text() + f"\n## Note {number}\n\ntext {number}\n")
        index.update()
    with index._open().reader() as reader:
        assert len(reader.leaf_readers()) <= 9
    assert len(index.sections()) == 5 + 12


def test_a_running_bot_notices_a_changed_runbook_folder(runbooks: Path, tmp_path: Path):
    config = Config.default()
    config = replace(config, knowledge=replace(config.knowledge, runbooks=runbooks,
                                               index=tmp_path / "index", reload_seconds=0.05))
    knowledge = KnowledgeBase(runbooks, tmp_path / "index")
    knowledge.refresh()
    application = Application(config, knowledge)
    assert knowledge.search("gnt-cluster master-failover", 1) == []

    async def pull_then_ask() -> list:
        watcher = asyncio.create_task(application.watch_runbooks())
        (runbooks / "howto" / "master.md").write_text(
            "# Master node failure\n\nPromote a candidate with gnt-cluster master-failover.\n")
        for _ in range(100):
            await asyncio.sleep(0.05)
            hits = knowledge.search("gnt-cluster master-failover", 1)
            if hits:
                break
        watcher.cancel()
        return hits

    hits = asyncio.run(pull_then_ask())
    assert hits and hits[0].section.file == "howto/master.md"


def test_the_change_check_sees_links_retargeted_and_files_replaced_by_other_kinds(runbooks: Path, tmp_path: Path):
    (runbooks / "alias.md").symlink_to(runbooks / "howto" / "drbd.md")
    (runbooks / "nested" / "deeper").mkdir(parents=True)
    (runbooks / "nested" / "deeper" / "page.md").write_text("# Deep\n\nDeep text.\n")
    index = RunbookIndex(runbooks, tmp_path / "index")
    index.update()
    assert index.unchanged() is not None
    (runbooks / "nested" / "deeper" / "page.md").write_text("# Deep\n\nOther, longer text.\n")
    assert index.unchanged() is None
    index.update()
    (runbooks / "alias.md").unlink()
    (runbooks / "alias.md").symlink_to(runbooks / "howto" / "ganeti.md")
    assert index.unchanged() is None
    index.update()
    page = runbooks / "nested" / "deeper" / "page.md"
    size = page.stat().st_size
    page.unlink()
    os.mkfifo(page)
    os.utime(page, ns=(0, 0))
    assert size and index.unchanged() is None  # a FIFO where a page was: an update skips it
    assert len(index.update().skipped) == 1 and index.unchanged() is not None


def failing_indexer(knowledge: KnowledgeBase, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """From now on every update of ``knowledge`` (indexed already) fails as a timed-out
    indexer would; a page was added to have one to do. The roots it was tried on."""
    calls = []

    def stopped(self: builder.Indexer, index: RunbookIndex) -> None:
        calls.append(index.root)
        raise RunbookIndexError("indexing took over 1800 s and was stopped")

    monkeypatch.setattr(builder.Indexer, "update", stopped)
    (knowledge.index.root / "howto" / "huge.md").write_text("# Huge\n\nA page the indexer never finishes.\n")
    with pytest.raises(RunbookIndexError, match="tried again in 300 s or when the runbooks change"):
        knowledge.refresh()
    return calls


def test_an_update_that_failed_is_not_retried_until_the_folder_changes(runbooks: Path, tmp_path: Path, monkeypatch):
    knowledge = KnowledgeBase(runbooks, tmp_path / "index")
    knowledge.refresh()
    calls = failing_indexer(knowledge, monkeypatch)
    assert not knowledge.refresh().touched and not knowledge.refresh().touched  # no second attempt, no error
    assert len(calls) == 1 and knowledge.search("split brain", 1)  # the previous index serves on
    (runbooks / "howto" / "huge.md").write_text("# Huge\n\nSplit now.\n")
    with pytest.raises(RunbookIndexError, match="tried again in 300 s"):
        knowledge.refresh()
    assert len(calls) == 2


def test_a_deferred_refresh_says_so_and_an_operator_forces_a_new_try(runbooks: Path, tmp_path: Path, monkeypatch):
    knowledge = KnowledgeBase(runbooks, tmp_path / "index")
    knowledge.refresh()
    before = knowledge.last_refresh
    metrics = Metrics.detached()
    KnowledgeMetrics(metrics).watch(knowledge)
    calls = failing_indexer(knowledge, monkeypatch)
    report = knowledge.refresh()
    assert report.deferred and not report.touched and report.sections == 5
    assert report.summary().startswith("not re-read: the last update failed (indexing took over 1800 s")
    assert "tried again in 300 s" in report.summary()
    assert knowledge.last_refresh is before  # the index metrics do not look fresh
    assert "gntbot_index_deferred_refreshes_total 1.0" in metrics.exposition().decode()

    commands = RunbookCommands(knowledge, "!")
    call = Invocation(Message("!reindex", Identity("irc", "alice", "alice")), "reindex", "")
    with pytest.raises(RunbookIndexError, match="tried again in 600 s"):  # tried at once, not "0 added"
        asyncio.run(commands.reindex(call))
    assert len(calls) == 2
    config = Config.default()
    config = replace(config, knowledge=replace(config.knowledge, runbooks=runbooks, index=tmp_path / "index"))
    application = Application(config, knowledge)
    assert asyncio.run(application.reload()) is False and len(calls) == 3  # SIGHUP tries at once too
    monkeypatch.undo()
    assert "1 added" in asyncio.run(commands.reindex(call)).lines[0]  # the delay is skipped once it works
    commands.workers.close()
    application.close()


def test_a_runbook_folder_behind_a_swapped_link_is_followed(tmp_path: Path):
    releases = tmp_path / "releases"
    for release, heading in [("A", "Old heading"), ("B", "Split brain recovery")]:
        (releases / release).mkdir(parents=True)
        (releases / release / "drbd.md").write_text(f"# {heading}\n\nPick the victim node.\n")
    current = tmp_path / "current"
    current.symlink_to(releases / "A")
    knowledge = KnowledgeBase(current, tmp_path / "index")
    knowledge.refresh()
    swap = tmp_path / "current.new"  # how deployment tools swap: a new link renamed over the old one
    swap.symlink_to(releases / "B")
    swap.replace(current)
    (releases / "A" / "drbd.md").unlink()
    (releases / "A").rmdir()
    assert knowledge.refresh().touched
    assert knowledge.search("split brain recovery", 1)[0].section.title == "Split brain recovery"
