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

# operator word(s) -> the word Ganeti and its documentation use for the same thing
GROUPS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("vm", "vms", "guest", "guests", "domu", "domain", "domains"), ("instance",)),
    (("box", "boxes", "server", "servers", "host", "hosts", "hypervisor", "hypervisors", "dom0", "machine"),
     ("node",)),
    (("ram", "mem"), ("memory",)),
    (("cpu", "cpus", "cores"), ("vcpus",)),
    (("volume", "volumes", "drive", "drives"), ("disk",)),
    (("resize", "enlarge", "extend"), ("grow",)),  # gnt-instance grow-disk
    (("delete", "kill", "wipe"), ("remove",)),
    (("move", "moving"), ("migrate", "failover")),
    (("restart", "restarting"), ("reboot",)),
    (("reboot", "rebooting"), ("restart",)),
    (("balance", "unbalanced"), ("rebalance", "hbal")),
    (("dead", "down", "crashed", "died", "unreachable"), ("failure", "offline")),
)


def equivalents() -> dict[str, tuple[str, ...]]:
    """Operator word -> runbook words (lower-case surface words, not stemmed)."""
    table: dict[str, list[str]] = {}
    for spoken, written in GROUPS:
        for word in spoken:
            table.setdefault(word, [])
            table[word].extend(w for w in written if w != word and w not in table[word])
    return {word: tuple(targets) for word, targets in table.items() if targets}
