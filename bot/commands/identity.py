"""``!whoami``: what the bot knows of the sender, so people can check their login."""

from __future__ import annotations

from bot.core.access import AccessPolicy, Permission
from bot.core.message import Reply
from bot.core.registry import Invocation, Registry


def register(registry: Registry, policy: AccessPolicy) -> None:
    async def whoami(call: Invocation) -> Reply:
        sender = call.message.sender
        if not sender.verified:
            return Reply.of(f"you are {sender.name}, not verified: {sender.unverified_reason}.")
        person = policy.person(call.message)
        known = [f"person {person}"] if person and person.name != sender.principal else []
        if person and person.groups:
            known.append(f"groups {', '.join(sorted(person.groups))}")
        who = f"{sender.principal} ({'; '.join(known)})" if known else f"{sender.principal}"
        role = "an operator" if policy.refusal(Permission.OPERATOR, call.message) is None else "not an operator"
        return Reply.of(f"you are {sender.name}, verified as {who}; {role}.")

    registry.command("whoami", summary="show the identity the bot sees for you")(whoami)
