"""Bot-side cost of the cluster commands on a large cluster: 80 nodes, 2,000 instances.

The cluster is synthetic but shaped like the lab's recorded answers
(tests/cluster/fixtures: the same query fields, cell format and value kinds).
The RAPI round trip is left out: a transport adapter (tests/cluster/replay.py)
hands the prepared bodies to the real client, so what is timed is the bot's
own work from the chat line to the reply (reading and decoding the body,
checking and building the model, filtering, N+1, formatting, paging),
through the real Dispatcher. It also counts the requests each command makes.

    python bench/bench_cluster.py [--runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "cluster")]

from replay import SETTINGS, replaying

from bot.commands.cluster import ClusterCommands
from bot.core.access import AccessPolicy
from bot.core.dispatch import Dispatcher
from bot.core.message import Identity, Message
from bot.core.paging import Pager
from bot.core.registry import Registry
from bot.ganeti.cluster import Cluster
from bot.ganeti.clusters import Clusters

FIXTURES = ROOT / "tests" / "cluster" / "fixtures"
NODES, INSTANCES = 80, 2000
GOAL_MS = 100
COMMANDS = ("!instances", "!instances fsn-node-07 running", "!capacity", "!movable fsn-node-07")


def synthetic_bodies(seed: int = 4) -> dict[str, bytes]:
    """Query answers for a big cluster, cell for cell like the recorded ones."""
    rng = random.Random(seed)
    nodes_body = json.loads((FIXTURES / "nodes.json").read_text())
    instances_body = json.loads((FIXTURES / "instances.json").read_text())
    node_fields = [field["name"] for field in nodes_body["fields"]]
    instance_fields = [field["name"] for field in instances_body["fields"]]
    names = [f"fsn-node-{n:02d}.example.org" for n in range(1, NODES + 1)]

    instance_rows, placed = [], {name: [0, 0, 0] for name in names}  # primaries, secondaries, memory
    for number in range(INSTANCES):
        template = copy.deepcopy(instances_body["data"][number % len(instances_body["data"])])
        row = dict(zip(instance_fields, template, strict=True))
        pnode, snode = rng.sample(names, 2)
        memory = rng.choice((1024, 2048, 4096, 8192, 16384))
        running = rng.random() > 0.05
        drbd = rng.random() > 0.1
        row.update({
            "name": [0, f"vm-{number:04d}.example.org"], "pnode": [0, pnode], "snodes": [0, [snode] if drbd else []],
            "status": [0, "running" if running else "ADMIN_down"], "admin_state": [0, "up" if running else "down"],
            "be/maxmem": [0, memory], "be/minmem": [0, memory], "be/vcpus": [0, rng.choice((1, 2, 4, 8))],
            "oper_ram": [0, memory if running else None], "disk_template": [0, "drbd" if drbd else "plain"],
            "disk_usage": [0, rng.choice((10240, 20480, 51200, 102400)) + (128 if drbd else 0)],
            "tags": [0, rng.sample(["env:prod", "env:staging", "role:web", "role:db", "backup:daily"], 2)],
        })
        placed[pnode][0] += 1
        placed[pnode][2] += memory if running else 0
        if drbd:
            placed[snode][1] += 1
        instance_rows.append([row[field] for field in instance_fields])

    node_rows = []
    for index, name in enumerate(names):
        template = copy.deepcopy(nodes_body["data"][index % len(nodes_body["data"])])
        row = dict(zip(node_fields, template, strict=True))
        primaries, secondaries, used = placed[name]
        total = 131072 if index % 10 == 9 else 262144  # some small nodes, so that N+1 fails somewhere
        row.update({
            "name": [0, name], "role": [0, "M" if index == 0 else "C" if index < 10 else "R"],
            "mtotal": [0, total], "mnode": [0, 4096], "mfree": [0, max(0, total - 4096 - used)],
            "dtotal": [0, 7340032], "dfree": [0, 7340032 - 51200 * (primaries + secondaries)],
            "pinst_cnt": [0, primaries], "sinst_cnt": [0, secondaries],
        })
        node_rows.append([row[field] for field in node_fields])

    return {
        "/2/query/instance": json.dumps({"fields": instances_body["fields"], "data": instance_rows}).encode(),
        "/2/query/node": json.dumps({"fields": nodes_body["fields"], "data": node_rows}).encode(),
        "/2/nodes": json.dumps([{"id": name, "uri": f"/2/nodes/{name}"} for name in names]).encode(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    bodies = synthetic_bodies()
    client, replay = replaying(bodies)  # cache_seconds=0: every run decodes and parses the listings again
    registry = Registry()
    ClusterCommands(Clusters([Cluster(SETTINGS, client)]), "!").register(registry)
    dispatcher = Dispatcher(registry, AccessPolicy.of((), rooms=[("irc", "#bench")]), Pager(5))  # a team room reads
    sender = Identity("irc", "bench", account="bench")

    print(f"synthetic cluster: {NODES} nodes, {INSTANCES} instances; bodies: "
          + ", ".join(f"{path} {len(body) / 1024:.0f} KiB" for path, body in bodies.items()))
    # cpu: the process's CPU time (all threads), steadier than wall time on a shared machine
    print(f"{'command':32} {'median':>9} {'min':>9} {'max':>9} {'cpu':>9}  requests  first reply line")

    async def measure() -> None:
        # one event loop for all runs, as in the bot
        for command in COMMANDS:
            timings, cpu, first = [], [], ""
            for _ in range(args.runs):
                replay.requests.clear()
                started, cpu_started = time.perf_counter(), time.process_time()
                reply = await dispatcher.handle(Message(command, sender, room="#bench"))
                timings.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - cpu_started) * 1000)
                first = reply.lines[0]
            asked = ", ".join(replay.requests)
            print(f"{command:32} {statistics.median(timings):7.1f}ms {min(timings):7.1f}ms {max(timings):7.1f}ms"
                  f" {statistics.median(cpu):7.1f}ms"
                  f"  {len(replay.requests)} ({asked})  {first[:60]}")

    asyncio.run(measure())
    print(f"goal: at most {GOAL_MS} ms each, one request per listing")
    return 0


if __name__ == "__main__":
    sys.exit(main())
