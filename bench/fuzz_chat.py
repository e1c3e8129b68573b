"""A long fuzzing campaign over the dispatcher, as the transports feed it.

The same harness as ``tests/chat/test_fuzz.py`` (``tests/chat/fuzzkit.py``):
the real application with the shipped runbooks and two clusters (recorded lab
answers through the fake RAPI, and one that refuses connections), random
lines from random people on IRC, a second IRC network, XMPP and the console.
Here the lines are longer (huge words up to ``--huge`` letters, more often),
nothing stops at the first problem, and the figures are printed: cases, the
longest loop callback in CPU time, the longest garbage-collector pause, the
worst wall-clock lag of the loop, the slowest exchange, and every distinct
problem found (internal errors, malformed wire output, stalls), with the
first line that showed it. Asserts nothing.

    python bench/fuzz_chat.py [--examples 20000] [--huge 5000] [--seed N]
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "cluster")]

from clusterkit import make_tls
from fakerapi import FakeRapi, recorded
from hypothesis import HealthCheck, given, seed, settings

from tests.chat.fuzzkit import Bench, Said, application, huge_words, said, wire_problems

STALL = 0.100


def campaign(bench: Bench, examples: int, huge: int, chosen_seed: int) -> tuple[dict[str, Said], int]:
    """Run ``examples`` cases: the first line that showed each kind of problem,
    and the most objects the heap held (sampled every 1,000 cases)."""
    found: dict[str, Said] = {}
    peak = [0]

    @seed(chosen_seed)
    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(line=said(huge_words(200, huge), huge_share=4))
    def one(line: Said) -> None:
        problems = wire_problems(bench.exchange(line))
        if bench.stalls.worst >= STALL:
            problems.append(f"a loop callback ran {1000 * bench.stalls.worst:.0f} ms")
        for problem in problems:
            found.setdefault(problem.split(":")[0], line)
        if bench.exchanges % 1000 == 0:
            peak[0] = max(peak[0], len(gc.get_objects()))

    one()
    return found, peak[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=20_000)
    parser.add_argument("--huge", type=int, default=5000, help="longest huge word, in letters")
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gntbot-fuzz-") as folder:
        tls = make_tls(Path(folder))
        rapi = FakeRapi(tls.cert_file, tls.key_file, recorded()).start()
        bench = Bench(application(Path(folder) / "index", rapi.url, tls.fingerprint))
        objects_before = len(gc.get_objects())
        started = time.perf_counter()
        try:
            found, peak = campaign(bench, args.examples, args.huge, args.seed)
        finally:
            bench.close()
            rapi.stop()
        took = time.perf_counter() - started
        objects_after = len(gc.get_objects())
    print(f"seed {args.seed}: {bench.exchanges} exchanges in {took:.0f} s ({bench.exchanges / took:.0f}/s)")
    print(f"longest loop callback        {1000 * bench.stalls.worst_ever:8.1f} ms CPU "
          f"({bench.stalls.callbacks} callbacks timed)")
    print(f"longest garbage-collector pause in the loop {1000 * bench.stalls.worst_gc:8.1f} ms CPU "
          f"(objects in the heap: {objects_before} before, at most {peak} during, {objects_after} after; "
          f"the fuzzer's own included)")
    print(f"worst loop lag during an exchange {1000 * bench.worst_lag:8.1f} ms wall clock, with {bench.worst_lag_line}")
    print(f"slowest exchange             {1000 * bench.slowest:8.0f} ms wall clock, with {bench.slowest_line}")
    if not found:
        print("problems: none")
    for problem, line in sorted(found.items()):
        print(f"problem: {problem}\n  first seen with {line}")


if __name__ == "__main__":
    main()
