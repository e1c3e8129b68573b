"""Speed and memory of the knowledge base, in-process.

Measures, on a collection of runbooks (default: ../shared/corpus):
- a full index build from nothing (parse + whoosh write), and the ranker load;
- the re-index after one file changed (the incremental path a ``git pull`` takes);
- search latency, p50 and p99, over the project's question set;
- resident memory once everything is loaded.
Prints figures; asserts nothing.

    python bench/bench_knowledge.py [--runbooks DIR] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.knowledge.base import KnowledgeBase  # noqa: E402
from bot.knowledge.index import RunbookIndex, runbook_files  # noqa: E402


def questions() -> list[str]:
    found = []
    for path in sorted((ROOT / "tests" / "questions").glob("*.jsonl")):
        found += [json.loads(line)["q"] for line in path.read_text().splitlines() if line.strip()]
    return found


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runbooks", type=Path, default=ROOT.parent / "shared" / "corpus")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if not args.runbooks.is_dir():
        sys.exit(f"{args.runbooks} is absent: pass --runbooks DIR")

    with tempfile.TemporaryDirectory() as scratch:
        source = Path(scratch, "runbooks")
        shutil.copytree(args.runbooks, source)
        files = list(runbook_files(source))
        builds, loads, one = [], [], []
        for attempt in range(args.repeat):
            index_dir = Path(scratch, f"index{attempt}")
            started = time.perf_counter()
            RunbookIndex(source, index_dir).update()
            builds.append(time.perf_counter() - started)
            started = time.perf_counter()
            knowledge = KnowledgeBase(source, index_dir)
            knowledge.refresh()
            loads.append(time.perf_counter() - started)
            target = files[attempt % len(files)]
            target.write_text(target.read_text() + f"\n\n## Benchmark note {attempt}\n\nChanged for the benchmark.\n")
            started = time.perf_counter()
            report = RunbookIndex(source, index_dir).update()
            one.append(time.perf_counter() - started)
            assert report.changed == [target.relative_to(source).as_posix()], report

        asked = questions()
        latencies = []
        for _ in range(args.repeat):
            for question in asked:
                started = time.perf_counter()
                knowledge.search(question, 5)
                latencies.append(time.perf_counter() - started)
        sections = knowledge.index.section_count()

    ms = 1000
    print(f"collection: {args.runbooks} ({len(files)} files, {sections} sections)")
    print(f"full index build:             median {statistics.median(builds) * ms:.0f} ms, "
          f"min {min(builds) * ms:.0f} ms over {args.repeat}")
    print(f"ranker load from the index:   median {statistics.median(loads) * ms:.0f} ms")
    print(f"one changed file re-index:    median {statistics.median(one) * ms:.0f} ms, max {max(one) * ms:.0f} ms")
    print(f"search ({len(latencies)} queries):      p50 {percentile(latencies, 0.5) * ms:.2f} ms, "
          f"p99 {percentile(latencies, 0.99) * ms:.2f} ms, max {max(latencies) * ms:.2f} ms")
    print(f"peak resident memory:         {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
