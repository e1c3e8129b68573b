"""The campaign service: a few coalesced lines per host, said once, resumed after a restart."""

from __future__ import annotations

import asyncio

import pytest

from bot.campaigns.service import CampaignService, DuplicateEvent, wait_idle
from bot.campaigns.settings import CampaignSettings
from bot.campaigns.state import CampaignConflict
from bot.campaigns.store import CampaignStore
from bot.core.announce import Announcer
from bot.state.store import Store

from .kit import end, host_cycle, start, step

FAST = CampaignSettings(rooms=("irc:#ops",), line_interval=0.0, hold_seconds=0.05, silence_seconds=0)
T0 = 1_800_000_000.0


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def service_on(store: Store, clock: Clock, settings: CampaignSettings = FAST) -> tuple[CampaignService, list[str]]:
    heard: list[str] = []
    announcer = Announcer()
    announcer.attach("irc", lambda target, lines: heard.extend(f"{target} {line}" for line in lines))
    return CampaignService(CampaignStore(store), announcer, settings, clock), heard


async def feed(service: CampaignService, clock: Clock, events, pause: float = 0.0) -> None:
    for event in events:
        clock.now = event.time
        await service.submit(event, "reboot-script")
        await asyncio.sleep(pause)
    await wait_idle(service, 5)


def test_slow_hosts_get_three_lines_fast_ones_one_and_the_eta_appears_once_a_host_is_done(tmp_path):
    async def scenario() -> list[str]:
        clock = Clock()
        with Store.open(tmp_path) as store:
            service, heard = service_on(store, clock)
            await service.start()
            await feed(service, clock, [start(["fsn-node-01.torproject.org", "fsn-node-02.torproject.org"], T0)])
            # host 1: every step given time to be said; host 2: all its steps at once
            await feed(service, clock, host_cycle("fsn-node-01.torproject.org", T0 + 60, 15), pause=0.1)
            await feed(service, clock, host_cycle("fsn-node-02.torproject.org", T0 + 18 * 60, 12))
            await feed(service, clock, [end(T0 + 31 * 60, exit_code=0)])
            await service.close()
            return heard

    heard = asyncio.run(scenario())
    assert heard[0].startswith("#ops [reboot] START anarcat: reboot of 2 hosts (instances migrated off and back), "
                               "reason: Open vSwitch upgrade — campaign ovs-2026-12, in irc:#ops — no ETA yet")
    assert heard[1:4] == [
        "#ops [reboot 1/2 0%] fsn-node-01: migrating 5 instances off",
        "#ops [reboot 1/2 0%] fsn-node-01: 5 instances migrated off, shutting down (reboot)",
        ("#ops [reboot 1/2 50%] fsn-node-01 done in 15m00s (down 2m30s), 5 instances migrated back — "
        "ETA 08:32 UTC (≈16 min/host)"),
    ]
    assert heard[4:] == [
        "#ops [reboot 2/2 100%] fsn-node-02 done in 12m00s (down 2m00s), 5 instances migrated back",
        "#ops [reboot] END (PASS) campaign ovs-2026-12 after 31m00s: 2 succeeded, 0 failed, 0 skipped, 0 untouched",
    ]


def test_replays_and_events_that_do_not_fit_are_refused_and_say_nothing(tmp_path):
    async def scenario() -> list[str]:
        clock = Clock()
        with Store.open(tmp_path) as store:
            service, heard = service_on(store, clock)
            await service.start()
            first = start(["h1"], T0)
            await feed(service, clock, [first])
            with pytest.raises(DuplicateEvent):
                await service.submit(first, "reboot-script")
            with pytest.raises(CampaignConflict, match="host h2 is not in campaign"):
                await service.submit(step("h2", "down", T0 + 1), "reboot-script")
            await wait_idle(service, 5)
            await service.close()
            return heard

    assert len(asyncio.run(scenario())) == 1


def test_a_restarted_service_resumes_says_what_it_missed_and_nothing_twice(tmp_path):
    hosts = ["h1", "h2", "h3"]

    async def before_crash() -> list[str]:
        clock = Clock()
        with Store.open(tmp_path) as store:
            service, heard = service_on(store, clock)
            await service.start()
            await feed(service, clock, [start(hosts, T0), *host_cycle("h1", T0 + 10, 10)])
            await feed(service, clock, [step("h2", "emptying", T0 + 700, count=3)])
            await service.close()  # killed: nothing more is said
            return heard

    async def after_restart() -> list[str]:
        clock = Clock(T0 + 800)
        with Store.open(tmp_path) as store:
            service, heard = service_on(store, clock)
            await service.start()
            await feed(service, clock, [step("h2", "down", T0 + 820)])
            await service.close()
            return heard

    first = asyncio.run(before_crash())
    assert [line.split("] ", 1)[1] for line in first[1:]] == [
        "h1 done in 10m00s (down 1m40s), 5 instances migrated back — ETA 08:30 UTC (≈10 min/host)",
        "h2: migrating 3 instances off"]
    again = asyncio.run(after_restart())
    assert again == ["#ops [reboot 2/3 33%] gntbot restarted: resuming campaign ovs-2026-12 at h2 (emptying)",
                     "#ops [reboot 2/3 33%] h2: 3 instances migrated off, down, waiting for it to come back"]


def test_a_host_down_too_long_and_a_silent_campaign_nudge_the_owner_once(tmp_path):
    settings = CampaignSettings(rooms=("irc:#ops",), line_interval=0, hold_seconds=0, down_seconds=0.2,
                                silence_seconds=0.4)

    async def scenario() -> list[str]:
        clock = Clock()
        with Store.open(tmp_path) as store:
            service, heard = service_on(store, clock, settings)
            await service.start()
            await feed(service, clock, [start(["h1", "h2"], T0), step("h1", "down", T0 + 1)])
            clock.now = T0 + 1.3  # down 0.3 s, longer than 0.2
            await asyncio.sleep(0.3)
            clock.now = T0 + 1.6  # quiet 0.6 s, longer than 0.4
            await asyncio.sleep(0.3)
            await service.close()
            return heard

    heard = asyncio.run(scenario())
    nudges = [line for line in heard if "anarcat: [reboot" in line]
    assert nudges == [
        ("#ops anarcat: [reboot 1/2 0%] h1 has been down for 0s, longer than the 0s expected: "
        "is it stuck (disk unlock prompt, console, BIOS)?"),
        ("#ops anarcat: [reboot 1/2 0%] no news from campaign ovs-2026-12 for 1s (last: h1 down): "
        "is the tooling still running?"),
    ]


def test_reboots_shows_the_campaign_in_progress_and_the_last_ones(tmp_path):
    from bot.campaigns.runtime import CampaignRuntime
    from bot.commands.campaigns import NOT_FOLLOWED, CampaignCommands
    from bot.config import Config
    from bot.core.message import Identity, Message
    from bot.core.registry import Invocation
    from bot.errors import GntbotError

    async def scenario() -> list[str]:
        clock = Clock()
        runtime = CampaignRuntime(Config.default(), Announcer())
        commands = CampaignCommands(runtime, "!")
        asker = Message("!reboots", Identity("irc", "bob", "bob"), room="#ops")

        async def say(args: str) -> list[str]:
            return list((await commands.reboots(Invocation(asker, "reboots", args))).lines)

        answers = await say("")
        with Store.open(tmp_path) as store:
            runtime.service, _ = service_on(store, clock)
            await runtime.service.start()
            answers += await say("")
            await feed(runtime.service, clock, [start(["h1", "h2"], T0, campaign="old-1"),
                                                end(T0 + 60, campaign="old-1")])
            await feed(runtime.service, clock, [start(["h1", "h2"], T0 + 100), *host_cycle("h1", T0 + 100, 10),
                                                step("h2", "down", T0 + 800)])
            clock.now = T0 + 900
            answers += await say("") + await say("last")
            with pytest.raises(GntbotError, match="usage: !reboots"):
                await say("sometime")
            await runtime.service.close()
        return answers

    assert asyncio.run(scenario()) == [
        NOT_FOLLOWED,
        "no reboot campaign in progress; !reboots last lists the previous ones.",
        ("[reboot 2/2 50%] campaign ovs-2026-12 by anarcat (Open vSwitch upgrade): at h2 (down); 1 done, 0 failed, "
        "0 skipped, 1 to go — ETA 08:21 UTC (≈10 min/host)"),
        ("campaign old-1 (reboot, anarcat): FAIL, 2027-01-15 08:00 UTC, 1m00s: 0 succeeded, 0 failed, 0 skipped, "
        "2 untouched — Open vSwitch upgrade"),
    ]
