"""A 19-host, 400-instance reboot campaign at high speed: lines per host, CPU per event, RAPI load.

The campaign service, its pacer, the store (SQLite on disk) and the cluster
watcher are the real ones; the tooling's events arrive as fast as a script
could send them, and the cluster is simulated at the RAPI client (each call
counted as the request it would be: the watcher's load does not depend on
how fast RAPI answers). Times are scaled: 1 s here stands for 1 min.

    python bench/bench_campaigns.py

Prints figures, asserts nothing.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.campaigns import events
from bot.campaigns.service import CampaignService, wait_idle
from bot.campaigns.settings import CampaignSettings
from bot.campaigns.store import CampaignStore
from bot.campaigns.watcher import Watcher
from bot.core.announce import Announcer
from bot.ganeti.cluster import Cluster
from bot.ganeti.metrics import RapiMeter
from bot.ganeti.settings import ClusterSettings, Credentials
from bot.state.store import Store

HOSTS = [f"fsn-node-{n:02d}.torproject.org" for n in range(1, 20)]
INSTANCES = 400
SCALE = 60.0  # 1 s of benchmark = 1 min of campaign
WATCH = 15.0 / SCALE  # the default watch_seconds, scaled
_ids = itertools.count()


class SimulatedRapi:
    """Answers the watcher's calls from a model of the cluster; counts every call as one request."""

    def __init__(self) -> None:
        self.meter = RapiMeter.detached("gnt-fsn")  # the listing cache reports hits and misses to it
        self.requests: Counter[str] = Counter()
        self.primaries = {host: [f"vm-{i:03d}.torproject.org" for i in range(INSTANCES) if i % len(HOSTS) == n]
                          for n, host in enumerate(HOSTS)}
        self.boot = {host: f"boot-{host}-1" for host in HOSTS}
        self.down: set[str] = set()
        self.jobs: list[dict[str, Any]] = []

    def query(self, resource: str, fields: Any) -> list[dict[str, Any]]:
        self.requests[f"query {resource}"] += 1
        if resource == "node":
            return [{"name": h, "bootid": None if h in self.down else self.boot[h], "offline": False, "role": "C",
                     "pinst_list": self.primaries[h], "mtotal": 131072, "mfree": 65536, "vm_capable": True}
                    for h in HOSTS]
        if resource == "instance":
            return [{"name": name, "pnode": host, "snodes": [HOSTS[(n + 1) % len(HOSTS)]], "admin_state": "up",
                     "status": "running", "disk_template": "drbd", "be/maxmem": 2048, "be/minmem": 2048,
                     "be/auto_balance": True}
                    for n, host in enumerate(HOSTS) for name in self.primaries[host]]
        return list(self.jobs)

    def job(self, job_id: int) -> dict[str, Any]:
        self.requests["job"] += 1
        job = next(job for job in self.jobs if job["id"] == job_id)
        return {**job, "opresult": job.get("result"), "oplog": [], "opstatus": [job["status"]]}

    def names(self, collection: str) -> list[str]:
        self.requests[f"names {collection}"] += 1
        return list(HOSTS)

    def get(self, path: str, params: Any = None, **_: Any) -> Any:
        """``/2/instances/NAME/info``: an info job whose DRBD disks are in sync."""
        self.requests["instance info"] += 1
        name = path.split("/")[3]
        in_sync = ["/dev/drbd0", 147, 0, None, None, False, 1]
        job_id = next(_ids) + 1000
        self.jobs.append({"id": job_id, "status": "success", "summary": [f"INSTANCE_QUERY_DATA({name})"],
                          "ops": [], "received_ts": [0, 0],
                          "result": [{name: {"disks": [{"dev_type": "drbd", "pstatus": in_sync, "sstatus": in_sync}]}}]})
        return job_id

    def info(self) -> dict[str, Any]:
        self.requests["info"] += 1
        return {"master": HOSTS[0]}

    def migrate(self, host: str, campaign: str, now: float) -> None:
        parent = next(_ids) + 1000
        children = [parent + 1 + i for i in range(len(self.primaries[host]))]
        ops = [{"reason": [["gnt:client:gnt-node", f"kernel upgrade, campaign {campaign}", 0]]}]
        self.jobs.append({"id": parent, "status": "success", "summary": [f"NODE_MIGRATE({host})"], "ops": ops,
                          "received_ts": [now, 0], "result": [{"jobs": [[True, c] for c in children]}]})
        self.jobs += [{"id": c, "status": "success", "summary": [f"INSTANCE_MIGRATE({name})"], "ops": ops,
                       "received_ts": [now, 0]} for c, name in zip(children, self.primaries[host], strict=True)]
        for _ in children:
            next(_ids)


def event(kind: str, campaign: str, when: float, **fields: Any) -> events.Event:
    return events.parse({"type": kind, "id": f"b{next(_ids)}", "campaign": campaign, "time": when, **fields})


async def campaign(directory: Path, pause: float, settings: CampaignSettings, label: str) -> None:
    rapi = SimulatedRapi()
    lines: list[str] = []
    announcer = Announcer()
    announcer.attach("irc", lambda target, said: lines.extend(said))
    cid = f"bench-{label}"
    with Store.open(directory / label) as store:
        service = CampaignService(CampaignStore(store), announcer, settings)
        cluster = Cluster(ClusterSettings("gnt-fsn", "https://fsn.example.org:5080", Credentials("r", "p"),
                                          fingerprint="0" * 64, cache_seconds=5 / SCALE), client=rapi)  # type: ignore[arg-type]
        watcher = Watcher([cluster], service, settings)
        watcher.attach()
        await service.start()
        submitted = 0
        cpu = wall = 0.0
        began = time.time()

        async def send(kind: str, **fields: Any) -> None:
            nonlocal submitted, cpu, wall
            start_cpu, start_wall = time.process_time(), time.perf_counter()
            await service.submit(event(kind, cid, time.time(), **fields), "reboot-script")
            cpu += time.process_time() - start_cpu
            wall += time.perf_counter() - start_wall
            submitted += 1

        await send("start", reason="kernel upgrade", hosts=HOSTS, owner="anarcat", mode="migrate-back", delay_up=300)
        for host in HOSTS:
            count = len(rapi.primaries[host])
            await send("host", host=host, step="need-check", needed=True, detail="kernel")
            await send("host", host=host, step="emptying", count=count, instances=rapi.primaries[host])
            rapi.migrate(host, cid, time.time())
            await asyncio.sleep(pause)
            await send("host", host=host, step="empty")
            await send("host", host=host, step="shutting-down")
            rapi.down.add(host)
            await asyncio.sleep(pause)
            await send("host", host=host, step="down")
            await asyncio.sleep(pause)
            rapi.down.discard(host)
            rapi.boot[host] = f"boot-{host}-2"
            await asyncio.sleep(pause)
            await send("host", host=host, step="up")
            await send("host", host=host, step="instances-back", count=count)
            await send("host", host=host, step="done")
        await send("end", exit_code=0)
        await wait_idle(service, 60)
        elapsed = time.time() - began
        await watcher.close()
        await service.close()
    per_minute = sum(rapi.requests.values()) / (elapsed * SCALE / 60) if elapsed else 0.0
    host_lines = [line for line in lines if "fsn-node-" in line.split("] ", 1)[-1][:12]]
    print(f"{label}: {len(lines)} lines for {len(HOSTS)} hosts ({len(host_lines) / len(HOSTS):.2f} per host, "
          f"START and END apart), {submitted} events, CPU {1000 * cpu / submitted:.2f} ms per event "
          f"(wall {1000 * wall / submitted:.2f} ms)")
    print(f"  watcher: {sum(rapi.requests.values())} RAPI requests over a {elapsed * SCALE / 60:.0f}-minute "
          f"campaign (scaled): {per_minute:.1f} per minute; by kind: {dict(rapi.requests)}")


def main() -> None:
    base = CampaignSettings(rooms=("irc:#tor-project",), watch_seconds=WATCH, silence_seconds=0,
                            line_interval=2.0 / SCALE, hold_seconds=5.0 / SCALE)
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        # each phase of a host lasts about a minute (scaled): milestones are said apart
        asyncio.run(campaign(directory, 1.0, base, "paced"))
        # a host's events all at once (the tooling replaying its queue): one line per host
        asyncio.run(campaign(directory, 0.0, replace(base, watch_seconds=0.02), "burst"))


if __name__ == "__main__":
    main()
