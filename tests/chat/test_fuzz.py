"""Property-based fuzzing of the dispatcher as the transports feed it (see `fuzzkit`).

Random lines (control characters, formatting codes, Unicode digits, huge
words, prefixes, ``@cluster`` words) from random people (verified or not, on
IRC, a second IRC network, XMPP and the console, in rooms and in private).
For every one: no internal error, nothing malformed on the wire, and no
callback of the bot's event loop runs for more than 100 ms of CPU time.
``GNTBOT_FUZZ_EXAMPLES`` sets the number of cases (default 3,000), the
same ones at every run; ``bench/fuzz_chat.py`` runs a longer campaign, with
new cases each time, and prints the figures and what it found.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from clusterkit import make_tls  # tests/cluster, on the path in tests/conftest.py
from fakerapi import FakeRapi, recorded
from hypothesis import HealthCheck, given, settings

from .fuzzkit import Bench, Said, application, said, wire_problems

EXAMPLES = int(os.environ.get("GNTBOT_FUZZ_EXAMPLES", "3000"))
STALL_LIMIT = 0.100


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bench]:
    folder: Path = tmp_path_factory.mktemp("fuzz")
    tls = make_tls(folder)
    rapi = FakeRapi(tls.cert_file, tls.key_file, recorded()).start()
    running = Bench(application(folder / "index", rapi.url, tls.fingerprint))
    try:
        yield running
    finally:
        running.close()
        rapi.stop()
        print(f"\nfuzz: {running.exchanges} exchanges, longest loop callback "
              f"{1000 * running.stalls.worst_ever:.1f} ms CPU (longest GC pause {1000 * running.stalls.worst_gc:.0f} ms), "
              f"worst loop lag {1000 * running.worst_lag:.1f} ms, "
              f"slowest exchange {1000 * running.slowest:.0f} ms")


@settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,  # the same cases each run
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(line=said())
def test_no_line_from_anyone_breaks_the_bot_or_the_wire(bench: Bench, line: Said) -> None:
    wire = bench.exchange(line)
    assert wire_problems(wire) == []
    assert bench.stalls.worst < STALL_LIMIT, f"a loop callback ran {1000 * bench.stalls.worst:.0f} ms"


def test_the_fuzzer_reaches_commands_clusters_and_refusals(bench: Bench) -> None:
    """The harness itself: these lines get the answers a person would see."""
    cluster_line = bench.exchange(Said("irc", "#ganeti", "alice", "alice", "!instances @gnt-fsn"))
    assert len(cluster_line.irc) > 1 and not wire_problems(cluster_line)
    down = bench.exchange(Said("xmpp", "ganeti@conference.example.org", "bob", "bob@example.org", "!nodes @gnt-down"))
    assert "gnt-down" in down.xmpp[0]
    stranger = bench.exchange(Said("irc", None, "carol", None, "!instances"))
    assert "refused" in stranger.irc[0]
    console = bench.exchange(Said("console", None, "alice", "alice", "\x1b[31m!whoami"))
    assert console.console.startswith("you are alice, verified as console:alice")


def test_a_digit_that_is_no_decimal_digit_is_refused_not_an_internal_error(bench: Bench) -> None:
    wire = bench.exchange(Said("irc", "#ganeti", "alice", "alice", "!jobs \U00010a40"))  # KHAROSHTHI DIGIT ONE
    assert wire_problems(wire) == []
