"""What the chat tests share: accounts, the bot's settings, and how people
check on the bot and ask it things."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.configreader import Table
from bot.knowledge.base import KnowledgeBase
from bot.transports.settings import IrcSettings, XmppSettings, parse_irc, parse_xmpp

from .harness import Loop
from .people import IrcLine, IrcPerson, XmppPerson
from .servers import Certs

IRC_ACCOUNTS = {"alice": "alicepass1", "bob": "bobpass1", "gntbot": "botpass123"}
XMPP_ACCOUNTS = {"alice": "alicepass", "bob": "bobpass", "gntbot": "botpass", "bot2": "bot2pass"}
OPERATORS = ("irc:alice", "xmpp:alice@localhost")
# Fast enough for tests, still within the strict port's limit (at most 60
# lines in any second: 10 + 40 here); generous per-person budgets.
TEST_FLOOD = {"burst": 10, "rate": 40.0, "user_burst": 100, "user_rate": 1.0}

REBALANCE = "how do i rebalance the cluster"
# Bidirectional controls (they show the text around them reversed) and noncharacters
# (never text): what a hostile runbook or job log may hold, and no wire may carry.
UNSEEN = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c\ufffe\uffff\ufdd0\ufdef\U0001fffe"


def irc_settings(secrets: Path, certs: Certs, port: int, **overrides: Any) -> IrcSettings:
    """Bot settings as a config file would give them, with test defaults
    (``key=None`` leaves a default out)."""
    data: dict[str, Any] = {
        "server": "127.0.0.1", "port": port, "ca_file": str(certs.ca), "nick": "gntbot",
        "account": "gntbot", "password_file": str(secrets / "irc-password"), "channels": ["#ops"],
        "reconnect_min": 0.2, "reconnect_max": 2.0, "rejoin_delay": 0.5, "flood": dict(TEST_FLOOD),
    }
    data.update(overrides)  # None: leave the key out
    data = {key: value for key, value in data.items() if value is not None}
    table = Table(data, "irc.test", secrets / "config.toml")
    settings = parse_irc("test", table, "gntbot")
    table.problems.check()  # as load_config does: a problem is recorded, not raised where found
    return settings


def xmpp_settings(secrets: Path, certs: Certs, port: int, **overrides: Any) -> XmppSettings:
    data: dict[str, Any] = {
        "jid": "gntbot@localhost", "password_file": str(secrets / "xmpp-gntbot"),
        "server": "127.0.0.1", "port": port, "ca_file": str(certs.ca), "rooms": ["ops@conference.localhost"],
        "reconnect_min": 0.2, "reconnect_max": 2.0, "flood": dict(TEST_FLOOD),
    }
    data.update(overrides)
    data = {key: value for key, value in data.items() if value is not None}
    table = Table(data, "xmpp", secrets / "config.toml")
    settings = parse_xmpp(table, "gntbot")
    table.problems.check()
    return settings


def bot_is_there(person: IrcPerson, channel: str, bot: str = "gntbot", timeout: float = 10.0) -> IrcLine:
    """The NAMES line that lists the bot, or the bot's JOIN."""
    return person.expect(
        lambda l: (l.command == "353" and bot in l.text.replace("@", " ").split())
        or (l.command == "JOIN" and l.nick == bot and l.params[0].lower() == channel.lower()),
        timeout, f"{bot} in {channel}")


def first_line(knowledge: KnowledgeBase, question: str) -> str:
    """How the bot's answer to ``question`` starts: the section and its link."""
    answer, _ = knowledge.answer(question)
    assert answer is not None, f"the runbooks should answer {question!r}"
    return f"{answer.section.breadcrumbs} — {answer.link}"


def in_room(aloop: Loop, person: XmppPerson, room: str, nick: str, bot_nick: str = "gntbot",
            password: str | None = None) -> XmppPerson:
    """``person`` in ``room`` as ``nick``, once the bot is there too."""
    aloop.run(person.join(room, nick, password))
    aloop.run(person.presence_of(f"{room}/{bot_nick}", timeout=15))  # also when it was there first
    return person


def ask_room(aloop: Loop, person: XmppPerson, room: str, nick: str, text: str, timeout: float = 10.0) -> list[str]:
    """Say ``text`` in ``room``; the lines of the bot's answer to ``nick``."""
    person.say(room, text)
    reply = aloop.run(person.expect(
        lambda m: m["type"] == "groupchat" and m["from"].bare == room and m["mucnick"] != nick
        and m["body"].startswith(f"{nick}: "), timeout))
    return reply["body"].split("\n")


def ask_direct(aloop: Loop, person: XmppPerson, to: str, text: str) -> list[str]:
    person.tell(to, text)
    reply = aloop.run(person.expect(lambda m: m["type"] == "chat" and m["from"].bare == to))
    return reply["body"].split("\n")
