"""How cluster answers read in a channel: short lines, plain words, problems first.

Pure functions from the typed views of `bot.ganeti.model` to lines of text.
Names drop the domain every name in the answer shares (said once in the
header), sizes read like ``gnt-*`` output (``512M``, ``1.5G``), and any state a
person must act on (a node not answering, an instance that should run but
does not) is spelled out on the first lines, before the table.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from bot.ganeti.capacity import MovableReport, RedundancyReport
from bot.ganeti.details import InstanceDetail, NodeDetail
from bot.ganeti.model import ClusterInfo, Group, Instance, Job, JobDetail, Node
from bot.ganeti.names import common_domain, strip_domain
from bot.ganeti.sizes import mib

MAX_LINE = 400
LOG_LINES = 5

# What an instance status means, for the people who have to do something about it.
STATUS_MEANING = {
    "ERROR_nodedown": "{its} primary node {pnode} is not answering (node daemon down, or the node itself), "
                      "so nobody can tell whether {it} {runs}",
    "ERROR_nodeoffline": "{its} primary node {pnode} is marked offline",
    "ERROR_down": "{it} should be running on {pnode} but {is_} not (crashed or killed?)",
    "ERROR_up": "{it} {is_} running on {pnode} although {it} should be stopped",
    "ERROR_wrongnode": "{it} {is_} running on another node than {its} primary {pnode}",
}


def meaning(status: str, pnode: str, plural: bool = False) -> str:
    if plural:
        words = {"its": "their", "it": "they", "runs": "run", "is_": "are"}
    else:
        words = {"its": "its", "it": "it", "runs": "runs", "is_": "is"}
    return STATUS_MEANING[status].format(pnode=pnode, **words)


def ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "never"
    seconds = max(0, int((now - moment).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def seconds(value: float | None) -> str:
    if value is None:
        return "not started"
    return f"{value:.1f}s" if value < 60 else f"{int(value // 60)}m{int(value % 60):02d}s"


def listing(prefix: str, items: Sequence[str], empty: str = "none") -> list[str]:
    """``prefix item, item, ...`` wrapped into lines of at most MAX_LINE characters."""
    if not items:
        return [f"{prefix}{empty}"]
    lines, current = [], prefix
    for item in items:
        piece = item if current == prefix else f", {item}"
        if len(current) + len(piece) > MAX_LINE and current != prefix:
            lines.append(current)
            current, piece = "  ", item
        current += piece
    lines.append(current)
    return lines


class Names:
    """Shortens the names of one answer by their shared domain."""

    def __init__(self, names: Iterable[str]) -> None:
        self.domain = common_domain(names)
        self._short: dict[str, str] = {}

    def __call__(self, name: str) -> str:
        short = self._short.get(name)
        if short is None:
            short = self._short[name] = strip_domain(name, self.domain)
        return short

    def note(self) -> str:
        return f"; names without {self.domain}" if self.domain else ""


# -- instances ----------------------------------------------------------------


def instance_table(cluster: str, instances: Sequence[Instance], total: int, described: str) -> list[str]:
    """``gnt-instance list -o pnode,snodes,name,be/vcpus,be/memory,disk_usage,disk_template,status | sort``."""
    short = Names([name for i in instances for name in (i.name, i.pnode, *i.snodes)])
    counts = ", ".join(f"{n} {status}" for status, n in Counter(i.status for i in instances).most_common())
    scope = f"{len(instances)} of {total} instances match {described}" if described else f"{total} instances"
    if not instances:
        return [f"{cluster}: {scope}." if described else f"{cluster}: no instances."]
    lines = [f"{cluster}: {scope} ({counts}){short.note()}"]
    lines.extend(status_problems(instances, short))
    for instance in sorted(instances, key=lambda i: (i.pnode, i.snodes, i.name)):
        placement = ":".join(map(short, (instance.pnode, *instance.snodes)))
        tags = f" [{' '.join(instance.tags)}]" if instance.tags else ""
        lines.append(_clip(
            f"{placement} {short(instance.name)} {instance.vcpus or '?'}cpu mem {mib(instance.maxmem)} "
            f"disk {mib(instance.disk_usage)} {instance.disk_template} {instance.status}{tags}"))
    return lines


def status_problems(instances: Iterable[Instance], short: Names) -> list[str]:
    """One plain sentence per kind of trouble, e.g. every instance of a node that is down."""
    grouped: dict[tuple[str, str], list[str]] = defaultdict(list)
    for instance in instances:
        if instance.status in STATUS_MEANING:
            grouped[(instance.status, instance.pnode)].append(short(instance.name))
    lines = []
    for (status, pnode), names in sorted(grouped.items()):
        subject = f"{names[0]} is" if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]} are"
        lines.append(_clip(f"WARNING: {subject} {status}: {meaning(status, short(pnode), len(names) > 1)}."))
    return lines


def instance_detail(cluster: str, detail: InstanceDetail) -> list[str]:
    instance = detail.instance
    secondaries = ", ".join(instance.snodes) if instance.snodes else "no secondary"
    group = f" (group {detail.group})" if detail.group else ""
    lines = [(f"{instance.name} @{cluster}: {instance.status}, admin state {instance.admin_state}; "
             f"primary {instance.pnode}{group}, {secondaries}; OS {detail.os}")]
    if instance.status in STATUS_MEANING:
        lines.append(f"WARNING: {instance.status}: {meaning(instance.status, instance.pnode)}.")
    lines.append(f"{instance.vcpus or '?'} vcpus, memory {mib(instance.maxmem)} (min {mib(instance.minmem)}), "
                 f"template {instance.disk_template}, disk usage {mib(instance.disk_usage)}")
    disks = [f"disk/{i} {mib(disk.size)}" + (f" {disk.name}" if disk.name else "")
             + (f" in {disk.location}" if disk.location else "") for i, disk in enumerate(detail.disks)]
    if detail.disks and all(disk.location is None for disk in detail.disks):
        disks.append("(where the disks live is unknown: the info job did not complete)")
    lines.extend(listing("disks: ", disks))
    nics = [f"nic/{i} {nic.ip or 'no IP'} {nic.mac} {nic.mode} {nic.link}"
            + (f" network {nic.network}" if nic.network else "") for i, nic in enumerate(detail.nics)]
    lines.extend(listing("nics: ", nics))
    lines.extend(listing("tags: ", instance.tags))
    lines.append(f"created {_when(detail.created)}, modified {_when(detail.modified)}")
    return lines


# -- nodes --------------------------------------------------------------------


def node_table(cluster: str, nodes: Sequence[Node]) -> list[str]:
    short = Names(node.name for node in nodes)
    master = next((short(node.name) for node in nodes if node.role == "master"), "?")
    silent = [short(node.name) for node in nodes if not node.offline and not node.answering]
    lines = [f"{cluster}: {len(nodes)} nodes, master {master}{short.note()}"]
    if silent:
        verb, their = ("are", "their") if len(silent) > 1 else ("is", "its")
        lines.append(f"WARNING: {', '.join(silent)} {verb} not answering (node daemon down, or the node itself): "
                     f"no memory or disk data, and {their} instances show ERROR_nodedown.")
    for node in sorted(nodes, key=lambda n: n.name):
        lines.append(f"{short(node.name)} {node.role}{_flags(node)}: {_resources(node)}; "
                     f"{node.pinst_cnt} primary, {node.sinst_cnt} secondary")
    return lines


def node_detail(cluster: str, detail: NodeDetail) -> list[str]:
    node = detail.node
    short = Names([*detail.primaries, *detail.secondaries])
    lines = [f"{node.name} @{cluster}: {node.role}{_flags(node)}, group {node.group or '?'}; "
             f"address {detail.primary_ip}" + (f" (replication {detail.secondary_ip})"
                                                if detail.secondary_ip != detail.primary_ip else "")]
    if node.answering:
        lines.append(f"memory {mib(node.mtotal)} total, {mib(node.mnode)} for the node itself, {mib(node.mfree)} free; "
                     f"disk {mib(node.dtotal)} total, {mib(node.dfree)} free; {node.ctotal} CPUs")
    elif not node.offline:
        lines.append("WARNING: not answering (node daemon down, or the node itself): no memory or disk data, "
                     "and its primary instances show ERROR_nodedown.")
    lines.extend(listing(f"primary instances ({len(detail.primaries)}): ", [short(n) for n in detail.primaries]))
    lines.extend(listing(f"secondary instances ({len(detail.secondaries)}): ", [short(n) for n in detail.secondaries]))
    lines.extend(listing("tags: ", node.tags))
    return lines


def _flags(node: Node) -> str:
    flags = [flag for flag, on in (("drained", node.drained and node.role != "drained"),
                                   ("offline", node.offline and node.role != "offline"),
                                   ("no instances", not node.vm_capable)) if on]
    return f" ({', '.join(flags)})" if flags else ""


def _resources(node: Node) -> str:
    if node.offline:
        return "offline, no data"
    if not node.answering:
        return "NOT ANSWERING, no data"
    return f"mem {mib(node.mfree)} free of {mib(node.mtotal)}, disk {mib(node.dfree)} free of {mib(node.dtotal)}"


# -- cluster, tags ----------------------------------------------------------------


def cluster_summary(cluster: str, info: ClusterInfo, nodes: Sequence[Node], instances: Sequence[Instance]) -> list[str]:
    silent = sum(1 for node in nodes if not node.offline and not node.answering)
    node_notes = [note for note in (f"{silent} not answering" if silent else "",
                                    f"{sum(n.offline for n in nodes)} offline" if any(n.offline for n in nodes) else "",
                                    f"{sum(n.drained for n in nodes)} drained" if any(n.drained for n in nodes) else "")
                  if note]
    states = Counter(instance.status for instance in instances)
    return [
        (f"{cluster}: {info.name}, master {info.master}, Ganeti {info.version}; "
        f"hypervisors {', '.join(info.hypervisors)}; disk templates {', '.join(info.disk_templates)}; "
        f"allocator {info.iallocator or 'none'}"),
        f"{len(nodes)} nodes" + (f" ({', '.join(node_notes)})" if node_notes else "")
        + f", {len(instances)} instances ({', '.join(f'{n} {s}' for s, n in states.most_common()) or 'none'})",
    ]


def tag_matches(cluster: str, info: ClusterInfo, nodes: Sequence[Node], instances: Sequence[Instance],
                groups: Sequence[Group], matches: Callable[[str], bool], pattern: str) -> list[str]:
    """``gnt-cluster search-tags``: every tagged object whose tag matches."""
    short = Names([*(n.name for n in nodes), *(i.name for i in instances)])
    owners = [("cluster", "", info.tags), *(("group", g.name, g.tags) for g in groups),
              *(("node", short(n.name), n.tags) for n in nodes),
              *(("instance", short(i.name), i.tags) for i in instances)]
    found = [f"{kind} {name} {tag}".replace("  ", " ") for kind, name, tags in owners for tag in tags if matches(tag)]
    if not found:
        return [f"{cluster}: no tag matches {pattern!r}."]
    return [f"{cluster}: {len(found)} tags match {pattern!r}{short.note()}", *found]


# -- jobs -----------------------------------------------------------------------


def job_table(cluster: str, jobs: Sequence[Job], described: str, now: datetime) -> list[str]:
    if not jobs:
        return [f"{cluster}: no {described}."]
    lines = [f"{cluster}: {len(jobs)} {described}"]
    for job in sorted(jobs, key=lambda j: j.id, reverse=True):
        lines.append(_clip(f"#{job.id} {job.status} {', '.join(job.summary)}; "
                           f"{seconds(job.duration(now))}, received {ago(job.received, now)}"))
    return lines


def job_detail(cluster: str, detail: JobDetail, now: datetime) -> list[str]:
    job = detail.job
    lines = [_clip(f"job {job.id} @{cluster}: {job.status}, {', '.join(job.summary)}; "
                   f"received {ago(job.received, now)}, ran {seconds(job.duration(now))}")]
    lines.extend(_clip(f"failed: {error}") for error in detail.errors)
    if detail.log:
        shown = detail.log[-LOG_LINES:]
        lines.append(f"log (last {len(shown)} of {len(detail.log)}):")
        lines.extend(_clip(f"  {entry.time:%H:%M:%S} {entry.message}" if entry.time else f"  {entry.message}")
                     for entry in shown)
    else:
        lines.append("no log lines.")
    return lines


# -- capacity -------------------------------------------------------------------


def redundancy(cluster: str, report: RedundancyReport) -> list[str]:
    short = Names(node.node for node in report.nodes)
    unknown = [short(node.node) for node in report.unknown]
    they, it = ("they are", "they hold") if len(unknown) > 1 else ("it is", "it holds")
    caveat = (f" {', '.join(unknown)} did not answer, so {they} not checked (and any instance "
              f"{it} as secondary has no failover target)." if unknown else "")
    if report.mirrored == 0:
        return [(f"{cluster}: no instance has a secondary node (no DRBD), so there is no N+1 failover "
                f"memory to check.{caveat}")]
    shortfalls = report.shortfalls
    if not shortfalls:
        head = f"{cluster}: N+1 OK: every node can take the instances of any one failed peer{short.note()}.{caveat}"
    else:
        head = f"{cluster}: N+1 FAILS on {len({s.node for s in shortfalls})} node(s){short.note()}.{caveat}"
    lines = [head]
    lines.extend(_clip(
        f"{short(s.node)}: not enough memory to accommodate instance failovers should {short(s.peer)} fail "
        f"({s.needed} MiB needed, {s.available} MiB available; {', '.join(short(i) for i in s.instances)})")
        for s in shortfalls)
    ok = [f"{short(n.node)} needs {n.needed} of {n.free} MiB"
          + (f" (if {short(n.worst_peer)} fails)" if n.worst_peer else "")
          for n in report.nodes if n.state == "ok"]
    lines.extend(listing("ok: ", ok))
    return lines


def movable(cluster: str, report: MovableReport) -> list[str]:
    names = [report.node, *(m.instance.name for m in report.moves), *(m.target for m in report.moves if m.target)]
    short = Names(names)
    node = short(report.node)
    if not report.moves:
        return [f"{cluster}: {node} is primary of no instance."]
    possible = report.possible
    lines = [(f"{cluster}: {len(possible)} of {len(report.moves)} instances could leave {node}, "
             f"freeing {mib(report.frees)}{short.note()}")]
    for move in report.moves:
        instance = move.instance
        memory = mib(move.frees) if instance.running else "0M (not running)"
        if move.possible:
            how = ("its secondary" if instance.snodes else "no disks" if instance.disk_template == "diskless"
                   else f"{instance.disk_template} storage is shared")
            lines.append(f"{short(instance.name)} {memory} -> {short(move.target or '?')} ({how})")
        else:
            reason = move.reason.replace(short.domain, "") if short.domain else move.reason
            lines.append(f"stays: {short(instance.name)} {mib(instance.memory_in_use)}: {reason}")
    return lines


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else "unknown"


def _clip(line: str) -> str:
    return line if len(line) <= MAX_LINE else line[: MAX_LINE - 1] + "…"
