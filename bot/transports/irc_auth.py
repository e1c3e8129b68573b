"""How the bot logs in to IRC: CAP negotiation, SASL, or NickServ.

The library's asyncio client knows no SASL, so the transport sends ``CAP LS
302`` before NICK/USER and `CapNegotiation` drives the rest from the
server's replies: request the account capabilities on offer, authenticate
with SASL PLAIN or EXTERNAL, then ``CAP END``. Where the server offers no
SASL, `nickserv_login` sends IDENTIFY and waits until the server confirms.

Every failure is a `LoginFailed`: the transport drops the connection and
tries again later. It never carries on unauthenticated.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Awaitable, Callable

from irc.client import Event

from bot.transports.irc_whois import WhoisReply
from bot.transports.session import LoginFailed
from bot.transports.settings import IrcSettings

log = logging.getLogger(__name__)

ACCOUNT_CAPS = ("account-tag", "extended-join", "account-notify")
_SASL_CHUNK = 400
_SASL_FAILURES = {"nicklocked", "saslfail", "sasltoolong", "saslaborted", "saslmechs"}


class CapNegotiation:
    """The CAP and SASL exchange of one connection.

    `finished` resolves once ``CAP END`` is sent, or fails with `LoginFailed`.
    """

    def __init__(self, settings: IrcSettings, send: Callable[[str], None], send_secret: Callable[[str], None]) -> None:
        self.settings = settings
        self._send = send
        self._send_secret = send_secret
        self.offered: dict[str, str] = {}
        self.enabled: set[str] = set()
        self.sasl_done = False
        self.finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    @property
    def wants_sasl(self) -> bool:
        return self.settings.login in ("auto", "sasl")

    def on_event(self, event: Event) -> None:
        if self.finished.done():
            return
        if event.type == "cap":
            self._on_cap(event.arguments)
        elif event.type == "authenticate":
            self._on_authenticate(event.target)
        elif event.type in ("saslsuccess", "saslalready"):
            self.sasl_done = True
            self._end()
        elif event.type in _SASL_FAILURES:
            reason = event.arguments[-1] if event.arguments else event.type
            self._fail(f"SASL {self.settings.sasl_mechanism} login as {self.settings.account} "
                       f"refused by {self.settings.server}: {reason}")
        elif event.type == "welcome":
            # A server without CAP registers us straight away.
            self.finished.set_result(None)

    def _on_cap(self, arguments: list[str]) -> None:
        subcommand, rest = arguments[0].upper(), arguments[1:]
        if subcommand == "LS":
            self._listed(rest)
        elif subcommand == "ACK":
            self.enabled.update(rest[-1].split())
            if "sasl" in self.enabled and self.wants_sasl:
                self._send(f"AUTHENTICATE {self.settings.sasl_mechanism}")
            else:
                self._end()
        elif subcommand == "NAK":
            if self.wants_sasl and "sasl" in self.offered:
                self._fail(f"{self.settings.server} refused the capabilities requested: {rest[-1]}")
            else:
                self._end()

    def _listed(self, rest: list[str]) -> None:
        for item in rest[-1].split():
            name, _, value = item.partition("=")
            self.offered[name] = value
        if len(rest) > 1 and rest[0] == "*":
            return  # more LS lines to come
        wanted = [cap for cap in ACCOUNT_CAPS if cap in self.offered]
        if self.wants_sasl and "sasl" in self.offered:
            mechanisms = self.offered["sasl"]
            if mechanisms and self.settings.sasl_mechanism not in mechanisms.split(","):
                self._fail(f"{self.settings.server} offers SASL {mechanisms}, "
                           f"not {self.settings.sasl_mechanism}")
                return
            wanted.append("sasl")
        elif self.settings.login == "sasl":
            self._fail(f"{self.settings.server} does not offer SASL (login = \"sasl\")")
            return
        if wanted:
            self._send(f"CAP REQ :{' '.join(wanted)}")
        else:
            self._end()

    def _on_authenticate(self, challenge: str) -> None:
        if challenge != "+":
            self._fail(f"unexpected SASL challenge from {self.settings.server}")
            return
        if self.settings.sasl_mechanism == "EXTERNAL":
            self._send("AUTHENTICATE +")
            return
        account, password = self.settings.account, self.settings.password or ""
        token = base64.b64encode(f"{account}\0{account}\0{password}".encode()).decode()
        chunks = [token[i : i + _SASL_CHUNK] for i in range(0, len(token), _SASL_CHUNK)]
        if len(chunks[-1]) == _SASL_CHUNK:
            chunks.append("+")
        for chunk in chunks:
            self._send_secret(f"AUTHENTICATE {chunk}")

    def _end(self) -> None:
        self._send("CAP END")
        self.finished.set_result(None)

    def _fail(self, reason: str) -> None:
        self._send("CAP END")
        self.finished.set_exception(LoginFailed(reason))


async def nickserv_login(
    settings: IrcSettings,
    send_secret: Callable[[str], None],
    logged_in: Callable[[], bool],
    missing: Callable[[], bool],
    whois_self: Callable[[], Awaitable[WhoisReply | None]],
    timeout: float,
) -> None:
    """IDENTIFY to NickServ (unless a client certificate did it) and wait until
    the server confirms: RPL_LOGGEDIN (900), or the bot's own WHOIS naming its
    account (330) or, where the server names no account (OFTC), showing it
    identified for its nick (307). What NickServ says back ("Password
    accepted") is text for people, and no proof: services may log a
    connection in without telling the server (Anope does, for a client
    certificate used from a nick that is not the account's).

    ``missing`` tells whether the server answered that NickServ is not there
    (services down): no use waiting then.
    """
    if settings.password:
        send_secret(f"PRIVMSG {settings.nickserv} :IDENTIFY {settings.account} {settings.password}")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    seen: WhoisReply | None = None
    while loop.time() < deadline:
        await asyncio.sleep(0.5)
        if missing():
            raise LoginFailed(f"{settings.nickserv} is not on {settings.server} (services down?)")
        if logged_in():
            return
        seen = await whois_self() or seen
        if seen is not None and _confirms(seen, settings.account):
            return
    raise LoginFailed(_unconfirmed(settings, seen, timeout))


def _confirms(reply: WhoisReply, account: str) -> bool:
    if reply.account is not None:
        return reply.account.lower() == account.lower()
    return reply.identified


def _unconfirmed(settings: IrcSettings, seen: WhoisReply | None, timeout: float) -> str:
    """Why the login is taken as failed, and what to do about it."""
    reason = (f"{settings.nickserv} on {settings.server} did not confirm the login as {settings.account} "
              f"within {timeout:.0f} s")
    if seen is not None and seen.account is not None:
        return f"{reason}: the server says the bot is logged in as {seen.account}; check the account"
    advice = "check the account and password (or that the client certificate is on the account)"
    if seen is not None and seen.nick.lower() != settings.account.lower():
        advice += (f"; the bot is on nick {seen.nick}, not its account's: where logins show only as WHOIS 307 "
                   f"(OFTC), and for a client certificate with Anope, the server shows none for such a nick, "
                   f"so use the account's nick")
    return f"{reason}: {advice}"
