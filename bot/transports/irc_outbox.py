"""The bot's outgoing IRC lines, paced so the server never kills it for flooding.

Every line after registration goes through one token bucket. Requests the
bot needs for itself (WHOIS, JOIN) go first; chat lines are served round
robin between targets, so a long answer in one channel does not hold up a
short one elsewhere. Text is cut to fit the 512-byte line *as the server
relays it*, prefix ``:nick!user@host`` included, at UTF-8 boundaries.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable

from bot.transports.flood import TokenBucket, split_utf8

LINE_LIMIT = 512
_MAX_USER, _MAX_HOST = 10, 63  # worst case until the server shows our real mask


class Outbox:
    def __init__(self, write: Callable[[str], None], bucket: TokenBucket, nick: str, username: str) -> None:
        self._write = write
        self._bucket = bucket
        self.source = f"{nick}!~{username[:_MAX_USER]}@{'x' * _MAX_HOST}"
        self._control: deque[str] = deque()
        self._chat: OrderedDict[str, deque[str]] = OrderedDict()
        self._ready = asyncio.Event()

    def control(self, line: str) -> None:
        """A request of the bot's own (WHOIS, JOIN): sent before chat lines."""
        self._control.append(line)
        self._ready.set()

    def privmsg(self, target: str, lines: Iterable[str]) -> None:
        self._chat_lines("PRIVMSG", target, lines)

    def notice(self, target: str, text: str) -> None:
        self._chat_lines("NOTICE", target, [text])

    def _chat_lines(self, command: str, target: str, lines: Iterable[str]) -> None:
        head = f"{command} {target} :"
        room = LINE_LIMIT - 2 - len(f":{self.source} {head}".encode())
        queue = self._chat.setdefault(target, deque())
        for line in lines:
            queue.extend(head + piece for piece in split_utf8(line, room))
        if queue:
            self._ready.set()

    def pending(self) -> int:
        return len(self._control) + sum(len(queue) for queue in self._chat.values())

    def _next(self) -> str | None:
        if self._control:
            return self._control.popleft()
        while self._chat:
            target, queue = next(iter(self._chat.items()))
            self._chat.move_to_end(target)
            if queue:
                line = queue.popleft()
                if not queue:
                    del self._chat[target]
                return line
            del self._chat[target]
        return None

    async def run(self) -> None:
        """Send queued lines as fast as the bucket allows, until cancelled."""
        while True:
            await self._ready.wait()
            if not self.pending():
                self._ready.clear()
                continue
            await self._bucket.take()
            line = self._next()  # only this task takes lines out: still there
            assert line is not None
            self._write(line)
