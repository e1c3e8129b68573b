"""``gntbot run`` on ircd-hybrid + Anope, the OFTC-like pair (tests/chat/hybrid.py).

Two servers: one OFTC-like (no CAP, no account names: a login shows only
as WHOIS 307), where most of this runs, and one as Debian ships it
(extended-join, account-notify, WHOIS 330 and 307). Each has one bot
process for the module; the tests that need a bot of their own (a wrong
password, a client certificate, WHOIS cut off) start one.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest
import trustme

from bot.config import SHIPPED_RUNBOOKS

from .common import IRC_ACCOUNTS, TEST_FLOOD, bot_is_there
from .hybrid import OFTC_LIKE, HybridAnope, change_nick, identify, logout, missing
from .people import IrcLine, IrcPerson
from .proxy import FreezableRelay
from .servers import Certs
from .test_run import running_bot

pytestmark = pytest.mark.servers

ACCOUNTS = {**IRC_ACCOUNTS, "certbot": "certpass1", "spare": "sparepass1"}
CHANNEL = "#tor-project"
REINDEXED = "runbooks re-read"
NOT_LOGGED_IN = "refused: not logged in to a services account."


@contextlib.contextmanager
def started(server_dirs: Callable[[str], Path], certs: Certs, name: str,
            without: tuple[str, ...] = ()) -> Iterator[HybridAnope]:
    """A pair of its own, stopped (by pid) on the way out; skips where the machine lacks it."""
    lacking = missing()
    if lacking:
        pytest.skip(f"needs {', '.join(lacking)}")
    server = HybridAnope(server_dirs(name), certs, ACCOUNTS, without=without)
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="module")
def oftc(server_dirs, certs) -> Iterator[HybridAnope]:
    with started(server_dirs, certs, "hybrid-oftc", OFTC_LIKE) as server:
        yield server


@pytest.fixture(scope="module")
def hybrid(server_dirs, certs) -> Iterator[HybridAnope]:
    with started(server_dirs, certs, "hybrid") as server:
        yield server


@dataclass(frozen=True)
class Bot:
    """A ``gntbot run`` process, seen through its log."""

    log: Path

    def said(self) -> str:
        return self.log.read_text()

    def logs(self, text: str, timeout: float) -> None:
        """Wait until the log has ``text``."""
        deadline = time.monotonic() + timeout
        while text not in self.said():
            assert time.monotonic() < deadline, f"not in the log within {timeout} s: {text}"
            time.sleep(0.2)


def write_config(folder: Path, port: int, certs: Certs | None, *, nick: str, account: str,
                 password: str | None = None, client_cert: Path | None = None) -> Path:
    """A configuration for ``gntbot run``: one IRC network, alice and bob operators."""
    folder.mkdir(parents=True, exist_ok=True)
    login = [f'ca_file = "{certs.ca}"' if certs else "tls = false"]
    if password is not None:
        (folder / "password").write_text(password + "\n")
        login.append(f'password_file = "{folder / "password"}"')
    if client_cert is not None:
        login.append(f'client_cert = "{client_cert}"')
    login_lines = "\n".join(login)
    flood = "\n".join(f"{key} = {value}" for key, value in TEST_FLOOD.items())
    config = folder / "config.toml"
    config.write_text(f"""
[bot]
name = "gntbot"
state_dir = "{folder / 'state'}"

[knowledge]
runbooks = "{SHIPPED_RUNBOOKS}"
index = "{folder / 'index'}"
reload_seconds = 0

[access]
operators = ["irc:alice", "irc:bob"]

[irc.oftc]
server = "127.0.0.1"
port = {port}
nick = "{nick}"
account = "{account}"
channels = ["{CHANNEL}"]
reconnect_min = 0.5
reconnect_max = 2
{login_lines}

[irc.oftc.flood]
{flood}
""")
    return config


@contextlib.contextmanager
def gntbot(folder: Path, port: int, certs: Certs | None, *, nick: str, account: str,
           password: str | None = None, client_cert: Path | None = None) -> Iterator[Bot]:
    """``gntbot run`` on the server at ``port`` (TLS unless ``certs`` is None)."""
    config = write_config(folder, port, certs, nick=nick, account=account, password=password,
                          client_cert=client_cert)
    with running_bot(config, folder / "gntbot.log"):
        yield Bot(folder / "gntbot.log")


def in_channel(person: IrcPerson, bot: str, timeout: float = 20.0) -> IrcPerson:
    """``person`` (registered) in the channel, once the bot is there too."""
    person.join(CHANNEL)
    bot_is_there(person, CHANNEL, bot, timeout)
    return person


def whois(person: IrcPerson, nick: str) -> dict[str, IrcLine]:
    """The WHOIS reply about ``nick``, by numeric."""
    person.forget()
    person.send(f"WHOIS {nick}")
    lines = {}
    while "318" not in lines:
        line = person.expect(lambda line: line.command.isdigit() and line.params[1:2] == (nick,),
                             what=f"WHOIS {nick}")
        lines[line.command] = line
    return lines


@pytest.fixture(scope="module")
def oftc_bot(oftc: HybridAnope, certs: Certs, tmp_path_factory) -> Iterator[Bot]:
    with gntbot(tmp_path_factory.mktemp("oftc-bot"), oftc.tls_port, certs, nick="gntbot", account="gntbot",
                password=ACCOUNTS["gntbot"]) as bot:
        yield bot


def person_on(server: HybridAnope, irc_people, nick: str) -> IrcPerson:
    return irc_people(server.port, nick).registered()


# The bot's own login.

def test_the_bot_joins_once_the_server_shows_it_identified(oftc: HybridAnope, oftc_bot: Bot, irc_people) -> None:
    watcher = in_channel(person_on(oftc, irc_people, "watcher"), "gntbot")
    reply = whois(watcher, "gntbot")
    assert "307" in reply and "330" not in reply  # OFTC-like: identified for the nick, no account name
    assert ACCOUNTS["gntbot"] not in oftc_bot.said()


def certificate_on(server: HybridAnope, account: str, certs: Certs, folder: Path, irc_people) -> Path:
    """A new client certificate, added to ``account`` by its owner (``NickServ CERT ADD``)."""
    pem = folder / f"{account}.pem"
    pem.write_bytes(trustme.CA().issue_cert(f"{account}.example.org").private_key_and_cert_chain_pem.bytes())
    owner = irc_people(server.tls_port, account, tls_ca=str(certs.ca), client_cert=str(pem)).registered()
    identify(owner, ACCOUNTS[account])
    owner.say("NickServ", "CERT ADD")
    owner.expect(lambda line: line.nick == "NickServ" and f"added to {account}'s certificate list" in line.text)
    owner.close()
    return pem


def test_with_its_client_certificate_on_the_account_the_bot_is_identified_at_connect(
        oftc: HybridAnope, certs: Certs, tmp_path, irc_people) -> None:
    pem = certificate_on(oftc, "certbot", certs, tmp_path, irc_people)
    watcher = person_on(oftc, irc_people, "watcher3")
    with gntbot(tmp_path / "bot", oftc.tls_port, certs, nick="certbot", account="certbot", client_cert=pem):
        in_channel(watcher, "certbot")
        assert "307" in whois(watcher, "certbot")


def test_a_login_the_server_does_not_show_keeps_the_bot_out_and_says_why(
        oftc: HybridAnope, hybrid: HybridAnope, certs: Certs, tmp_path, irc_people) -> None:
    """Side by side: a wrong password (OFTC-like), and a client certificate
    used from a nick that is not the account's (as shipped). Anope logs the
    latter in, and NickServ says so, but tells the server nothing: the bot
    believes the server."""
    pem = certificate_on(hybrid, "spare", certs, tmp_path, irc_people)
    watchers = [person_on(server, irc_people, "watcher2") for server in (oftc, hybrid)]
    for watcher in watchers:
        watcher.join(CHANNEL)
    with (gntbot(tmp_path / "password", oftc.tls_port, certs, nick="spare", account="spare",
                 password="not-the-password") as by_password,
          gntbot(tmp_path / "certificate", hybrid.tls_port, certs, nick="sparebot", account="spare",
                 client_cert=pem) as by_certificate):
        by_password.logs("did not confirm the login as spare within 15 s: check the account and password", 30)
        by_certificate.logs("did not confirm the login as spare within 15 s", 10)
        assert "the bot is on nick sparebot" in by_certificate.said()
        for watcher in watchers:
            assert not watcher.collect(lambda line: line.command == "JOIN" and line.nick.startswith("spare"), 0.5)
        assert "not-the-password" not in by_password.said()


# People, identified by WHOIS 307 alone.

def test_an_identified_person_is_verified_by_whois_307_and_may_reindex(oftc, oftc_bot, irc_people) -> None:
    alice = operator_alice(oftc, irc_people)  # !reindex, an operator command
    assert alice.ask(CHANNEL, "!whoami", "gntbot").text == "alice: you are alice, verified as irc:alice; an operator."
    assert alice.ask("gntbot", "!whoami", "gntbot").text == "you are alice, verified as irc:alice; an operator."


def test_a_look_alike_or_an_unidentified_user_of_the_nick_is_refused(oftc, oftc_bot, irc_people) -> None:
    lookalike, squatter = person_on(oftc, irc_people, "alice_"), person_on(oftc, irc_people, "bob")
    for person in (lookalike, squatter):
        in_channel(person, "gntbot")
        assert person.ask(CHANNEL, "!reindex", "gntbot").text == f"{person.nick}: {NOT_LOGGED_IN}"
    assert squatter.ask("gntbot", "!reindex", "gntbot").text == NOT_LOGGED_IN


def operator_alice(server: HybridAnope, irc_people, bot: str = "gntbot") -> IrcPerson:
    """alice, identified, in the channel, and trusted by the bot."""
    alice = person_on(server, irc_people, "alice")
    identify(alice, ACCOUNTS["alice"])
    in_channel(alice, bot)
    assert alice.ask(CHANNEL, "!reindex", bot).text.startswith(f"alice: {REINDEXED}")
    return alice


def test_after_a_logout_the_next_line_is_refused(oftc, oftc_bot, irc_people) -> None:
    alice = operator_alice(oftc, irc_people)
    logout(alice)  # the server tells nobody but alice: the bot must ask again
    assert alice.ask(CHANNEL, "!reindex", "gntbot").text == f"alice: {NOT_LOGGED_IN}"


def test_after_a_nick_change_the_next_line_is_refused_until_back_on_the_registered_nick(
        oftc, oftc_bot, irc_people) -> None:
    alice = operator_alice(oftc, irc_people)
    change_nick(alice, "zed")
    assert alice.ask(CHANNEL, "!whoami", "gntbot").text == (
        "zed: you are zed, not verified: not logged in to a services account.")
    change_nick(alice, "alice", owned=True)
    assert alice.ask(CHANNEL, "!whoami", "gntbot").text == "alice: you are alice, verified as irc:alice; an operator."


def test_a_nick_taken_over_after_its_owner_quit_is_not_trusted(oftc, oftc_bot, irc_people) -> None:
    alice = operator_alice(oftc, irc_people)
    alice.close()
    mallory = in_channel(person_on(oftc, irc_people, "alice"), "gntbot")
    assert mallory.ask(CHANNEL, "!reindex", "gntbot").text == f"alice: {NOT_LOGGED_IN}"
    assert mallory.ask("gntbot", "!reindex", "gntbot").text == NOT_LOGGED_IN


def test_a_nick_recovered_from_a_squatter_is_trusted_only_with_its_owner(oftc, oftc_bot, irc_people) -> None:
    squatter = in_channel(person_on(oftc, irc_people, "bob"), "gntbot")
    bob = in_channel(person_on(oftc, irc_people, "bob2"), "gntbot")
    identify(bob, ACCOUNTS["bob"], account="bob")  # logged in, but not on a nick of his: no 307
    assert bob.ask(CHANNEL, "!whoami", "gntbot").text == (
        "bob2: you are bob2, not verified: not logged in to a services account.")
    bob.say("NickServ", "RECOVER bob")
    guest = squatter.expect(lambda line: line.command == "NICK" and line.nick == "bob", what="the squatter renamed").text
    bob.expect(lambda line: line.command == "MODE" and line.params == ("bob", "+r"), what="bob back on his nick")
    bob.nick, squatter.nick = "bob", guest
    assert bob.ask(CHANNEL, "!whoami", "gntbot").text == "bob: you are bob, verified as irc:bob; an operator."
    assert squatter.ask(CHANNEL, "!reindex", "gntbot").text == f"{guest}: {NOT_LOGGED_IN}"


class WhoisSwallower(FreezableRelay):
    """Passes everything until `swallow`; from then on the server's replies
    to WHOIS never reach the client, as if the server had stopped answering."""

    REPLIES: ClassVar[set[bytes]] = {b"311", b"312", b"313", b"317", b"318", b"319", b"301", b"307", b"330", b"671", b"276"}

    def __init__(self, upstream_port: int) -> None:
        super().__init__(upstream_port)
        self.swallowing = False
        self._partial: dict[int, bytes] = {}

    def _passed(self, ident: int, data: bytes, from_server: bool) -> bytes:
        if not (from_server and self.swallowing):
            return data
        *lines, self._partial[ident] = (self._partial.get(ident, b"") + data).split(b"\r\n")
        return b"".join(line + b"\r\n" for line in lines if not self._is_whois_reply(line))

    def _is_whois_reply(self, line: bytes) -> bool:
        words = line.split(b" ", 2)
        return len(words) > 1 and words[1] in self.REPLIES


def test_a_whois_that_never_comes_back_fails_closed(oftc, tmp_path, irc_people) -> None:
    relay = WhoisSwallower(oftc.port)
    try:
        alice = person_on(oftc, irc_people, "alice")
        identify(alice, ACCOUNTS["alice"])
        with gntbot(tmp_path, relay.port, None, nick="spare", account="spare", password=ACCOUNTS["spare"]):
            in_channel(alice, "spare")
            assert alice.ask(CHANNEL, "!whoami", "spare").text.startswith("alice: you are alice, verified")
            relay.swallowing = True
            started = time.monotonic()
            assert alice.ask(CHANNEL, "!reindex", "spare", timeout=20).text == (
                "alice: refused: your services login could not be checked (WHOIS timed out).")
            assert time.monotonic() - started >= 9  # it waited for the reply, then gave up
    finally:
        relay.close()


# Hybrid as Debian ships it: extended-join, account-notify, WHOIS 330.

def test_as_shipped_the_account_follows_the_connection_and_a_logout_ends_it(
        hybrid: HybridAnope, certs: Certs, tmp_path, irc_people) -> None:
    with gntbot(tmp_path, hybrid.tls_port, certs, nick="runbot", account="gntbot", password=ACCOUNTS["gntbot"]):
        alice = operator_alice(hybrid, irc_people, "runbot")
        reply = whois(alice, "runbot")  # from a nick that is not the account's: 330, no 307
        assert reply["330"].params[2] == "gntbot" and "307" not in reply
        change_nick(alice, "zed")
        assert alice.ask(CHANNEL, "!whoami", "runbot").text == "zed: you are zed, verified as irc:alice; an operator."
        change_nick(alice, "alice", owned=True)
        logout(alice)
        assert alice.ask(CHANNEL, "!reindex", "runbot").text == f"alice: {NOT_LOGGED_IN}"
        change_nick(alice, "zed")
        lookalike = in_channel(person_on(hybrid, irc_people, "alice"), "runbot")
        assert lookalike.ask(CHANNEL, "!reindex", "runbot").text == f"alice: {NOT_LOGGED_IN}"


def test_with_services_down_the_bot_stays_out_and_says_so(server_dirs, certs: Certs, tmp_path, irc_people) -> None:
    with started(server_dirs, certs, "hybrid-down") as server:
        server.stop_services()
        watcher = person_on(server, irc_people, "watcher")
        watcher.join(CHANNEL)
        with gntbot(tmp_path, server.tls_port, certs, nick="gntbot", account="gntbot",
                    password=ACCOUNTS["gntbot"]) as bot:
            bot.logs("NickServ is not on 127.0.0.1 (services down?)", 10)
            assert not watcher.collect(lambda line: line.command == "JOIN" and line.nick == "gntbot", 1.0)
