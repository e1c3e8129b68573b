"""Every action through its life, in the store: asked, confirmed, submitted, done.

One row per request, keyed by its token: who asked, where, what the plan was
and what it relied on, the deadline, and how it ended. Confirming flips a
pending row in one transaction, so a token works once even if two people type
it at the same moment. Submitted jobs (several for some actions: a drain is a
node-migrate and the drained flag) and the child jobs of a node operation
are rows too, so that a restarted bot finds what it was watching and reports
the outcome in the room it was asked in.

Tokens are short and random (`secrets`), from letters and digits that cannot be
mistaken for one another when read aloud or typed on a phone.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from dataclasses import dataclass
from typing import Any

from bot.actions.plan import Plan
from bot.state.store import Store

TOKEN_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
TOKEN_LENGTH = 5
PENDING, SUBMITTING, SUBMITTED, DONE = "pending", "submitting", "submitted", "done"
CANCELLED, EXPIRED, REFUSED = "cancelled", "expired", "refused"
ACTIVE = (PENDING, SUBMITTING, SUBMITTED)

SCHEMA = ("""
CREATE TABLE action_requests (
    token TEXT PRIMARY KEY,
    action TEXT NOT NULL,
    cluster TEXT NOT NULL,
    target TEXT NOT NULL,
    plan TEXT NOT NULL,               -- the Plan as JSON: what will be submitted and what it relied on
    locks TEXT NOT NULL,              -- JSON list: instances and nodes it holds while active
    reason TEXT NOT NULL,             -- the requester's free text
    requester TEXT NOT NULL,          -- person
    requester_account TEXT NOT NULL,  -- realm:account they used
    nick TEXT NOT NULL,               -- highlighted on completion
    realm TEXT NOT NULL,              -- where outcomes are said: realm ...
    place TEXT NOT NULL,              -- ... and room (or nick, in private)
    room TEXT NOT NULL,               -- the room a confirmation must come from
    created REAL NOT NULL,
    deadline REAL NOT NULL,
    state TEXT NOT NULL,
    approver TEXT,
    approver_account TEXT,
    job_id INTEGER,
    outcome TEXT,
    updated REAL NOT NULL
);
CREATE INDEX action_requests_state ON action_requests (state);
CREATE TABLE action_jobs (
    token TEXT NOT NULL REFERENCES action_requests (token),
    job_id INTEGER NOT NULL,
    parent INTEGER,                   -- NULL for the job the bot submitted
    state TEXT NOT NULL,              -- watching, or how it ended
    summary TEXT NOT NULL DEFAULT '', -- the line reported for it
    instance TEXT,                    -- the instance a child job moved
    PRIMARY KEY (token, job_id)
);
""", """
-- what each job did, from its summary: INSTANCE_MIGRATE, NODE_SET_PARAMS, ... (drain and
-- migrate-back submit several jobs, told apart by it)
ALTER TABLE action_jobs ADD COLUMN op TEXT;
""", """
-- the campaign watcher asks of every node-migrate job it meets whether the bot submitted it
CREATE INDEX action_jobs_job ON action_jobs (job_id);
""")


@dataclass(frozen=True)
class Record:
    """One request as stored."""

    token: str
    action: str
    cluster: str
    target: str
    plan: Plan
    reason: str
    requester: str
    requester_account: str
    nick: str
    realm: str
    place: str
    room: str
    created: float
    deadline: float
    state: str
    approver: str | None
    approver_account: str | None
    job_id: int | None
    outcome: str | None
    updated: float = 0.0  # the last change: while submitting, the claim or the failed write

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Record:
        values: dict[str, Any] = {key: row[key] for key in row.keys()  # noqa: SIM118 - a Row iterates values
                                  if key not in ("locks", "plan")}
        return cls(plan=Plan.from_json(json.loads(row["plan"])), **values)


@dataclass(frozen=True)
class Watched:
    token: str
    job_id: int
    parent: int | None
    state: str
    summary: str
    instance: str | None = None
    op: str | None = None  # the opcode, once it ended: INSTANCE_MIGRATE, NODE_MIGRATE, NODE_SET_PARAMS...


class Ledger:
    """The action tables of the bot's store. Every call is short and runs on the event loop."""

    def __init__(self, store: Store) -> None:
        self.store = store
        store.migrate("actions", SCHEMA)

    def new_token(self) -> str:
        """A token no stored request has (used or not), so an old token never means a new action."""
        while True:
            token = "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(TOKEN_LENGTH))
            if not self.store.query("SELECT 1 FROM action_requests WHERE token = ?", (token,)):
                return token

    def add(self, record: Record, now: float) -> None:
        with self.store.transaction() as db:
            db.execute(
                "INSERT INTO action_requests (token, action, cluster, target, plan, locks, reason, requester, "
                "requester_account, nick, realm, place, room, created, deadline, state, updated) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (record.token, record.action, record.cluster, record.target, json.dumps(record.plan.to_json()),
                 json.dumps(record.plan.locks), record.reason, record.requester, record.requester_account,
                 record.nick, record.realm, record.place, record.room, record.created, record.deadline,
                 record.state, now))

    def get(self, token: str) -> Record | None:
        rows = self.store.query("SELECT * FROM action_requests WHERE token = ?", (token,))
        return Record.from_row(rows[0]) if rows else None

    def active(self) -> list[Record]:
        marks = ", ".join("?" for _ in ACTIVE)
        rows = self.store.query(f"SELECT * FROM action_requests WHERE state IN ({marks}) ORDER BY created", ACTIVE)
        return [Record.from_row(row) for row in rows]

    def holder(self, cluster: str, names: tuple[str, ...], now: float) -> Record | None:
        """The active request that holds one of ``names`` on ``cluster``, if any. A request
        past its deadline holds nothing, even before the upkeep marks it expired."""
        wanted = set(names)
        for record in self.active():
            if record.state == PENDING and record.deadline < now:
                continue
            if record.cluster == cluster and wanted & set(record.plan.locks):
                return record
        return None

    def claim(self, token: str, approver: str, approver_account: str, now: float) -> bool:
        """Pending → submitting, at most once, and only before the deadline."""
        with self.store.transaction() as db:
            cursor = db.execute(
                "UPDATE action_requests SET state = ?, approver = ?, approver_account = ?, updated = ? "
                "WHERE token = ? AND state = ? AND deadline >= ?",
                (SUBMITTING, approver, approver_account, now, token, PENDING, now))
            return cursor.rowcount == 1

    def uncertain(self, token: str, why: str, now: float) -> None:
        """The write of a submitting request may or may not have reached the cluster."""
        with self.store.transaction() as db:
            db.execute("UPDATE action_requests SET outcome = ?, updated = ? WHERE token = ? AND state = ?",
                       (why, now, token, SUBMITTING))

    def finish(self, token: str, state: str, outcome: str, now: float) -> None:
        with self.store.transaction() as db:
            db.execute("UPDATE action_requests SET state = ?, outcome = ?, updated = ? WHERE token = ?",
                       (state, outcome, now, token))

    def cancel(self, token: str, now: float) -> bool:
        with self.store.transaction() as db:
            cursor = db.execute("UPDATE action_requests SET state = ?, outcome = ?, updated = ? "
                                "WHERE token = ? AND state = ?", (CANCELLED, "cancelled", now, token, PENDING))
            return cursor.rowcount == 1

    def expire(self, now: float) -> list[Record]:
        """Pending requests past their deadline become expired; those are returned."""
        due = [Record.from_row(row) for row in self.store.query(
            "SELECT * FROM action_requests WHERE state = ? AND deadline < ?", (PENDING, now))]
        with self.store.transaction() as db:
            for record in due:
                db.execute("UPDATE action_requests SET state = ?, outcome = ?, updated = ? WHERE token = ?",
                           (EXPIRED, "expired unconfirmed", now, record.token))
        return due

    def submitted(self, token: str, job_ids: tuple[int, ...], now: float) -> None:
        """The jobs the bot submitted for ``token``; the first is the action's job."""
        with self.store.transaction() as db:
            db.execute("UPDATE action_requests SET state = ?, job_id = ?, updated = ? WHERE token = ?",
                       (SUBMITTED, job_ids[0], now, token))
            db.executemany("INSERT OR IGNORE INTO action_jobs (token, job_id, parent, state) "
                           "VALUES (?, ?, NULL, 'watching')", [(token, job_id) for job_id in job_ids])

    def add_children(self, token: str, parent: int, job_ids: list[int]) -> None:
        with self.store.transaction() as db:
            for job_id in job_ids:
                db.execute("INSERT OR IGNORE INTO action_jobs (token, job_id, parent, state) "
                           "VALUES (?, ?, ?, 'watching')", (token, job_id, parent))

    def job_done(self, token: str, job_id: int, state: str, summary: str, instance: str | None = None,
                 op: str | None = None) -> None:
        with self.store.transaction() as db:
            db.execute("UPDATE action_jobs SET state = ?, summary = ?, instance = ?, op = ? "
                       "WHERE token = ? AND job_id = ?", (state, summary, instance, op, token, job_id))

    def submitted_job(self, cluster: str, job_id: int) -> bool:
        """Whether the bot submitted job ``job_id`` of ``cluster`` for an action (whatever its state
        now): its watcher follows that job and its children, and says how they ended."""
        return bool(self.store.query(
            "SELECT 1 FROM action_jobs JOIN action_requests USING (token) "
            "WHERE action_requests.cluster = ? AND action_jobs.job_id = ? AND action_jobs.parent IS NULL",
            (cluster, job_id)))

    def jobs(self, token: str) -> list[Watched]:
        rows = self.store.query("SELECT * FROM action_jobs WHERE token = ? ORDER BY job_id", (token,))
        return [Watched(row["token"], row["job_id"], row["parent"], row["state"], row["summary"], row["instance"],
                        row["op"]) for row in rows]
