"""A longer fuzz run of the runbook parser, with the stalls it causes measured.

Runs the strategies of tests/knowledge/test_markdown_fuzz.py for many more
examples, then parses hostile pages of growing size (unclosed markup, the
patterns that used to backtrack). While it parses, a second thread wakes up
every millisecond and records how late it was: the longest delay is the
longest time parsing held the interpreter lock, i.e. stalled an event loop.
Prints figures; asserts nothing.

    python bench/fuzz_markdown.py [--examples N] [--size BYTES]
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "knowledge"))

from hypothesis import HealthCheck, given, settings
from test_markdown_fuzz import FRAGMENTS, adversarial, assert_well_formed, markdownish

from bot.knowledge.files import UnreadableRunbook
from bot.knowledge.markdown import parse_runbook

HOSTILE = ("[", "![", "[[!", "[a](", "*a ", "_a ", "**a ", "<http:", "<a", "x <!--", "`a``", "\\*", "*_[`<(!",
           "a\n", "# a\n", "> ", "- a\n", "|a", "    a\n")


class Heartbeat(threading.Thread):
    """Measures how late a 1 ms sleep wakes up while the main thread works."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.worst = 0.0
        self.running = True

    def run(self) -> None:
        while self.running:
            started = time.perf_counter()
            time.sleep(0.001)
            self.worst = max(self.worst, time.perf_counter() - started - 0.001)


def timed(text: str) -> tuple[float, str]:
    started = time.thread_time()
    try:
        assert_well_formed(parse_runbook(text, "fuzz/page.md"))
        outcome = "parsed"
    except UnreadableRunbook:
        outcome = "skipped (over budget)"
    return time.thread_time() - started, outcome


def fuzz(strategy, examples: int) -> tuple[float, int]:
    worst = [0.0, 0]

    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def run(text: str) -> None:
        spent, _ = timed(text)
        if spent > worst[0]:
            worst[:] = [spent, len(text)]

    run()
    return worst[0], worst[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=20_000)
    parser.add_argument("--size", type=int, default=2 * 1024 * 1024, help="largest hostile page (default 2 MB)")
    args = parser.parse_args()
    heartbeat = Heartbeat()
    heartbeat.start()
    ms = 1000
    for name, strategy, examples in (("random", markdownish, args.examples),
                                     ("adversarial", adversarial, max(args.examples // 10, 1))):
        started = time.perf_counter()
        seconds, size = fuzz(strategy, examples)
        print(f"fuzz {name:<12} {examples} examples in {time.perf_counter() - started:.0f} s: "
              f"worst parse {seconds * ms:.1f} ms of CPU ({size} characters)", flush=True)
    print(f"hostile pages ({len(FRAGMENTS)} fragments fuzzed above; {len(HOSTILE)} patterns here):")
    for size in sorted({72 * 1024, 512 * 1024, args.size}):
        results = [(timed(unit * (size // len(unit))), unit) for unit in HOSTILE]
        (seconds, outcome), unit = max(results)
        skipped = sum(1 for (_, outcome), _ in results if outcome != "parsed")
        print(f"  {size // 1024:>5} KB: slowest {unit!r:<10} {seconds * ms:7.0f} ms of CPU ({outcome}); "
              f"{skipped} of {len(HOSTILE)} over budget", flush=True)
    heartbeat.running = False
    print(f"longest stall of a 1 ms timer thread during the run: {heartbeat.worst * ms:.1f} ms")


if __name__ == "__main__":
    main()
