"""How operators say things versus how runbooks say them.

Chat says "vm", runbooks say "instance"; chat says "box", Ganeti says "node".
Each group lists words an operator may type and the runbook words they stand
for. A question word found here also matches its equivalents, at a discount
(`EQUIVALENT_WEIGHT`), so a section that uses the operator's own word still
wins. Keep the groups about Ganeti and operations in general, never about
particular questions.
"""

from __future__ import annotations

EQUIVALENT_WEIGHT = 0.6

# operator word(s) -> runbook words
GROUPS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("vm", "vms", "guest", "guests", "domu", "domain", "domains"), ("instance",)),
    (("box", "boxes", "server", "servers", "host", "hosts", "hypervisor", "hypervisors", "dom0", "machine"),
     ("node",)),
    (("restart", "restarting", "bounce"), ("reboot",)),
    (("reboot", "rebooting"), ("restart",)),
    (("move", "moving", "shift"), ("migrate", "failover")),
    (("delete", "deleting", "kill", "wipe", "nuke"), ("remove", "destroy")),
    (("volume", "volumes", "drive", "drives"), ("disk",)),
    (("resize", "enlarge", "bigger", "extend"), ("grow",)),
    (("balance", "spread", "even", "uneven", "unbalanced", "lopsided", "piled"), ("rebalance", "hbal")),
    (("capacity", "room", "space", "fit"), ("n+1", "memory", "free")),
    (("ram", "mem"), ("memory",)),
    (("cpu", "cpus", "cores"), ("vcpus",)),
    (("iowait", "io", "i/o"), ("i/o", "disk", "load")),
    (("ips", "addresses"), ("ip", "address", "network")),
    (("vlan", "bridge"), ("network", "link")),
    (("standby", "spare", "secondary"), ("secondary",)),
    (("dead", "down", "crashed", "died", "unreachable", "unresponsive"), ("failure", "offline")),
    (("maintenance", "evacuate", "empty", "drain"), ("evacuate", "migrate", "drain")),
    (("sync", "syncing", "resync"), ("sync", "drbd")),
)


def equivalents() -> dict[str, tuple[str, ...]]:
    """Operator word -> runbook words (lower-case surface words, not stemmed)."""
    table: dict[str, list[str]] = {}
    for spoken, written in GROUPS:
        for word in spoken:
            table.setdefault(word, [])
            table[word].extend(w for w in written if w != word and w not in table[word])
    return {word: tuple(targets) for word, targets in table.items() if targets}
