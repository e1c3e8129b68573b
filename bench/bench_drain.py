"""A bot-driven reboot on the real lab, timed: !drain, the node "rebooted", !migrate-back.

Per cycle (node3 holds inst1 and inst5, running, and inst4, stopped):

- ``!confirm`` of the drain → its job IDs: the re-read of the cluster, the two
  writes (node-migrate, then the drained flag waiting for it), the campaign
  started; with the time no RAPI request was in flight (the bot's own part);
- the drain's jobs, from the confirmation to the outcome line;
- the reboot (every daemon of node3 stopped, then started with a new boot id):
  from the boot to the campaign's "back up" line, at ``watch_seconds``;
- ``!migrate-back``: the plan's RAPI requests and time, the confirmation → job
  IDs, then to the outcome line;
- what the channel heard: the campaign's lines and the actions' lines, and every
  RAPI request the bot made during the cycle, per minute.

    python bench/bench_drain.py [--cycles N] [--watch SECONDS]

It builds a lab of its own (about 40 s), or uses one left running:
``GNTBOT_ACTION_LAB=STATE:PORT`` (see tests/cluster/labctl.py up).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for folder in (ROOT, ROOT / "bench", ROOT / "tests", ROOT / "tests" / "cluster", ROOT / "tests" / "actions"):
    sys.path.insert(0, str(folder))

import labctl
from actionkit import ALICE, DOMAIN, Bot, LabView, cluster_table, write_config
from bench_actions import RapiTimes, bench_lab
from chat.harness import Loop

ACTIONS = """
[actions]
enabled = ["drain", "migrate-back"]
requesters = ["@ops"]
poll_seconds = 1
poll_max_seconds = 10
[campaigns]
line_interval = 2
hold_seconds = 5
watch_seconds = {watch}
silence_seconds = 0
"""


def cycle(bot: Bot, lab: labctl.Lab, times: RapiTimes) -> dict[str, float]:
    figures: dict[str, float] = {}
    said_before, began, requests = len(bot.said), time.perf_counter(), 0
    times.intervals.clear()
    token = bot.plan(ALICE, "!drain node3")
    requests += len(times.intervals)
    times.intervals.clear()
    started = time.perf_counter()
    reply = bot.text(ALICE, f"!confirm {token}")
    figures["drain confirm ms"] = (time.perf_counter() - started) * 1000
    figures["drain confirm bot ms"] = figures["drain confirm ms"] - times.waited() * 1000
    assert "submitted as jobs" in reply, reply
    bot.outcome(token)
    figures["drain jobs s"] = time.perf_counter() - started

    lab.shut_down("node3")
    bot.wait_for(r"node3.ganeti.test: .*down, waiting", timeout=120, since=said_before)
    lab.boot("node3")
    booted = time.perf_counter()
    bot.wait_for(r"node3.ganeti.test: back up after", timeout=120, since=said_before)
    figures["seen back s"] = time.perf_counter() - booted

    requests += len(times.intervals)
    times.intervals.clear()
    started = time.perf_counter()
    back = bot.plan(ALICE, "!migrate-back node3")
    figures["migrate-back plan ms"] = (time.perf_counter() - started) * 1000
    figures["migrate-back plan requests"] = len(times.intervals)
    started = time.perf_counter()
    assert "submitted as jobs" in bot.text(ALICE, f"!confirm {back}")
    figures["migrate-back confirm ms"] = (time.perf_counter() - started) * 1000
    bot.outcome(back)
    figures["migrate-back jobs s"] = time.perf_counter() - started
    bot.wait_for(rf"END \(PASS\) campaign drain-node3-{token}", timeout=60, since=said_before)
    requests += len(times.intervals)

    heard = [said.text for said in bot.said[said_before:]]
    figures["campaign lines"] = sum(line.startswith("[reboot") for line in heard)
    figures["action lines"] = len(heard) - figures["campaign lines"]
    minutes = (time.perf_counter() - began) / 60
    figures["cycle min"] = minutes
    figures["RAPI requests/min"] = requests / minutes
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--watch", type=float, default=15.0, help="[campaigns] watch_seconds (default 15)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-drain-"))
    lab, reused = bench_lab("bench_drain", folder)
    if lab is None:
        return 1
    loop = Loop()
    times = RapiTimes()
    try:
        view = LabView(lab)
        view.place("inst3", "node2")
        view.place("inst1", "node3")
        view.place("inst5", "node3")
        view.place_stopped("inst4", "node3")
        config = write_config(folder, cluster_table("lab", lab, folder), ACTIONS.format(watch=args.watch))
        bot = Bot(config, loop, campaigns=True)
        runs: list[dict[str, float]] = []
        try:
            for number in range(args.cycles):
                runs.append(cycle(bot, lab, times))
                print(f"  cycle {number + 1}: " + ", ".join(f"{key} {value:.1f}" for key, value in runs[-1].items()))
        finally:
            bot.close()
            view.place("inst1", "node1")
    finally:
        loop.close()
        if not reused:
            lab.down()
    print(f"median over {len(runs)} cycles (watch_seconds = {args.watch:g}):")
    for key in runs[0]:
        values = [run[key] for run in runs]
        print(f"  {key}: {statistics.median(values):.1f} (min {min(values):.1f}, max {max(values):.1f})")
    print(f"(names end in {DOMAIN}; 2 shared cores, other work on the machine)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
