"""What IRC and XMPP share between a chat line and the dispatcher.

- which lines the bot acts on (`read_line`): commands, lines addressed to it,
  private lines, and, where enabled, pasted Ganeti errors;
- the order of work (`Lanes`): one person's lines are answered in order,
  while a slow answer for one never holds up anyone else;
- where the answer goes (`respond`): the room, or a private message for long
  answers when ``long_output = "private"``.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Hashable, Iterable
from dataclasses import dataclass

from bot.core.dispatch import Dispatcher
from bot.core.message import Message

log = logging.getLogger(__name__)

# Output of gnt-* commands and of the Ganeti job queue that people paste when
# something failed: "Failure: prerequisites not met ...", "OpPrereqError",
# "ERROR: node node2: ..." from gnt-cluster verify, "Job 1234 failed".
_GANETI_ERROR = re.compile(
    r"Failure: (?:prerequisites not met|command execution error|resource not available|"
    r"unknown/wrong parameter|invalid|timeout)"
    r"|\bOp(?:Prereq|Exec|Resolve|Retry)Error\b"
    r"|\bganeti\.errors\.\w+"
    r"|\b(?:ERROR|WARNING): (?:cluster|node|instance|group)\b"
    r"|\bJob \d+ (?:has )?failed"
    r"|Unhandled Ganeti error"
)


def looks_like_ganeti_error(text: str) -> bool:
    """True for a line that looks like pasted Ganeti error output."""
    return _GANETI_ERROR.search(text) is not None


def strip_address(text: str, names: Iterable[str]) -> str | None:
    """The rest of ``gntbot: question`` (or ``gntbot, ...``, ``@gntbot: ...``),
    or None when the line does not start with one of ``names``."""
    stripped = text.lstrip().removeprefix("@")
    lowered = stripped.lower()
    for name in sorted(names, key=len, reverse=True):
        if lowered.startswith(name.lower()):
            rest = stripped[len(name) :]
            if not rest.strip():
                return ""
            if rest[0] in ":,":
                return rest[1:].strip()
    return None


def read_line(
    text: str, *, names: Iterable[str], prefix: str, private: bool, recognise_errors: bool = False
) -> tuple[str, bool] | None:
    """What the dispatcher should see of a chat line, ``(text, addressed)``,
    or None when the bot has nothing to do with it."""
    stripped = strip_address(text, names)
    if private:
        return (text.strip() if stripped is None else stripped), True
    if stripped is not None:
        return stripped, True
    if text.startswith(prefix):
        return text, False
    if recognise_errors and looks_like_ganeti_error(text):
        return text, False
    return None


@dataclass(frozen=True)
class Outgoing:
    """Lines for the room the message came from, or for its sender alone."""

    private: bool
    lines: tuple[str, ...]


async def respond(dispatcher: Dispatcher, message: Message, long_output: str) -> list[Outgoing]:
    """The dispatcher's reply to ``message``, and where each line of it goes.

    In a room the first line names the person answered. With
    ``long_output = "private"`` an answer longer than a page is not paged: it
    goes whole to the sender in private, and the room gets its first line and
    a pointer. Otherwise the room gets one page and ``!more`` the rest.
    """
    whole = long_output == "private" and not message.private
    reply = await dispatcher.handle(message, page=not whole)
    lines = reply.lines  # split and clipped by the core; each transport cleans characters
    if not lines:
        return []
    if message.private or reply.private:
        return [Outgoing(True, lines)]
    name = message.sender.name
    if whole and len(lines) > dispatcher.pager.page_lines:
        return [
            Outgoing(False, (f"{name}: {lines[0]} (the whole answer, {len(lines)} lines, is in a private message)",)),
            Outgoing(True, lines),
        ]
    return [Outgoing(False, (f"{name}: {lines[0]}", *lines[1:]))]


class Lanes:
    """Runs jobs as tasks: in order within a lane, lanes side by side.

    A lane is one person in one room: their questions are answered in the
    order asked, and a slow command never blocks anybody else's lane.
    """

    def __init__(self) -> None:
        self._tails: dict[Hashable, asyncio.Task[None]] = {}
        self._running: set[asyncio.Task[None]] = set()

    def submit(self, lane: Hashable, job: Callable[[], Awaitable[None]]) -> asyncio.Task[None]:
        previous = self._tails.get(lane)

        async def run() -> None:
            if previous is not None:
                await asyncio.wait([previous])
            await job()

        task = asyncio.create_task(run())
        self._tails[lane] = task
        self._running.add(task)
        task.add_done_callback(lambda done: self._finished(lane, done))
        return task

    def _finished(self, lane: Hashable, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        if self._tails.get(lane) is task:
            del self._tails[lane]
        if not task.cancelled() and task.exception() is not None:
            log.error("answering a chat line failed", exc_info=task.exception())

    async def close(self) -> None:
        """Cancel all pending work (the connection is gone)."""
        tasks = list(self._running)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
