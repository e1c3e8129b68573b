"""Question → first answer line, through a real IRC server, against the floor.

Starts InspIRCd + Anope (as the chat tests do), the bot (TLS, SASL, account
tags) and two plain clients: a person, and an echo client that repeats
every line it gets. The floor is the person's round trip through the
server to the echo client and back; the bot's figure is the time from the
person's question to the first line of the bot's answer. Between questions
the person waits for the whole answer and a pause, so the figures measure
the bot's work, not its outgoing flood control. Prints figures; asserts
nothing.

    python bench/bench_irc.py [--rounds 200]

Needs root (the servers run as the ``irc`` user through setpriv) and the
Debian packages inspircd, anope and openssl.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app import Application
from bot.config import SHIPPED_RUNBOOKS, BotSettings, Config, KnowledgeSettings
from bot.configreader import Table
from bot.core.access import AccessPolicy
from bot.knowledge.base import KnowledgeBase
from bot.transports.irc import IrcTransport
from bot.transports.settings import parse_irc
from tests.chat.harness import Loop, RunningBot
from tests.chat.people import IrcPerson, connect_all
from tests.chat.servers import Certs, InspircdAnope

ACCOUNTS = {"alice": "alicepass1", "gntbot": "botpass123"}
QUESTIONS = ROOT / "tests" / "questions" / "runbooks.jsonl"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def echo(person: IrcPerson, stop: threading.Event) -> None:
    """Repeat every private line straight back to its sender."""
    while not stop.is_set():
        try:
            line = person.expect(lambda l: l.command == "PRIVMSG", 0.5)
        except AssertionError:
            continue
        person.say(line.nick, line.text)


def echo_round_trip(person: IrcPerson, n: int) -> float:
    """Seconds for line ``n`` from ``person`` to the echo client and back: the floor."""
    person.forget()
    start = time.perf_counter()
    person.say("echo", f"ping {n}")
    person.expect(lambda l: l.nick == "echo" and l.text == f"ping {n}", 5, "the echo")
    return time.perf_counter() - start


def start_bot(loop: Loop, port: int, certs: Certs, folder: Path, password: str,
              access: AccessPolicy | None = None) -> RunningBot:
    """The bot, in ``loop``, on the server's TLS ``port`` in ``#bench``, with a fresh index."""
    (folder / "password").write_text(password)
    table = Table({"server": "127.0.0.1", "port": port, "ca_file": str(certs.ca),
                   "password_file": str(folder / "password"), "channels": ["#bench"],
                   "flood": {"burst": 10, "rate": 40.0, "user_burst": 1000, "user_rate": 100.0}},
                  "irc.bench", folder / "config.toml")
    knowledge = KnowledgeBase(SHIPPED_RUNBOOKS, folder / "index")
    knowledge.refresh()
    config = Config(bot=BotSettings(), knowledge=KnowledgeSettings(index=folder / "index", reload_seconds=0),
                    access=access or AccessPolicy())
    app = Application(config, knowledge)
    return RunningBot(loop, IrcTransport(parse_irc("bench", table, "gntbot"), "gntbot"), app.dispatcher)


def quiet(person: IrcPerson, seconds: float) -> None:
    """Wait until nothing has come for ``seconds``."""
    while person.collect(lambda l: True, seconds):
        pass


def round_trips(server: Any, certs: Certs, rounds: int, folder: Path, ask: Callable[[IrcPerson, int], None],
                alice: Callable[[int], IrcPerson], *, settle: float, access: AccessPolicy | None = None,
                prepare: Callable[[IrcPerson], None] = lambda person: None) -> dict[str, list[float]]:
    """Start ``server`` and the bot; then, ``rounds`` times, the echo round trip
    (the floor) and the time ``ask(alice, n)`` takes, with a pause of ``settle``
    seconds of quiet after each. ``alice(port)`` connects her, ``prepare``
    readies her once she is registered."""
    loop = Loop()
    people: list[IrcPerson] = []
    stop = threading.Event()
    bot = None
    try:
        server.start()
        bot = start_bot(loop, server.tls_port, certs, folder, ACCOUNTS["gntbot"], access)
        person, echoer = alice(server.port), IrcPerson(server.port, "echo")
        people += [person, echoer]
        connect_all(person, echoer)
        prepare(person)
        person.join("#bench")
        person.expect(lambda l: (l.command == "JOIN" and l.nick == "gntbot")
                      or (l.command == "353" and "gntbot" in l.text.replace("@", "").split()), 30, "the bot in #bench")
        threading.Thread(target=echo, args=(echoer, stop), daemon=True).start()
        floor, answer = [], []
        for n in range(rounds):
            floor.append(echo_round_trip(person, n))
            person.forget()
            start = time.perf_counter()
            ask(person, n)
            answer.append(time.perf_counter() - start)
            quiet(person, settle)  # the rest of the answer, and time for the bucket to refill
        return {"floor": floor, "answer": answer}
    finally:
        stop.set()
        if bot is not None:
            bot.stop()
        for someone in people:
            someone.close()
        server.stop()
        loop.close()


def measure(rounds: int, folder: Path) -> dict[str, list[float]]:
    for sub in ("certs", "ircd"):
        (folder / sub).mkdir()
    certs = Certs.make(folder / "certs")
    questions = [json.loads(line)["q"] for line in QUESTIONS.read_text().splitlines() if line.strip()]

    def ask(alice: IrcPerson, n: int) -> None:
        alice.say("#bench", f"gntbot: {questions[n % len(questions)].removeprefix('gntbot: ')}")
        alice.expect(lambda l: l.nick == "gntbot" and l.text.startswith("alice: "), 10, "the answer")

    def alice(port: int) -> IrcPerson:
        return IrcPerson(port, "alice", "alice", ACCOUNTS["alice"])

    return round_trips(InspircdAnope(folder / "ircd", certs, ACCOUNTS), certs, rounds, folder, ask, alice,
                       settle=0.15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="gntbot-bench-"))
    folder.chmod(0o711)
    try:
        figures = measure(args.rounds, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"{args.rounds} rounds through InspIRCd 3 (TLS + SASL for the bot), times in ms:")
    print(f"{'':28} {'p50':>8} {'p99':>8} {'mean':>8}")
    rows = {name: [1000 * value for value in values] for name, values in figures.items()}
    for name, label in (("floor", "echo round trip (floor)"), ("answer", "question -> first line")):
        values = rows[name]
        print(f"{label:28} {percentile(values, 0.5):8.1f} {percentile(values, 0.99):8.1f} "
              f"{statistics.fmean(values):8.1f}")
    p50 = percentile(rows["answer"], 0.5) - percentile(rows["floor"], 0.5)
    p99 = percentile(rows["answer"], 0.99) - percentile(rows["floor"], 0.99)
    print(f"{'above the floor':28} {p50:8.1f} {p99:8.1f}   (goal: <= 30 ms p50, <= 100 ms p99)")


if __name__ == "__main__":
    main()
