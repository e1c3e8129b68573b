"""``!migrate``, ``!failover``, ``!activate-disks``, ``!node-migrate``, ``!drain``,
``!migrate-back``, ``!confirm``, ``!cancel``, ``!pending``: the chat face of the
confirmed actions.

Arguments are split here (``@cluster``, the words, ``-- free text``); every
name goes to the service, which checks it against the cluster's own listing
before it can reach a URL. Who may request an action is decided on the
verified person (`bot.actions.settings`), and ``!help`` shows an action only
to those who may request it.
"""

from __future__ import annotations

import functools

from bot.actions.checks import Actor
from bot.actions.service import ActionService
from bot.actions.settings import ActionSettings
from bot.commands.cluster import _split
from bot.core.access import AccessPolicy, Permission
from bot.core.message import Message, Reply
from bot.core.people import CONSOLE, XMPP
from bot.core.registry import Check, Invocation, Registry

MAX_REASON = 200


def register(registry: Registry, service: ActionService | None, policy: AccessPolicy,
             settings: ActionSettings | None, prefix: str) -> None:
    """The action commands; without ``[actions]`` (``service`` None) each says so."""
    commands = ActionCommands(service, policy, settings, prefix)
    why = f"[-- WHY] (free text or ticket, put in the job's reason); {prefix}confirm TOKEN follows"
    add = functools.partial(registry.command, permission=Permission.VERIFIED)
    def action(name: str, usage: str, summary: str, details: str, takes_node: bool = False) -> None:
        """``!name``, a confirmed action; ``takes_node``: a target node may follow the instance."""
        add(name, usage=usage, summary=summary, details=details, check=commands.check(name))(
            functools.partial(commands.action, name, takes_node, usage))

    action("migrate", "INSTANCE [NODE] [@cluster] [-- WHY]",
           "live-migrate an instance to another node, after a confirmation",
           f"DRBD instances go to their secondary; shared-storage and diskless ones to NODE, or where "
           f"the cluster's iallocator says. {why}", takes_node=True)
    action("failover", "INSTANCE [@cluster] [-- WHY]",
           "fail an instance over to another node (it is shut down and started there)",
           f"For stopped instances, or where a live migration is impossible. {why}")
    action("activate-disks", "INSTANCE [@cluster] [-- WHY]",
           "activate an instance's disks (the fix for 'disk/N is degraded')", why)
    action("node-migrate", "NODE [@cluster] [-- WHY]",
           "live-migrate every primary instance off a node, e.g. before a reboot",
           f"The plan lists what moves, what cannot, and the N+1 consequence. The master is refused. {why}")
    action("drain", "NODE [@cluster] [-- WHY]",
           "empty a node for its reboot: drain it, migrate its primaries off, remember them",
           f"The plan lists what moves and where, what cannot (local disks, stopped) and the N+1 "
           f"consequence; the master is refused. The node is drained so nothing new lands on it, and the "
           f"run is told in the node's reboot campaign (or one of its own). After the reboot, "
           f"{prefix}migrate-back NODE brings the instances back. {why}")
    action("migrate-back", "NODE [@cluster] [-- WHY]",
           "after a reboot, bring back the instances a drain moved off a node",
           "Only those still where the drain put it, running, with their DRBD disks in sync (else it "
           "says which disk is not, and waits for you to ask again); a drained node is undrained first. "
           f"{why}")
    add("confirm", usage="TOKEN", summary="confirm a planned action, in the room it was asked in",
        check=commands.approver_check)(commands.confirm)
    add("cancel", usage="TOKEN", summary="drop a planned action before it is confirmed",
        check=commands.approver_check)(commands.cancel)
    registry.command("pending", summary="list the actions that wait for a confirmation or run",
                     permission=Permission.READ, check=commands.enabled_check)(commands.pending)


class ActionCommands:
    def __init__(self, service: ActionService | None, policy: AccessPolicy, settings: ActionSettings | None,
                 prefix: str) -> None:
        self.service = service
        self.policy = policy
        self.settings = settings
        self.prefix = prefix

    # -- who sees and may run what ---------------------------------------------

    def check(self, action: str) -> Check:
        def refusal(message: Message) -> str | None:
            if self.service is None:
                return "refused: actions are not enabled on this bot (no [actions] in its configuration)."
            why = self.service.may_request(action, self.policy.person(message))
            return f"refused: {why}." if why else None

        return refusal

    def approver_check(self, message: Message) -> str | None:
        if self.service is None:
            return "refused: actions are not enabled on this bot (no [actions] in its configuration)."
        if not self.service.may_confirm(self.policy.person(message)):
            return f"refused: {message.sender.principal} may neither request nor confirm actions here."
        return None

    def enabled_check(self, message: Message) -> str | None:
        return None if self.service is not None else "refused: actions are not enabled on this bot."

    # -- the commands ---------------------------------------------------------------

    async def action(self, action: str, takes_node: bool, usage: str, call: Invocation) -> Reply:
        assert self.service is not None  # the check refused otherwise
        words, why = _reason(call.args)
        cluster, names = _split(words)
        if not names or len(names) > (2 if takes_node else 1):
            return Reply.of(f"usage: {self.prefix}{call.name} {usage}")
        node = names[1] if len(names) > 1 else None
        return Reply.of(*await self.service.request(self._actor(call.message), action, names[0], node, cluster, why))

    async def confirm(self, call: Invocation) -> Reply:
        assert self.service is not None
        if len(call.args.split()) != 1:
            return Reply.of(f"usage: {self.prefix}confirm TOKEN (the token the plan gave)")
        return Reply.of(*await self.service.confirm(self._actor(call.message), call.args))

    async def cancel(self, call: Invocation) -> Reply:
        assert self.service is not None
        if len(call.args.split()) != 1:
            return Reply.of(f"usage: {self.prefix}cancel TOKEN")
        return Reply.of(*await self.service.cancel(self._actor(call.message), call.args))

    async def pending(self, call: Invocation) -> Reply:
        assert self.service is not None
        return Reply.of(*self.service.pending(self._room(call.message)))

    def _actor(self, message: Message) -> Actor:
        sender = message.sender
        person = self.policy.person(message)
        assert person is not None and sender.principal is not None  # Permission.VERIFIED
        return Actor(person, sender.principal, sender.name, sender.transport, _place(message), self._room(message),
                     message.private)

    def _room(self, message: Message) -> str:
        """The room a request made by ``message`` belongs to (linked rooms are one)."""
        assert self.settings is not None
        if message.room is None:
            return f"private:{message.sender.principal}"
        return self.settings.room(message.sender.transport, message.room)


def _place(message: Message) -> str | None:
    """Where outcomes of ``message``'s request are said: its room; in private, the verified
    account where the network delivers to accounts (an XMPP bare JID, the console user),
    else nowhere (an IRC nick may belong to someone else by then)."""
    if message.room is not None:
        return message.room
    return message.sender.account if message.sender.transport in (XMPP, CONSOLE) else None


def _reason(args: str) -> tuple[str, str]:
    """``"inst3 node1 -- T1234 disk"`` → ``("inst3 node1", "T1234 disk")``."""
    words = args.split()
    if "--" not in words:
        return args, ""
    cut = words.index("--")
    return " ".join(words[:cut]), " ".join(words[cut + 1:])[:MAX_REASON]
