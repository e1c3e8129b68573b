"""``!help`` and ``!more``: generated from the registry, served by the dispatcher."""

from __future__ import annotations

from bot.core.access import Permission
from bot.core.dispatch import Dispatcher
from bot.core.message import Reply
from bot.core.registry import Command, Invocation

_WHO = {
    Permission.ANYONE: "",
    Permission.READ: " (in the team's rooms, or readers)",
    Permission.VERIFIED: " (identified users)",
    Permission.OPERATOR: " (operators)",
}


def register(dispatcher: Dispatcher, bot_name: str) -> None:
    registry, prefix = dispatcher.registry, dispatcher.prefix

    async def help_(call: Invocation) -> Reply:
        if call.args:
            return Reply.of(*_details(call.args.split()[0].lstrip(prefix)))
        allowed = [command for command in registry if dispatcher.refusal(command, call.message) is None]
        names = ", ".join(f"{prefix}{command.name}" for command in allowed)
        return Reply.of(
            f"commands: {names}.",
            f"Ask a question by addressing me (\"{bot_name}: how do I ...\"); "
            f"{prefix}help COMMAND tells more.",
        )

    def _details(name: str) -> list[str]:
        command = registry.find(name)
        if command is None:
            return [f"no command {prefix}{name}; {prefix}help lists them."]
        return [_headline(command), *command.details.splitlines()]

    def _headline(command: Command) -> str:
        aliases = "".join(f", {prefix}{alias}" for alias in command.aliases)
        return f"{command.synopsis(prefix)}{aliases}: {command.summary}{_WHO[command.permission]}"

    async def more(call: Invocation) -> Reply:
        return dispatcher.next_page(call.message)

    registry.command(
        "help", usage="[COMMAND]", summary="list the commands, or explain one"
    )(help_)
    registry.command(
        "more", summary="show the next lines of a long answer"
    )(more)
