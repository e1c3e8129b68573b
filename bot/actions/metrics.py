"""Metrics of the confirmed actions: how requests ended, how long jobs took, what waits.

Labels are the action's name only (four known values): never the person, the
instance or the job, which are in the audit log instead.
"""

from __future__ import annotations

from bot.actions.settings import ACTIONS, ActionSettings
from bot.metrics import SLOW_BUCKETS, Metrics

# How a request ended: refused before a plan was made; a plan nobody confirmed in
# time, or that was cancelled; confirmed but not submitted (the re-check found
# the cluster changed, or RAPI refused the write); submitted, with the job's
# result; or submitted maybe (the answer was lost and no job carries its token).
REFUSED, EXPIRED, CANCELLED, NOT_SUBMITTED = "refused", "expired", "cancelled", "not_submitted"
SUCCEEDED, FAILED, UNKNOWN = "succeeded", "failed", "unknown"
OUTCOMES = (REFUSED, EXPIRED, CANCELLED, NOT_SUBMITTED, SUCCEEDED, FAILED, UNKNOWN)


class ActionMetrics:
    def __init__(self, metrics: Metrics, settings: ActionSettings) -> None:
        enabled = [policy.action for policy in settings.policies]
        self.outcomes = metrics.counter(
            "actions_total",
            "Requested actions by how they ended: refused (no plan), expired or cancelled (not confirmed), "
            "not_submitted (the re-check or RAPI refused), succeeded or failed (the job's result), unknown "
            "(the answer to the write was lost and no job carries its token).",
            ["action", "outcome"], initial=[(action, outcome) for action in ACTIONS for outcome in OUTCOMES])
        self.job_seconds = metrics.histogram(
            "action_job_duration_seconds",
            "Time from a job's arrival in the cluster's queue to its end, for the jobs of confirmed actions "
            "(each child job of a node-migrate too).",
            ["action"], initial=[(action,) for action in enabled], buckets=SLOW_BUCKETS)
        self.pending = metrics.gauge(
            "actions_pending", "Planned actions waiting for their !confirm.", ["action"],
            initial=[(action,) for action in enabled])

    def ended(self, action: str, outcome: str) -> None:
        self.outcomes.labels(action, outcome).inc()
