"""Events as the reboot tooling sends them, for the campaign tests."""

from __future__ import annotations

import itertools
from typing import Any

from bot.campaigns import events

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
