"""Who is acting, who may confirm what, and how refusals read: pure functions over stored requests."""

from __future__ import annotations

from dataclasses import dataclass

from bot.actions.ledger import (
    DONE,
    PENDING,
    SUBMITTED,
    SUBMITTING,
    TOKEN_ALPHABET,
    TOKEN_LENGTH,
    Record,
)
from bot.actions.settings import ActionSettings
from bot.core.people import Person


@dataclass(frozen=True)
class Actor:
    """Who is asking, and from where, as the command layer verified it."""

    person: Person
    account: str  # the verified principal used, realm:account
    nick: str  # what to highlight
    realm: str
    place: str | None  # where announcements go: the room, or in private the account (None: no such address)
    room: str  # the room a confirmation must come from (linked rooms share one)
    private: bool


def confirm_refusal(actor: Actor, token: str, record: Record | None, settings: ActionSettings, now: float,
                    prefix: str) -> str | None:
    """Why ``actor`` may not confirm ``token`` now, or None. The checks come in the order a careful
    person asks: does it exist, does it still wait, is this the room, is it in time, may this person."""
    if record is None:
        return f"no action waits for the token {token[:12]!r} (tokens look like {prefix}confirm k7q2x)"
    refusal = _not_here(actor, token, record, "confirm")
    if refusal is not None:
        return refusal
    if now > record.deadline:
        return f"{token} expired {now - record.deadline:.0f} s ago: nothing was done; ask again"
    policy = settings.policy(record.action)
    if policy is None:
        return f"{record.action} is not enabled on this bot any more"
    own = actor.person.name == record.requester
    if own and policy.needs_second_person:
        return (f"{record.action} needs a second person: {record.requester} asked for it, so someone else "
                "must confirm (your other accounts are still you)")
    if not own and not policy.approvers.admits(actor.person):
        return f"{actor.person} may not confirm {record.action} ([actions] approvers)"
    return None


def cancel_refusal(actor: Actor, token: str, record: Record | None, settings: ActionSettings) -> str | None:
    """Why ``actor`` may not cancel ``token``, or None: the same token and room checks
    as for a confirmation, then the requester or an approver of the action."""
    if record is None:
        return f"no action waits for the token {token[:12]!r}"
    refusal = _not_here(actor, token, record, "cancel")
    if refusal is not None:
        return refusal
    policy = settings.policy(record.action)
    if actor.person.name != record.requester and not (policy is not None and policy.approvers.admits(actor.person)):
        return f"only {record.requester} or an approver of {record.action} may cancel {token}"
    return None


def _not_here(actor: Actor, token: str, record: Record, verb: str) -> str | None:
    """Why ``record`` cannot be confirmed or cancelled by ``actor``: it waits no more, or not in this room."""
    if record.state != PENDING:
        by = f" by {record.approver}" if record.approver else ""
        return f"{token} is not waiting any more: it was {said(record.state)}{by}"
    if actor.room != record.room:
        place = "in private" if record.room.startswith("private:") else f"in {record.room}"
        return f"{token} was asked for {place}: {verb} it there"
    return None


def is_token(text: str) -> bool:
    return len(text) == TOKEN_LENGTH and all(c in TOKEN_ALPHABET for c in text)


def said(state: str) -> str:
    return {SUBMITTING: "confirmed", SUBMITTED: "confirmed and submitted", DONE: "confirmed and done"}.get(state, state)


def held(record: Record, prefix: str) -> str:
    state = "waits for confirmation" if record.state == PENDING else "is running"
    return (f"{record.action} {record.target} ({record.token}, asked by {record.requester}) {state} and involves "
            f"the same instance or node: one action at a time (wait, or {prefix}cancel {record.token})")

