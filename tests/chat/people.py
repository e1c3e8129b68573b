"""The people in the tests: small IRC and XMPP clients that talk to the bot.

`IrcPerson` is a plain blocking socket client with a reader thread (it
shares nothing with the bot's code or library). `XmppPerson` is a slixmpp
client living in the test's background event loop.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import queue
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import slixmpp
from slixmpp.exceptions import IqError

HOST = "127.0.0.1"


@dataclass(frozen=True)
class IrcLine:
    """One line from the server, parsed."""

    raw: str
    tags: dict[str, str]
    source: str
    command: str
    params: tuple[str, ...]

    @property
    def nick(self) -> str:
        return self.source.split("!", 1)[0]

    @property
    def text(self) -> str:
        return self.params[-1] if self.params else ""

    @classmethod
    def parse(cls, raw: str) -> IrcLine:
        rest, tags = raw, {}
        if rest.startswith("@"):
            tag_part, rest = rest[1:].split(" ", 1)
            for item in tag_part.split(";"):
                key, _, value = item.partition("=")
                tags[key] = value
        source = ""
        if rest.startswith(":"):
            source, rest = rest[1:].split(" ", 1)
        trailing = None
        if " :" in rest:
            rest, trailing = rest.split(" :", 1)
        words = rest.split()
        params = tuple(words[1:]) + ((trailing,) if trailing is not None else ())
        return cls(raw, tags, source, words[0].upper(), params)


class IrcPerson:
    """A person on IRC: optionally logged in with SASL PLAIN."""

    def __init__(self, port: int, nick: str, account: str | None = None, password: str | None = None,
                 tls_ca: str | None = None, client_cert: str | None = None) -> None:
        self.nick = nick
        self.account = account
        self.password = password
        self.sock = socket.create_connection((HOST, port), timeout=10)
        if tls_ca:
            context = ssl.create_default_context(cafile=tls_ca)
            if client_cert:
                context.load_cert_chain(client_cert)
            self.sock = context.wrap_socket(self.sock, server_hostname=HOST)
        self.sock.settimeout(None)
        self._lines: queue.Queue[IrcLine | None] = queue.Queue()
        self.backlog: list[IrcLine] = []
        self.seen: list[IrcLine] = []
        self.closed = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if account:
            self.send("CAP REQ :sasl")
        self.send(f"NICK {nick}")
        self.send(f"USER {nick} 0 * :{nick}")

    def send(self, line: str) -> None:
        self.sock.sendall(line.encode("utf-8") + b"\r\n")

    def _read(self) -> None:
        data = b""
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                data += chunk
                *lines, data = data.split(b"\r\n")
                for raw in lines:
                    line = IrcLine.parse(raw.decode("utf-8"))  # strict: a cut character fails here
                    self._react(line)
                    self._lines.put(line)
        except OSError:
            pass
        finally:
            self.closed = True
            self._lines.put(None)

    def _react(self, line: IrcLine) -> None:
        """What a client does by itself: PONG, and the SASL exchange."""
        if line.command == "PING":
            self.send(f"PONG :{line.text}")
        elif line.command == "CAP" and len(line.params) > 1 and line.params[1] == "ACK":
            self.send("AUTHENTICATE PLAIN")
        elif line.command == "AUTHENTICATE" and line.params == ("+",):
            token = base64.b64encode(f"{self.account}\0{self.account}\0{self.password}".encode()).decode()
            self.send(f"AUTHENTICATE {token}")
        elif line.command in ("903", "904"):
            self.send("CAP END")

    def expect(self, match: Callable[[IrcLine], bool], timeout: float = 10.0, what: str = "a line") -> IrcLine:
        """The first line (old or new) that matches; fails after ``timeout``."""
        for line in self.backlog:
            if match(line):
                self.backlog.remove(line)
                return line
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                line = self._lines.get(timeout=max(remaining, 0.001))
            except queue.Empty:
                raise AssertionError(f"{self.nick}: no {what} within {timeout} s; last lines:\n"
                                     + "\n".join(l.raw for l in self.seen[-15:])) from None
            if line is None:
                self._lines.put(None)
                raise AssertionError(f"{self.nick}: connection closed while waiting for {what}; last lines:\n"
                                     + "\n".join(l.raw for l in self.seen[-15:]))
            self.seen.append(line)
            if match(line):
                return line
            self.backlog.append(line)

    def collect(self, match: Callable[[IrcLine], bool], seconds: float) -> list[IrcLine]:
        """Every matching line during ``seconds`` (to show something did *not* happen)."""
        found = [line for line in self.backlog if match(line)]
        self.backlog = [line for line in self.backlog if not match(line)]
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = self._lines.get(timeout=remaining)
            except queue.Empty:
                break
            if line is None:
                self._lines.put(None)
                break
            self.seen.append(line)
            (found if match(line) else self.backlog).append(line)
        return found

    def forget(self) -> None:
        """Drop every line received so far: what comes next is an answer."""
        while True:
            try:
                line = self._lines.get_nowait()
            except queue.Empty:
                break
            if line is None:
                self._lines.put(None)
                break
            self.seen.append(line)
        self.backlog.clear()

    def registered(self, timeout: float = 15.0) -> IrcPerson:
        welcome = self.expect(lambda l: l.command == "001", timeout, "welcome (001)")
        self.nick = welcome.params[0]
        if self.account:
            assert any(l.command == "903" for l in self.seen), f"{self.nick}: SASL login failed"
        return self

    def join(self, channel: str, key: str | None = None) -> None:
        self.send(f"JOIN {channel}" + (f" {key}" if key else ""))
        self.expect(lambda l: l.command == "366" and l.params[1].lower() == channel.lower(), what=f"JOIN {channel}")

    def say(self, target: str, text: str) -> None:
        self.send(f"PRIVMSG {target} :{text}")

    def said(self, target: str, sender: str, timeout: float = 10.0, starting: str = "") -> IrcLine:
        """The next PRIVMSG from ``sender`` to ``target`` (a channel, or us)."""
        return self.expect(
            lambda l: l.command == "PRIVMSG" and l.nick == sender and l.params[0].lower() == target.lower()
            and l.text.startswith(starting),
            timeout, f"PRIVMSG from {sender} to {target} starting {starting!r}",
        )

    def ask(self, target: str, text: str, bot: str, timeout: float = 10.0) -> IrcLine:
        """Say ``text`` and return the bot's first reply line (in a channel:
        the first line naming us)."""
        self.forget()
        self.say(target, text)
        if target.startswith("#"):
            return self.said(target, bot, timeout, starting=f"{self.nick}: ")
        return self.said(self.nick, bot, timeout)

    def close(self) -> None:
        """QUIT, and let the server close first: InspIRCd's TLS stalls for a
        while when a client drops the connection right after its QUIT."""
        if not self.closed:
            with contextlib.suppress(OSError):
                self.send("QUIT :bye")
            self._reader.join(3)
        self.sock.close()


def connect_all(*people: IrcPerson) -> None:
    """Wait for everyone's registration; they register side by side (InspIRCd
    takes about a second per connection, but for all of them at once)."""
    for person in people:
        person.registered()


@dataclass
class XmppPerson:
    """A person on XMPP (slixmpp), driven from the test's background loop."""

    jid: str
    password: str
    port: int
    ca_file: str
    inbox: asyncio.Queue = field(default_factory=asyncio.Queue)
    presences: asyncio.Queue = field(default_factory=asyncio.Queue)

    async def start(self) -> XmppPerson:
        client = self.client = slixmpp.ClientXMPP(self.jid, self.password)
        client.register_plugin("xep_0030")
        client.register_plugin("xep_0045")
        client.register_plugin("xep_0004")
        client.ca_certs = self.ca_file
        client.enable_direct_tls = False
        started = asyncio.get_running_loop().create_future()
        client.add_event_handler("session_start", lambda _: started.done() or started.set_result(None))
        client.add_event_handler("message", self.inbox.put_nowait)
        client.add_event_handler("groupchat_presence", self.presences.put_nowait)
        client.connect(HOST, self.port)
        await asyncio.wait_for(started, 15)
        client.send_presence()
        return self

    async def join(self, room: str, nick: str, password: str | None = None) -> None:
        await self.client.plugin["xep_0045"].join_muc_wait(room, nick, password=password, maxstanzas=0, timeout=15)

    async def leave(self, room: str, nick: str) -> None:
        self.client.plugin["xep_0045"].leave_muc(room, nick)
        await self.presence_of(f"{room}/{nick}", kind="unavailable", timeout=10)

    async def configure(self, room: str, **fields: object) -> None:
        """Set room options (we are its owner)."""
        muc = self.client.plugin["xep_0045"]
        try:
            form = await muc.get_room_config(room)
        except IqError as error:
            raise AssertionError(f"cannot configure {room}: {error}") from error
        values = {f"muc#roomconfig_{key}": value for key, value in fields.items()}
        reply = form.__class__()
        reply["type"] = "submit"
        for var, value in values.items():
            reply.add_field(var=var, value=value)
        reply.add_field(var="FORM_TYPE", value="http://jabber.org/protocol/muc#roomconfig")
        await muc.set_room_config(room, reply)

    def say(self, room: str, text: str) -> None:
        self.client.send_message(mto=room, mbody=text, mtype="groupchat")

    def tell(self, jid: str, text: str) -> None:
        self.client.send_message(mto=jid, mbody=text, mtype="chat")

    async def expect(self, match: Callable[[slixmpp.Message], bool], timeout: float = 10.0) -> slixmpp.Message:
        return await _first_match(self.inbox, match, timeout, f"{self.jid}: no matching message")

    async def messages_during(self, seconds: float) -> list[slixmpp.Message]:
        await asyncio.sleep(seconds)
        found = []
        while not self.inbox.empty():
            found.append(self.inbox.get_nowait())
        return found

    async def presence_of(self, full_jid: str, kind: str = "available", timeout: float = 30.0) -> slixmpp.Presence:
        return await _first_match(
            self.presences, lambda p: str(p["from"]) == full_jid and p["type"] == kind, timeout,
            f"{self.jid}: no {kind} presence from {full_jid}")

    async def stop(self) -> None:
        if self.client.is_connected():
            self.client.disconnect(wait=1)
            try:
                await asyncio.wait_for(self.client.disconnected, 3)
            except TimeoutError:
                self.client.abort()


async def _first_match(queue: asyncio.Queue, match: Callable[[Any], bool], timeout: float, failure: str) -> Any:
    """The first item of ``queue`` that ``match`` accepts, within ``timeout`` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while (remaining := deadline - asyncio.get_running_loop().time()) > 0:
        try:
            item = await asyncio.wait_for(queue.get(), remaining)
        except TimeoutError:
            continue
        if match(item):
            return item
    raise AssertionError(f"{failure} within {timeout} s")
