"""Making a plan from the cluster, and making it again just before submitting.

`Planner.plan` finds the names on the cluster (the instance or node, the
target node), checks that the cluster has a write user and that no other
action holds them, reads the cluster (`preflight.survey`: and, for a
migrate-back, what its reboot campaign remembered of the node), applies the
rules and Ganeti's dry run, and stores the plan with its token.
`Planner.recheck_and_submit` reads the cluster again after the confirmation:
a fact of the plan that changed stops it; otherwise the re-check is put on
record (`Checked`, in the worker thread, before anything is sent) and the
plan's writes go out, once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from bot.actions import preflight
from bot.actions.checks import Actor, held
from bot.actions.ledger import PENDING, Ledger, Record
from bot.actions.plan import Plan, Refusal, Remembered, Request, changes
from bot.actions.reboots import CAMPAIGN_ACTIONS, CampaignLink
from bot.actions.rules import NODE_RULES, make_plan
from bot.actions.settings import ActionPolicy
from bot.actions.submit import Submitted, reason, submit
from bot.ganeti.cluster import Cluster
from bot.ganeti.clusters import Clusters
from bot.ganeti.writes import WriteClient

Checked = Callable[[Record, Plan], None]
"""``checked(record, fresh)``: the re-check passed; blocking, and what it raises stops the writes."""


class Planner:
    def __init__(self, clusters: Callable[[], Clusters], ledger: Ledger, prefix: str) -> None:
        self._clusters = clusters  # the service's, which a reload replaces
        self.ledger = ledger
        self.prefix = prefix
        self.campaigns: CampaignLink | None = None

    async def plan(self, actor: Actor, policy: ActionPolicy, action: str, target: str, node: str | None,
                   cluster: str | None, why: str) -> Record:
        """The stored plan of what ``actor`` asked for, or `Refusal` (or another `GntbotError`)."""
        if action in CAMPAIGN_ACTIONS and self.campaigns is None:
            raise Refusal(f"{action} is told in a reboot campaign, which only the running bot follows "
                          "(gntbot run)")
        clusters = self._clusters()
        finder = clusters.find_node if action in NODE_RULES else clusters.find_instance
        found = await finder(target, cluster)
        where = found.cluster
        to = (await clusters.find_node(node, where.name)).name if node else None
        writer = WriteClient(where.settings)  # refuses a cluster without write credentials
        self._not_held(where.name, (found.name, *([to] if to else [])))
        request = Request(action, where.name, found.name, to, why)
        draft = self._draft(actor, request, policy)
        remembered = self._remembered(request)
        checked = await where.run(lambda c: self._preflight(request, c, writer, draft, remembered))
        self._not_held(where.name, checked.locks)
        if action == "drain" and self.campaigns is not None:
            campaign, note = self.campaigns.told_in(where.name, found.name, draft.token)
            checked = replace(checked, notes=(*checked.notes, note), campaign=campaign)
        record = replace(draft, plan=checked)
        self.ledger.add(record, time.time())
        return record

    async def recheck_and_submit(self, record: Record, checked: Checked) -> Submitted:
        """The jobs submitted for a fresh plan equal to ``record``'s. Errors before the first
        write mean that nothing was sent; `SubmissionUncertain` that it may have been."""
        where = self._clusters().select(record.cluster)[0]
        writer = WriteClient(where.settings)
        request = Request(record.action, record.cluster, record.target, record.plan.destination, record.reason)
        remembered = self._remembered(request)

        def work() -> Submitted:
            try:
                fresh = make_plan(request, preflight.survey(where, remembered))
            except Refusal as error:
                raise Refusal(f"the cluster changed since the plan: {error}") from None
            changed = changes(record.plan, fresh)
            if changed:
                raise Refusal("the cluster changed since the plan: " + "; ".join(changed))
            checked(record, fresh)
            return submit(writer, fresh, reason(fresh, record.token, record.room, record.requester,
                                                record.approver, record.reason))

        return await where.run(lambda _: work())

    def _not_held(self, cluster: str, names: tuple[str, ...]) -> None:
        holder = self.ledger.holder(cluster, names, time.time())
        if holder is not None:
            raise Refusal(held(holder, self.prefix))

    def _remembered(self, request: Request) -> Remembered | None:
        """For a migrate-back, what its campaign remembered of the node (`Refusal` if nothing)."""
        if request.action != "migrate-back" or self.campaigns is None:
            return None
        return self.campaigns.remembered(request.cluster, request.target)

    def _preflight(self, request: Request, where: Cluster, writer: WriteClient, draft: Record,
                   remembered: Remembered | None) -> Plan:
        current = preflight.survey(where, remembered)
        found = make_plan(request, current)
        note = "preflight dry run: nothing changes"
        why = reason(found, draft.token, draft.room, draft.requester, None, request.reason, note)
        return preflight.dry_run(request, found, current, where.client, writer, why)

    def _draft(self, actor: Actor, request: Request, policy: ActionPolicy) -> Record:
        now = time.time()
        return Record(self.ledger.new_token(), request.action, request.cluster, request.target,
                      Plan(request.action, request.cluster, request.target), request.reason, actor.person.name,
                      actor.account, actor.nick, actor.realm, actor.place or "", actor.room, now, now + policy.window,
                      PENDING, None, None, None, None)
