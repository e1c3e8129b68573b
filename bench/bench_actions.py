"""Confirmed actions on the real lab: how long ``!confirm`` takes to give a job ID,
and what watching one job costs the cluster in requests per minute.

1. ``!confirm`` → job ID: the bot re-reads the cluster (four requests side by
   side: info, nodes, instances, jobs), compares it with the plan, and submits
   the one write. Timed through the real Dispatcher, with the time spent in
   RAPI requests (their ``elapsed``) shown beside it, so the bot's own part is
   the difference.
2. Polling cost: a migration held behind a ``gnt-debug delay`` on its node for
   ``--hold`` seconds, watched as the read user; the watcher's requests are
   counted per minute of job. (``/wait`` would need the write user.)

    python bench/bench_actions.py [--runs N] [--hold SECONDS]

It builds a lab of its own (about 40 s), or uses one left running:
``GNTBOT_ACTION_LAB=STATE:PORT`` (see tests/cluster/labctl.py up).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for folder in (ROOT, ROOT / "tests", ROOT / "tests" / "cluster", ROOT / "tests" / "actions"):
    sys.path.insert(0, str(folder))

import labctl
import requests
from actionkit import ALICE, DOMAIN, Bot, LabView, cluster_table, write_config
from chat.harness import Loop

ACTIONS = """
[actions]
requesters = ["@ops"]
poll_seconds = 1
poll_max_seconds = 10
progress_seconds = 600
"""


def bench_lab(name: str, folder: Path) -> tuple[labctl.Lab | None, bool]:
    """The lab ``GNTBOT_ACTION_LAB=STATE:PORT`` names (reused: True, left running), or a new
    one in ``folder`` (started here: the caller takes it down); None if none can be built."""
    reused = os.environ.get("GNTBOT_ACTION_LAB")
    if reused:
        state, _, port = reused.rpartition(":")
        return labctl.Lab(Path(state), int(port)), True
    reason = labctl.unavailable()
    if reason:
        print(f"{name}: {reason}", file=sys.stderr)
        return None, False
    lab = labctl.Lab(folder / "lab", labctl.free_port())
    print(f"lab up in {lab.up():.0f} s")
    return lab, False


class RapiTimes:
    """Every HTTP request the process makes, as (start, end) on the perf_counter clock."""

    def __init__(self) -> None:
        self.intervals: list[tuple[float, float]] = []
        send = requests.adapters.HTTPAdapter.send

        def timed(adapter, request, *args, **kwargs):
            started = time.perf_counter()
            try:
                return send(adapter, request, *args, **kwargs)
            finally:
                self.intervals.append((started, time.perf_counter()))

        requests.adapters.HTTPAdapter.send = timed

    def waited(self) -> float:
        """Seconds during which at least one request was in flight (overlaps counted once)."""
        total, end = 0.0, float("-inf")
        for start, stop in sorted(self.intervals):
            if stop > end:
                total += stop - max(start, end)
                end = stop
        return total


def confirm_latency(bot: Bot, view: LabView, runs: int) -> None:
    times = RapiTimes()
    totals, bot_side, counts = [], [], []
    for run in range(runs):
        target = view.other_node(view.primary("inst3"))
        token = bot.plan(ALICE, f"!migrate inst3 {target}")
        times.intervals.clear()
        started = time.perf_counter()
        reply = bot.text(ALICE, f"!confirm {token}")
        totals.append(time.perf_counter() - started)
        assert "submitted as job" in reply, reply
        bot_side.append(totals[-1] - times.waited())
        counts.append(len(times.intervals))
        bot.outcome(token)
        print(f"  run {run + 1}: {totals[-1] * 1000:.0f} ms in all, {bot_side[-1] * 1000:.0f} ms of it in the bot, "
              f"{counts[-1]} RAPI requests")
    print(f"!confirm → job ID: median {statistics.median(totals) * 1000:.0f} ms in all (min {min(totals) * 1000:.0f}, "
          f"max {max(totals) * 1000:.0f}) over {runs} runs, of which the bot's own work (no RAPI request in flight) "
          f"median {statistics.median(bot_side) * 1000:.0f} ms; {statistics.median(counts):.0f} RAPI requests "
          "(4 reads side by side, 1 write)")


def polling_cost(bot: Bot, view: LabView, lab: labctl.Lab, hold: float) -> None:
    source = view.primary("inst3")
    target = view.other_node(source)
    service = bot.app.actions
    assert service is not None
    before = service.follow.requests
    token = bot.plan(ALICE, f"!migrate inst3 {target}")
    lab.run("node1", "gnt-debug", "delay", "--submit", "-n", source, str(hold))
    started = time.monotonic()
    reply = bot.text(ALICE, f"!confirm {token}")
    job_id = int(re.search(r"job (\d+)", reply).group(1))
    bot.outcome(token, timeout=hold + 120)
    took = time.monotonic() - started
    while token in service.follow.watching:  # the outcome is said just before the watch ends
        time.sleep(0.05)
    polls = service.follow.requests - before
    job = view.job(job_id)
    ran = job["end_ts"][0] + job["end_ts"][1] / 1e6 - (job["received_ts"][0] + job["received_ts"][1] / 1e6)
    print(f"watching job {job_id} ({ran:.0f} s from queued to done, watched {took:.0f} s): {polls} RAPI requests, "
          f"{polls / (took / 60):.1f} per minute of job (steady state at poll_max_seconds = 10: 6 per minute)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--hold", type=float, default=120.0, help="seconds the watched job waits for its node")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-actions-"))
    lab, reused = bench_lab("bench_actions", folder)
    if lab is None:
        return 1
    loop = Loop()
    try:
        view = LabView(lab)
        view.place("inst3", "node2")
        bot = Bot(write_config(folder, cluster_table("lab", lab, folder), ACTIONS), loop)
        try:
            confirm_latency(bot, view, args.runs)
            polling_cost(bot, view, lab, args.hold)
        finally:
            bot.close()
    finally:
        loop.close()
        if not reused:
            lab.down()
    print(f"(names end in {DOMAIN}; 2 shared cores, other work on the machine)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
