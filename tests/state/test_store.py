"""The state file: created private, upgraded in place, kept across restarts, one bot at a time."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from bot.state.private import UnsafeDirectory
from bot.state.store import DATABASE, Store, StoreError

PENDING = ["CREATE TABLE pending (token TEXT PRIMARY KEY, action TEXT NOT NULL)",
           "ALTER TABLE pending ADD COLUMN deadline REAL; CREATE INDEX pending_deadline ON pending (deadline)"]


def test_a_new_state_is_private_uses_wal_and_keeps_what_was_committed(tmp_path):
    directory = tmp_path / "state"
    with Store.open(directory) as store:
        store.migrate("actions", PENDING)
        with store.transaction() as db:
            db.execute("INSERT INTO pending VALUES ('k7q2', 'migrate', 120.0)")
        assert store.query("PRAGMA journal_mode")[0][0] == "wal"
    assert directory.stat().st_mode & 0o777 == 0o700
    assert (directory / DATABASE).stat().st_mode & 0o777 == 0o600
    with Store.open(directory) as again:  # a restart
        again.migrate("actions", PENDING)  # nothing to do: the steps ran once
        assert [tuple(row) for row in again.query("SELECT * FROM pending")] == [("k7q2", "migrate", 120.0)]


def test_a_newer_schema_step_upgrades_an_older_file_in_place(tmp_path):
    with Store.open(tmp_path) as store:
        store.migrate("actions", PENDING[:1])
        with store.transaction() as db:
            db.execute("INSERT INTO pending VALUES ('k7q2', 'migrate')")
    with Store.open(tmp_path) as store:
        store.migrate("actions", PENDING)
        assert [tuple(row) for row in store.query("SELECT * FROM pending")] == [("k7q2", "migrate", None)]
        with pytest.raises(StoreError, match="written by a newer gntbot"):
            store.migrate("actions", PENDING[:1])


def test_a_failing_step_leaves_no_half_migration(tmp_path):
    with Store.open(tmp_path) as store:
        with pytest.raises(sqlite3.OperationalError):
            store.migrate("campaigns", ["CREATE TABLE a (x); CREATE TABLE a (y)"])
        assert store.query("SELECT name FROM sqlite_master WHERE name = 'a'") == []
        store.migrate("campaigns", ["CREATE TABLE a (x)"])


def test_an_exception_in_a_transaction_rolls_it_back(tmp_path):
    with Store.open(tmp_path) as store:
        store.migrate("actions", PENDING)
        with pytest.raises(RuntimeError), store.transaction() as db:
            db.execute("INSERT INTO pending VALUES ('k7q2', 'migrate', 1)")
            raise RuntimeError("crash before the reply")
        assert store.query("SELECT * FROM pending") == []


def test_a_second_bot_on_the_same_state_is_refused_with_the_first_ones_pid(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, pathlib
        from bot.state.store import Store
        store = Store.open(pathlib.Path({str(tmp_path)!r}))
        print("open", flush=True)
        sys.stdin.read()
    """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(StoreError, match=f"another gntbot \\(pid {holder.pid}\\) is running"):
            Store.open(tmp_path)
        Store.open_readonly(tmp_path).close()  # reading a running bot's state is fine
    finally:
        holder.stdin.close()
        holder.wait(10)
    Store.open(tmp_path).close()  # the lock went with the process


def test_a_state_directory_others_can_write_to_is_refused(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    with pytest.raises(UnsafeDirectory, match="can be written by others"):
        Store.open(shared)


def test_reading_a_state_that_does_not_exist_says_so(tmp_path):
    with pytest.raises(StoreError, match="has not run with this state_dir"):
        Store.open_readonly(tmp_path)
