"""Sizes in MiB, as Ganeti reports memory and disks, written the way gnt-* prints them."""

from __future__ import annotations


def mib(value: int | None) -> str:
    """512M, 1.0G, 2.4T; ``?`` when unknown."""
    if value is None:
        return "?"
    if value < 1024:
        return f"{value}M"
    if value < 1024 * 1024:
        return f"{value / 1024:.1f}G"
    return f"{value / (1024 * 1024):.1f}T"
