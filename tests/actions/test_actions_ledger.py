"""Tokens and the audit log: random, once, durable; every step on disk, read back by filter."""

from __future__ import annotations

import json
import stat

import pytest

from bot.actions.audit import AuditLog
from bot.actions.ledger import PENDING, TOKEN_ALPHABET, Ledger, Record
from bot.actions.plan import Plan
from bot.cli import main
from bot.state.store import Store


def record(token: str, deadline: float, target: str = "inst3.ganeti.test") -> Record:
    return Record(token, "migrate", "lab", target, Plan("migrate", "lab", target, "node2", "node1", 256,
                                                          locks=(target, "node1", "node2")),
                  "", "alice", "irc:alice", "alice", "irc", "#ops", "irc:#ops", 0.0, deadline, PENDING,
                  None, None, None, None)


def test_tokens_are_short_random_and_unambiguous(tmp_path):
    with Store.open(tmp_path) as store:
        ledger = Ledger(store)
        tokens = {ledger.new_token() for _ in range(500)}
    assert len(tokens) == 500
    assert all(len(token) == 5 and set(token) <= set(TOKEN_ALPHABET) for token in tokens)
    assert not set("01ilo") & set("".join(tokens))  # nothing to misread


def test_a_token_is_claimed_once_and_not_after_its_deadline(tmp_path):
    with Store.open(tmp_path) as store:
        ledger = Ledger(store)
        ledger.add(record("abcde", deadline=100.0), 0.0)
        ledger.add(record("fghjk", deadline=100.0, target="inst5.ganeti.test"), 0.0)
        assert ledger.claim("abcde", "bob", "irc:bob", 50.0)
        assert not ledger.claim("abcde", "carol", "irc:carol", 51.0)  # once
        assert not ledger.claim("fghjk", "bob", "irc:bob", 100.5)  # too late
        assert [expired.token for expired in ledger.expire(100.5)] == ["fghjk"]
        assert ledger.get("abcde").approver == "bob"


def test_what_waits_survives_a_restart_and_holds_its_instance_and_nodes(tmp_path):
    with Store.open(tmp_path) as store:
        Ledger(store).add(record("abcde", deadline=1e12), 0.0)
    with Store.open(tmp_path) as store:
        ledger = Ledger(store)
        assert [r.token for r in ledger.active()] == ["abcde"]
        assert ledger.get("abcde").plan.destination == "node1"
        assert ledger.holder("lab", ("node2",), 0.0).token == "abcde"
        assert ledger.holder("other-cluster", ("node2",), 0.0) is None
        assert ledger.holder("lab", ("node2",), 2e12) is None  # past its deadline, even if not marked expired yet


def test_the_jobs_the_bot_submitted_are_known_as_its_own_after_a_restart(tmp_path):
    """What the campaign watcher asks before it tells a node-migrate's children (the action tells them)."""
    with Store.open(tmp_path) as store:
        ledger = Ledger(store)
        ledger.add(record("abcde", deadline=1e12), 0.0)
        ledger.submitted("abcde", (41, 42), 1.0)
        ledger.add_children("abcde", 41, [43])
    with Store.open(tmp_path) as store:
        ledger = Ledger(store)
        assert [ledger.submitted_job("lab", job) for job in (41, 42, 43, 44)] == [True, True, False, False]
        assert not ledger.submitted_job("other-cluster", 41)  # job IDs are per cluster


def test_asking_whether_a_job_is_the_bot_s_own_does_not_read_every_job_ever_watched(tmp_path):
    """The campaign watcher asks it of every node-migrate job it meets, and the table
    only grows; a state directory from before the index gets it on upgrade."""
    from bot.actions.ledger import SCHEMA

    with Store.open(tmp_path) as store:
        store.migrate("actions", SCHEMA[:2])
    with Store.open(tmp_path) as store:
        ledger = Ledger(store)
        asked: list[str] = []
        store._db.set_trace_callback(asked.append)
        ledger.submitted_job("lab", 41)
        store._db.set_trace_callback(None)
        plan = " ".join(row["detail"] for row in store.query(f"EXPLAIN QUERY PLAN {asked[-1]}"))
    assert "SCAN action_jobs" not in plan and "action_jobs_job" in plan


@pytest.fixture
def audited(tmp_path):
    path = tmp_path / "state" / "audit.jsonl"
    path.parent.mkdir(mode=0o700)
    log = AuditLog(path)
    log.write("request", person="alice", account="irc:alice", action="migrate", target="inst3.ganeti.test",
              cluster="lab", room="irc:#ops")
    log.write("confirm", person="bob", account="xmpp:bob@localhost", action="migrate", target="inst3.ganeti.test",
              requester="alice", involves=["inst3.ganeti.test", "node1.ganeti.test"])
    log.write("request", person="bob", account="irc:bob", action="node-migrate", target="node2.ganeti.test")
    config = tmp_path / "gntbot.toml"
    config.write_text(f'[bot]\nstate_dir = "{tmp_path / "state"}"\n[actions]\n')
    return path, config


def test_each_step_is_one_private_json_line_on_disk_at_once(audited):
    path, _ = audited
    lines = path.read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == ["request", "confirm", "request"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(lines[0])["time"].endswith("+00:00")


def test_gntbot_audit_filters_by_person_instance_and_date(audited, capsys):
    _, config = audited
    assert main(["-c", str(config), "audit", "--person", "bob"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[1] for line in out] == ["confirm", "request"]
    main(["-c", str(config), "audit", "--person", "alice", "--instance", "inst3"])  # requester or actor
    assert [line.split()[1] for line in capsys.readouterr().out.splitlines()] == ["request", "confirm"]
    main(["-c", str(config), "audit", "--instance", "node1", "--json"])
    assert [json.loads(line)["step"] for line in capsys.readouterr().out.splitlines()] == ["confirm"]
    main(["-c", str(config), "audit", "--until", "2000-01-01"])
    assert capsys.readouterr().out == ""


def test_gntbot_audit_says_when_there_is_nothing_to_read(tmp_path, capsys):
    config = tmp_path / "gntbot.toml"
    config.write_text(f'[bot]\nstate_dir = "{tmp_path}"\n[actions]\n')
    assert main(["-c", str(config), "audit"]) == 1
    assert "no audit log at" in capsys.readouterr().err


def test_jobs_watched_by_the_previous_gntbot_are_still_read_after_the_upgrade(tmp_path):
    from bot.actions.ledger import SCHEMA

    with Store.open(tmp_path) as store:  # a job watched when the bot stopped, before jobs had their opcode
        store.migrate("actions", SCHEMA[:1])
        old = object.__new__(Ledger)  # over the old tables: its constructor would upgrade them
        old.store = store
        old.add(record("abcde", deadline=100.0), 0.0)
        with store.transaction() as db:
            db.execute("INSERT INTO action_jobs (token, job_id, parent, state) VALUES ('abcde', 7, NULL, 'watching')")
    with Store.open(tmp_path) as store:
        ledger = Ledger(store)
        [job] = ledger.jobs("abcde")
        assert (job.job_id, job.state, job.op) == (7, "watching", None)
        ledger.job_done("abcde", 7, "success", "done", op="INSTANCE_MIGRATE")
        assert ledger.jobs("abcde")[0].op == "INSTANCE_MIGRATE"
