"""!migrate-back waits for DRBD disks in sync: fault injection, since the lab has no DRBD.

The fake RAPI answers as a cluster with DRBD instances would, right after
fsn-node-02 came back from its reboot: web's disk still syncing, or degraded,
or not set up again on the node, or its info job failing. A reboot campaign
of the tooling has remembered the node's primaries (as the bot's watcher
does). Each case is refused with the reason, and nothing is written: the
only requests are reads (and the info jobs, which read users may start).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from actionkit import ALICE, Bot, fake_cluster_table, write_config
from fakerapi import IN_SYNC, Answer, FakeRapi, drbd_instance, info_job, listing

from bot.campaigns import events
from bot.ganeti import model

D = ".example.org"
N1, N2, N3 = (f"fsn-node-0{n}{D}" for n in (1, 2, 3))
WEB, DB = f"web{D}", f"db{D}"


@pytest.fixture
def server(tls) -> Iterator[FakeRapi]:
    fake = FakeRapi(tls.cert_file, tls.key_file).start()
    fake.answer("/2/info", Answer(200, json.dumps({"name": "gnt-fsn", "master": N1, "default_iallocator": "hail",
                                                   "software_version": "3.0.2"}).encode()))
    fake.answer("/2/nodes", Answer(200, json.dumps([{"id": name} for name in (N1, N2, N3)]).encode()))
    nodes = [{"name": name, "role": role, "drained": name == N2, "vm_capable": True, "mtotal": 65536,
              "mfree": 60000} for name, role in ((N1, "M"), (N2, "D"), (N3, "C"))]
    fake.answer("/2/query/node", Answer(200, listing(model.NODE_FIELDS, nodes)))
    fake.answer("/2/query/instance", Answer(200, listing(model.INSTANCE_FIELDS, [drbd_instance(WEB, N3, N2), drbd_instance(DB, N3, N2)])))
    fake.answer("/2/query/job", Answer(200, listing(model.JOB_FIELDS, [])))
    fake.answer(f"/2/instances/{WEB}/info", Answer(200, b"900"))
    fake.answer(f"/2/instances/{DB}/info", Answer(200, b"901"))
    fake.answer("/2/jobs/901", Answer(200, info_job(DB, IN_SYNC)))
    yield fake
    fake.stop()


@pytest.fixture
def bot(server, tls, tmp_path, loop) -> Iterator[Bot]:
    cluster = fake_cluster_table(server.url, tls.fingerprint, tmp_path, timeout=3)
    actions = ('[actions]\nenabled = ["migrate-back"]\nrequesters = ["@ops"]\n'
               '[campaigns]\nrooms = ["irc:#ops"]\nwatch_seconds = 0\n')
    running = Bot(write_config(tmp_path, cluster, actions), loop, campaigns=True)
    service = running.app.campaigns.service
    assert service is not None

    async def tooling_campaign() -> None:  # what the reboot script and the bot's watcher leave behind
        for event in ({"type": "start", "reason": "kernel", "hosts": [N2], "owner": "anarcat", "mode": "empty"},
                      {"type": "host", "host": N2, "step": "down"}, {"type": "host", "host": N2, "step": "up"}):
            await service.submit(events.parse({"id": event["type"] + event.get("step", ""), "campaign": "ovs-7",
                                               "time": 1_800_000_000.0, **event}), "reboot-script")
        service.store.record_primaries("ovs-7", N2, "gnt-fsn", [WEB, DB], 1_800_000_000.0)

    running.loop.run(tooling_campaign())
    yield running
    running.close()


@pytest.mark.parametrize(("job", "refusal"), [
    (info_job(WEB, ["/dev/drbd0", 147, 0, 42.5, 180, True, 1]), "web disk/0 syncing (42%)"),
    (info_job(WEB, ["/dev/drbd0", 147, 0, None, None, True, 1]), "web disk/0 degraded"),
    (info_job(WEB, None), "web disk/0 is not active on its secondary"),
])
def test_disks_syncing_degraded_or_not_set_up_again_refuse_the_migrate_back(bot, server, job, refusal):
    server.answer("/2/jobs/900", Answer(200, job))
    reply = bot.text(ALICE, "!migrate-back fsn-node-02")
    assert reply == (f"not planned: not all disks are in sync: {refusal}. Migrating now would fail (Ganeti aborts "
                     "when a disk is degraded on the target). Wait for the resync (the ganeti-watcher sets the disks "
                     "up within minutes of a reboot; gnt-cluster verify-disks does it at once) and ask again")
    assert {seen.method for seen in server.seen} == {"GET"}  # nothing was written
    info = server.requests_for(f"/2/instances/{WEB}/info")
    assert len(info) == 1 and info[0].query["static"] == ["0"]  # the disks' live status, not the configuration's


def test_an_info_job_that_fails_refuses_too_and_in_sync_disks_make_a_plan(bot, server):
    server.answer("/2/jobs/900", Answer(200, info_job(WEB, None, status="error")))
    assert bot.text(ALICE, "!migrate-back fsn-node-02") == (
        f"not planned: the cluster did not say whether the disks of {WEB} are in sync (their info job failed or "
        "took too long): ask again")
    server.answer("/2/jobs/900", Answer(200, info_job(WEB, IN_SYNC)))
    plan = bot.text(ALICE, "!migrate-back fsn-node-02")
    assert plan.startswith("migrate-back fsn-node-02 @gnt-fsn: 2 instances come back: db (from fsn-node-03, 2.0G), "
                           "web (from fsn-node-03, 2.0G); fsn-node-02 is undrained first; remembered by campaign ovs-7; ")
    assert {seen.method for seen in server.seen} == {"GET"}
