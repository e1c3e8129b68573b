"""The bot's durable state: one SQLite file in the state directory.

Pending confirmations, watched jobs and reboot campaigns must survive a restart,
so they live here rather than in memory: ``gntbot.sqlite3`` (WAL journal),
created on first start. Each capability owns its tables and brings their schema
as numbered steps (`Store.migrate`); the store records how far each component's
schema has got, so a newer bot upgrades an older file in place.

Only one running bot may act on a state: `Store.open` holds an exclusive lock
on ``gntbot.lock`` beside the database for as long as it is open, and a second
bot started on the same directory is refused with the first one's pid.

The connection belongs to the thread that opened it (the event loop's): every
statement is small, and writes are committed before the bot replies, so a reply
never claims what a crash would forget.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Self

from bot.errors import GntbotError
from bot.state.private import prepare_directory

DATABASE = "gntbot.sqlite3"
LOCK = "gntbot.lock"


class StoreError(GntbotError):
    """The state cannot be opened or used; the text says why and what to do."""


class Store:
    """An open state file. Use `Store.open`; close it (or use ``with``) when done."""

    def __init__(self, connection: sqlite3.Connection, directory: Path, lock: int | None) -> None:
        self._db = connection
        self.directory = directory
        self._lock = lock

    @classmethod
    def open(cls, directory: Path) -> Store:
        """Open (creating if needed) the state in ``directory``, for this bot alone."""
        prepare_directory(directory, "the state directory")
        lock = _take_lock(directory / LOCK)
        try:
            connection = sqlite3.connect(directory / DATABASE, isolation_level=None)
            os.chmod(directory / DATABASE, 0o600)
            connection.row_factory = sqlite3.Row
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=FULL")  # what was confirmed survives a power cut
            connection.execute("PRAGMA foreign_keys=ON")
            connection.execute("CREATE TABLE IF NOT EXISTS schema_versions "
                               "(component TEXT PRIMARY KEY, version INTEGER NOT NULL)")
        except sqlite3.Error as error:
            os.close(lock)
            raise StoreError(f"cannot open the state {directory / DATABASE}: {error}") from error
        return cls(connection, directory, lock)

    @classmethod
    def open_readonly(cls, directory: Path) -> Store:
        """Read the state of a bot that may be running (``gntbot status``, reports)."""
        path = directory / DATABASE
        if not path.is_file():
            raise StoreError(f"no state in {directory} yet: the bot has not run with this state_dir")
        try:
            connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
        except sqlite3.Error as error:
            raise StoreError(f"cannot read the state {path}: {error}") from error
        connection.row_factory = sqlite3.Row
        return cls(connection, directory, None)

    def migrate(self, component: str, steps: Sequence[str]) -> None:
        """Bring ``component``'s tables up to date: run the steps it has not run yet.

        ``steps`` only ever grows at the end; step N runs once, in its own transaction.
        """
        row = self._db.execute("SELECT version FROM schema_versions WHERE component = ?", (component,)).fetchone()
        done = row["version"] if row else 0
        if done > len(steps):
            raise StoreError(f"the state in {self.directory} was written by a newer gntbot ({component} "
                             f"schema {done}, this one knows {len(steps)}): upgrade this gntbot")
        for version, step in enumerate(steps[done:], start=done + 1):
            with self.transaction() as db:
                for statement in _statements(step):
                    db.execute(statement)
                db.execute("INSERT INTO schema_versions (component, version) VALUES (?, ?) "
                           "ON CONFLICT (component) DO UPDATE SET version = excluded.version", (component, version))

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Statements that commit together, or not at all (an exception rolls back)."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def query(self, sql: str, parameters: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """The rows of one read."""
        return self._db.execute(sql, parameters).fetchall()

    def close(self) -> None:
        self._db.close()
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _statements(script: str) -> Iterator[str]:
    """The statements of ``script`` one by one (``executescript`` would commit
    half a migration before running it)."""
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n\t;"):
                yield pending
            pending = ""
    if pending.strip(" \n\t;"):
        raise StoreError(f"incomplete SQL in a schema step: {pending[:60]!r}")


def _take_lock(path: Path) -> int:
    """An exclusive lock on ``path`` for this process, with its pid written in it."""
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(descriptor, 32, 0).decode("ascii", "replace").strip() or "unknown"
        os.close(descriptor)
        raise StoreError(f"another gntbot (pid {holder}) is running on the state in {path.parent}: two bots "
                         f"on one state would both act. Stop it first, or give this one its own "
                         f"[bot] state_dir.") from None
    os.ftruncate(descriptor, 0)
    os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
    return descriptor
