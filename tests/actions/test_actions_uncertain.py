"""A submission whose answer never came: the bot asks the cluster's job list, never
RAPI again. Fault injection (the fake RAPI replays the lab's recorded answers and
lets the write time out); the lab cannot be made to lose an answer on demand."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest
from actionkit import BOB, Bot, write_config
from fakerapi import Answer, FakeRapi, recorded

ACTIVATE = "/2/instances/inst5.ganeti.test/activate-disks"


@pytest.fixture
def server(tls) -> Iterator[FakeRapi]:
    fake = FakeRapi(tls.cert_file, tls.key_file, recorded()).start()
    fake.answer(ACTIVATE, Answer(200, b"77", delay=2.0))  # the job is queued, the answer comes too late
    yield fake
    fake.stop()


@pytest.fixture
def bot(server, tls, tmp_path, loop) -> Iterator[Bot]:
    (tmp_path / "password").write_text("reader-secret\n")
    cluster = f"""
[clusters.gnt-fsn]
url = "{server.url}"
read_user = "reader"
read_password_file = "{tmp_path / 'password'}"
write_user = "reader"
write_password_file = "{tmp_path / 'password'}"
fingerprint = "sha256:{tls.fingerprint}"
timeout = 0.5
cache_seconds = 0
"""
    running = Bot(write_config(tmp_path, cluster, '[actions]\nrequesters = ["@ops"]\npoll_seconds = 0.1'), loop)
    yield running
    running.close()


def job(job_id: int, reason: str, status: str = "success") -> dict:
    return {"id": job_id, "status": status, "summary": ["INSTANCE_ACTIVATE_DISKS(inst5.ganeti.test)"],
            "opstatus": [status], "opresult": [[]], "oplog": [[]], "received_ts": [1, 0], "start_ts": [1, 0],
            "end_ts": [2, 0], "ops": [{"OP_ID": "OP_INSTANCE_ACTIVATE_DISKS", "reason": [["gnt:user", reason, 1]]}]}


def test_a_lost_answer_is_resolved_from_the_job_list_and_the_job_watched(bot, server):
    token = bot.plan(BOB, "!activate-disks inst5")
    mine = f"gntbot({token}): bob in irc:#ops: activate-disks inst5.ganeti.test"
    listing = [job(76, "gntbot(zzzzz): someone else"), job(77, mine)]
    server.answer("/2/jobs", Answer(200, json.dumps(listing).encode()))
    server.answer("/2/jobs/77", Answer(200, json.dumps(job(77, mine)).encode()))
    assert bot.say(BOB, f"!confirm {token}")[0].startswith(
        "activate-disks inst5.ganeti.test @gnt-fsn: submitted as job 77;")
    assert bot.outcome(token).startswith("activate-disks inst5 @gnt-fsn: disks active on node3")
    assert len(server.requests_for(ACTIVATE)) == 1  # asked once, never again


def test_when_no_job_carries_the_token_the_request_is_closed_as_not_submitted(bot, server):
    token = bot.plan(BOB, "!activate-disks inst5")
    server.answer("/2/jobs", Answer(200, json.dumps([job(76, "gntbot(zzzzz): someone else")]).encode()))
    reply = bot.text(BOB, f"!confirm {token}")
    assert reply.startswith("activate-disks inst5.ganeti.test: gnt-fsn: RAPI accepted the connection but gave no answer")
    assert reply.endswith("it was not submitted (no job of the cluster carries its token); ask again")
    assert len(server.requests_for(ACTIVATE)) == 1
    assert "no action waits" in bot.text(BOB, "!pending")


def expect_job_77(bot: Bot, server: FakeRapi, token: str) -> None:
    """The cluster's job list holds job 77, submitted for ``token``; it is done."""
    mine = f"gntbot({token}): bob in irc:#ops: activate-disks inst5.ganeti.test"
    server.answer("/2/jobs", Answer(200, json.dumps([job(77, mine)]).encode()))
    server.answer("/2/jobs/77", Answer(200, json.dumps(job(77, mine)).encode()))


def test_a_504_is_not_taken_for_not_submitted_the_job_list_decides(bot, server):
    """504: RAPI gave up on the master daemon, which may still queue the job (LUXI allows it 180 s)."""
    server.answer(ACTIVATE, Answer(504, b'{"code": 504, "message": "Timeout while talking to the master daemon"}'))
    token = bot.plan(BOB, "!activate-disks inst5")
    expect_job_77(bot, server, token)
    assert bot.text(BOB, f"!confirm {token}").startswith("activate-disks inst5.ganeti.test @gnt-fsn: submitted as job 77;")
    assert bot.outcome(token).startswith("activate-disks inst5 @gnt-fsn: disks active on node3")
    assert len(server.requests_for(ACTIVATE)) == 1


def test_a_tls_failure_after_the_request_was_sent_is_not_taken_for_not_submitted(bot, server):
    answer = server._respond

    def respond(handler) -> None:  # the whole request arrives, then the answer is a broken TLS record
        if not handler.path.startswith(ACTIVATE):
            answer(handler)
            return
        handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        server.seen.append(None)
        os.write(handler.connection.fileno(), b"\x17\x03\x03\x00\x20" + os.urandom(32))

    server._respond = respond
    token = bot.plan(BOB, "!activate-disks inst5")
    expect_job_77(bot, server, token)
    reply = bot.text(BOB, f"!confirm {token}")
    assert None in server.seen  # the request reached the server
    assert "nothing was" not in reply
    assert reply.startswith("activate-disks inst5.ganeti.test @gnt-fsn: submitted as job 77;")
