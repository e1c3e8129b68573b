"""Events as the reboot tooling sends them, for the campaign tests."""

from __future__ import annotations

import asyncio
import itertools
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.campaigns import events
from bot.campaigns.service import CampaignService, wait_idle
from bot.campaigns.settings import CampaignSettings, IntakeSettings, Source
from bot.campaigns.store import CampaignStore
from bot.core.announce import Announcer
from bot.state.store import Store
from bot.web.intake import Intake

_ids = itertools.count(1)


def wire(type_: str, campaign: str = "ovs-2026-12", at: float = 1_800_000_000.0, **fields: Any) -> dict[str, Any]:
    return {"type": type_, "id": f"e{next(_ids)}", "campaign": campaign, "time": at, **fields}


def start(hosts: list[str], at: float = 1_800_000_000.0, campaign: str = "ovs-2026-12", **fields: Any) -> events.Event:
    data = {"reason": "Open vSwitch upgrade", "kind": "reboot", "mode": "migrate-back", "hosts": hosts,
            "owner": "anarcat", **fields}
    return events.parse(wire("start", campaign, at, **data))


def step(host: str, name: str, at: float, campaign: str = "ovs-2026-12", **fields: Any) -> events.Event:
    return events.parse(wire("host", campaign, at, host=host, step=name, **fields))


def end(at: float, campaign: str = "ovs-2026-12", **fields: Any) -> events.Event:
    return events.parse(wire("end", campaign, at, **fields))


def host_cycle(host: str, begin: float, minutes: float = 15.0, moved: int = 5) -> list[events.Event]:
    """A host's steps as a migrate-back reboot sends them, over ``minutes``."""
    tick = minutes * 60 / 6
    return [step(host, "emptying", begin, count=moved), step(host, "empty", begin + tick),
            step(host, "shutting-down", begin + 2 * tick), step(host, "down", begin + 3 * tick),
            step(host, "up", begin + 4 * tick), step(host, "instances-back", begin + 5 * tick, count=moved),
            step(host, "done", begin + 6 * tick)]


SECRET = b"s3cret-for-the-reboot-script-0123"
SETTINGS = CampaignSettings(rooms=("irc:#ops",), line_interval=0, hold_seconds=0, silence_seconds=0)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def with_bot(tmp_path: Path, body: Callable[[str, list[str], Intake], object], port: int | None = None,
             settings: CampaignSettings = SETTINGS) -> list[str]:
    """Run a bot (service + intake) on loopback while ``body(url, heard, intake)`` runs in a thread."""
    port = port or free_port()
    heard: list[str] = []

    async def scenario() -> None:
        with Store.open(tmp_path / "state") as store:
            announcer = Announcer()
            announcer.attach("irc", lambda target, lines: heard.extend(lines))
            service = CampaignService(CampaignStore(store), announcer, settings)
            await service.start()
            intake = Intake(IntakeSettings("127.0.0.1", port, (Source("reboot-script", SECRET),), max_body=2048,
                                           skew_seconds=60), service, settings)
            await intake.start()
            try:
                await asyncio.to_thread(body, f"http://127.0.0.1:{port}", heard, intake)
                await wait_idle(service, 5)
            finally:
                await intake.stop()
                await service.close()

    asyncio.run(scenario())
    return heard
