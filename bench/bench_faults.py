"""What a person in the channel waits for when a cluster is slow or failing.

Real parts throughout: the Application and Dispatcher, the real client over
TLS on loopback, and the fault-injection server of the tests
(tests/cluster/fakerapi.py) in the role of a broken cluster:

1. eight people type ``!instances`` at once while the cluster answers 504
   after 2 s: when does each get an answer, and how many requests were made?
2. while a cluster hangs (forty ``!instances`` waiting on it), how long do
   ``!search`` and a listing of another, healthy cluster take? (The hung
   cluster recovers after 10 s, so "10 s" means "as long as the cluster hangs".)

    python bench/bench_faults.py
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "cluster")]

from clusterkit import Chat, make_tls, pinned
from fakerapi import Answer, FakeRapi, recorded

from bot.config import SHIPPED_RUNBOOKS
from bot.knowledge.base import KnowledgeBase

INSTANCES = "/2/query/instance"
GATEWAY_TIMEOUT = b'{"code": 504, "message": "Timeout while talking to the master daemon"}'


async def timed(chat: Chat, line: str, started: float) -> tuple[float, list[str]]:
    reply = await chat.hear(line)
    return time.perf_counter() - started, reply


def failing_burst(directory: Path) -> None:
    directory.mkdir()
    tls = make_tls(directory)
    server = FakeRapi(tls.cert_file, tls.key_file, recorded()).start()
    server.answer(INSTANCES, Answer(504, GATEWAY_TIMEOUT, delay=2))
    try:
        chat = Chat(pinned(server, tls, retries=0, timeout=10))

        async def burst() -> list[tuple[float, list[str]]]:
            started = time.perf_counter()
            return await asyncio.gather(*(timed(chat, "!instances", started) for _ in range(8)))

        replies = asyncio.run(burst())
        seconds = ", ".join(f"{elapsed:.1f}" for elapsed, _ in sorted(replies))
        print(f"1. eight !instances, cluster answers 504 after 2 s: answered after {seconds} s; "
              f"{len(server.requests_for(INSTANCES))} requests")
        print(f"   first reply: {replies[0][1][0][:100]}")
    finally:
        server.stop()


def hanging_cluster(directory: Path) -> None:
    directory.mkdir()
    tls = make_tls(directory)
    hanging = FakeRapi(tls.cert_file, tls.key_file, recorded()).start()
    healthy = FakeRapi(tls.cert_file, tls.key_file, recorded()).start()
    gate = threading.Event()
    listing = hanging.answer_for(INSTANCES)
    hanging.answer(INSTANCES, Answer(listing.status, listing.body, gate=gate))
    try:
        knowledge = KnowledgeBase(SHIPPED_RUNBOOKS, directory / "index")
        chat = Chat(pinned(hanging, tls, timeout=30), pinned(healthy, tls, name="gnt-chi"), knowledge=knowledge)
        chat.say("!search drbd")  # build the index first

        async def scenario() -> tuple[float, float, float]:
            waiting = [asyncio.create_task(chat.hear("!instances @gnt-fsn")) for _ in range(40)]
            await asyncio.sleep(0.2)
            started = time.perf_counter()
            search = asyncio.create_task(timed(chat, "!search drbd split brain", started))
            other = asyncio.create_task(timed(chat, "!nodes @gnt-chi", started))
            await asyncio.wait([search, other], timeout=10)
            opened = time.perf_counter() - started
            gate.set()  # the cluster recovers; everything still waiting gets its answer
            await asyncio.gather(*waiting, search, other)
            return search.result()[0], other.result()[0], opened

        search, other, opened = asyncio.run(scenario())

        def shown(seconds: float) -> str:
            return f"{seconds * 1000:.0f} ms" if seconds < opened else f"{seconds:.1f} s, once the cluster answered"

        print(f"2. while a cluster hangs under 40 waiting !instances: !search {shown(search)}, "
              f"!nodes of another cluster {shown(other)}; the hung cluster got "
              f"{len(hanging.requests_for(INSTANCES))} request(s)")
    finally:
        gate.set()
        hanging.stop()
        healthy.stop()


def main() -> int:
    with tempfile.TemporaryDirectory() as directory:
        failing_burst(Path(directory) / "burst")
        hanging_cluster(Path(directory) / "hang")
    return 0


if __name__ == "__main__":
    sys.exit(main())
