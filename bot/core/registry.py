"""The one place commands are declared; ``!help`` is generated from it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

from bot.core.access import Permission
from bot.core.message import Message, Reply


@dataclass(frozen=True)
class Invocation:
    """A parsed command line: ``!name args``."""

    message: Message
    name: str
    args: str


Handler = Callable[[Invocation], Awaitable[Reply]]
Check = Callable[[Message], str | None]
"""A command's own condition beyond its permission: why the sender may not run it, or None."""


@dataclass(frozen=True)
class Command:
    """A chat command: its name, what it does, who may run it, and its handler."""

    name: str
    handler: Handler
    summary: str
    usage: str = ""
    details: str = ""
    permission: Permission = Permission.ANYONE
    aliases: tuple[str, ...] = ()
    check: Check | None = None

    def synopsis(self, prefix: str) -> str:
        return f"{prefix}{self.name} {self.usage}".rstrip()


class Registry:
    """Commands by name and alias."""

    def __init__(self) -> None:
        self._commands: dict[str, Command] = {}
        self._names: dict[str, str] = {}

    def add(self, command: Command) -> None:
        for name in (command.name, *command.aliases):
            if name in self._names:
                raise ValueError(f"command name {name!r} registered twice")
            self._names[name] = command.name
        self._commands[command.name] = command

    def command(
        self,
        name: str,
        *,
        summary: str,
        usage: str = "",
        details: str = "",
        permission: Permission = Permission.ANYONE,
        aliases: tuple[str, ...] = (),
        check: Check | None = None,
    ) -> Callable[[Handler], Handler]:
        """Decorator form of `add`."""

        def register(handler: Handler) -> Handler:
            self.add(Command(name, handler, summary, usage, details, permission, aliases, check))
            return handler

        return register

    def find(self, name: str) -> Command | None:
        canonical = self._names.get(name.lower())
        return self._commands[canonical] if canonical else None

    def __iter__(self) -> Iterator[Command]:
        return iter(sorted(self._commands.values(), key=lambda c: c.name))
