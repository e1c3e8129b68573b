"""A slow or failing cluster costs its own threads and one request, never the rest of the bot.

The cluster is the fault-injection server holding its answer until the test
opens a gate, so "while it hangs" is a fact of the test, not a guess about
timing.
"""

from __future__ import annotations

import asyncio
import threading

import pytest
from clusterkit import Chat, pinned
from fakerapi import Answer, FakeRapi, recorded_path

from bot.config import SHIPPED_RUNBOOKS
from bot.ganeti.cluster import Cluster
from bot.ganeti.errors import RapiServerError
from bot.ganeti.flights import FAILURE_SECONDS
from bot.knowledge.base import KnowledgeBase

INSTANCES = "/2/query/instance"
# More than asyncio's default pool has threads on any machine (at most 32):
# if the commands shared that pool, nothing else could run while they wait.
BURST = 40
GATEWAY_TIMEOUT = b'{"code": 504, "message": "Timeout while talking to the master daemon"}'


@pytest.fixture
def knowledge(tmp_path) -> KnowledgeBase:
    return KnowledgeBase(SHIPPED_RUNBOOKS, tmp_path / "index")


def hold(server: FakeRapi, path: str, answer: Answer) -> threading.Event:
    """Make ``path`` wait for the returned gate before it answers like ``answer``."""
    gate = threading.Event()
    server.answer(path, Answer(answer.status, answer.body, gate=gate))
    return gate


def test_while_a_cluster_hangs_search_and_the_other_clusters_answer(fake_rapi, healthy, tls, knowledge):
    gate = hold(fake_rapi, INSTANCES, fake_rapi.answer_for(INSTANCES))
    chat = Chat(pinned(fake_rapi, tls, timeout=30), pinned(healthy, tls, name="gnt-chi"), knowledge=knowledge)
    chat.say("!search drbd")  # the index is built before the clock starts

    async def scenario() -> tuple[list[str], list[str], list[list[str]]]:
        waiting = [asyncio.create_task(chat.hear("!instances @gnt-fsn")) for _ in range(BURST)]
        try:
            search, nodes = await asyncio.wait_for(
                asyncio.gather(chat.hear("!search drbd split brain"), chat.hear("!nodes @gnt-chi")), timeout=20)
            assert not any(task.done() for task in waiting)  # the cluster really was still hanging
        finally:
            gate.set()
        return search, nodes, await asyncio.gather(*waiting)

    search, nodes, listings = asyncio.run(scenario())
    assert search[0].startswith("1. ") and "Split brain" in search[0]
    assert nodes[0].startswith("gnt-chi: 3 nodes, master node1")
    assert all(listing == listings[0] for listing in listings)
    assert listings[0][0].startswith("gnt-fsn: 5 instances (4 running, 1 ADMIN_down)")
    assert len(fake_rapi.requests_for(INSTANCES)) == 1  # forty commands, one request


def test_a_failing_cluster_fails_everyone_at_once_with_one_request(fake_rapi, tls):
    gate = hold(fake_rapi, INSTANCES, Answer(504, GATEWAY_TIMEOUT))
    chat = Chat(pinned(fake_rapi, tls, retries=0))

    async def burst() -> list[list[str]]:
        waiting = [asyncio.create_task(chat.hear("!instances")) for _ in range(8)]
        await asyncio.sleep(0.5)  # all eight are asked before the cluster answers
        gate.set()
        return await asyncio.gather(*waiting)

    failure = "gnt-fsn: RAPI failed (504: Timeout while talking to the master daemon)"
    # those that waited for the request get its answer; those queued behind them, the remembered one
    assert all(len(reply) == 1 and reply[0].startswith(failure) for reply in asyncio.run(burst()))
    assert len(fake_rapi.requests_for(INSTANCES)) == 1
    (again,) = chat.say("!instances")  # the next asker is not made to wait for the same failure
    assert again.startswith(failure + " (as of ") and again.endswith("s)")
    assert len(fake_rapi.requests_for(INSTANCES)) == 1


def test_a_failure_is_remembered_for_a_few_seconds_only(fake_rapi, tls):
    now = [1000.0]
    fake_rapi.answer(INSTANCES, Answer(504, GATEWAY_TIMEOUT), fake_rapi.answer_for(INSTANCES))
    cluster = Cluster(pinned(fake_rapi, tls, retries=0, cache_seconds=60), clock=lambda: now[0])
    with pytest.raises(RapiServerError, match=r"\(504: Timeout while talking to the master daemon\)$"):
        cluster.instances()
    now[0] += FAILURE_SECONDS - 1
    with pytest.raises(RapiServerError, match=r"\(as of 4\.0s ago; ask again in 1s\)$"):
        cluster.instances()
    assert len(fake_rapi.requests_for(INSTANCES)) == 1
    now[0] += 1
    assert len(cluster.instances()) == 5  # asked again, and the cluster has recovered
    assert len(cluster.instances()) == 5  # now kept for cache_seconds, like any listing
    assert len(fake_rapi.requests_for(INSTANCES)) == 2


def test_the_same_job_asked_together_is_fetched_once_but_never_kept(fake_rapi, tls):
    path = recorded_path("job-failed.json")
    gate = hold(fake_rapi, path, fake_rapi.answer_for(path))
    chat = Chat(pinned(fake_rapi, tls))
    job = path.rsplit("/", 1)[1]

    async def together() -> list[list[str]]:
        waiting = [asyncio.create_task(chat.hear(f"!job {job}")) for _ in range(3)]
        await asyncio.sleep(0.5)
        gate.set()
        return await asyncio.gather(*waiting)

    answers = asyncio.run(together())
    assert answers[0][0].startswith(f"job {job} @gnt-fsn: ") and answers.count(answers[0]) == 3
    assert len(fake_rapi.requests_for(path)) == 1
    chat.say(f"!job {job}")
    assert len(fake_rapi.requests_for(path)) == 2
