"""Campaigns, their hosts and events in the bot's one SQLite store.

What a restart must not lose lives here: each campaign and each host's phase
and times (so a restarted bot resumes where it was), every event id it
accepted (so a replayed or re-sent event is recognised), which instances were
primaries on a node before it was emptied and, when the bot emptied it, where
each went (so they can be brought back, by the tooling or by the bot), and what
was already said in the rooms (so nothing is
said twice after a restart). An event and the state it leads to are written
in one transaction.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import fields

from bot.campaigns.events import Event, Kind, Mode, to_wire, type_name
from bot.campaigns.progress import cycles
from bot.campaigns.state import Campaign, HostState, Phase
from bot.state.store import Store

COMPONENT = "campaigns"
SCHEMA = [
    """
    CREATE TABLE campaigns (
        id TEXT PRIMARY KEY, source TEXT NOT NULL, reason TEXT NOT NULL, kind TEXT NOT NULL,
        mode TEXT NOT NULL, owner TEXT NOT NULL, rooms TEXT NOT NULL, started REAL NOT NULL,
        last_event REAL NOT NULL, delay_up REAL, delay_hosts REAL, ended REAL, exit_code INTEGER,
        end_detail TEXT NOT NULL DEFAULT '');
    CREATE INDEX campaigns_ended ON campaigns (ended);
    CREATE TABLE campaign_hosts (
        campaign TEXT NOT NULL REFERENCES campaigns (id), name TEXT NOT NULL, position INTEGER NOT NULL,
        phase TEXT NOT NULL, started REAL, down_since REAL, up_at REAL, finished REAL, to_move INTEGER,
        instances TEXT NOT NULL DEFAULT '[]', moved INTEGER, back INTEGER, unlock_wait INTEGER NOT NULL DEFAULT 0,
        detail TEXT NOT NULL DEFAULT '', PRIMARY KEY (campaign, name));
    CREATE TABLE campaign_events (
        source TEXT NOT NULL, id TEXT NOT NULL, campaign TEXT NOT NULL, type TEXT NOT NULL,
        time REAL NOT NULL, received REAL NOT NULL, body TEXT NOT NULL, PRIMARY KEY (source, id));
    CREATE INDEX campaign_events_campaign ON campaign_events (campaign, received);
    -- the instances that were primaries on a node when the campaign reached it:
    -- what a migrate-back (the tooling's or the bot's) must bring home
    CREATE TABLE campaign_primaries (
        campaign TEXT NOT NULL, host TEXT NOT NULL, instance TEXT NOT NULL, cluster TEXT NOT NULL,
        recorded REAL NOT NULL, PRIMARY KEY (campaign, host, instance));
    -- lines already said, per campaign and subject (a host, the start, the end, a nudge)
    CREATE TABLE campaign_said (
        campaign TEXT NOT NULL, subject TEXT NOT NULL, text TEXT NOT NULL, said REAL NOT NULL,
        PRIMARY KEY (campaign, subject));
    """,
    """
    -- where each of them went when the bot emptied the node (!drain): a migrate-back brings
    -- home only what is still there; NULL: not known (the tooling emptied it), or it stayed
    ALTER TABLE campaign_primaries ADD COLUMN moved_to TEXT;
    """,
    """
    -- the boot id the watcher first saw of a host (the cluster node it is): a later one
    -- means it rebooted, even if no round saw it down (a quick reboot, or the bot away)
    CREATE TABLE campaign_boots (
        campaign TEXT NOT NULL, host TEXT NOT NULL, cluster TEXT NOT NULL, node TEXT NOT NULL,
        bootid TEXT NOT NULL, recorded REAL NOT NULL, PRIMARY KEY (campaign, host));
    """,
]
_CAMPAIGN_COLUMNS = ("id", "source", "reason", "kind", "mode", "owner", "rooms", "started", "last_event",
                     "delay_up", "delay_hosts", "ended", "exit_code", "end_detail")
_HOST_COLUMNS = tuple(field.name for field in fields(HostState))


class CampaignStore:
    """The campaign tables of a `Store` (migrated on construction)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        store.migrate(COMPONENT, SCHEMA)

    # -- events and the state they lead to -------------------------------------

    def seen(self, source: str, event_id: str) -> bool:
        return bool(self.store.query("SELECT 1 FROM campaign_events WHERE source = ? AND id = ?", (source, event_id)))

    def commit(self, source: str, event: Event, received: float, before: Campaign | None, after: Campaign) -> None:
        """Record ``event`` and save what changed from ``before`` to ``after``, together."""
        body = json.dumps(to_wire(event), separators=(",", ":"))
        with self.store.transaction() as db:
            db.execute("INSERT INTO campaign_events VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (source, event.id, event.campaign, type_name(event), event.time, received, body))
            _save_campaign(db, after)
            old = {host.name: host for host in before.hosts} if before else {}
            _save_hosts(db, after.id, [host for host in after.hosts if old.get(host.name) != host])

    # -- reading back ----------------------------------------------------------------

    def running(self) -> list[Campaign]:
        return self._campaigns("WHERE ended IS NULL ORDER BY started")

    def load(self, campaign_id: str) -> Campaign | None:
        found = self._campaigns("WHERE id = ?", (campaign_id,))
        return found[0] if found else None

    def recent(self, limit: int) -> list[Campaign]:
        """Ended campaigns, the latest first."""
        return self._campaigns("WHERE ended IS NOT NULL ORDER BY ended DESC LIMIT ?", (limit,))

    def past_cycles(self, campaigns: int = 5) -> list[float]:
        """The per-host cycles of the last few ended campaigns (for a first ETA, and plans)."""
        return [seconds for campaign in self.recent(campaigns) for seconds in cycles(campaign)]

    def _campaigns(self, where: str, parameters: Sequence[object] = ()) -> list[Campaign]:
        rows = self.store.query(f"SELECT * FROM campaigns {where}", parameters)
        return [self._campaign(row) for row in rows]

    def _campaign(self, row: sqlite3.Row) -> Campaign:
        hosts = self.store.query("SELECT * FROM campaign_hosts WHERE campaign = ? ORDER BY position", (row["id"],))
        return Campaign(
            id=row["id"], source=row["source"], reason=row["reason"], kind=Kind(row["kind"]), mode=Mode(row["mode"]),
            owner=row["owner"], rooms=tuple(json.loads(row["rooms"])), hosts=tuple(_host(host) for host in hosts),
            started=row["started"], last_event=row["last_event"], delay_up=row["delay_up"],
            delay_hosts=row["delay_hosts"], ended=row["ended"], exit_code=row["exit_code"],
            end_detail=row["end_detail"])

    # -- the instances a node held, and what was said -----------------------------------

    def record_primaries(self, campaign: str, host: str, cluster: str, instances: Iterable[str], when: float) -> None:
        """Remember the primaries of ``host`` (a node of ``cluster``), once: the first record stands."""
        with self.store.transaction() as db:
            db.executemany("INSERT OR IGNORE INTO campaign_primaries (campaign, host, instance, cluster, recorded) "
                           "VALUES (?, ?, ?, ?, ?)",
                           [(campaign, host, instance, cluster, when) for instance in instances])

    def known_boot(self, campaign: str, host: str, node: tuple[str, str]) -> str | None:
        """The boot id kept of ``host`` in ``campaign`` as ``node`` (cluster, node name), if any."""
        rows = self.store.query("SELECT bootid FROM campaign_boots WHERE campaign = ? AND host = ? AND cluster = ? "
                                "AND node = ?", (campaign, host, *node))
        return str(rows[0]["bootid"]) if rows else None

    def keep_boot(self, campaign: str, host: str, node: tuple[str, str], bootid: str, when: float) -> None:
        """Keep ``bootid`` as the boot id of ``host`` in ``campaign``, as ``node``."""
        with self.store.transaction() as db:
            db.execute("INSERT OR REPLACE INTO campaign_boots (campaign, host, cluster, node, bootid, recorded) "
                       "VALUES (?, ?, ?, ?, ?, ?)", (campaign, host, *node, bootid, when))

    def primaries(self, campaign: str, host: str) -> tuple[str, ...]:
        return tuple(instance for instance, _, _ in self.remembered(campaign, host))

    def record_moves(self, campaign: str, host: str, moved_to: Mapping[str, str]) -> None:
        """Where the instances of ``host`` went (instance → node) when the bot emptied it."""
        with self.store.transaction() as db:
            db.executemany("UPDATE campaign_primaries SET moved_to = ? WHERE campaign = ? AND host = ? AND instance = ?",
                           [(node, campaign, host, instance) for instance, node in moved_to.items()])

    def remembered(self, campaign: str, host: str) -> tuple[tuple[str, str, str | None], ...]:
        """``(instance, cluster, moved_to)`` for each primary remembered of ``host``."""
        rows = self.store.query("SELECT instance, cluster, moved_to FROM campaign_primaries "
                                "WHERE campaign = ? AND host = ? ORDER BY instance", (campaign, host))
        return tuple((row["instance"], row["cluster"], row["moved_to"]) for row in rows)

    def last_remembered(self, hosts: Sequence[str], cluster: str) -> Campaign | None:
        """The latest ended campaign that remembered the primaries of one of ``hosts`` (names of one node)."""
        marks = ", ".join("?" for _ in hosts)
        rows = self.store.query(
            f"SELECT campaign FROM campaign_primaries JOIN campaigns ON campaigns.id = campaign_primaries.campaign "
            f"WHERE host IN ({marks}) AND cluster = ? AND ended IS NOT NULL ORDER BY ended DESC LIMIT 1",
            (*hosts, cluster))
        return self.load(rows[0]["campaign"]) if rows else None

    def said(self, campaign: str) -> dict[str, str]:
        rows = self.store.query("SELECT subject, text FROM campaign_said WHERE campaign = ?", (campaign,))
        return {row["subject"]: row["text"] for row in rows}

    def mark_said(self, campaign: str, subject: str, text: str, when: float) -> None:
        with self.store.transaction() as db:
            db.execute("INSERT INTO campaign_said VALUES (?, ?, ?, ?) ON CONFLICT (campaign, subject) "
                       "DO UPDATE SET text = excluded.text, said = excluded.said", (campaign, subject, text, when))


def _save_campaign(db: sqlite3.Connection, campaign: Campaign) -> None:
    values = {column: getattr(campaign, column) for column in _CAMPAIGN_COLUMNS}
    values.update(rooms=json.dumps(list(campaign.rooms)), kind=str(campaign.kind), mode=str(campaign.mode))
    placeholders = ", ".join("?" for _ in _CAMPAIGN_COLUMNS)
    updates = ", ".join(f"{column} = excluded.{column}" for column in _CAMPAIGN_COLUMNS[1:])
    db.execute(f"INSERT INTO campaigns ({', '.join(_CAMPAIGN_COLUMNS)}) VALUES ({placeholders}) "
               f"ON CONFLICT (id) DO UPDATE SET {updates}", [values[column] for column in _CAMPAIGN_COLUMNS])


def _save_hosts(db: sqlite3.Connection, campaign: str, hosts: Sequence[HostState]) -> None:
    columns = ("campaign", *_HOST_COLUMNS)
    placeholders = ", ".join("?" for _ in columns)
    updates = ", ".join(f"{column} = excluded.{column}" for column in _HOST_COLUMNS[1:])
    db.executemany(
        f"INSERT INTO campaign_hosts ({', '.join(columns)}) VALUES ({placeholders}) "
        f"ON CONFLICT (campaign, name) DO UPDATE SET {updates}",
        [(campaign, *(_column(getattr(host, column)) for column in _HOST_COLUMNS)) for host in hosts])


def _column(value: object) -> object:
    if isinstance(value, tuple):
        return json.dumps(list(value))
    if isinstance(value, Phase):
        return str(value)
    return value


def _host(row: sqlite3.Row) -> HostState:
    values = {column: row[column] for column in _HOST_COLUMNS}
    values.update(phase=Phase(row["phase"]), instances=tuple(json.loads(row["instances"])),
                  unlock_wait=bool(row["unlock_wait"]))
    return HostState(**values)
