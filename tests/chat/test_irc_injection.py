"""A CR or LF in a name or a secret never becomes a second IRC line, through InspIRCd.

The configuration refuses such values (tests/test_config.py); these bots get
them anyway, built past the reader, to show the floor beneath: the
transport refuses the line, says so in the log, and goes on running.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from bot.transports.settings import RoomSettings

from .common import bot_is_there, irc_settings
from .servers import InspircdAnope

pytestmark = pytest.mark.servers

INJECTED = "\r\nJOIN #injected"


def test_a_line_break_in_a_key_a_password_or_the_realname_sends_nothing_extra(
        ircd: InspircdAnope, bots, irc_people, secrets, certs, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="bot.transports.irc_wire")
    watcher = irc_people(ircd.port, "watcher").registered()
    watcher.join("#injected")
    watcher.join("#ops")
    base = irc_settings(secrets, certs, ircd.tls_port)
    keyed = replace(base, chat=replace(base.chat, nick="keybot", rooms=(
        RoomSettings("#ops"), RoomSettings("#keyed", key="k" + INJECTED))))
    nickserv = replace(base, login="nickserv", password="botpass123" + INJECTED,
                       chat=replace(base.chat, nick="pwbot"))
    realname = replace(base, realname="r" + INJECTED, chat=replace(base.chat, nick="namebot"))
    running = [bots.irc_as(settings) for settings in (keyed, nickserv, realname)]

    bot_is_there(watcher, "#ops", bot="keybot", timeout=20)  # it runs, in the channel it can join
    joins = watcher.collect(lambda l: l.command == "JOIN" and l.nick.endswith("bot") and l.params[0] == "#injected",
                            5.0)
    assert joins == []
    assert not any(bot.future.done() for bot in running)  # no transport stopped on its own
    refused = {record.getMessage().split()[3] for record in caplog.records if "not sending" in record.getMessage()}
    assert {"JOIN", "PRIVMSG", "USER"} <= refused  # the keyed JOIN, the IDENTIFY, the registration
    assert not any("botpass123" in record.getMessage() or "k\r" in record.getMessage() for record in caplog.records)
