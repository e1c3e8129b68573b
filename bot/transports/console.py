"""A local chat session on stdin/stdout, against the same command core.

Reads line by line, so it works from a terminal and from a pipe
(``printf '!search drbd\n' | gntbot console``). The local user is trusted as
verified: whoever runs the console already has a shell on the bot's machine.
The runbooks are not trusted: what they say reaches the terminal without
control characters or escape sequences.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from typing import TextIO

from bot.core.dispatch import Dispatcher
from bot.core.message import Identity, Message
from bot.core.people import CONSOLE
from bot.transports.base import Transport
from bot.transports.text import inbound, outbound


class ConsoleTransport(Transport):
    name = "console"

    def __init__(self, user: str, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> None:
        self.identity = Identity(CONSOLE, user, account=user)
        self.stdin = stdin
        self.stdout = stdout
        self._stopped = asyncio.Event()

    async def run(self, dispatcher: Dispatcher) -> None:
        dispatcher.announcer.attach(CONSOLE, self._announce)
        try:
            await self._serve(dispatcher)
        finally:
            dispatcher.announcer.detach(CONSOLE, self._announce)

    async def _serve(self, dispatcher: Dispatcher) -> None:
        interactive = self.stdin.isatty()
        loop = asyncio.get_running_loop()
        while not self._stopped.is_set():
            if interactive:
                self._write("> ", end="")
            line = await loop.run_in_executor(None, self.stdin.readline)
            if not line:  # end of input
                break
            message = Message(inbound(line), self.identity, room=None, addressed=True)
            reply = await dispatcher.handle(message)
            for text in reply.lines:
                self._write(text)

    async def stop(self) -> None:
        self._stopped.set()

    def _announce(self, target: str, lines: Sequence[str]) -> None:
        """What the bot says on its own (a job's outcome) appears between the answers."""
        for text in lines:
            self._write(text)

    def _write(self, text: str, end: str = "\n") -> None:
        self.stdout.write(outbound(text) + end)
        self.stdout.flush()
