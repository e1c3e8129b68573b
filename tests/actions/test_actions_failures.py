"""What goes wrong around a job must not make the bot lie or forget: an audit log
that cannot be written, a chat network that is away, a cluster that left the
configuration, an upkeep that dies. Fault injection with the fake RAPI (the lab
cannot be made to fail this way on demand)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from actionkit import (
    BOB,
    ROOM,
    Bot,
    activate_job,
    fake_cluster_table,
    faked,
    write_config,
)
from fakerapi import Answer, FakeRapi

from bot.app import Application
from bot.config import load_config
from bot.core.message import Identity
from bot.transports.runner import serve

ACTIVATE = "/2/instances/inst5.ganeti.test/activate-disks"
ACTIONS = '[actions]\nrequesters = ["@ops", "console:root"]\npoll_seconds = 0.1\npoll_max_seconds = 0.3\n'
BOB_XMPP = Identity("xmpp", "bob", "bob@localhost")
ROOT = Identity("console", "root", "root")


def running(server: FakeRapi, tls, folder: Path, loop, actions: str = ACTIONS) -> contextlib.AbstractContextManager[Bot]:
    return faked(server.url, tls.fingerprint, folder, loop, actions)


@contextlib.contextmanager
def unwritable(path: Path) -> Iterator[None]:
    """The audit log cannot be written meanwhile (as on a full or read-only disk)."""
    saved = path.read_bytes()
    path.unlink()
    path.mkdir()
    try:
        yield
    finally:
        shutil.rmtree(path)
        path.write_bytes(saved)


def job_77(server: FakeRapi, status: str) -> None:
    server.answer("/2/jobs/77", Answer(200, json.dumps(activate_job(77, "x", status)).encode()))


def state(bot: Bot, token: str) -> str:
    async def read() -> str:
        return bot.app.actions.ledger.get(token).state
    return bot.loop.run(read())


def test_an_audit_log_that_fails_while_the_write_is_in_flight_does_not_hide_the_job(server, tls, tmp_path, loop):
    gate = threading.Event()
    server.answer(ACTIVATE, Answer(200, b"77", gate=gate))
    job_77(server, "running")
    with running(server, tls, tmp_path, loop) as bot:
        token = bot.plan(BOB, "!activate-disks inst5")
        replies: list[list[str]] = []
        confirming = threading.Thread(target=lambda: replies.append(bot.say(BOB, f"!confirm {token}")))
        confirming.start()
        while not server.requests_for(ACTIVATE):  # the write has reached RAPI: the job exists
            time.sleep(0.02)
        with unwritable(bot.config.actions.audit_file):
            gate.set()
            confirming.join(30)
        assert replies[0][0].startswith("activate-disks inst5.ganeti.test @gnt-fsn: submitted as job 77;")
        assert state(bot, token) == "submitted"
        job_77(server, "success")
        assert bot.outcome(token).startswith("activate-disks inst5 @gnt-fsn: disks active on node3")


def test_an_audit_log_that_fails_before_the_write_submits_nothing_and_leaves_nothing_stuck(
        server, tls, tmp_path, loop):
    server.answer(ACTIVATE, Answer(200, b"77"))
    with running(server, tls, tmp_path, loop) as bot:
        token = bot.plan(BOB, "!activate-disks inst5")
        with unwritable(bot.config.actions.audit_file):
            reply = bot.text(BOB, f"!confirm {token}")
        assert reply.startswith("not submitted: cannot write the audit log ") and reply.endswith("nothing was done")
        assert server.requests_for(ACTIVATE) == []
        assert state(bot, token) == "refused"
        assert "no action waits" in bot.text(BOB, "!pending")  # inst5 is free again


def test_a_network_that_is_away_delays_nobody_and_expired_plans_hold_nothing(server, tls, tmp_path, loop):
    with running(server, tls, tmp_path, loop, ACTIONS + "window_seconds = 2\n") as bot:
        announcer = bot.app.dispatcher.announcer
        announcer.detach("xmpp", announcer._sinks["xmpp"])  # XMPP is reconnecting
        announcer.detach("console", announcer._sinks["console"])  # asked on a console, now under gntbot run
        bot.plan(BOB_XMPP, "!activate-disks inst3", room="ops@conference.localhost")
        bot.plan(ROOT, "!activate-disks inst2", room=None)
        token = bot.plan(BOB, "!activate-disks inst5")
        said = bot.wait_for(rf"^bob: {token} expired: activate-disks inst5 @gnt-fsn", timeout=15)
        assert said.target == ROOM
        assert state(bot, token) == "expired"
        assert "confirm" in bot.text(BOB, "!activate-disks inst5")  # planned again: nothing holds inst5
        assert not [line for line in bot.said if line.realm != "irc"]
        announcer.attach("xmpp", bot._sink("xmpp"))  # XMPP is back: what waited is said there
        assert bot.wait_for(r"^bob: \w{5} expired: activate-disks inst3", realm="xmpp").target == (
            "ops@conference.localhost")


def test_a_failed_audit_line_at_expiry_stops_neither_expiry_nor_the_watching(server, tls, tmp_path, loop):
    server.answer(ACTIVATE, Answer(200, b"77"))
    job_77(server, "running")
    with running(server, tls, tmp_path, loop, ACTIONS + "window_seconds = 2\n") as bot:
        watched = bot.plan(BOB, "!activate-disks inst5")
        assert "submitted as job 77" in bot.text(BOB, f"!confirm {watched}")
        first = bot.plan(BOB, "!activate-disks inst3")
        with unwritable(bot.config.actions.audit_file):
            bot.wait_for(rf"^bob: {first} expired", timeout=15)
        second = bot.plan(BOB, "!activate-disks inst3")
        bot.wait_for(rf"^bob: {second} expired", timeout=15)
        job_77(server, "success")
        assert bot.outcome(watched).startswith("activate-disks inst5 @gnt-fsn: disks active on node3")
        assert not bot.upkeep.done()


def test_a_job_of_a_cluster_no_longer_configured_is_reported_and_the_rest_goes_on(server, tls, tmp_path, loop):
    server.answer(ACTIVATE, Answer(200, b"77"))
    job_77(server, "running")
    with running(server, tls, tmp_path, loop) as bot:
        token = bot.plan(BOB, "!activate-disks inst5")
        assert "submitted as job 77" in bot.text(BOB, f"!confirm {token}")
    renamed = fake_cluster_table(server.url, tls.fingerprint, tmp_path).replace("gnt-fsn", "gnt-new")
    again = Bot(write_config(tmp_path, renamed, ACTIONS + "window_seconds = 2\n"), loop)
    try:
        said = again.wait_for(rf"^bob: activate-disks inst5.ganeti.test \({token}\): job 77 is not followed any "
                              "more: no cluster @gnt-fsn", timeout=15)
        assert said.text.endswith("Look at it on the cluster (gnt-job info 77)")
        waiting = again.plan(BOB, "!activate-disks inst3")
        again.wait_for(rf"^bob: {waiting} expired", timeout=15)  # the upkeep goes on
        assert not again.upkeep.done()
    finally:
        again.close()


def test_a_job_whose_cluster_a_reload_removed_and_another_restored_is_followed_to_its_outcome(
        server, tls, tmp_path, loop):
    """SIGHUP without the cluster closes its threads; the watcher must not keep asking
    that closed cluster once a later SIGHUP brings it back."""
    server.answer(ACTIVATE, Answer(200, b"77"))
    job_77(server, "running")
    table = fake_cluster_table(server.url, tls.fingerprint, tmp_path)
    with running(server, tls, tmp_path, loop) as bot:
        token = bot.plan(BOB, "!activate-disks inst5")
        assert "submitted as job 77" in bot.text(BOB, f"!confirm {token}")
        write_config(tmp_path, table.replace("gnt-fsn", "gnt-new"), ACTIONS)
        assert bot.loop.run(bot.app.reload())
        gone = r"^@gnt-fsn is no longer in the bot's configuration: job\(s\) 77 are not followed until a reload"
        bot.wait_for(gone, timeout=15)
        job_77(server, "success")
        time.sleep(1)  # a few polls' time: nobody asks the cluster the bot no longer has
        assert state(bot, token) == "submitted"
        write_config(tmp_path, table, ACTIONS)
        assert bot.loop.run(bot.app.reload())
        assert bot.outcome(token, timeout=15).startswith("activate-disks inst5 @gnt-fsn: disks active on node3")
        assert sum(bool(re.search(gone, said.text)) for said in bot.said) == 1  # said once, not every poll


def test_gntbot_run_stops_with_an_error_when_its_upkeep_dies(server, tls, tmp_path):
    config = load_config(write_config(tmp_path, fake_cluster_table(server.url, tls.fingerprint, tmp_path), ACTIONS))

    async def main() -> None:
        application = Application(config)
        application.close()  # its state is gone: the actions' upkeep cannot resume anything
        await asyncio.wait_for(serve(application, []), 20)

    with pytest.raises(sqlite3.ProgrammingError, match="closed database"):  # not a wait that never ends
        asyncio.run(main())
