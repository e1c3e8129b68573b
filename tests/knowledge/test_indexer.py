"""The indexer child process is the bot's to stop, and its failure at start-up is not fatal."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from bot import cli
from bot.app import Application
from bot.config import Config
from bot.knowledge.base import KnowledgeBase
from bot.knowledge.index import RunbookIndex, RunbookIndexError


def config_of(runbooks: Path, index: Path, reload_seconds: float = 60.0) -> Config:
    config = Config.default()
    return replace(config, knowledge=replace(config.knowledge, runbooks=runbooks, index=index,
                                             reload_seconds=reload_seconds))


def fake_interpreter(monkeypatch: pytest.MonkeyPatch, folder: Path, script: str) -> None:
    """The indexer child (``python -m bot.knowledge.builder``) runs ``script`` instead."""
    program = folder / "python"
    program.write_text(f"#!/bin/sh\n{script}\n")
    program.chmod(0o700)
    monkeypatch.setattr(sys, "executable", str(program))


def slow_indexer(monkeypatch: pytest.MonkeyPatch, folder: Path) -> Path:
    """Every indexer from now on writes its pid to the file returned, then sleeps two minutes."""
    fake_interpreter(monkeypatch, folder, f"echo $$ > {folder}/pid; exec sleep 120")
    return folder / "pid"


def started(pid_file: Path) -> int:
    for _ in range(500):
        if pid_file.exists() and pid_file.read_text().strip():
            return int(pid_file.read_text())
        time.sleep(0.01)
    raise AssertionError("no indexer was started")


def running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False  # gone, and reaped: no zombie left either
    return True


def test_closing_the_application_kills_a_running_indexer(runbooks: Path, tmp_path: Path, monkeypatch):
    pid_file = slow_indexer(monkeypatch, tmp_path)
    knowledge = KnowledgeBase(runbooks, tmp_path / "index")
    application = Application(config_of(runbooks, tmp_path / "index"), knowledge)
    errors: list[Exception] = []

    def refresh() -> None:
        try:
            knowledge.refresh()
        except RunbookIndexError as error:
            errors.append(error)

    worker = threading.Thread(target=refresh)
    worker.start()
    pid = started(pid_file)
    assert running(pid)
    application.close()
    worker.join(timeout=10)
    assert not worker.is_alive() and not running(pid)
    assert errors and "stopped with status" in str(errors[0])
    with pytest.raises(RunbookIndexError, match="not re-read"):  # and no new one starts
        knowledge.refresh(force=True)


def test_a_bot_stopping_during_an_automatic_reindex_does_not_wait_for_it(runbooks: Path, tmp_path: Path,
                                                                         monkeypatch):
    index = tmp_path / "index"
    knowledge = KnowledgeBase(runbooks, index)
    knowledge.refresh()
    application = Application(config_of(runbooks, index, reload_seconds=0.01), knowledge)
    pid_file = slow_indexer(monkeypatch, tmp_path)
    (runbooks / "howto" / "kvm.md").write_text("# KVM\n\nqemu monitor\n")
    pids: list[int] = []

    async def serve_a_little() -> None:
        watcher = asyncio.create_task(application.watch_runbooks())
        pids.append(await asyncio.to_thread(started, pid_file))
        watcher.cancel()  # what the end of `serve` does
        await asyncio.gather(watcher, return_exceptions=True)

    asyncio.run(serve_a_little())  # returns only once the thread that waited on the child is done
    assert not running(pids[0])
    assert knowledge.search("split brain", 1)  # the previous index still serves
    application.close()


def test_a_failed_update_at_start_up_serves_the_index_built_before(runbooks: Path, tmp_path: Path,
                                                                    monkeypatch, caplog):
    index = tmp_path / "index"
    KnowledgeBase(runbooks, index).refresh()
    (runbooks / "howto" / "kvm.md").write_text("# KVM\n\nqemu monitor\n")
    fake_interpreter(monkeypatch, tmp_path, "exit 3")
    with caplog.at_level(logging.ERROR):
        knowledge = cli._knowledge(config_of(runbooks, index))
    assert "the index built before serves meanwhile" in caplog.text and "status 3" in caplog.text
    assert knowledge.search("split brain recovery", 1)[0].section.file == "howto/drbd.md"

    with pytest.raises(RunbookIndexError, match="status 3"):  # nothing to serve: the bot cannot start
        cli._knowledge(config_of(runbooks, tmp_path / "never-built"))
    assert not RunbookIndex(runbooks, tmp_path / "never-built").exists()
