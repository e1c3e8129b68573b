"""What knowing who speaks costs on IRC: the tracker's memory under churn, and
the round trip of an identified command on the OFTC-like pair.

1. The account tracker alone, fed N one-off visitors to a channel (join,
   WHOIS answered, quit) and N strangers writing in private: how much it
   keeps, in entries and bytes (tracemalloc), and the time per visitor.
2. ``!whoami`` from an identified person through ircd-hybrid + Anope, the
   bot in this process: on the OFTC-like server every line costs a WHOIS
   (nobody announces logouts); on Hybrid as shipped (account-notify) the
   answer is kept. The floor is the person's round trip to an echo client.

Prints figures; asserts nothing.

    python bench/bench_identity.py [--visitors 20000] [--rounds 100]

Part 2 needs root and ircd-hybrid (scripts/install --test) and anope.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_irc import percentile, round_trips

from bot.core.access import AccessPolicy
from bot.transports.irc_identity import AccountTracker
from tests.chat.hybrid import OFTC_LIKE, HybridAnope, identify, missing
from tests.chat.people import IrcPerson
from tests.chat.servers import Certs

ACCOUNTS = {"alice": "alicepass1", "gntbot": "botpass123"}


async def churn(tracker: AccountTracker, visitors: int) -> None:
    tracker.configure(caps=set(), casemapping="ascii")
    for number in range(visitors):
        nick, stranger = f"visitor{number}", f"stranger{number}"
        tracker.joined("#busy", nick)
        asking = asyncio.ensure_future(tracker.identify(nick))
        await asyncio.sleep(0)
        tracker.whois_registered(nick)
        tracker.whois_end(nick)
        await asking
        tracker.quit(nick)
        asking = asyncio.ensure_future(tracker.identify(stranger))
        await asyncio.sleep(0)
        tracker.whois_end(stranger)
        await asking


def measure_tracker(visitors: int) -> tuple[int, int, float]:
    """Entries kept, bytes kept, microseconds per visitor (with its stranger).
    Timed without tracemalloc, which slows every allocation down."""
    tracker = AccountTracker(lambda nick: None)
    started = time.perf_counter()
    asyncio.run(churn(tracker, visitors))
    per_visitor = 1e6 * (time.perf_counter() - started) / visitors
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    tracker = AccountTracker(lambda nick: None)
    asyncio.run(churn(tracker, visitors))
    kept = sum(stat.size_diff for stat in tracemalloc.take_snapshot().compare_to(before, "filename"))
    tracemalloc.stop()
    return tracker.remembered, kept, per_visitor


def measure_round_trips(rounds: int, folder: Path, certs: Certs, without: tuple[str, ...]) -> dict[str, list[float]]:
    def ask(alice: IrcPerson, n: int) -> None:
        alice.say("#bench", "!whoami")
        reply = alice.expect(lambda line: line.nick == "gntbot" and line.text.startswith("alice: "), 10)
        assert "verified as irc:alice" in reply.text, reply.text

    server = HybridAnope(folder, certs, ACCOUNTS, without=without)
    return round_trips(server, certs, rounds, folder, ask, lambda port: IrcPerson(port, "alice"), settle=0.05,
                       access=AccessPolicy.of(["irc:alice"]),
                       prepare=lambda alice: identify(alice, ACCOUNTS["alice"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--visitors", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=100)
    args = parser.parse_args()
    for visitors in (args.visitors, 5 * args.visitors):
        kept, size, per_visitor = measure_tracker(visitors)
        print(f"tracker, {visitors} visitors + {visitors} private strangers: {kept} entries kept, "
              f"{size / 1024:.0f} KiB, {per_visitor:.1f} µs per visitor")
    lacking = missing()
    if lacking:
        print(f"round trips skipped: needs {', '.join(lacking)}")
        return
    folder = Path(tempfile.mkdtemp(prefix="gntbot-bench-"))
    folder.chmod(0o711)
    try:
        (folder / "certs").mkdir()
        certs = Certs.make(folder / "certs")
        print(f"!whoami from an identified person, {args.rounds} rounds, times in ms:")
        print(f"{'':44} {'p50':>8} {'p99':>8} {'mean':>8}")
        pairs = (("OFTC-like (a WHOIS per line)", OFTC_LIKE), ("as shipped (account-notify)", ()))
        for index, (name, without) in enumerate(pairs):
            (folder / f"pair-{index}").mkdir()
            figures = measure_round_trips(args.rounds, folder / f"pair-{index}", certs, without)
            for kind, label in (("floor", "echo round trip (floor)"), ("answer", "!whoami -> answer")):
                values = [1000 * value for value in figures[kind]]
                print(f"{name + ': ' + label:44} {percentile(values, 0.5):8.1f} {percentile(values, 0.99):8.1f} "
                      f"{statistics.fmean(values):8.1f}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
