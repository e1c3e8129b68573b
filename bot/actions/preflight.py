"""Reading what the plan needs from the cluster, and asking Ganeti's own opinion.

`snapshot` reads the cluster as the read user, live and uncached (cluster
info, nodes, instances, jobs: four requests side by side); `survey` adds, for
a migrate-back, what a reboot campaign remembered of the node and the DRBD
disk status of those instances (an info job each, which the read user may
submit: it changes nothing). `dry_run` submits
the action with the body's ``dry_run`` flag, which runs Ganeti's prerequisite
checks (free memory on the target included) and nothing else; it is used only
where the server honours it (instance migrate and failover: the ``?dry-run``
query is ignored there, and node migrate has no dry run that is safe to rely
on). When the iallocator picked the target, the dry run's log names it, and
the plan is pinned to that node, so what is confirmed is what is submitted.

Everything here blocks: the service runs it in a thread.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from bot.actions.plan import Plan, Refusal, Remembered, Request, Snapshot
from bot.actions.rules import make_plan
from bot.ganeti import model
from bot.ganeti.cluster import Cluster
from bot.ganeti.details import disk_problems
from bot.ganeti.jobs import JobView
from bot.ganeti.model import INTERNALLY_MIRRORED, ClusterInfo, Instance, Job, Node
from bot.ganeti.rapi import MAX_IN_FLIGHT, RapiClient
from bot.ganeti.writes import WriteClient

DRY_RUN_ACTIONS = frozenset({"migrate", "failover"})
DRY_RUN_TIMEOUT = 60.0
DRY_RUN_POLL = 0.3


def snapshot(client: RapiClient) -> Snapshot:
    """The cluster as it is now (nothing cached)."""
    with ThreadPoolExecutor(4, thread_name_prefix="preflight") as pool:
        info = pool.submit(client.info)
        nodes = pool.submit(client.query, "node", model.NODE_FIELDS)
        instances = pool.submit(client.query, "instance", model.INSTANCE_FIELDS)
        jobs = pool.submit(client.query, "job", model.JOB_FIELDS)
        return Snapshot(
            ClusterInfo.from_rapi(info.result()),
            tuple(Node.from_row(row) for row in nodes.result()),
            tuple(Instance.from_row(row) for row in instances.result()),
            tuple(Job.from_row(row) for row in jobs.result()),
        )


def survey(cluster: Cluster, remembered: Remembered | None) -> Snapshot:
    """`snapshot`, with what was ``remembered`` of a node (migrate-back) and the
    disk status of its DRBD instances that are away from it."""
    current = snapshot(cluster.client)
    if remembered is None:
        return current
    wanted = {name for name, _ in remembered.instances}
    away = [instance.name for instance in current.instances if instance.name in wanted
            and instance.disk_template in INTERNALLY_MIRRORED and instance.pnode != remembered.node]
    with ThreadPoolExecutor(MAX_IN_FLIGHT, thread_name_prefix="disks") as pool:
        answers = list(pool.map(lambda name: cluster.query_data(name, live=True), away))
    disks = tuple((name, None if info is None else tuple(disk_problems(name, info)))
                  for name, info in zip(away, answers, strict=True))
    return replace(current, remembered=remembered, disks=disks)


def dry_run(request: Request, found: Plan, current: Snapshot, reader: RapiClient, writer: WriteClient,
            reason: str) -> Plan:
    """``found`` checked by Ganeti itself; refined with the node the iallocator chose."""
    if found.action not in DRY_RUN_ACTIONS:
        return found
    submit = writer.migrate_instance if found.action == "migrate" else writer.failover_instance
    job_id = submit(found.target, reason=reason, target_node=found.destination,
                    iallocator=None if found.destination else found.iallocator, dry_run=True)
    view = _wait(reader, job_id)
    if not view.succeeded:
        why = "; ".join(view.errors) or f"its check job {job_id} ended {view.status}"
        raise Refusal(f"Ganeti refuses: {why} (dry-run job {job_id}); nothing was submitted")
    chosen = view.selected_node(found.target)
    if found.destination is None and chosen:
        return make_plan(replace(request, node=chosen), current)
    return found


def _wait(reader: RapiClient, job_id: int) -> JobView:
    deadline = time.monotonic() + DRY_RUN_TIMEOUT
    while True:
        view = JobView.from_rapi(reader.job(job_id))
        if view.finished:
            return view
        if time.monotonic() > deadline:
            raise Refusal(f"Ganeti's check (dry-run job {job_id}) did not finish within {DRY_RUN_TIMEOUT:.0f} s: "
                          "the job queue may be busy; ask again later")
        time.sleep(DRY_RUN_POLL)
