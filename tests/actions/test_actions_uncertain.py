"""A submission whose answer never came: the bot asks the cluster's job list, never
RAPI again. Fault injection (the fake RAPI replays the lab's recorded answers and
lets the write time out); the lab cannot be made to lose an answer on demand."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest
from actionkit import BOB, Bot, activate_job, faked
from fakerapi import Answer, FakeRapi

ACTIVATE = "/2/instances/inst5.ganeti.test/activate-disks"


@pytest.fixture
def bot(server, tls, tmp_path, loop) -> Iterator[Bot]:
    server.answer(ACTIVATE, Answer(200, b"77", delay=2.0))  # the job is queued, the answer comes too late
    actions = '[actions]\nrequesters = ["@ops"]\npoll_seconds = 0.1\npoll_max_seconds = 0.3'
    with faked(server.url, tls.fingerprint, tmp_path, loop, actions) as running:
        running.app.actions.follow.window = 3.0  # instead of LUXI's 180 s and a margin
        yield running


def test_a_lost_answer_is_resolved_from_the_job_list_and_the_job_watched(bot, server):
    token = bot.plan(BOB, "!activate-disks inst5")
    mine = f"gntbot({token}): bob in irc:#ops: activate-disks inst5.ganeti.test"
    listing = [activate_job(76, "gntbot(zzzzz): someone else"), activate_job(77, mine)]
    server.answer("/2/jobs", Answer(200, json.dumps(listing).encode()))
    server.answer("/2/jobs/77", Answer(200, json.dumps(activate_job(77, mine)).encode()))
    assert bot.say(BOB, f"!confirm {token}")[0].startswith(
        "activate-disks inst5.ganeti.test @gnt-fsn: submitted as job 77;")
    assert bot.outcome(token).startswith("activate-disks inst5 @gnt-fsn: disks active on node3")
    assert len(server.requests_for(ACTIVATE)) == 1  # asked once, never again


def test_a_job_queued_after_the_write_timed_out_is_found_and_watched_and_holds_its_instance_meanwhile(bot, server):
    """The master daemon may queue the job long after RAPI or the bot stopped waiting."""
    token = bot.plan(BOB, "!activate-disks inst5")
    server.answer("/2/jobs", Answer(200, json.dumps([activate_job(76, "gntbot(zzzzz): someone else")]).encode()))
    reply = bot.text(BOB, f"!confirm {token}")
    assert reply.startswith("activate-disks inst5.ganeti.test @gnt-fsn: gnt-fsn: RAPI accepted the connection but "
                            "gave no answer within 0.5s")
    assert reply.endswith("The bot looks for its token in the job list for 3 s and says here what it finds; until "
                          "then inst5.ganeti.test is held for it")
    assert "nothing was" not in reply and "not submitted" not in reply
    assert f"{token} may have been submitted (the answer was lost): activate-disks inst5" in bot.text(BOB, "!pending")
    assert bot.text(BOB, "!activate-disks inst5").startswith(f"not planned: activate-disks inst5.ganeti.test ({token}, "
                                                            "asked by bob) is running")
    expect_job_77(bot, server, token)  # now the job list has it
    found = bot.wait_for(rf"^activate-disks inst5.ganeti.test \({token}\): the job list of @gnt-fsn has it as job 77")
    assert found.target == "#ops"
    assert bot.outcome(token).startswith("activate-disks inst5 @gnt-fsn: disks active on node3")
    assert len(server.requests_for(ACTIVATE)) == 1


def test_when_no_job_carries_the_token_for_the_whole_window_nothing_is_claimed_for_certain(bot, server):
    token = bot.plan(BOB, "!activate-disks inst5")
    server.answer("/2/jobs", Answer(200, json.dumps([activate_job(76, "gntbot(zzzzz): someone else")]).encode()))
    bot.text(BOB, f"!confirm {token}")
    assert "no action waits" not in bot.text(BOB, "!pending")  # held while the window lasts
    said = bot.wait_for(rf"^bob: activate-disks inst5.ganeti.test \({token}\): ", timeout=15)
    assert said.text.endswith("no job of @gnt-fsn carries its token after 3 s: most probably it was not submitted; "
                              "look at !jobs @gnt-fsn before asking again")
    assert len(server.requests_for("/2/jobs")) >= 3  # looked again and again
    assert len(server.requests_for(ACTIVATE)) == 1  # and never sent the write again
    assert "no action waits" in bot.text(BOB, "!pending")

def expect_job_77(bot: Bot, server: FakeRapi, token: str) -> None:
    """The cluster's job list holds job 77, submitted for ``token``; it is done."""
    mine = f"gntbot({token}): bob in irc:#ops: activate-disks inst5.ganeti.test"
    server.answer("/2/jobs", Answer(200, json.dumps([activate_job(77, mine)]).encode()))
    server.answer("/2/jobs/77", Answer(200, json.dumps(activate_job(77, mine)).encode()))


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
