"""``!more`` pages: whose they are, how long they wait, how much they may hold."""

from __future__ import annotations

import asyncio
import gc
import tracemalloc

from bot.commands import help as help_commands
from bot.core.access import AccessPolicy
from bot.core.dispatch import Dispatcher
from bot.core.message import Identity, Message, Reply
from bot.core.paging import Pager
from bot.core.registry import Invocation, Registry


def build(page_lines: int = 2, pager: Pager | None = None) -> Dispatcher:
    registry = Registry()
    dispatcher = Dispatcher(registry, AccessPolicy.of([]), pager or Pager(page_lines))
    help_commands.register(dispatcher, "gntbot")

    @registry.command("count", usage="N", summary="count to N")
    async def count(call: Invocation) -> Reply:
        return Reply.of(*(str(i) for i in range(1, int(call.args) + 1)))

    @registry.command("listing", summary="a cluster-sized listing, made afresh each time")
    async def listing(call: Invocation) -> Reply:
        return Reply.of(*(f"inst{n:05}.example.org  fsn-node-{n % 80:02}  running  4G  {'x' * 60}"
                          for n in range(2000)))

    return dispatcher


def say(dispatcher: Dispatcher, text: str, sender: Identity, room: str | None = "#ops") -> list[str]:
    return list(asyncio.run(dispatcher.handle(Message(text, sender, room))).lines)


def unverified(nick: str, mask: str) -> Identity:
    return Identity("irc", nick, None, "not logged in", address=mask)


def test_whoever_takes_the_nick_next_does_not_get_the_pages():
    dispatcher = build()
    carol = unverified("carol", "carol!carol@host-a.example.org")
    mallory = unverified("carol", "carol!mallory@host-b.example.org")  # the same nick, someone else
    say(dispatcher, "!count 5", carol)
    assert say(dispatcher, "!more", mallory) == ["nothing more to show."]
    assert say(dispatcher, "!more", carol)[0] == "3"


def test_a_verified_person_keeps_the_pages_across_addresses_until_told_otherwise():
    dispatcher = build()
    alice = Identity("irc", "alice", "alice", address="alice!alice@host-a.example.org")
    alice_elsewhere = Identity("irc", "alice", "Alice", address="alice!alice@host-c.example.org")
    say(dispatcher, "!count 5", alice)
    assert say(dispatcher, "!more", alice_elsewhere)[0] == "3"  # keyed on irc:alice


def test_pages_are_dropped_when_their_address_goes_away():
    dispatcher = build()
    carol = unverified("carol", "carol!carol@host-a.example.org")
    alice = Identity("irc", "alice", "alice", address="alice!alice@host-a.example.org")
    for who in (carol, alice):
        say(dispatcher, "!count 5", who)
    dispatcher.forget("irc", "carol!carol@host-a.example.org")  # QUIT, or NICK away from carol
    assert say(dispatcher, "!more", carol) == ["nothing more to show."]  # even from the very same mask
    assert say(dispatcher, "!more", alice)[0] == "3"
    dispatcher.forget_transport("irc")  # the bot reconnected
    assert say(dispatcher, "!more", alice) == ["nothing more to show."]


def test_pager_forgets_stale_pages_and_bounds_the_number_of_conversations():
    now = [0.0]
    pager = Pager(page_lines=1, ttl=60, max_conversations=2, clock=lambda: now[0])
    for who in ("a", "b", "c"):
        pager.first_page(("irc", "#ops", who), ["1", "2"], "!more", ("irc", who))
    assert pager.next_page(("irc", "#ops", "a"), "!more") is None  # evicted, least recently used
    now[0] = 120
    assert pager.next_page(("irc", "#ops", "c"), "!more") is None  # expired


def test_many_people_with_big_listings_park_a_bounded_amount_of_memory():
    dispatcher = build(pager=Pager(page_lines=5, max_bytes=1_000_000))
    people = [unverified(f"user{n}", f"user{n}!u@10.0.0.{n}") for n in range(64)]
    gc.collect()
    tracemalloc.start()
    try:
        for person in people:
            assert len(say(dispatcher, "!listing", person)) == 6
        gc.collect()
        parked, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert parked < 3_000_000  # 64 listings of 180 KB each, if they were kept whole: 12 MB
    # The latest asker can still page through the clipped reply, which says what was left out.
    shown = []
    while (page := say(dispatcher, "!more", people[-1])) != ["nothing more to show."]:
        shown.extend(line for line in page if not line.startswith("("))
    assert 300 < len(shown) < 420 and "more lines not shown (too long for chat)" in shown[-1]
