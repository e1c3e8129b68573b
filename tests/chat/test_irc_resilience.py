"""The bot on IRC when things go wrong: kicks, dead links, a crashed server,
a refused login. Each test has a bot (and where needed a server) of its own."""

from __future__ import annotations

import logging
import time

import pytest

from .common import IRC_ACCOUNTS, bot_is_there
from .people import IrcLine, IrcPerson
from .proxy import FreezableRelay
from .servers import InspircdAnope

pytestmark = pytest.mark.servers


def joined(person: IrcPerson, channel: str, bot: str, timeout: float) -> IrcLine:
    return person.expect(lambda l: l.command == "JOIN" and l.nick.startswith(bot)
                         and l.params[0].lower() == channel.lower(), timeout, f"{bot} joining {channel}")


def test_the_bot_joins_a_channel_with_its_key_and_rejoins_after_a_kick(
        ircd: InspircdAnope, bots, irc_people, secrets) -> None:
    alice = irc_people(ircd.port, "alice", "alice").registered()
    alice.join("#keyed")  # she made the channel: she is its operator
    alice.send("MODE #keyed +k sesame")
    alice.expect(lambda l: l.command == "MODE" and l.params[1:] == ("+k", "sesame"), what="the key set")
    (secrets / "keyed.key").write_text("sesame\n")
    bots.irc(ircd.tls_port, nick="keybot", channels=[],
             channel={"#keyed": {"key_file": str(secrets / "keyed.key")}})
    joined(alice, "#keyed", "keybot", 10)

    alice.send("KICK #keyed keybot :out")
    kicked = time.monotonic()
    joined(alice, "#keyed", "keybot", 10)
    assert time.monotonic() - kicked < 5  # rejoin_delay is 0.5 s here


def test_a_dead_link_is_noticed_and_the_bot_comes_back(ircd: InspircdAnope, bots, irc_people) -> None:
    relay = FreezableRelay(ircd.tls_port)
    try:
        alice = irc_people(ircd.port, "alice", "alice").registered()
        alice.join("#ops")
        bots.irc(relay.port, nick="pingbot", ping_timeout=3)
        joined(alice, "#ops", "pingbot", 10)
        relay.freeze()  # no data, no FIN: the old connection just goes quiet
        # The server still has the frozen "pingbot" (it pings out after 2 min):
        # the bot comes back through a new connection under another nick.
        back = joined(alice, "#ops", "pingbot", 15)
        assert back.nick != "pingbot" and relay.connections == 2
        assert alice.ask("#ops", f"{back.nick}: !whoami", back.nick).text.startswith("alice: you are alice")
    finally:
        relay.close()


def test_after_the_server_is_killed_and_restarted_the_bot_is_back_within_30s(
        own_ircd: InspircdAnope, bots, irc_people) -> None:
    bots.irc(own_ircd.tls_port, nick="gntbot")
    alice = irc_people(own_ircd.port, "alice", "alice").registered()
    alice.join("#ops")
    bot_is_there(alice, "#ops")

    own_ircd.kill_ircd()
    killed = time.monotonic()
    own_ircd.restart_ircd()
    alice = irc_people(own_ircd.port, "alice", "alice").registered()
    alice.join("#ops")
    bot_is_there(alice, "#ops", timeout=30 - (time.monotonic() - killed))
    assert time.monotonic() - killed < 30
    assert alice.ask("#ops", "!whoami", "gntbot").text == "alice: you are alice, verified as irc:alice; an operator."


def test_a_refused_login_keeps_the_bot_out_and_is_logged(
        ircd: InspircdAnope, bots, irc_people, secrets, caplog: pytest.LogCaptureFixture) -> None:
    (secrets / "wrong-password").write_text("not-the-password\n")
    alice = irc_people(ircd.port, "alice", "alice").registered()
    alice.join("#ops")
    with caplog.at_level(logging.ERROR, logger="bot.transports.session"):
        bots.irc(ircd.tls_port, nick="badbot", password_file=str(secrets / "wrong-password"))
        assert not alice.collect(lambda l: l.nick == "badbot", 4.0)  # never seen, not even unidentified
        # Leaving after each refusal, it says goodbye properly: the server is fine.
        irc_people(ircd.port, "carol").registered(timeout=5)
    failures = [r.getMessage() for r in caplog.records if "login failed" in r.getMessage()]
    assert len(failures) >= 2, "it keeps trying (with backoff)"
    assert "SASL PLAIN login as gntbot refused" in failures[0]
    assert "not-the-password" not in caplog.text and IRC_ACCOUNTS["gntbot"] not in caplog.text
