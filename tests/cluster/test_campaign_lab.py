"""A campaign over real Ganeti nodes: the bot watches the lab while a node is emptied and "rebooted".

As the team's script would, the test runs ``gnt-node migrate`` on the master
with a reason naming the campaign; node3 holds inst5 (sharedfile, running:
it can move) and inst4 (diskless, stopped: its child job fails). The node's
"reboot" is its node daemon stopped and started again (the lab's nodes share
the host's kernel, so its boot id stays the same, which the bot notices).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

import labctl
import pytest

from bot.campaigns import events
from bot.campaigns.service import CampaignService, wait_idle
from bot.campaigns.settings import CampaignSettings
from bot.campaigns.store import CampaignStore
from bot.campaigns.watcher import Watcher
from bot.core.announce import Announcer
from bot.ganeti.cluster import Cluster
from bot.state.store import Store

pytestmark = pytest.mark.lab

NODE = "node3.ganeti.test"
CAMPAIGN = "lab-reboot-7"
SETTINGS = CampaignSettings(rooms=("irc:#ops",), line_interval=0, hold_seconds=0, silence_seconds=0,
                            watch_seconds=0.5)


def event(kind: str, **fields: object) -> events.Event:
    return events.parse({"type": kind, "id": f"{kind}-{time.monotonic_ns()}", "campaign": CAMPAIGN,
                         "time": time.time(), **fields})


async def until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout} s")
        await asyncio.sleep(0.2)


def test_the_bot_sees_the_node_migrate_children_the_node_go_down_and_come_back(lab, lab_settings, tmp_path):
    heard: list[str] = []

    def said(fragment: str) -> bool:
        return any(fragment in line for line in heard)

    async def scenario() -> tuple[str, ...]:
        with Store.open(tmp_path) as store:
            announcer = Announcer()
            announcer.attach("irc", lambda target, lines: heard.extend(lines))
            service = CampaignService(CampaignStore(store), announcer, SETTINGS)
            watcher = Watcher([Cluster(lab_settings)], service, SETTINGS)
            watcher.attach()
            await service.start()
            try:
                await service.submit(event("start", reason="lab kernel", hosts=[NODE, "node2.ganeti.test"],
                                           owner="alice", mode="empty", delay_up=120), "reboot-script")
                await service.submit(event("host", host=NODE, step="emptying", count=1), "reboot-script")
                await until(lambda: said("gnt-node migrate will report"), 30, "preflight warning")
                migrate = asyncio.to_thread(lab.run, "node1", "gnt-node", "migrate", "-f", "--reason",
                                            f"rebooting for kernel upgrades, campaign {CAMPAIGN}", NODE, timeout=120)
                with pytest.raises(labctl.LabError, match="please use failover"):
                    await migrate  # inst4's child fails, as with a stopped DRBD instance on a real cluster
                await until(lambda: said("could not migrate"), 60, "the failed child")
                await asyncio.to_thread(lab.stop_noded, "node3")
                await until(lambda: said("down, waiting"), 30, "the node going down")
                await asyncio.to_thread(lab.start_noded, "node3")
                await until(lambda: said("boot id did not change"), 30, "the node coming back")
                await service.submit(event("host", host=NODE, step="done"), "reboot-script")
                await service.submit(event("end", exit_code=0), "reboot-script")
                await wait_idle(service, 10)
                return service.store.primaries(CAMPAIGN, NODE)
            finally:
                await watcher.close()
                await service.close()
                await asyncio.to_thread(restore, lab)

    primaries = asyncio.run(scenario())
    assert primaries == ("inst4.ganeti.test", "inst5.ganeti.test")  # recorded before they moved
    lines = [line.split("] ", 1)[1] for line in heard[1:]]
    assert lines[0] == "node3: migrating 1 instance off"
    assert lines[1] == ("warning: node3: gnt-node migrate will report an error for inst4 (ADMIN_down): not running, "
                        "it stays here and reboots with the node")
    failed = [line for line in lines if "could not migrate" in line]
    assert failed == [next(line for line in lines if line.startswith("warning: node3: inst4 could not migrate: "
                                                                      "OpPrereqError: "))]
    assert "[wrong_state]" in failed[0]
    assert "node3: 1 instance migrated off, down, waiting for it to come back (up to 2m00s)" in lines
    assert ("warning: node3: its node daemon answers again, but its boot id did not change: it was not rebooted"
            in lines)
    assert lines[-2].startswith("node3 done in ") and lines[-2].endswith("1 instance migrated off — ETA "
                                                                         + lines[-2].split("ETA ")[1])
    assert heard[-1].startswith("[reboot] END (FAIL) campaign lab-reboot-7")  # node2 was never done


def restore(lab: labctl.Lab) -> None:
    """Put inst5 back on node3 for the other lab tests, whatever happened."""
    with contextlib.suppress(labctl.LabError):  # running already, unless the test stopped half-way
        lab.start_noded("node3")
    where = lab.run("node1", "gnt-instance", "list", "--no-headers", "-o", "pnode", "inst5.ganeti.test").strip()
    if where != NODE:
        lab.run("node1", "gnt-instance", "migrate", "-f", "-n", NODE, "inst5.ganeti.test", timeout=120)


def test_the_reboot_plan_of_the_lab(lab_settings):
    from clusterkit import Chat

    assert Chat(lab_settings).say("!reboot-plan") == [
        ("lab: 3 node(s) in 2 reboot group(s) (no two nodes of a group share an instance; the master last); "
        "no estimate: no past campaign has been recorded by this bot"),
        "group 1 (2): node2, node3 — N+1 ok",
        ("group 2 (1): node1 (master: fail it over first, gnt-cluster master-failover on a candidate) — N+1 ok; "
        "down with their node: inst2"),
    ]
    assert Chat(lab_settings).say("!reboot-plan node3 @lab") == [
        ("lab: 1 node(s) in 1 reboot group(s) (no two nodes of a group share an instance; the master last); "
        "no estimate: no past campaign has been recorded by this bot"),
        "group 1 (1): node3 — N+1 ok",
    ]
