"""From a chat line to the reply: parse, check access, run, clip, page."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from bot.core.access import AccessPolicy
from bot.core.announce import Announcer
from bot.core.clipping import DEFAULT_LIMITS, OutputLimits, clip
from bot.core.message import NO_REPLY, Message, Reply
from bot.core.paging import Pager
from bot.core.registry import Command, Invocation, Registry
from bot.errors import GntbotError

log = logging.getLogger(__name__)

QuestionHandler = Callable[[Message], Awaitable[Reply]]


class Dispatcher:
    """Turns a `Message` into a `Reply`; the only entry point transports use.

    - ``!name args`` runs the registered command, if the sender may;
    - any other line addressed to the bot goes to ``on_question``;
    - any other line in a room goes to ``on_chatter`` (None: ignored).
    Errors a user can act on (`GntbotError`) are shown as they are; anything
    else is logged and reported as an internal error, and the bot carries on.
    Every reply is clipped to ``limits`` (`bot.core.clipping`) before paging.
    """

    def __init__(
        self,
        registry: Registry,
        policy: AccessPolicy,
        pager: Pager,
        *,
        prefix: str = "!",
        on_question: QuestionHandler | None = None,
        on_chatter: QuestionHandler | None = None,
        limits: OutputLimits = DEFAULT_LIMITS,
    ) -> None:
        self.registry = registry
        self.policy = policy
        self.pager = pager
        self.prefix = prefix
        self.limits = limits
        self.announcer = Announcer(limits)  # what the bot says on its own; transports attach to it
        self._on_question = on_question
        self._on_chatter = on_chatter

    async def handle(self, message: Message, *, page: bool = True) -> Reply:
        """The reply to ``message``, cut to one page (the rest waits for
        ``!more``) unless ``page`` is False: a transport that sends long
        answers privately wants them whole."""
        reply = await self._reply(message)
        reply = Reply(clip(reply.lines, self.limits), reply.private, reply.paged)
        return self._page(message, reply) if page else reply

    def forget(self, transport: str, address: str) -> None:
        """``address`` went away on ``transport`` (a nick change, a quit): drop
        what was kept for it, so whoever comes next under that name gets none of it."""
        self.pager.forget((transport, address))

    def forget_transport(self, transport: str) -> None:
        """``transport`` lost its connection: every address it knew is stale."""
        self.pager.forget_transport(transport)

    async def _reply(self, message: Message) -> Reply:
        text = message.text.strip()
        if not text:
            return NO_REPLY
        if text.startswith(self.prefix) and len(text) > len(self.prefix):
            return await self._command(message, text[len(self.prefix) :])
        handler = self._on_question if message.addressed else self._on_chatter
        if handler is None:
            return NO_REPLY
        return await self._guarded(handler, message)

    async def _command(self, message: Message, line: str) -> Reply:
        name, _, args = line.partition(" ")
        command = self.registry.find(name)
        if command is None:
            if not name.replace("-", "").isalnum():
                return NO_REPLY  # "!!!" or "!?" is chatter, not a command
            return Reply.of(
                f"unknown command {self.prefix}{name}; {self.prefix}help lists the commands."
            )
        refusal = self.refusal(command, message)
        if refusal is not None:
            log.info("refused %s%s to %s: %s", self.prefix, command.name, message.sender, refusal)
            return Reply.of(refusal)
        invocation = Invocation(message, command.name, args.strip())
        return await self._guarded(_bind(command, invocation), message)

    def refusal(self, command: Command, message: Message) -> str | None:
        """Why ``message``'s sender may not run ``command`` (its permission, then its own check), or None."""
        refusal = self.policy.refusal(command.permission, message)
        if refusal is None and command.check is not None:
            refusal = command.check(message)
        return refusal

    async def _guarded(self, handler: QuestionHandler, message: Message) -> Reply:
        try:
            return await handler(message)
        except GntbotError as error:
            return Reply.of(str(error))
        except Exception:
            log.exception("internal error while handling %r from %s", message.text, message.sender)
            return Reply.of("internal error: it has been logged; please tell the bot's maintainers.")

    def _page(self, message: Message, reply: Reply) -> Reply:
        if reply.paged or not reply.lines:  # silence must not drop someone's pending pages
            return reply
        lines = self.pager.first_page(message.conversation, reply.lines, f"{self.prefix}more",
                                      message.sender.origin)
        return Reply(tuple(lines), reply.private)

    def next_page(self, message: Message) -> Reply:
        """Continue the sender's paged output (the ``!more`` command)."""
        lines = self.pager.next_page(message.conversation, f"{self.prefix}more")
        if lines is None:
            return Reply.of("nothing more to show.")
        return Reply(tuple(lines), paged=True)


def _bind(command: Command, invocation: Invocation) -> QuestionHandler:
    async def run(_: Message) -> Reply:
        return await command.handler(invocation)

    return run
