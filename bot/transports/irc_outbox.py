"""The bot's outgoing IRC lines, paced so the server never kills it for flooding.

Every line after registration goes through one token bucket. Requests the
bot needs for itself (WHOIS, JOIN) go first; chat lines are served round
robin between targets, so a long answer in one channel does not hold up a
short one elsewhere. Text is cleaned of anything IRC would misread
(`bot.transports.text.no_controls`) and cut to fit the 512-byte line *as the
server relays it*, prefix ``:nick!user@host`` included, at UTF-8 boundaries.

What waits is bounded, so the lag is too: at most ``target_lines`` lines per
target and ``total_lines`` in all. Past that, new lines are dropped and the
target is told so once, until its queue has drained.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable

from bot.transports.flood import TokenBucket, split_utf8
from bot.transports.text import no_controls

LINE_LIMIT = 512
_MAX_USER, _MAX_HOST = 10, 63  # worst case until the server shows our real mask
SHED = "(some lines were dropped: too much is waiting to be sent here; ask again in a minute)"


class Outbox:
    def __init__(self, write: Callable[[str], None], bucket: TokenBucket, nick: str, username: str, *,
                 target_lines: int = 30, total_lines: int = 120) -> None:
        if target_lines < 2 or total_lines < target_lines:
            raise ValueError("the outbox needs target_lines >= 2 and total_lines >= target_lines")
        self._write = write
        self._bucket = bucket
        self.source = f"{nick}!~{username[:_MAX_USER]}@{'x' * _MAX_HOST}"
        self.target_lines = target_lines
        self.total_lines = total_lines
        self._control: deque[str] = deque()
        self._chat: OrderedDict[str, deque[str]] = OrderedDict()
        self._chat_count = 0
        self._told: set[str] = set()  # targets told of dropped lines since their queue last drained
        self._ready = asyncio.Event()

    def control(self, line: str) -> None:
        """A request of the bot's own (WHOIS, JOIN): sent before chat lines."""
        self._control.append(line)
        self._ready.set()

    def privmsg(self, target: str, lines: Iterable[str]) -> int:
        """Queue ``lines`` for ``target``; the number of IRC lines that took."""
        return self._chat_lines("PRIVMSG", target, lines)

    def notice(self, target: str, text: str) -> int:
        return self._chat_lines("NOTICE", target, [text])

    def _chat_lines(self, command: str, target: str, lines: Iterable[str]) -> int:
        head = f"{command} {target} :"
        room = LINE_LIMIT - 2 - len(f":{self.source} {head}".encode())
        queue = self._chat.setdefault(target, deque())
        queued = dropped = 0
        for line in lines:
            text = no_controls(line)
            if not text.strip():
                continue
            for piece in split_utf8(text, room):
                if len(queue) < self.target_lines and self._chat_count + queued < self.total_lines:
                    queue.append(head + piece)
                    queued += 1
                else:
                    dropped += 1
        if dropped and target not in self._told and self._chat_count + queued < self.total_lines + self.target_lines:
            self._told.add(target)  # the notice may overrun the bounds, by one line per target told
            queue.append(f"NOTICE {target} :{SHED}")
            queued += 1
        self._chat_count += queued
        if queue:
            self._ready.set()
        else:
            del self._chat[target]
        return queued

    def pending(self) -> int:
        return len(self._control) + self._chat_count

    def _next(self) -> str | None:
        if self._control:
            return self._control.popleft()
        if not self._chat:
            return None
        target, queue = next(iter(self._chat.items()))
        self._chat.move_to_end(target)
        line = queue.popleft()
        self._chat_count -= 1
        if not queue:
            del self._chat[target]
            self._told.discard(target)
        return line

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
