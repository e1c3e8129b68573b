"""What the channel hears from the watcher before a migrate-back: disks not in sync, N+1 short.

The lab (tests/cluster/labctl.py) has no DRBD, so the cluster is the fault-injection
server tests/cluster/fakerapi.py, answering as a cluster with DRBD instances would.
The real watcher, campaign service and store follow a migrate-back reboot of
fsn-node-02 the way the tooling runs one: the watcher reads web and db as the node's
primaries, the tooling empties the node (web and db now run on fsn-node-03), the
node's live data goes away (down) and comes back with a new boot id (up). Just
then, before the tooling migrates the instances back, the watcher asks each
remembered DRBD instance's live disk status and the cluster's N+1, and says what
would make the migrations fail; a status the cluster did not give is not taken
for "in sync", and a look that RAPI failed is taken again. A reboot no round saw
(between two looks, or while the bot was restarting) is told by the node's new
boot id, once.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from clusterkit import Tls, make_tls, pinned
from fakerapi import IN_SYNC, Answer, FakeRapi, drbd_instance, info_job, listing

from bot.campaigns import watcher as watching
from bot.campaigns.service import CampaignService, wait_idle
from bot.campaigns.settings import CampaignSettings
from bot.campaigns.state import Phase
from bot.campaigns.store import CampaignStore
from bot.campaigns.watcher import BACK_CHECK_TRIES, Watcher
from bot.core.announce import Announcer
from bot.ganeti import model
from bot.ganeti.cluster import Cluster
from bot.state.store import Store

from .kit import start, step

D = ".example.org"
N1, N2, N3 = (f"fsn-node-0{n}{D}" for n in (1, 2, 3))
WEB, DB, MAIL = f"web{D}", f"db{D}", f"mail{D}"
CAMPAIGN = "ovs-2026-12"
SETTINGS = CampaignSettings(rooms=("irc:#ops",), line_interval=0, hold_seconds=0, silence_seconds=0,
                            watch_seconds=0.05)
# One node listing serves both the watcher's own query and the cluster's node listing.
NODE_FIELDS = tuple(dict.fromkeys(model.NODE_FIELDS + watching.NODE_FIELDS))
SYNCING = ["/dev/drbd0", 147, 0, 42.5, 180, True, 1]
DEGRADED = ["/dev/drbd0", 147, 0, None, None, True, 1]
ADVICE = " — wait for the sync (gnt-cluster verify-disks), or the migrations will fail"


def node(name: str, role: str = "C", mfree: int = 60000, bootid: str | None = "boot-1",
         primaries: tuple[str, ...] = ()) -> dict[str, object]:
    """A node as RAPI lists it; ``bootid`` None: its node daemon does not answer (no live data)."""
    live = bootid is not None
    return {"name": name, "role": role, "offline": False, "drained": False, "vm_capable": True,
            "mtotal": 65536 if live else None, "mfree": mfree if live else None, "bootid": bootid,
            "pinst_list": list(primaries)}


def nodes(*rows: dict[str, object]) -> Answer:
    return Answer(200, listing(NODE_FIELDS, list(rows)))


def instances(*rows: dict[str, object]) -> Answer:
    return Answer(200, listing(model.INSTANCE_FIELDS, list(rows)))


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    return make_tls(tmp_path_factory.mktemp("campaign-tls"))


@pytest.fixture
def server(tls: Tls) -> Iterator[FakeRapi]:
    """fsn-node-02 holds web and db (their secondary: fsn-node-03); fsn-node-01, the master,
    holds mail (secondary: fsn-node-03 too)."""
    fake = FakeRapi(tls.cert_file, tls.key_file).start()
    fake.answer("/2/nodes", Answer(200, json.dumps([{"id": name} for name in (N1, N2, N3)]).encode()))
    fake.answer("/2/query/job", Answer(200, listing(watching.JOB_FIELDS, [])))
    fake.answer("/2/query/node", nodes(node(N1, "M", primaries=(MAIL,)), node(N2, primaries=(DB, WEB)), node(N3)))
    fake.answer("/2/query/instance", instances(drbd_instance(WEB, N2, N3), drbd_instance(DB, N2, N3),
                                               drbd_instance(MAIL, N1, N3, memory=8192)))
    for number, name in enumerate((WEB, DB)):
        fake.answer(f"/2/instances/{name}/info", Answer(200, str(900 + number).encode()))
        fake.answer(f"/2/jobs/{900 + number}", Answer(200, info_job(name, IN_SYNC)))
    yield fake
    fake.stop()


def rebooted(server: FakeRapi, n3_free: int = 50000) -> None:
    """fsn-node-02 answers again with a new boot id, empty; web and db run on fsn-node-03."""
    server.answer("/2/query/node", nodes(node(N1, "M", primaries=(MAIL,)), node(N2, bootid="boot-2"),
                                         node(N3, mfree=n3_free, primaries=(DB, WEB))))
    server.answer("/2/query/instance", instances(drbd_instance(WEB, N3, N2), drbd_instance(DB, N3, N2),
                                                 drbd_instance(MAIL, N1, N3, memory=8192)))


async def until(check: Callable[[], bool], what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout} s")
        await asyncio.sleep(0.02)


def rounds(server: FakeRapi) -> int:
    """How many rounds the watcher has begun: each starts with its own node query."""
    own = ",".join(watching.NODE_FIELDS)
    return sum(seen.query.get("fields") == [own] for seen in server.requests_for("/2/query/node"))


def warnings_of_a_reboot(server: FakeRapi, tls: Tls, tmp_path: Path, back: Callable[[], None],
                         rounds_up: int = 1, clock: Callable[[], float] = time.monotonic) -> list[str]:
    """Follow fsn-node-02's reboot; ``back()`` sets what the cluster says once it answers
    again. The warnings the channel heard once the watcher has been through ``rounds_up``
    rounds since it saw the node up (the first looks before the migrate-back). ``clock``:
    the cluster's, which keeps a RAPI failure for a few seconds."""
    heard: list[str] = []

    async def scenario() -> None:
        with Store.open(tmp_path) as store:
            announcer = Announcer()
            announcer.attach("irc", lambda target, lines: heard.extend(lines))
            service = CampaignService(CampaignStore(store), announcer, SETTINGS)
            watcher = Watcher([Cluster(pinned(server, tls, cache_seconds=0), clock=clock)], service, SETTINGS)
            watcher.attach()
            await service.start()
            try:
                at = time.time()
                await service.submit(start([N2], at, mode="migrate-back"), "reboot-script")
                await service.submit(step(N2, "emptying", at, count=2), "reboot-script")
                await until(lambda: service.store.primaries(CAMPAIGN, N2) == (DB, WEB), "primaries recorded")
                for name in ("empty", "shutting-down"):
                    await service.submit(step(N2, name, at, count=2), "reboot-script")
                server.answer("/2/query/node", nodes(node(N1, "M", primaries=(MAIL,)), node(N2, bootid=None),
                                                     node(N3, primaries=(DB, WEB))))
                await until(lambda: host_phase(service) is Phase.DOWN, "down seen by the watcher")
                back()
                await until(lambda: host_phase(service) is Phase.UP, "up seen by the watcher")
                seen = rounds(server)  # the round that saw it up has begun: once the next begins, it is over
                await until(lambda: rounds(server) >= seen + rounds_up, "the next round")
                await wait_idle(service, 5)
            finally:
                await watcher.close()
                await service.close()

    asyncio.run(scenario())
    return [line.split("] ", 1)[1] for line in heard if "] warning: " in line]


def host_phase(service: CampaignService) -> Phase | None:
    campaign = service.campaign(CAMPAIGN)
    host = campaign.host(N2) if campaign else None
    return host.phase if host else None


def info_jobs_asked(server: FakeRapi) -> dict[str, list[str]]:
    """Instance → the ``static`` parameter of each info job the watcher started for it."""
    return {name: [seen.query.get("static", ["?"])[0] for seen in server.requests_for(f"/2/instances/{name}/info")]
            for name in (WEB, DB)}


@pytest.mark.parametrize(("sstatus", "state"), [
    (SYNCING, "syncing (42%)"),
    (DEGRADED, "degraded"),
    (None, "is not active on its secondary"),  # not set up again since the reboot
])
def test_a_disk_still_syncing_degraded_or_not_set_up_again_is_named_before_the_migrate_back(
        server, tls, tmp_path, sstatus, state):
    def back() -> None:
        rebooted(server)
        server.answer("/2/jobs/900", Answer(200, info_job(WEB, sstatus)))

    assert warnings_of_a_reboot(server, tls, tmp_path, back) == [
        f"warning: {N2}: before migrating back: web disk/0 {state}{ADVICE}"]  # db is in sync: not named
    assert info_jobs_asked(server) == {WEB: ["0"], DB: ["0"]}  # the disks' live status, once


def test_no_warning_when_every_disk_is_in_sync_and_n_plus_1_holds(server, tls, tmp_path):
    assert warnings_of_a_reboot(server, tls, tmp_path, lambda: rebooted(server)) == []
    assert info_jobs_asked(server) == {WEB: ["0"], DB: ["0"]}  # it did look


def test_two_instances_with_disks_not_in_sync_are_both_named_in_one_warning(server, tls, tmp_path):
    def back() -> None:
        rebooted(server)
        server.answer("/2/jobs/900", Answer(200, info_job(WEB, None)))
        server.answer("/2/jobs/901", Answer(200, info_job(DB, SYNCING)))

    assert warnings_of_a_reboot(server, tls, tmp_path, back) == [
        (f"warning: {N2}: before migrating back: web disk/0 is not active on its secondary; "
        f"db disk/0 syncing (42%){ADVICE}")]


def test_an_n_plus_1_shortfall_is_named_with_the_node_short_and_the_peer(server, tls, tmp_path):
    # fsn-node-03 took web and db: 4 GiB free is too little to take mail (8 GiB) over from the master.
    assert warnings_of_a_reboot(server, tls, tmp_path, lambda: rebooted(server, n3_free=4096)) == [
        (f"warning: {N2}: before migrating back: N+1 fails on 1 node pair(s), e.g. fsn-node-03 lacks 4.0G "
        "should fsn-node-01 fail")]


def test_disks_whose_status_the_cluster_did_not_give_are_not_passed_as_in_sync(server, tls, tmp_path):
    def back() -> None:
        rebooted(server)
        server.answer("/2/jobs/900", Answer(200, info_job(WEB, None, status="error")))

    assert warnings_of_a_reboot(server, tls, tmp_path, back) == [
        (f"warning: {N2}: before migrating back: web disk status unknown (its info job failed or took too long)"
         " — check with gnt-cluster verify-disks")]


def test_a_look_that_rapi_failed_is_taken_again_in_the_next_round(server, tls, tmp_path):
    def back() -> None:
        rebooted(server)
        listing_now = server.answer_for("/2/query/instance")
        server.answer("/2/query/instance", Answer(502, b'{"code": 502, "message": "Master seems to be unreachable"}'), listing_now)
        server.answer("/2/jobs/900", Answer(200, info_job(WEB, DEGRADED)))

    rounds_15_s_apart = itertools.count(0, 15).__next__  # as in production: the failure kept is forgotten
    assert warnings_of_a_reboot(server, tls, tmp_path, back, rounds_up=2, clock=rounds_15_s_apart) == [
        f"warning: {N2}: before migrating back: web disk/0 degraded{ADVICE}"]


def test_a_look_rapi_keeps_failing_is_given_up_and_said_so(server, tls, tmp_path):
    # A cluster that fails the look round after round must not stall the
    # campaign's later rounds: after BACK_CHECK_TRIES the channel hears that the
    # disks could not be checked, and what to do instead.
    def back() -> None:
        rebooted(server)
        server.answer("/2/query/instance", Answer(502, b'{"code": 502, "message": "Master seems to be unreachable"}'))

    rounds_15_s_apart = itertools.count(0, 15).__next__
    assert warnings_of_a_reboot(server, tls, tmp_path, back, rounds_up=BACK_CHECK_TRIES + 1,
                                clock=rounds_15_s_apart) == [
        (f"warning: {N2}: before migrating back: its disks could not be checked (RAPI failed "
         f"{BACK_CHECK_TRIES} rounds in a row): check with gnt-cluster verify-disks")]


def follow(server: FakeRapi, tls: Tls, tmp_path: Path, stages: list[Callable[[CampaignService], object]],
           heard: list[str]) -> list[Phase | None]:
    """One bot per stage, each a watcher and campaign service over the same state
    directory (a restart between two stages); each stage runs ``stage(service)``,
    lets the watcher look twice, and gives fsn-node-02's phase it left."""
    phases: list[Phase | None] = []

    async def scenario() -> None:
        for stage in stages:
            with Store.open(tmp_path) as store:
                announcer = Announcer()
                announcer.attach("irc", lambda target, lines: heard.extend(lines))
                service = CampaignService(CampaignStore(store), announcer, SETTINGS)
                watcher = Watcher([Cluster(pinned(server, tls, cache_seconds=0))], service, SETTINGS)
                watcher.attach()
                await service.start()
                try:
                    done = stage(service)
                    if asyncio.iscoroutine(done):
                        await done
                    await until(functools.partial(looked, server, rounds(server) + 2), "two more rounds")
                    await wait_idle(service, 5)
                    phases.append(host_phase(service))
                finally:
                    await watcher.close()
                    await service.close()

    asyncio.run(scenario())
    return phases


def looked(server: FakeRapi, count: int) -> bool:
    """Has the watcher begun ``count`` rounds?"""
    return rounds(server) >= count


async def reboot_begins(service: CampaignService) -> None:
    at = time.time()
    await service.submit(start([N2], at, mode="migrate-back"), "reboot-script")
    for name in ("emptying", "empty", "shutting-down"):
        await service.submit(step(N2, name, at, count=2), "reboot-script")
    await until(lambda: service.store.primaries(CAMPAIGN, N2) == (DB, WEB), "primaries recorded")


def watcher_steps(tmp_path: Path) -> list[str]:
    """The host steps the watcher itself put in the campaign's record, in order."""
    with Store.open(tmp_path) as store:
        rows = store.query("SELECT type, body FROM campaign_events WHERE source = ? ORDER BY received",
                           (watching.SOURCE,))
    return [json.loads(row["body"])["step"] for row in rows if row["type"] == "host"]


async def quick_reboot(service: CampaignService, server: FakeRapi) -> None:
    """The campaign shuts fsn-node-02 down; between two looks it goes down and comes back."""
    await reboot_begins(service)
    await until(functools.partial(looked, server, rounds(server) + 1), "a look at the node before its reboot")
    rebooted(server)


def test_a_reboot_no_round_saw_is_told_by_the_node_s_new_boot_id(server, tls, tmp_path):
    """Only "up": when it went down nobody saw, so no downtime is made up."""
    heard: list[str] = []
    assert follow(server, tls, tmp_path, [functools.partial(quick_reboot, server=server)], heard) == [Phase.UP]
    assert watcher_steps(tmp_path) == ["up"]
    with Store.open(tmp_path) as store:
        campaign = CampaignStore(store).load(CAMPAIGN)
    assert campaign is not None and campaign.host(N2).downtime() is None
    assert not any("not rebooted" in line for line in heard)


def test_a_reboot_while_the_bot_was_away_is_told_when_it_is_back(server, tls, tmp_path):
    """The first boot id seen is kept in the store: a restarted bot compares with it."""
    heard: list[str] = []
    phases = follow(server, tls, tmp_path, [reboot_begins, lambda service: rebooted(server)], heard)
    assert phases == [Phase.SHUTTING_DOWN, Phase.UP]
    assert watcher_steps(tmp_path) == ["up"]


def test_a_reboot_the_tooling_said_down_before_the_bot_restarted_is_told_up(server, tls, tmp_path):
    async def down(service: CampaignService) -> None:
        await reboot_begins(service)
        await service.submit(step(N2, "down", time.time()), "reboot-script")

    phases = follow(server, tls, tmp_path, [down, lambda service: rebooted(server)], [])
    assert phases == [Phase.DOWN, Phase.UP]
    assert watcher_steps(tmp_path) == ["up"]
    with Store.open(tmp_path) as store:
        campaign = CampaignStore(store).load(CAMPAIGN)
    assert campaign is not None and campaign.host(N2).downtime() is not None  # from the tooling's "down"


def down_seen(server: FakeRapi) -> Callable[[CampaignService], object]:
    async def stage(service: CampaignService) -> None:
        await reboot_begins(service)
        server.answer("/2/query/node", nodes(node(N1, "M", primaries=(MAIL,)), node(N2, bootid=None),
                                             node(N3, primaries=(DB, WEB))))
        await until(lambda: host_phase(service) is Phase.DOWN, "down seen by the watcher")
    return stage


def test_a_node_seen_down_before_a_restart_and_back_unrebooted_after_it_is_said_not_rebooted(server, tls, tmp_path):
    heard: list[str] = []

    async def back_unrebooted(service: CampaignService) -> None:
        await until(functools.partial(looked, server, rounds(server) + 1), "a look while it is still down")
        server.answer("/2/query/node", nodes(node(N1, "M", primaries=(MAIL,)), node(N2), node(N3, primaries=(DB, WEB))))

    phases = follow(server, tls, tmp_path, [down_seen(server), back_unrebooted], heard)
    assert phases == [Phase.DOWN, Phase.UP]
    assert [line.split("] ", 1)[1] for line in heard if "not rebooted" in line] == [
        f"warning: {N2}: its node daemon answers again, but its boot id did not change: it was not rebooted"]
    assert watcher_steps(tmp_path) == ["down", "up"]  # one "down": the restarted bot knew it was down


def test_a_node_rebooted_once_it_is_empty_is_told_up_where_nothing_says_shutting_down(server, tls, tmp_path):
    """A bot-driven !drain: the node is empty, the operator reboots it; no round saw it down."""
    heard: list[str] = []

    async def drained(service: CampaignService) -> None:
        at = time.time()
        await service.submit(start([N2], at, mode="migrate-back"), "reboot-script")
        for name in ("emptying", "empty"):
            await service.submit(step(N2, name, at, count=2), "reboot-script")
        await until(lambda: service.store.primaries(CAMPAIGN, N2) == (DB, WEB), "primaries recorded")

    assert follow(server, tls, tmp_path, [drained, lambda service: rebooted(server)], heard) == [
        Phase.EMPTY, Phase.UP]
    assert not any("boot id changed" in line for line in heard)


def test_a_node_that_answers_with_its_first_boot_id_after_a_restart_is_left_alone(server, tls, tmp_path):
    heard: list[str] = []
    phases = follow(server, tls, tmp_path, [reboot_begins, lambda service: None], heard)
    assert phases == [Phase.SHUTTING_DOWN, Phase.SHUTTING_DOWN]
    assert watcher_steps(tmp_path) == []
    assert not any("warning" in line for line in heard)


def test_a_new_boot_id_before_the_campaign_shut_the_node_down_is_said_and_its_own_reboot_still_told(
        server, tls, tmp_path):
    heard: list[str] = []

    async def crashed(service: CampaignService) -> None:
        at = time.time()
        await service.submit(start([N2], at, mode="migrate-back"), "reboot-script")
        await service.submit(step(N2, "emptying", at, count=2), "reboot-script")
        await until(lambda: service.store.primaries(CAMPAIGN, N2) == (DB, WEB), "primaries recorded")
        rebooted(server)  # boot-2, while it is still being emptied

    async def shutting_down(service: CampaignService) -> None:
        for name in ("empty", "shutting-down"):
            await service.submit(step(N2, name, time.time(), count=2), "reboot-script")

    def campaign_reboot(service: CampaignService) -> None:
        server.answer("/2/query/node", nodes(node(N1, "M", primaries=(MAIL,)), node(N2, bootid="boot-3"),
                                             node(N3, primaries=(DB, WEB))))

    # boot-2 is the baseline now, after a restart too: the campaign's own reboot (boot-3) is told.
    phases = follow(server, tls, tmp_path, [crashed, shutting_down, campaign_reboot], heard)
    assert phases == [Phase.EMPTYING, Phase.SHUTTING_DOWN, Phase.UP]
    assert [line.split("] ", 1)[1] for line in heard if "boot id changed" in line] == [
        f"warning: {N2}: its boot id changed before the campaign shut it down (a crash, or a reboot by someone else?)"]
    assert watcher_steps(tmp_path) == ["up"]


def test_a_restarted_bot_does_not_tell_again_a_reboot_it_told(server, tls, tmp_path):
    heard: list[str] = []
    told: list[str] = []
    phases = follow(server, tls, tmp_path, [functools.partial(quick_reboot, server=server),
                                            lambda service: told.extend(heard)], heard)
    assert phases == [Phase.UP, Phase.UP]
    after = heard[len(told):]
    assert after and all("gntbot restarted: resuming campaign" in line for line in after)
    assert watcher_steps(tmp_path) == ["up"]  # nor a second step in the campaign's record
