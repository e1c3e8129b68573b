"""How an action ended, in the one line its requester hears.

Pure functions over the action's stored jobs (`Watched`: the jobs the bot
submitted, the child jobs Ganeti added, each with the line said about it) and
where the instances are now. A drain and a migrate-back are told from all of
their jobs: the drained flag and each migration, not only the first job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.actions.ledger import Record, Watched
from bot.actions.plan import Plan
from bot.ganeti.names import short


@dataclass(frozen=True)
class Ending:
    """An action's jobs once they all ended, and each instance's primary node now
    (empty when the cluster could not say)."""

    jobs: tuple[Watched, ...]
    placement: Mapping[str, str]

    def submitted(self) -> list[Watched]:
        """The jobs the bot submitted, in order."""
        return [job for job in self.jobs if job.parent is None]

    def children(self) -> list[Watched]:
        return [job for job in self.jobs if job.parent is not None]

    def main(self, record: Record) -> Watched:
        tops = self.submitted()
        return next((job for job in tops if job.job_id == record.job_id), tops[0])


def outcome(record: Record, ending: Ending) -> str:
    what = f"{record.action} {short(record.target)} @{record.cluster}"
    if record.action == "drain":
        return _drain(record, what, ending)
    if record.action == "migrate-back":
        return _migrate_back(record, what, ending)
    main = ending.main(record)
    if main.state != "success":
        return f"{what} FAILED (job {main.job_id}): {main.summary}"
    if record.action == "node-migrate":
        return f"{what} finished: {_emptied(record.target, main, ending)}"
    if record.action == "activate-disks":
        return f"{what}: disks active on {short(record.plan.source or '?')} ({main.summary}, job {main.job_id})"
    where = ending.placement.get(record.target, "?")
    return f"{what} done: now on {short(where)} ({main.summary}, job {main.job_id})"


def succeeded(record: Record, ending: Ending) -> bool:
    """Whether the action did what its plan said. For a drain, the child jobs Ganeti adds for
    the instances the plan said would stay (stopped ones: "please use failover") fail by
    design, as the reboot script's ``gnt-node migrate`` reports them; they do not make the
    drain a failure, the instances that were to move and did not do; nor does a write of
    the plan that was never submitted (a later one, after a failure) go unnoticed."""
    staying = {name for name, _ in record.plan.stays} if record.action == "drain" else set()
    return len(ending.submitted()) >= writes(record.plan) and all(
        job.state == "success" for job in ending.jobs if job.parent is None or job.instance not in staying)


def writes(plan: Plan) -> int:
    """How many jobs the bot submits for ``plan`` (`bot.actions.submit`)."""
    if plan.action == "drain":
        return bool(plan.moves) + bool(plan.drained)
    if plan.action == "migrate-back":
        return (plan.drained is False) + len(plan.moves)
    return 1


def _emptied(node: str, parent: Watched, ending: Ending) -> str:
    """What a node-migrate (``parent`` and its children) did."""
    children = ending.children()
    moved = [job for job in children if job.state == "success"]
    text = f"{len(moved)} of {len(children)} instance job(s) succeeded (job {parent.job_id})"
    names = sorted(job.instance for job in moved if job.instance)
    if names:
        text += "; moved: " + ", ".join(f"{short(name)} → {short(ending.placement.get(name, '?'))}" for name in names)
    failed = [job.summary for job in children if job.state != "success"]
    if failed:
        text += "; " + "; ".join(failed)
    left = sorted(name for name, pnode in ending.placement.items() if pnode == node)
    text += f"; {short(node)} is primary of " + (", ".join(map(short, left)) if left else "nothing")
    if "could not submit" in parent.summary:
        text += f"; {parent.summary.split('; ', 1)[-1]}"
    return text


def _drain(record: Record, what: str, ending: Ending) -> str:
    plan, node = record.plan, short(record.target)
    tops = ending.submitted()
    migration = tops[0] if plan.moves else None
    flag = tops[-1] if plan.drained and len(tops) > (1 if plan.moves else 0) else None
    if migration is not None and migration.state != "success":
        return f"{what} FAILED (job {migration.job_id}): {migration.summary}; {node} was not drained"
    parts = [_emptied(record.target, migration, ending)] if migration is not None else []
    if flag is not None:
        parts.append(flag.summary)
    elif plan.drained:
        parts.append(f"{node} was NOT drained (its job was not submitted)")
    else:
        parts.append(f"{node} was drained already")
    moved = sorted(job.instance for job in ending.children() if job.state == "success" and job.instance)
    if moved:
        parts.append(f"reboot it now; then !migrate-back {node} brings back " + ", ".join(map(short, moved)))
    return f"{what} finished: " + "; ".join(parts)


def _migrate_back(record: Record, what: str, ending: Ending) -> str:
    plan, node = record.plan, short(record.target)
    tops = ending.submitted()
    undrain = tops[0] if plan.drained is False else None
    migrations = tops[1:] if undrain is not None else tops
    if undrain is not None and undrain.state != "success":
        return f"{what} FAILED: {undrain.summary}; no instance was migrated back"
    back = sorted(job.instance for job in migrations if job.state == "success" and job.instance)
    text = f"{what} finished: {len(back)} of {len(plan.moves)} instance(s) back on {node}"
    if back:
        text += ": " + ", ".join(map(short, back))
    failed = [job.summary for job in migrations if job.state != "success"]
    unsent = len(plan.moves) - len(migrations)
    parts = [text, *([undrain.summary] if undrain is not None else []), *failed]
    if unsent > 0:
        parts.append(f"{unsent} migration(s) not submitted")
    if failed or unsent > 0:
        parts.append(f"!migrate-back {node} again brings the rest once fixed")
    return "; ".join(parts)


