"""The bot-driven way into a campaign: what the channel hears of a !drain and a !migrate-back.

The real campaign service and store; the actions' side is played by the
records and endings the action service hands over (their jobs ran on the lab
in tests/actions/test_drain_lab.py).
"""

from __future__ import annotations

import asyncio

import pytest

from bot.actions.ledger import DONE, Record, Watched
from bot.actions.outcomes import Ending
from bot.actions.plan import Move, Plan, Refusal
from bot.campaigns.driven import DrivenCampaigns
from bot.campaigns.service import CampaignService, wait_idle
from bot.campaigns.settings import CampaignSettings
from bot.campaigns.store import CampaignStore
from bot.core.announce import Announcer
from bot.state.store import Store

from .kit import end, start, step

D = ".example.org"
NODE, OTHER = f"fsn-node-02{D}", f"fsn-node-03{D}"
WEB, DB, OLD = f"web{D}", f"db{D}", f"old{D}"
SETTINGS = CampaignSettings(rooms=("irc:#tor-project",), line_interval=0, hold_seconds=0, silence_seconds=0)
T0 = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def record(action: str, token: str, plan: Plan, reason: str = "T42 kernel") -> Record:
    return Record(token, action, "gnt-fsn", NODE, plan, reason, "alice", "irc:alice", "alice", "irc", "#ops",
                  "irc:#ops", T0, T0 + 120, DONE, "bob", "irc:bob", 10, None)


def drain_plan(campaign: str) -> Plan:
    return Plan("drain", "gnt-fsn", NODE, moves=(Move(WEB, "drbd", 4096, OTHER), Move(DB, "drbd", 8192, OTHER)),
                stays=((OLD, "ADMIN_down: not migrated"),), drained=True, campaign=campaign)


def drained(state: str = "success") -> Ending:
    """The jobs of a drain once ended: node-migrate 10 (children 12-14), the drained flag 11."""
    jobs = (Watched("t", 10, None, state, "done", None, "NODE_MIGRATE"),
            Watched("t", 11, None, "success", "fsn-node-02 drained (0.4 s, job 11)", None, "NODE_SET_PARAMS"),
            Watched("t", 12, 10, "success", "web: done", WEB, "INSTANCE_MIGRATE"),
            Watched("t", 13, 10, "success", "db: done", DB, "INSTANCE_MIGRATE"),
            Watched("t", 14, 10, "error", "old: FAILED", OLD, "INSTANCE_MIGRATE"))
    return Ending(jobs, {WEB: OTHER, DB: OTHER, OLD: NODE})


def brought_back(campaign: str) -> tuple[Record, Ending]:
    plan = Plan("migrate-back", "gnt-fsn", NODE, moves=(Move(WEB, "drbd", 4096, NODE, OTHER),
                                                          Move(DB, "drbd", 8192, NODE, OTHER)),
                drained=False, campaign=campaign)
    jobs = (Watched("u", 20, None, "success", "fsn-node-02 undrained", None, "NODE_SET_PARAMS"),
            Watched("u", 21, None, "success", "web: done", WEB, "INSTANCE_MIGRATE"),
            Watched("u", 22, None, "success", "db: done", DB, "INSTANCE_MIGRATE"))
    return record("migrate-back", "vvvvv", plan), Ending(jobs, {WEB: NODE, DB: NODE, OLD: NODE})


def run(tmp_path, scenario) -> list[str]:
    heard: list[str] = []

    async def main() -> None:
        with Store.open(tmp_path) as store:
            announcer = Announcer()
            announcer.attach("irc", lambda target, lines: heard.extend(f"{target} {line}" for line in lines))
            clock = Clock()
            service = CampaignService(CampaignStore(store), announcer, SETTINGS, clock)
            driven = DrivenCampaigns(service, "!", clock)
            driven.attach()
            await service.start()
            try:
                await scenario(service, driven, clock)
                await wait_idle(service, 5)
            finally:
                await service.close()

    asyncio.run(main())
    return heard


def test_a_drain_outside_any_campaign_is_told_as_one_of_its_own_from_start_to_end(tmp_path):
    async def scenario(service: CampaignService, driven: DrivenCampaigns, clock: Clock) -> None:
        own, note = driven.told_in("gnt-fsn", NODE, "k7q2x")
        assert (own, note) == ("drain-fsn-node-02-k7q2x", "told in a campaign of its own, drain-fsn-node-02-k7q2x")
        drain = record("drain", "k7q2x", drain_plan(own))
        await driven.submitted(drain)
        await driven.submitted(drain)  # again, as after a restart: taken once
        await wait_idle(service, 5)
        clock.now += 60
        await driven.finished(drain, drained())
        assert driven.remembered("gnt-fsn", NODE).instances == ((DB, OTHER), (OLD, None), (WEB, OTHER))
        for offset, name in ((120, "down"), (300, "up")):  # the cluster watcher sees the reboot
            clock.now = T0 + offset
            await service.submit(step(NODE, name, clock.now, campaign=own), "gntbot-watcher")
            await wait_idle(service, 5)
        await asyncio.sleep(0.1)  # the nudge is said from a task of its own
        clock.now = T0 + 400
        await driven.finished(*brought_back(own))

    heard = run(tmp_path, scenario)
    assert heard[0] == ("#ops [reboot] START alice: reboot of 1 host (instances migrated off and back), reason: T42 "
                        "kernel — campaign drain-fsn-node-02-k7q2x, in irc:#ops, irc:#tor-project — no ETA yet "
                        "(no host done)")
    assert heard[1:3] == ["#tor-project " + heard[0].split(" ", 1)[1],
                          f"#ops [reboot 1/1 0%] {NODE}: migrating 2 instances off"]
    said = [line.split(" ", 1)[1] for line in heard if line.startswith("#ops ")]
    assert said[2:] == [
        f"[reboot 1/1 0%] {NODE}: 2 instances migrated off, down, waiting for it to come back",
        f"[reboot 1/1 0%] alice: {NODE}: back up after 3m00s down: !migrate-back fsn-node-02 brings back db, web",
        f"[reboot 1/1 100%] {NODE} done in 6m40s (down 3m00s), 2 instances migrated back",
        ("[reboot] END (PASS) campaign drain-fsn-node-02-k7q2x after 6m40s: 1 succeeded, 0 failed, 0 skipped, "
         "0 untouched"),
    ]


def test_a_drain_of_a_host_in_the_tooling_s_campaign_is_told_there_and_left_for_the_tooling_to_end(tmp_path):
    async def scenario(service: CampaignService, driven: DrivenCampaigns, clock: Clock) -> None:
        await service.submit(start([f"fsn-node-01{D}", NODE], T0, owner="anarcat"), "reboot-script")
        campaign, note = driven.told_in("gnt-fsn", NODE, "k7q2x")
        assert (campaign, note) == ("ovs-2026-12", "told in campaign ovs-2026-12 (host 2/2)")
        drain = record("drain", "k7q2x", drain_plan(campaign))
        await driven.submitted(drain)
        await driven.finished(drain, drained())
        await wait_idle(service, 5)
        await driven.finished(*brought_back(campaign))
        assert service.campaign(campaign).host(NODE).phase == "instances-back"  # done: the tooling says
        await wait_idle(service, 5)
        await service.submit(end(T0 + 900, exit_code=0), "reboot-script")

    heard = run(tmp_path, scenario)
    assert heard[1:3] == ["#tor-project [reboot 2/2 0%] fsn-node-02: 2 instances migrated off",
                          "#tor-project [reboot 2/2 0%] fsn-node-02 back up, migrating its instances back"]
    assert not [line for line in heard if "drain-" in line or "#ops" in line]  # no campaign of its own
    assert heard[-1].startswith("#tor-project [reboot] END (FAIL) campaign ovs-2026-12")  # fsn-node-01 never went


def test_a_failed_drain_ends_its_own_campaign_as_failed(tmp_path):
    async def scenario(service: CampaignService, driven: DrivenCampaigns, clock: Clock) -> None:
        drain = record("drain", "k7q2x", drain_plan("drain-fsn-node-02-k7q2x"), reason="")
        await driven.submitted(drain)
        await driven.finished(drain, drained("error"))

    heard = [line for line in run(tmp_path, scenario) if line.startswith("#ops ")]
    assert "reason: maintenance of fsn-node-02 (no reason given)" in heard[0]
    assert heard[-2] == f"#ops [reboot 1/1 100%] {NODE} FAILED: the drain failed: done"
    assert heard[-1].startswith("#ops [reboot] END (FAIL) campaign drain-fsn-node-02-k7q2x after ")


def test_nothing_remembered_says_why_and_where_to_look(tmp_path):
    async def scenario(service: CampaignService, driven: DrivenCampaigns, clock: Clock) -> None:
        with pytest.raises(Refusal, match=r"^nothing is remembered of fsn-node-02's instances: no running reboot "
                                          r"campaign emptied it \(!drain fsn-node-02 remembers them"):
            driven.remembered("gnt-fsn", NODE)
        await service.submit(start([NODE], T0), "reboot-script")
        service.store.record_primaries("ovs-2026-12", NODE, "gnt-fsn", [WEB], T0)
        assert driven.remembered("gnt-fsn", NODE).instances == ((WEB, None),)
        with pytest.raises(Refusal, match="nothing is remembered"):
            driven.remembered("gnt-chi", NODE)  # a node of that name on another cluster
        await service.submit(end(T0 + 60), "reboot-script")
        with pytest.raises(Refusal, match=r"^campaign ovs-2026-12, which emptied fsn-node-02, has ended: .* "
                                          r"\(!migrate INSTANCE fsn-node-02\)$"):
            driven.remembered("gnt-fsn", NODE)

    run(tmp_path, scenario)
