"""Event-loop lag while the bot indexes hostile runbooks and reads huge RAPI answers.

A probe task sleeps 1 ms in a loop and records how late it wakes up, while
the work runs the way the bot runs it: `KnowledgeBase.refresh` in the
knowledge `Workers`, a cluster command through the dispatcher against the
fault-injection RAPI server (over TLS, on loopback). Each case prints the
worst lag, the number of lags over 100 ms, the wall time and this process's
peak RSS (which only grows, so read it as "at most"). Prints figures;
asserts nothing.

    python bench/bench_stall.py
"""

from __future__ import annotations

import asyncio
import json
import random
import resource
import string
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "cluster"))

from clusterkit import Chat, make_tls, pinned
from fakerapi import Answer, FakeRapi, fixture, recorded

from bot.knowledge.base import KnowledgeBase
from bot.workers import Workers


def unique_words(count: int, seed: int) -> str:
    rng = random.Random(seed)
    return " ".join("".join(rng.choices(string.ascii_lowercase, k=random.Random(n).randint(8, 30)))
                    for n in range(count))


PAGES: dict[str, Callable[[Path], None]] = {
    "2 MB of '# h' headings": lambda root: (root / "p.md").write_text("".join(f"# h{n}\n" for n in range(200_000))),
    "2 MB table": lambda root: (root / "p.md").write_text("|a|b|\n|-|-|\n" + "|a|b|\n" * 340_000),
    "2 MB list": lambda root: (root / "p.md").write_text("- a\n" * 520_000),
    "5 x 2 MB unique words": lambda root: [(root / f"p{n}.md").write_text(f"# t\n\n{unique_words(90_000, n)}\n")
                                           for n in range(5)],
    "20,000 small files": lambda root: [(root / f"p{n:05}.md").write_text(
        f"# Page {n}\n\nSome text about node{n} and instance{n}.\n\n```\ngnt-node list node{n}\n```\n")
        for n in range(20_000)],
}


async def lagging(work: Callable[[], Awaitable[object]]) -> tuple[float, int, float]:
    """Worst lag (ms), lags over 100 ms, and wall time (s) of awaiting ``work()``."""
    worst, over, stop = [0.0], [0], asyncio.Event()

    async def probe() -> None:
        while not stop.is_set():
            started = time.perf_counter()
            await asyncio.sleep(0.001)
            lag = time.perf_counter() - started - 0.001
            worst[0] = max(worst[0], lag)
            over[0] += lag > 0.1

    task = asyncio.create_task(probe())
    started = time.perf_counter()
    await work()
    wall = time.perf_counter() - started
    stop.set()
    await task
    return worst[0] * 1000, over[0], wall


def show(name: str, figures: tuple[float, int, float], outcome: str) -> None:
    worst, over, wall = figures
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{name:34} worst lag {worst:6.0f} ms, {over:3} over 100 ms, {wall:6.1f} s; peak RSS {peak:5.0f} MB; "
          f"{outcome}", flush=True)


async def pages() -> None:
    workers = Workers("knowledge", 2)
    for name, write in PAGES.items():
        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder, "runbooks")
            root.mkdir()
            write(root)
            knowledge = KnowledgeBase(root, Path(folder, "index"), semantic=False)
            result: list = []
            figures = await lagging(partial(_refreshed, workers, knowledge, result))
            show(name, figures, result[0].summary())


def listing(rows: int) -> bytes:
    """The recorded instance listing with ``rows`` instances."""
    recorded_listing = json.loads(fixture("instances.json"))
    first = recorded_listing["data"][0]
    data = [[[0, f"i{n}.ganeti.test"], *first[1:]] for n in range(rows)]
    return json.dumps({"fields": recorded_listing["fields"], "data": data}).encode()


def rapi_bodies() -> dict[str, tuple[str, str, bytes]]:
    return {
        "!instances, 2,000 instances": ("!instances", "/2/query/instance", listing(2_000)),
        "!instances, 5,000 instances": ("!instances", "/2/query/instance", listing(5_000)),
        "!instances, 20,000 instances": ("!instances", "/2/query/instance", listing(20_000)),
        "!instances, 5M empty rows": ("!instances", "/2/query/instance",
                                      b'{"fields": [], "data": [' + b",".join([b"[]"] * 5_000_000) + b"]}"),
    }


async def rapi() -> None:
    with tempfile.TemporaryDirectory() as folder:
        tls = make_tls(Path(folder))
        server = FakeRapi(tls.cert_file, tls.key_file, recorded()).start()
        try:
            for name, (command, path, body) in rapi_bodies().items():
                server.answer(path, Answer(200, body))
                chat = Chat(pinned(server, tls, name="evil", timeout=30))
                lines: list = []
                figures = await lagging(partial(_heard, chat, command, lines))
                show(f"{name} ({len(body) / 2**20:.1f} MiB)", figures, (lines or [""])[0][:70])
        finally:
            server.stop()


async def _refreshed(workers: Workers, knowledge: KnowledgeBase, result: list) -> None:
    await workers.run(lambda: result.append(knowledge.refresh()))


async def _heard(chat: Chat, command: str, lines: list) -> None:
    lines.extend(await chat.hear(command))


if __name__ == "__main__":
    asyncio.run(pages())
    asyncio.run(rapi())
