"""SIGHUP (`Application.reload`) and the worker threads: reused, never piled up, closed when unused.

Each reload builds its clusters anew; before, each came with a fresh thread
pool and the old ones were never shut down, so a bot reloaded by a cron job or
a config-management run grew threads without end.
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest
from clusterkit import Chat, Tls, pinned
from fakerapi import Answer, FakeRapi

from bot.app import Application
from bot.commands.runbook import KNOWLEDGE_THREADS
from bot.config import SHIPPED_RUNBOOKS, load_config
from bot.core.message import Identity, Message
from bot.ganeti.cluster import WORKERS
from bot.knowledge.base import KnowledgeBase
from bot.workers import Workers, WorkersClosed

INSTANCES = "/2/query/instance"
RELOADS = 25


def threads(prefix: str, besides: frozenset[threading.Thread] = frozenset()) -> list[threading.Thread]:
    """The live threads named ``prefix``..., leaving out ``besides`` (those of other tests' clusters)."""
    return [thread for thread in threading.enumerate() if thread.name.startswith(prefix) and thread not in besides]


def hold(server: FakeRapi, path: str) -> threading.Event:
    gate = threading.Event()
    answer = server.answer_for(path)
    server.answer(path, Answer(answer.status, answer.body, gate=gate))
    return gate


async def requested(server: FakeRapi, path: str) -> None:
    while not server.requests_for(path):
        await asyncio.sleep(0.01)


@pytest.mark.lab
def test_many_reloads_run_the_same_threads(lab_settings, tmp_path):
    chat = Chat(lab_settings, knowledge=KnowledgeBase(SHIPPED_RUNBOOKS, tmp_path / "index"))
    before = frozenset(threading.enumerate())

    async def reloads() -> list[str]:
        answers = []
        for _ in range(RELOADS):
            answers += [(await chat.hear("!instances"))[0], (await chat.hear("!search drbd"))[0]]
            assert await chat.app.reload()
        return answers

    answers = asyncio.run(reloads())
    assert all(line.startswith("lab: 5 instances") for line in answers[::2])
    assert all(line.startswith("1. ") for line in answers[1::2])
    assert len(threads("rapi-lab", before)) <= WORKERS
    assert len(threads("knowledge", before)) <= KNOWLEDGE_THREADS
    chat.app.close()


def test_a_question_in_flight_during_a_reload_gets_its_answer(fake_rapi, tls):
    chat = Chat(pinned(fake_rapi, tls, timeout=30))
    gate = hold(fake_rapi, INSTANCES)

    async def scenario() -> list[str]:
        asking = asyncio.create_task(chat.hear("!instances"))
        await asyncio.wait_for(requested(fake_rapi, INSTANCES), 10)
        assert await chat.app.reload()
        gate.set()
        return await asyncio.wait_for(asking, 20)

    assert asyncio.run(scenario())[0].startswith("gnt-fsn: 5 instances")
    assert chat.say("!instances")[0].startswith("gnt-fsn: 5 instances")  # the new cluster answers too
    chat.app.close()


def config_file(folder: Path, server: FakeRapi | None, tls: Tls) -> Path:
    (folder / "password").write_text("reader-secret\n")
    table = "" if server is None else f"""
[clusters.gnt-fsn]
url = "{server.url}"
read_user = "reader"
read_password_file = "{folder / 'password'}"
fingerprint = "sha256:{tls.fingerprint}"
timeout = 30
"""
    path = folder / "gntbot.toml"
    path.write_text(f'[knowledge]\nrunbooks = "{SHIPPED_RUNBOOKS}"\nindex = "{folder / "index"}"\n'
                    f'[access]\nreaders = ["irc:alice"]\n{table}')
    return path


def test_a_reload_that_removes_a_cluster_lets_its_answer_finish_then_stops_its_threads(fake_rapi, tls, tmp_path):
    path = config_file(tmp_path, fake_rapi, tls)
    others = frozenset(threading.enumerate())
    app = Application(load_config(path))
    alice = Identity("irc", "alice", account="alice")
    gate = hold(fake_rapi, INSTANCES)

    async def scenario() -> tuple[list[str], list[str]]:
        asking = asyncio.create_task(app.dispatcher.handle(Message("!instances", alice)))
        await asyncio.wait_for(requested(fake_rapi, INSTANCES), 10)
        config_file(tmp_path, None, tls)
        assert await app.reload()
        gate.set()
        answer = await asyncio.wait_for(asking, 20)
        return list(answer.lines), list((await app.dispatcher.handle(Message("!instances", alice))).lines)

    in_flight, after = asyncio.run(scenario())
    assert in_flight[0].startswith("gnt-fsn: 5 instances")
    assert after[0].startswith("unknown command !instances")  # the reloaded bot has no clusters
    deadline = time.monotonic() + 10
    while threads("rapi-gnt-fsn", others) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert threads("rapi-gnt-fsn", others) == []
    app.close()


def test_closed_workers_finish_what_runs_and_refuse_what_waited():
    workers = Workers("test-close", 1)
    started, release = threading.Event(), threading.Event()

    def slow() -> str:
        started.set()
        release.wait(10)
        return "done"

    async def scenario() -> tuple[str, BaseException | str]:
        running = asyncio.create_task(workers.run(slow))
        queued = asyncio.create_task(workers.run(str.upper, "late"))
        await asyncio.to_thread(started.wait, 10)
        workers.close()
        release.set()
        late = await asyncio.gather(queued, return_exceptions=True)
        return await running, late[0]

    finished, refused = asyncio.run(scenario())
    assert finished == "done"
    assert isinstance(refused, WorkersClosed) and "test-close" in str(refused) and "ask again" in str(refused)
    with pytest.raises(WorkersClosed):
        asyncio.run(workers.run(str.upper, "after"))
