"""The bot on IRC, against InspIRCd 3 + Anope 2.0 (SASL, services accounts, IRCv3).

Most tests share one bot, ``gntbot``, connected with TLS and SASL PLAIN to
the port with the strict flood limit; the people connect to the lenient
port. Tests that need a bot of their own start one with another nick.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from bot.app import Application
from bot.commands.runbook import format_answer
from bot.config import Config
from bot.core.announce import Place
from bot.knowledge.base import KnowledgeBase
from bot.transports.irc import IrcTransport

from .common import REBALANCE, bot_is_there, first_line, irc_settings
from .harness import Loop, RunningBot
from .people import IrcPerson, connect_all
from .servers import Certs, InspircdAnope

pytestmark = pytest.mark.servers

BOT = "gntbot"


@pytest.fixture(scope="module")
def bot(aloop: Loop, ircd: InspircdAnope, secrets, certs: Certs, app_config: Config,
        knowledge: KnowledgeBase) -> Iterator[RunningBot]:
    app = Application(app_config, knowledge)
    settings = irc_settings(secrets, certs, ircd.tls_port, channels=["#ops"], ignore=["otherbot"])
    running = RunningBot(aloop, IrcTransport(settings, "gntbot"), app.dispatcher)
    yield running
    running.stop()


@pytest.fixture
def people(ircd: InspircdAnope, bot: RunningBot,
           irc_people: Callable[..., IrcPerson]) -> Callable[..., list[IrcPerson]]:
    """People on the lenient port, registered, in #ops with the bot."""

    def make(*who: tuple[str, str | None], channel: str = "#ops") -> list[IrcPerson]:
        crowd = [irc_people(ircd.port, nick, account) for nick, account in who]
        connect_all(*crowd)
        for person in crowd:
            person.join(channel)
        bot_is_there(crowd[0], channel)
        return crowd

    return make


def test_question_in_channel_gets_the_runbook_answer(people, knowledge: KnowledgeBase) -> None:
    (alice,) = people(("alice", "alice"))
    reply = alice.ask("#ops", f"{BOT}: {REBALANCE}", BOT)
    assert reply.text == f"alice: {first_line(knowledge, REBALANCE)}"
    answer, _ = knowledge.answer(REBALANCE)
    assert alice.said("#ops", BOT).text == answer.gist


def test_help_lists_the_commands_and_more_continues_a_long_answer(people, knowledge: KnowledgeBase) -> None:
    (alice,) = people(("alice", "alice"))
    help_line = alice.ask("#ops", "!help", BOT)
    assert help_line.text.startswith("alice: commands: ")
    assert {"!help", "!more", "!search", "!whoami"} <= set(help_line.text.replace(",", " ").replace(".", " ").split())
    assert alice.said("#ops", BOT).text.startswith('Ask a question by addressing me ("gntbot: how do I')

    question = "how do i recover from a drbd split brain"
    answer, _ = knowledge.answer(question)
    expected = format_answer(answer)
    assert len(expected) > 10, "needs an answer longer than two pages"
    alice.say("#ops", f"{BOT}: {question}")
    page = [alice.said("#ops", BOT, starting="alice: ").text] + [alice.said("#ops", BOT).text for _ in range(5)]
    assert page[:5] == [f"alice: {expected[0]}", *expected[1:5]]
    assert page[5] == f"({len(expected) - 5} more lines: !more)"

    alice.say("#ops", "!more")
    more = [alice.said("#ops", BOT, starting="alice: ").text] + [alice.said("#ops", BOT).text for _ in range(4)]
    assert more == [f"alice: {expected[5]}", *expected[6:10]]


def test_an_operator_account_may_reindex_a_lookalike_nick_may_not(people) -> None:
    alice, mallory = people(("alice", "alice"), ("alice_", None))
    assert alice.ask("#ops", "!whoami", BOT).text == "alice: you are alice, verified as irc:alice; an operator."
    assert alice.ask("#ops", "!reindex", BOT).text.startswith("alice: runbooks re-read")

    assert mallory.ask("#ops", "!whoami", BOT).text == (
        "alice_: you are alice_, not verified: not logged in to a services account.")
    assert mallory.ask("#ops", "!reindex", BOT).text == "alice_: refused: not logged in to a services account."

    # Even the very nick proves nothing without the login behind it.
    alice.close()
    mallory.expect(lambda l: l.command == "QUIT" and l.nick == "alice", what="alice leaving")
    mallory.send("NICK alice")
    mallory.expect(lambda l: l.command == "NICK" and l.text == "alice", what="the nick change")
    mallory.nick = "alice"
    assert mallory.ask("#ops", "!reindex", BOT).text == "alice: refused: not logged in to a services account."


def test_the_account_survives_a_nick_change(people) -> None:
    (alice,) = people(("alice", "alice"))
    alice.send("NICK zed")
    alice.expect(lambda l: l.command == "NICK" and l.text == "zed", what="the nick change")
    alice.nick = "zed"
    assert alice.ask("#ops", "!whoami", BOT).text == "zed: you are zed, verified as irc:alice; an operator."
    assert alice.ask("#ops", "!reindex", BOT).text.startswith("zed: runbooks re-read")


def test_private_messages_are_answered_in_private(people, knowledge: KnowledgeBase) -> None:
    alice, bob = people(("alice", "alice"), ("bob", "bob"))
    reply = alice.ask(BOT, REBALANCE, BOT)  # no "gntbot:" needed in private
    assert reply.params[0] == "alice"
    assert reply.text == first_line(knowledge, REBALANCE)
    assert bob.ask(BOT, "!whoami", BOT).text == "you are bob, verified as irc:bob; not an operator."
    # Nothing of it showed in the channel.
    assert not bob.collect(lambda l: l.command == "PRIVMSG" and l.params[0] == "#ops", 0.5)


def test_fifty_questions_in_a_burst_never_flood_the_bot_off_and_one_person_gets_only_their_budget(
        ircd: InspircdAnope, certs: Certs, bots, irc_people) -> None:
    flood = {"burst": 10, "rate": 40.0, "user_burst": 12, "user_rate": 0.1}
    bots.irc(ircd.tls_port, nick="burstbot", flood=flood)  # on the port that kills flooders
    alice, watcher = irc_people(ircd.port, "alice", "alice"), irc_people(ircd.port, "watcher")
    connect_all(alice, watcher)
    for person in (alice, watcher):
        person.join("#ops")
    bot_is_there(alice, "#ops", bot="burstbot")
    questions = [REBALANCE, "how do i failover an instance", "how do i migrate an instance"]
    burst = [f"PRIVMSG #ops :burstbot: {questions[n % len(questions)]}" for n in range(50)]
    alice.sock.sendall("".join(line + "\r\n" for line in burst).encode())

    notice = alice.expect(lambda l: l.command == "NOTICE" and l.nick == "burstbot", what="the one notice")
    assert "faster than I can answer" in notice.text
    answers = alice.collect(lambda l: l.nick == "burstbot" and l.text.startswith("alice: "), 3.0)
    assert 12 <= len(answers) <= 14  # her budget (and what refilled meanwhile), not fifty
    assert not alice.collect(lambda l: l.command == "NOTICE" and l.nick == "burstbot", 0.1)
    # Everyone else is still answered, and nobody saw the bot quit.
    assert watcher.ask("#ops", "!whoami", "burstbot").text.startswith("watcher: you are watcher")
    assert not watcher.collect(lambda l: l.command == "QUIT" and l.nick == "burstbot", 0.1)
    # The control: the same port disconnects a client that sends at that rate.
    flooder = irc_people(ircd.tls_port, "flooder", tls_ca=str(certs.ca)).registered()
    flooder.sock.sendall(b"".join(b"PRIVMSG #ops :flood %d\r\n" % n for n in range(100)))
    assert "Excess Flood" in flooder.expect(lambda l: l.command == "ERROR", what="the flood kill").text


def test_too_many_lines_from_one_person_get_a_single_notice(people) -> None:
    (bob,) = people(("bob", "bob"))
    bob.sock.sendall(b"".join(b"PRIVMSG #ops :!whoami\r\n" for _ in range(110)))
    answers = bob.collect(lambda l: l.nick == BOT and l.command == "PRIVMSG", 4.0)
    later = bob.collect(lambda l: l.nick == BOT and l.command in ("NOTICE", "PRIVMSG"), 1.0)
    notices = [line for line in bob.seen if line.nick == BOT and line.command == "NOTICE"]
    assert len(notices) == 1 and "faster than I can answer" in notices[0].text
    # A budget of 100: each line she sends, and each line she gets, costs one.
    assert 50 <= len(answers) <= 100
    assert len(later) <= 2  # what trickled back into the budget meanwhile


def test_the_bot_ignores_the_bots_it_is_told_to(people) -> None:
    alice, other = people(("alice", "alice"), ("otherbot", None))
    other.say("#ops", "!help")
    assert alice.ask("#ops", "!help", BOT)  # a person gets an answer...
    assert not alice.collect(lambda l: l.nick == BOT and l.text.startswith("otherbot"), 1.0)  # ...a bot none


def test_an_announcement_reaches_the_channel_without_anyone_asking(people, bot: RunningBot) -> None:
    (alice,) = people(("alice", "alice"))

    async def announce() -> None:
        bot.dispatcher.announcer.announce(Place("irc", "#ops"), ["job 1234 on gnt-fsn succeeded"])

    bot.loop.run(announce())
    assert alice.said("#ops", BOT).text == "job 1234 on gnt-fsn succeeded"


def test_an_announcement_for_a_channel_the_bot_does_not_serve_is_not_sent(people, bot: RunningBot, caplog) -> None:
    (alice,) = people(("alice", "alice"))

    async def announce() -> None:
        bot.dispatcher.announcer.announce(Place("irc", "#elsewhere"), ["nope"])
        bot.dispatcher.announcer.announce(Place("irc", "#ops"), ["after"])

    bot.loop.run(announce())
    assert alice.said("#ops", BOT).text == "after"
    assert "not announcing to #elsewhere" in caplog.text
