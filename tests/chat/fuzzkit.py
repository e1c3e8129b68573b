"""Fuzzing the dispatcher the way the transports feed it: hostile lines from random people.

`Bench` runs a real `Application` (the shipped runbooks; two clusters, one
answered by `fakerapi` from the recorded lab answers, one whose RAPI refuses
connections) on an event loop of its own, in a thread, as ``gntbot run`` does.
`Bench.exchange` takes one line through what a transport does with it:
`inbound`, `read_line`, the dispatcher (`respond`), then the protocol's wire
form: the IRC outbox's raw lines, an XMPP message body, or a real console.
`wire_problems` says what is wrong with what would go on the wire.

While it runs, every callback of the bot's loop is timed in CPU time of the
loop's thread (what the loop could not do anything else during, whatever the
load of the machine), and a probe task measures the loop's wall-clock lag.
"""

from __future__ import annotations

import asyncio
import gc
import io
import re
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import slixmpp
from hypothesis import strategies as st

from bot.app import Application
from bot.config import SHIPPED_RUNBOOKS, BotSettings, Config, KnowledgeSettings
from bot.core.access import AccessPolicy, room_key
from bot.core.message import Identity, Message
from bot.core.people import Acl, Directory
from bot.ganeti.settings import ClusterSettings
from bot.knowledge.base import KnowledgeBase
from bot.transports.console import ConsoleTransport
from bot.transports.conversation import read_line, respond
from bot.transports.flood import TokenBucket
from bot.transports.irc_outbox import LINE_LIMIT, Outbox
from bot.transports.text import inbound
from bot.transports.xmpp import message_body

from .harness import Loop

IRC_ROOMS = ("#ganeti", "#elsewhere")
XMPP_ROOMS = ("ganeti@conference.example.org", "elsewhere@conference.example.org")
ROOMS = {"irc": IRC_ROOMS, "irc-oftc": IRC_ROOMS, "xmpp": XMPP_ROOMS, "console": ()}
INTERNAL_ERROR = "internal error"

# What people type: prefixes and addresses, command words, cluster words, values
# that should be refused, and the characters that make trouble.
_PIECES = (
    "!", "!!", "gntbot: ", "gntbot, ", "@gntbot: ", "\u200b!", "！", "\u202e", "\u0301", "\ufeff",
    "search", "howto", "ask", "more", "help", "whoami", "reindex", "instances", "instance", "nodes", "node",
    "cluster", "jobs", "job", "tags", "search-tags", "capacity", "movable", "ｉｎｓｔａｎｃｅｓ", "HELP",
    "@gnt-fsn", "@gnt-down", "@", "@nope", "@GNT-FSN", "@gnt-fsn@gnt-down",
    "inst1", "test-01", "fsn-node-02", "node3", "running", "error", "down", "status=", "node=", "tag=env:*",
    "name=", "*", "?", "[", "[a-", "..", "../../etc/passwd", "%2e%2e", "inst5/../../2/info", "0", "-1",
    "99999999999999999999", "1e9", "failed", "drbd split brain", "how do i rebalance the cluster",
    "Failure: prerequisites not met", "Job 1234 failed", "\x02", "\x0304,12", "\x03", "\x1b[31m", "\x1b]0;t\x07",
    "\x00", "\x01ACTION ", "\x01", "\r", "\n", "\t", "  ", "\x7f", "\x85", "\u2028", "\ud800", "\ufffe",
)
_DIGITS = st.text(alphabet=st.characters(categories=("Nd", "No", "Nl")), min_size=1, max_size=4)
_ODD = st.text(alphabet=st.characters(categories=("Cc", "Cf", "Zs", "Zl", "Mn", "Co", "Cs")), max_size=6)


def huge_words(low: int, high: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="abcdefghijklmnopqrstuvwxyzé", min_size=low, max_size=high)


def pieces(huge: st.SearchStrategy[str], huge_share: int) -> st.SearchStrategy[str]:
    """One piece of a line; about one in ``huge_share`` is a huge word."""
    common = st.one_of(st.sampled_from(_PIECES), _DIGITS, _ODD, st.text(max_size=12))
    return st.integers(0, huge_share - 1).flatmap(lambda n: huge if n == 0 else common)


@dataclass(frozen=True)
class Said:
    """One line, said by someone somewhere."""

    transport: str  # irc, irc-oftc (a second network), xmpp, console
    room: str | None
    name: str
    account: str | None
    text: str
    long_output: str = "more"

    def identity(self) -> Identity:
        address = f"{self.name}!{self.name[:4]}@h{len(self.name)}.example.org" if self.transport.startswith("irc") \
            else f"{self.name}@example.org/r"
        return Identity(self.transport, self.name, self.account, "not logged in", address=address)


HUGE_WORDS = huge_words(100, 700)  # past what one line may hold (bot.transports.text.MAX_INBOUND)


@st.composite
def said(draw: Callable[..., Any], huge: st.SearchStrategy[str] = HUGE_WORDS, huge_share: int = 10) -> Said:
    transport = draw(st.sampled_from(sorted(ROOMS)))
    text = draw(st.tuples(st.lists(pieces(huge, huge_share), max_size=8), st.sampled_from(["", " "]))
                .map(lambda parts: parts[1].join(parts[0])))
    if transport == "console":
        return Said("console", None, "alice", "alice", text)
    room = draw(st.sampled_from((None, *ROOMS[transport])))
    name = draw(st.sampled_from(("alice", "alice_", "bob", "[]\\~", "ａｌｉｃｅ", "carol")))
    account = draw(st.one_of(st.none(), st.sampled_from(("alice", "Alice", "bob", "", " ", "alice@example.org",
                                                          "mallory@evil.example"))))
    return Said(transport, room, name, account, text, draw(st.sampled_from(("more", "private"))))


@dataclass
class Wire:
    """What one exchange put on the wire."""

    irc: list[str] = field(default_factory=list)  # raw lines, without CR LF
    irc_source: str = ""  # the prefix the server adds when it relays them
    xmpp: list[str] = field(default_factory=list)  # message bodies
    console: str = ""

    def texts(self) -> Iterator[str]:
        yield from self.irc
        yield from self.xmpp
        yield self.console


_XML_CHAR = re.compile("^[\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*$")


# Bidi classes of the explicit controls and marks: embeddings, overrides, isolates, LRM/RLM/ALM.
_BIDI_CONTROLS = {"LRE", "RLE", "PDF", "LRO", "RLO", "LRI", "RLI", "FSI", "PDI"}
_BIDI_MARKS = {"\u200e", "\u200f", "\u061c"}


def unseen(char: str) -> bool:
    """A bidirectional control or mark (it reorders what a reader sees), or a noncharacter
    (U+FDD0-U+FDEF, and the last two code points of every plane): none belongs on a wire."""
    code = ord(char)
    return (unicodedata.bidirectional(char) in _BIDI_CONTROLS or char in _BIDI_MARKS
            or 0xFDD0 <= code <= 0xFDEF or code & 0xFFFE == 0xFFFE)


def wire_problems(wire: Wire) -> list[str]:
    """What is wrong with ``wire`` (nothing, if all is well-formed)."""
    problems = []
    for line in wire.irc:
        relayed = f":{wire.irc_source} {line}".encode() + b"\r\n"
        if len(relayed) > LINE_LIMIT:
            problems.append(f"IRC line of {len(relayed)} bytes: {line[:80]!r}")
        if any(char in line for char in "\r\n\x00"):
            problems.append(f"CR, LF or NUL in an IRC line: {line[:80]!r}")
    for body in wire.xmpp:
        if not _XML_CHAR.match(body):
            problems.append(f"a character XML 1.0 forbids: {body[:80]!r}")
            continue
        message = slixmpp.Message()
        message["body"] = body
        try:
            ElementTree.fromstring(str(message))
        except ElementTree.ParseError as error:
            problems.append(f"XMPP stanza not well-formed ({error}): {body[:80]!r}")
    if any(ord(char) < 0x20 and char != "\n" for char in wire.console):
        problems.append(f"control character on the console: {wire.console[:80]!r}")
    problems.extend(f"a bidi control or noncharacter: {text[:80]!a}" for text in wire.texts()
                    if any(map(unseen, text)))
    problems.extend(f"internal error: {text[:80]!r}" for text in wire.texts() if INTERNAL_ERROR in text)
    return problems


class Stalls:
    """The longest callback of one thread's event loop, in that thread's CPU time.

    A pause of Python's cyclic garbage collector that falls in a callback is
    not the callback's work (its length depends on the whole heap, the fuzzer's
    included): it is kept apart, as `worst_gc`."""

    def __init__(self) -> None:
        self.thread: int | None = None
        self.worst = 0.0  # since `reset`
        self.worst_ever = 0.0
        self.worst_gc = 0.0
        self.callbacks = 0
        self._original = asyncio.events.Handle._run
        self._gc_started = 0.0
        self._gc_spent = 0.0  # in the running callback

    def install(self, thread: int) -> None:
        self.thread = thread
        stalls, original = self, self._original

        def timed(handle: asyncio.events.Handle) -> None:
            if threading.get_ident() != stalls.thread:
                return original(handle)
            stalls._gc_spent = 0.0
            start = time.thread_time()
            try:
                return original(handle)
            finally:
                stalls.record(time.thread_time() - start - stalls._gc_spent)

        asyncio.events.Handle._run = timed  # type: ignore[method-assign]
        gc.callbacks.append(self._on_gc)

    def uninstall(self) -> None:
        asyncio.events.Handle._run = self._original  # type: ignore[method-assign]
        gc.callbacks.remove(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if threading.get_ident() != self.thread:
            return
        if phase == "start":
            self._gc_started = time.thread_time()
        else:
            pause = time.thread_time() - self._gc_started
            self._gc_spent += pause
            self.worst_gc = max(self.worst_gc, pause)

    def record(self, seconds: float) -> None:
        self.callbacks += 1
        self.worst = max(self.worst, seconds)
        self.worst_ever = max(self.worst_ever, seconds)

    def reset(self) -> None:
        self.worst = 0.0


class LagProbe:
    """Wakes up every ``interval`` and notes how late it woke: the loop's wall-clock lag."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.worst = 0.0

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            start = loop.time()
            await asyncio.sleep(self.interval)
            self.worst = max(self.worst, loop.time() - start - self.interval)


def application(index: Path, rapi_url: str, fingerprint: str) -> Application:
    from clusterkit import READER  # tests/cluster, on the path in tests/conftest.py

    clusters = (
        ClusterSettings("gnt-fsn", rapi_url, READER, fingerprint=fingerprint, timeout=3, retries=0),
        ClusterSettings("gnt-down", "https://127.0.0.1:9", READER, fingerprint=fingerprint, timeout=3, retries=0),
    )
    directory = Directory()
    policy = AccessPolicy(
        directory,
        Acl.parse(["irc:alice", "xmpp:alice@example.org", "console:alice"], directory),
        Acl.parse(["irc-oftc:bob"], directory),
        frozenset({room_key("irc", IRC_ROOMS[0]), room_key("irc-oftc", IRC_ROOMS[0]), room_key("xmpp", XMPP_ROOMS[0])}),
    )
    config = Config(bot=BotSettings(name="gntbot", page_lines=5),
                    knowledge=KnowledgeSettings(runbooks=SHIPPED_RUNBOOKS, index=index, reload_seconds=0),
                    access=policy, console_user="alice", clusters=clusters)
    knowledge = KnowledgeBase(SHIPPED_RUNBOOKS, index)
    knowledge.refresh()
    return Application(config, knowledge)


class Bench:
    """The application on its own loop, and the way lines reach it."""

    def __init__(self, app: Application) -> None:
        self.app = app
        self.stalls = Stalls()
        self.probe = LagProbe()
        self.loop = Loop()
        self.loop.run(self._start())
        self.slowest = 0.0  # wall time of the slowest exchange
        self.slowest_line: Said | None = None
        self.worst_lag_line: Said | None = None
        self.lag = 0.0  # the probe's worst lag during the last exchange
        self.worst_lag = 0.0  # and during any
        self.exchanges = 0

    async def _start(self) -> None:
        self.stalls.install(threading.get_ident())
        self._probe = asyncio.ensure_future(self.probe.run())

    def close(self) -> None:
        self.stalls.uninstall()
        self.loop.close()

    def exchange(self, said: Said) -> Wire:
        """``said``'s wire output; the loop's stalls during it are in `stalls` and `lag`."""
        self.stalls.reset()
        self.probe.worst = 0.0
        start = time.perf_counter()
        wire = self.loop.run(self._exchange(said), timeout=60)
        took = time.perf_counter() - start
        if took > self.slowest:
            self.slowest, self.slowest_line = took, said
        self.lag = self.probe.worst
        if self.lag > self.worst_lag:
            self.worst_lag, self.worst_lag_line = self.lag, said
        self.exchanges += 1
        return wire

    async def _exchange(self, said: Said) -> Wire:
        dispatcher = self.app.dispatcher
        if said.transport == "console":
            out = io.StringIO()
            await ConsoleTransport("alice", io.StringIO(said.text + "\n"), out).run(dispatcher)
            return Wire(console=out.getvalue())
        parsed = read_line(inbound(said.text), names=("gntbot",), prefix=dispatcher.prefix,
                           private=said.room is None, recognise_errors=True)
        if parsed is None:
            return Wire()
        message = Message(parsed[0], said.identity(), said.room, parsed[1])
        answers = await respond(dispatcher, message, said.long_output)
        if said.transport == "xmpp":
            return Wire(xmpp=[message_body(answer.lines) for answer in answers])
        sent: list[str] = []
        outbox = Outbox(sent.append, TokenBucket(10_000, 1e6), "gntbot", "gntbot")
        for answer in answers:
            outbox.privmsg(said.name if answer.private or said.room is None else said.room, answer.lines)
        running = asyncio.ensure_future(outbox.run())
        while outbox.pending():
            await asyncio.sleep(0)
        running.cancel()
        return Wire(irc=sent, irc_source=outbox.source)
