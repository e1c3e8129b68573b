"""The bot's outgoing IRC lines, paced so the server never kills it for flooding.

Every line after registration goes through one token bucket. Requests the
bot needs for itself (WHOIS, JOIN) go first; chat lines are served round
robin between targets, so a long answer in one channel does not hold up a
short one elsewhere; inside a target, round robin between the hosts of the
people whose questions they answer, and inside a host between those people
(their budget keys), so one person's backlog, however many accounts it comes
from, delays another's answer by a line or so, not by the whole backlog. Text is
cleaned of anything IRC would misread (`bot.transports.text.outbound`)
and cut to fit the 512-byte line *as the server relays it*, prefix
``:nick!user@host`` included, at UTF-8 boundaries.

What waits is bounded, so the lag is too: at most ``control_lines``
requests that may be refused (WHOIS: the asker is then unverified), and
at most ``target_lines`` chat lines per target and ``total_lines`` in all.
Below those bounds every requester gets a lane, however many share a host
(a bastion, a bouncer, an office NAT). Past them, the newest line of the
longest lane of the host with the most lines in the target is shed to make
room for someone whose host has fewer, and always for the first line of
someone with nothing waiting there, unless `HOST_SHARE` people of that host
wait already (a flooder's many accounts do not each get a first line); when
there is none to shed, new lines are dropped. The target is
told once, until its queue has drained; that notice waits in a slot of its
own, outside the lanes, so no shedding can drop it.
"""

from __future__ import annotations

import asyncio
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Iterable

from bot.transports.flood import BOT, HOST_SHARE, SHED, Sender, TokenBucket, split_utf8
from bot.transports.text import outbound

LINE_LIMIT = 512
_MAX_USER, _MAX_HOST = 10, 63  # worst case until the server shows our real mask


class _TargetQueue:
    """The lines waiting for one target: a lane per requester, grouped by host;
    hosts are served in turn, and inside a host its requesters in turn."""

    def __init__(self) -> None:
        self._hosts: OrderedDict[str, OrderedDict[str, deque[str]]] = OrderedDict()
        self._sizes: Counter[str] = Counter()  # lines per host
        self.size = 0  # lines in the lanes
        self.notice: str | None = None  # that lines were dropped: sent next, never shed

    @property
    def pending(self) -> int:
        return self.size + (self.notice is not None)

    def _lanes(self, host: str) -> OrderedDict[str, deque[str]]:
        return self._hosts.get(host) or OrderedDict()

    def may_shed_for(self, sender: Sender) -> bool:
        """Whether, the target being full, ``sender`` may have a line shed for theirs: if
        they have a lane already or their host fewer than `HOST_SHARE` of them."""
        lanes = self._lanes(sender.host)
        return sender.key in lanes or len(lanes) < HOST_SHARE

    def push(self, sender: Sender, line: str) -> None:
        self._hosts.setdefault(sender.host, OrderedDict()).setdefault(sender.key, deque()).append(line)
        self._sizes[sender.host] += 1
        self.size += 1

    def pop(self) -> str:
        """The notice if one waits, else the next line of the host, and inside it of the
        requester, whose turn it is; then it is the next one's turn."""
        if self.notice is not None:
            notice, self.notice = self.notice, None
            return notice
        host, lanes = next(iter(self._hosts.items()))
        key, lane = next(iter(lanes.items()))
        line = lane.popleft()
        self._drop_line(host, key)
        if lane:
            lanes.move_to_end(key)
        if lanes:
            self._hosts.move_to_end(host)
        return line

    def shed_for(self, sender: Sender) -> bool:
        """Drop the newest line of the longest lane of the host with the most lines, to make
        room for ``sender``: always for a requester's first line; else if that host is
        someone else's and holds more than one line more than ``sender``'s host would, or
        if it is ``sender``'s own and that lane someone else's, longer by more than one
        line than ``sender``'s would be. Whether a line was dropped."""
        if not self._hosts:
            return False
        host = max(self._hosts, key=self._sizes.__getitem__)
        lanes = self._hosts[host]
        key = max(lanes, key=lambda key: len(lanes[key]))
        ours = len(self._lanes(sender.host).get(sender.key, ()))
        if ours and host != sender.host and self._sizes[host] <= self._sizes[sender.host] + 1:
            return False
        if ours and host == sender.host and (key == sender.key or len(lanes[key]) <= ours + 1):
            return False
        lanes[key].pop()
        self._drop_line(host, key)
        return True

    def _drop_line(self, host: str, key: str) -> None:
        """A line of ``key``'s lane left; forget the lane and the host once empty."""
        self.size -= 1
        self._sizes[host] -= 1
        if not self._hosts[host][key]:
            del self._hosts[host][key]
        if not self._hosts[host]:
            del self._hosts[host], self._sizes[host]


class Outbox:
    def __init__(self, write: Callable[[str], None], bucket: TokenBucket, nick: str, username: str, *,
                 target_lines: int = 30, total_lines: int = 120, control_lines: int = 30) -> None:
        if target_lines < 2 or total_lines < target_lines:
            raise ValueError("the outbox needs target_lines >= 2 and total_lines >= target_lines")
        self._write = write
        self._bucket = bucket
        self.source = f"{nick}!~{username[:_MAX_USER]}@{'x' * _MAX_HOST}"
        self.target_lines = target_lines
        self.total_lines = total_lines
        self.control_lines = control_lines
        self._control: deque[str] = deque()
        self._chat: OrderedDict[str, _TargetQueue] = OrderedDict()
        self._chat_count = 0
        self._told: set[str] = set()  # targets told of dropped lines since their queue last drained
        self._ready = asyncio.Event()

    def control(self, line: str) -> None:
        """A request of the bot's own (JOIN, NICK): sent before chat lines."""
        self._control.append(line)
        self._ready.set()

    def request(self, line: str) -> bool:
        """A request that may be refused (WHOIS), before chat lines; False when
        ``control_lines`` requests wait already."""
        if len(self._control) >= self.control_lines:
            return False
        self.control(line)
        return True

    def privmsg(self, target: str, lines: Iterable[str], requester: Sender = BOT) -> int:
        """Queue ``lines`` for ``target``, in the turn of ``requester`` (whose question they
        answer; `BOT` for the bot's own); the number of IRC lines that took."""
        return self._chat_lines("PRIVMSG", target, lines, requester)

    def notice(self, target: str, text: str, requester: Sender = BOT) -> int:
        return self._chat_lines("NOTICE", target, [text], requester)

    def _chat_lines(self, command: str, target: str, lines: Iterable[str], requester: Sender) -> int:
        head = f"{command} {target} :"
        room = LINE_LIMIT - 2 - len(f":{self.source} {head}".encode())
        queue = self._chat.setdefault(target, _TargetQueue())
        queued = dropped = 0  # this requester's lines; dropped: theirs or others' shed for them
        for line in lines:
            text = outbound(line)
            if not text.strip():
                continue
            for piece in split_utf8(text, room):
                if queue.size >= self.target_lines or self._chat_count >= self.total_lines:
                    dropped += 1
                    if not (queue.may_shed_for(requester) and queue.shed_for(requester)):
                        continue
                    self._chat_count -= 1
                queue.push(requester, head + piece)
                self._chat_count += 1
                queued += 1
        if dropped and target not in self._told and self._chat_count < self.total_lines + self.target_lines:
            self._told.add(target)  # the notice may overrun the bounds, by one line per target told
            queue.notice = f"NOTICE {target} :{SHED}"
            self._chat_count += 1
            queued += 1
        if queue.pending:
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
        line = queue.pop()
        self._chat_count -= 1
        if not queue.pending:
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
