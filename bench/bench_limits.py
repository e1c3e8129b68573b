"""What the chat side keeps and how long its bookkeeping takes, under the loads
of issue 7. Prints figures; asserts nothing.

- the input limiter: 20,000 one-off senders, then the cost of one admit;
- the pager: 256 people each parking a 2,000-instance listing;
- the IRC outbox: 50 people asking for a 6-line answer at once, at the
  default rate of one line a second: what waits, and the lag it means;
- clipping: a 200 KB command line, and a job log of a million lines.

    python bench/bench_limits.py
"""

from __future__ import annotations

import asyncio
import gc
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.core.access import AccessPolicy
from bot.core.clipping import clip
from bot.core.dispatch import Dispatcher
from bot.core.message import Identity, Message, Reply
from bot.core.paging import Pager
from bot.core.registry import Invocation, Registry
from bot.transports.flood import InboundLimiter, TokenBucket
from bot.transports.irc_outbox import Outbox
from bot.transports.settings import FloodSettings


def limiter() -> None:
    flood = FloodSettings()
    now = [0.0]
    limits = InboundLimiter(flood.user_burst, flood.user_rate, clock=lambda: now[0])
    for n in range(20_000):
        now[0] = n * 0.01
        limits.admit(f"host:10.0.{n // 256}.{n % 256}")
    kept = len(limits)
    start = time.perf_counter()
    for n in range(10_000):
        limits.admit(f"host:10.1.{n // 256}.{n % 256}")
    per_admit = (time.perf_counter() - start) / 10_000
    print(f"limiter: 20,000 one-off senders (100 a second) leave {kept} buckets; "
          f"one admit among 10,000 more takes {1e6 * per_admit:.1f} µs")


def pager() -> None:
    registry = Registry()
    dispatcher = Dispatcher(registry, AccessPolicy.of([]), Pager(5))

    @registry.command("instances", summary="a 2,000-instance listing")
    async def instances(call: Invocation) -> Reply:
        return Reply.of(*(f"fsn-node-{n % 80:02}  inst{n:05}.example.org  4  8.0G  40G  drbd  running"
                          for n in range(2000)))

    gc.collect()
    tracemalloc.start()
    for n in range(256):
        sender = Identity("irc", f"user{n}", None, address=f"user{n}!u@10.0.{n // 250}.{n % 250}")
        asyncio.run(dispatcher.handle(Message("!instances", sender, "#ops")))
    gc.collect()
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"pager: 256 people x a 2,000-line listing hold {held / 1e6:.1f} MB "
          f"({dispatcher.pager.stored_bytes / 1e6:.1f} MB of text waiting for !more)")


def outbox() -> None:
    flood = FloodSettings()
    box = Outbox(lambda line: None, TokenBucket(flood.burst, flood.rate), "gntbot", "gntbot",
                 target_lines=max(10, int(30 * flood.rate)), total_lines=max(10, int(120 * flood.rate)))
    queued = sum(box.privmsg(f"person{n}", [f"answer line {k}" for k in range(6)]) for n in range(50))
    queued += sum(box.privmsg("#ops", [f"person{n}: answer line {k}" for k in range(6)]) for n in range(50))
    print(f"outbox: 50 private and 50 channel answers of 6 lines: {queued} lines wait "
          f"(of 600), at most {box.pending() / flood.rate:.0f} s of lag at {flood.rate:g} line/s")


def clipping() -> None:
    command = "gnt-instance modify --comment=" + "é✓x" * 40_000
    start = time.perf_counter()
    lines = clip([command])
    print(f"clip: a {len(command.encode()) / 1000:.0f} KB line becomes {len(lines)} line of "
          f"{len(lines[0].encode())} bytes in {1000 * (time.perf_counter() - start):.2f} ms")
    log = "\n".join(f"2026-11-23 10:00:{n % 60:02} step {n}" for n in range(1_000_000))
    start = time.perf_counter()
    lines = clip([log])
    print(f"clip: a job log of a million lines becomes {len(lines)} lines in "
          f"{1000 * (time.perf_counter() - start):.0f} ms ({lines[-1]})")


if __name__ == "__main__":
    limiter()
    pager()
    outbox()
    clipping()
