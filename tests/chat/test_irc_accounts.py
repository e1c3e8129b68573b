"""Who is speaking, on servers without IRCv3 account tags.

- InspIRCd + Anope with ``account-tag``, ``extended-join`` and
  ``account-notify`` switched off: accounts show only in WHOIS (330).
- ngircd: no services at all; everyone is unverified, and may still read.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import trustme

from bot.knowledge.base import KnowledgeBase

from .common import IRC_ACCOUNTS, REBALANCE, bot_is_there, first_line
from .people import connect_all
from .servers import Certs, InspircdAnope, Ngircd

pytestmark = pytest.mark.servers


@pytest.fixture
def whois_only_ircd(server_dirs, certs: Certs) -> Iterator[InspircdAnope]:
    server = InspircdAnope(server_dirs("ircd-whois"), certs, IRC_ACCOUNTS, account_caps=False)
    try:
        yield server.start()
    finally:
        server.stop()


def test_without_account_tags_whois_tells_the_account_and_follows_nick_changes(
        whois_only_ircd: InspircdAnope, bots, irc_people) -> None:
    server = whois_only_ircd
    bots.irc(server.tls_port)
    alice, mallory = irc_people(server.port, "alice", "alice"), irc_people(server.port, "alice_")
    connect_all(alice, mallory)
    for person in (alice, mallory):
        person.join("#ops")
    bot_is_there(alice, "#ops")

    assert alice.ask("#ops", "!reindex", "gntbot").text.startswith("alice: runbooks re-read")
    assert mallory.ask("#ops", "!reindex", "gntbot").text == "alice_: refused: not logged in to a services account."
    # The cached answers are dropped on a nick change and asked again.
    alice.send("NICK zed")
    mallory.send("NICK alice")
    alice.nick, mallory.nick = "zed", "alice"
    for person in (alice, mallory):
        person.expect(lambda l, nick=person.nick: l.command == "NICK" and l.text == nick, what="the nick change")
    assert alice.ask("#ops", "!whoami", "gntbot").text == "zed: you are zed, verified as irc:alice; an operator."
    assert mallory.ask("#ops", "!reindex", "gntbot").text == "alice: refused: not logged in to a services account."


def test_on_a_server_without_services_everyone_is_unverified_but_may_ask(
        ngircd: Ngircd, bots, irc_people, knowledge: KnowledgeBase) -> None:
    bots.irc(ngircd.port, tls=False, ca_file=None, login="none", password_file=None, nick="plainbot")
    alice = irc_people(ngircd.port, "alice").registered()
    alice.join("#ops")
    bot_is_there(alice, "#ops", bot="plainbot")
    assert alice.ask("#ops", f"plainbot: {REBALANCE}", "plainbot").text == (
        f"alice: {first_line(knowledge, REBALANCE)}")
    assert alice.ask("#ops", "!whoami", "plainbot").text == (
        "alice: you are alice, not verified: not logged in to a services account.")
    assert alice.ask("#ops", "!reindex", "plainbot").text == "alice: refused: not logged in to a services account."
    assert alice.ask("plainbot", "!whoami", "plainbot").text == (
        "you are alice, not verified: not logged in to a services account.")


def test_a_bot_that_must_use_sasl_stays_out_of_a_server_without_it(
        ngircd: Ngircd, bots, irc_people, caplog: pytest.LogCaptureFixture) -> None:
    alice = irc_people(ngircd.port, "alice").registered()
    alice.join("#ops")
    bots.irc(ngircd.port, tls=False, ca_file=None, login="sasl", nick="saslbot")
    assert not alice.collect(lambda l: l.nick == "saslbot", 2.0)
    assert any("does not offer SASL" in record.getMessage() for record in caplog.records)


def test_without_sasl_the_bot_identifies_to_nickserv_before_joining(ircd: InspircdAnope, bots, irc_people) -> None:
    alice = irc_people(ircd.port, "alice", "alice").registered()
    alice.join("#ops")
    bots.irc(ircd.tls_port, nick="nsbot", login="nickserv")
    alice.expect(lambda l: l.command == "JOIN" and l.nick == "nsbot", 20, "nsbot joining")
    alice.send("WHOIS nsbot")
    assert alice.expect(lambda l: l.command == "330", what="the bot's account in WHOIS").params[2] == "gntbot"


def test_with_a_client_certificate_the_bot_logs_in_by_sasl_external(
        ircd: InspircdAnope, bots, irc_people, certs: Certs, tmp_path) -> None:
    pem = tmp_path / "gntbot.pem"
    pem.write_bytes(trustme.CA().issue_cert("gntbot.example.org").private_key_and_cert_chain_pem.bytes())
    # The bot's owner logs in with the password and the certificate, once,
    # and has services remember the certificate.
    owner = irc_people(ircd.tls_port, "owner", "gntbot", tls_ca=str(certs.ca), client_cert=str(pem)).registered()
    owner.say("NickServ", "CERT ADD")
    owner.expect(lambda l: l.nick == "NickServ" and "added" in l.text, what="NickServ adding the fingerprint")
    owner.close()
    alice = irc_people(ircd.port, "alice", "alice").registered()
    alice.join("#ops")

    bots.irc(ircd.tls_port, nick="certbot", password_file=None, client_cert=str(pem))
    alice.expect(lambda l: l.command == "JOIN" and l.nick == "certbot", 15, "certbot joining")
    alice.send("WHOIS certbot")
    assert alice.expect(lambda l: l.command == "330", what="the bot's account in WHOIS").params[2] == "gntbot"
