"""The identity tracker on its own, fed the replies an OFTC-like server sends
(no account-tag, no account-notify: WHOIS 307 alone). The same path against
the real ircd-hybrid + Anope pair is in test_hybrid.py (its `oftc` fixture); these cover what
a real server cannot be made to do on cue (late replies, 20,000 visitors)."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.transports.flood import TokenBucket
from bot.transports.irc_identity import (
    NICK_MOVED,
    NOT_LOGGED_IN,
    WHOIS_BUSY,
    AccountTracker,
)
from bot.transports.irc_outbox import Outbox
from bot.transports.irc_whois import OpenWhois, WhoisBusy


def oftc_like(**options: Any) -> tuple[AccountTracker, list[str]]:
    asked: list[str] = []
    tracker = AccountTracker(lambda nick: asked.append(nick) is None, whois_timeout=0.2, **options)
    tracker.configure(caps=set(), casemapping="rfc1459")  # no account-tag, no account-notify
    tracker.names("#tor-project", ["@alice", "+bob", "mallory"])
    return tracker, asked


async def whois(tracker: AccountTracker, nick: str, *, identified: bool) -> None:
    """What the server sends back after the bot's WHOIS: 307 only if identified, then 318."""
    await asyncio.sleep(0)
    if identified:
        tracker.whois_registered(nick)
    tracker.whois_end(nick)


def test_307_verifies_the_nick_and_lines_sent_together_share_one_whois():
    async def scenario():
        tracker, asked = oftc_like()
        arrived = tracker.epoch()  # two lines from alice arrive before the bot asks
        first, second, _ = await asyncio.gather(
            tracker.identify("alice", epoch=arrived), tracker.identify("ALICE", epoch=arrived),
            whois(tracker, "alice", identified=True))
        return first, second, asked

    first, second, asked = asyncio.run(scenario())
    assert first.account == "alice" and first.principal == "irc:alice"
    assert second.account == "alice"  # the same person under RFC 1459 case folding
    assert asked == ["alice"]


def test_without_account_notify_a_line_after_the_answer_is_asked_about_again():
    """Nobody tells the bot of a logout: alice's next line needs a new WHOIS,
    and after she logged out it shows no 307."""
    async def scenario():
        tracker, asked = oftc_like()
        await asyncio.gather(tracker.identify("alice"), whois(tracker, "alice", identified=True))
        after_logout, _ = await asyncio.gather(tracker.identify("alice"), whois(tracker, "alice", identified=False))
        return after_logout, asked

    after_logout, asked = asyncio.run(scenario())
    assert after_logout.account is None and after_logout.unverified_reason == NOT_LOGGED_IN
    assert asked == ["alice", "alice"]


def test_a_look_alike_without_307_is_unverified():
    async def scenario():
        tracker, _ = oftc_like()
        identity, _ = await asyncio.gather(tracker.identify("mallory"), whois(tracker, "mallory", identified=False))
        return identity

    identity = asyncio.run(scenario())
    assert identity.account is None and identity.unverified_reason == NOT_LOGGED_IN


def test_a_nick_change_or_quit_forgets_what_whois_said():
    async def scenario():
        tracker, asked = oftc_like()
        await asyncio.gather(tracker.identify("bob"), whois(tracker, "bob", identified=True))
        tracker.renamed("bob", "alice_")  # someone could now be "bob" without being identified
        renamed, _ = await asyncio.gather(tracker.identify("alice_"), whois(tracker, "alice_", identified=False))
        tracker.names("#tor-project", ["bob"])
        newcomer, _ = await asyncio.gather(tracker.identify("bob"), whois(tracker, "bob", identified=False))
        return renamed, newcomer, asked

    renamed, newcomer, asked = asyncio.run(scenario())
    assert renamed.account is None  # 307 vouches for a nick, and alice_ is not identified
    assert newcomer.account is None  # the old answer about "bob" was not reused
    assert asked == ["bob", "alice_", "bob"]


def test_a_whois_that_never_ends_fails_closed():
    async def scenario():
        tracker, _ = oftc_like()
        return await tracker.identify("alice")

    identity = asyncio.run(scenario())
    assert identity.account is None
    assert "could not be checked" in identity.unverified_reason


def test_a_late_reply_to_a_whois_given_up_on_is_not_taken_for_the_next_one():
    """The server lags: the first WHOIS times out, and its reply (alice was
    identified then) comes in just before the reply to the second (she is
    not any more). The second line must get the second reply."""
    async def scenario():
        tracker, asked = oftc_like()
        timed_out = await tracker.identify("alice")
        second = asyncio.ensure_future(tracker.identify("alice"))
        await asyncio.sleep(0)
        tracker.whois_registered("alice")  # the first WHOIS's reply, late
        tracker.whois_end("alice")
        tracker.whois_end("alice")  # the second's: no 307
        return timed_out, await second, asked

    timed_out, second, asked = asyncio.run(scenario())
    assert "could not be checked" in timed_out.unverified_reason
    assert second.account is None and second.unverified_reason == NOT_LOGGED_IN
    assert asked == ["alice", "alice"]


def test_a_line_waiting_while_its_nick_changes_hands_is_not_vouched_for():
    """mallory says "!reindex" as "x", leaves the nick, and alice (identified)
    takes "x" before the line is answered: the line must not run as alice."""
    async def scenario():
        tracker, _ = oftc_like()
        tracker.names("#tor-project", ["x"])
        arrived = tracker.epoch()  # mallory's line arrives now
        tracker.renamed("x", "mallory")
        tracker.renamed("alice", "x")
        identity, _ = await asyncio.gather(tracker.identify("x", epoch=arrived),
                                           whois(tracker, "x", identified=True))
        fresh, _ = await asyncio.gather(tracker.identify("x", epoch=tracker.epoch()),
                                        whois(tracker, "x", identified=True))
        return identity, fresh

    identity, fresh = asyncio.run(scenario())
    assert identity.account is None and identity.unverified_reason == NICK_MOVED
    assert fresh.account == "x"  # alice's own line, sent after the swap, is fine


def test_20000_visitors_leave_a_bounded_tracker_that_still_fails_closed():
    """A busy channel: 20,000 one-off visitors join, say something, and quit;
    as many strangers write in private. The tracker keeps at most its
    capacity, and a line that waited through all of that is not vouched for
    even though what happened to its nick was forgotten."""
    async def scenario():
        tracker, asked = oftc_like(capacity=500)
        waited = tracker.epoch()  # bob's line arrives, then a very slow command runs ahead of it
        for number in range(20_000):
            visitor = f"visitor{number}"
            tracker.joined("#tor-project", visitor)
            await asyncio.gather(tracker.identify(visitor), whois(tracker, visitor, identified=True))
            tracker.quit(visitor)
            stranger = f"stranger{number}"
            await asyncio.gather(tracker.identify(stranger), whois(tracker, stranger, identified=False))
        tracker.quit("bob")  # bob leaves, someone identified takes the nick back: all forgotten
        for number in range(600):
            tracker.quit(f"other{number}")
        tracker.names("#tor-project", ["bob"])
        stale, _ = await asyncio.gather(tracker.identify("bob", epoch=waited), whois(tracker, "bob", identified=True))
        alice, _ = await asyncio.gather(tracker.identify("alice"), whois(tracker, "alice", identified=True))
        return tracker, stale, alice, len(asked)

    tracker, stale, alice, asked = asyncio.run(scenario())
    assert tracker.remembered <= 3 * 500
    assert stale.account is None and stale.unverified_reason == NICK_MOVED
    assert alice.account == "alice"
    assert asked == 40_002


def test_answers_without_account_notify_expire():
    now = [0.0]

    async def scenario():
        tracker, _ = oftc_like(ttl=60.0, clock=lambda: now[0])
        for nick in ("alice", "bob", "mallory"):
            await asyncio.gather(tracker.identify(nick), whois(tracker, nick, identified=True))
        before = tracker.remembered
        now[0] = 61.0
        await asyncio.gather(tracker.identify("alice"), whois(tracker, "alice", identified=True))
        return before, tracker.remembered

    before, after = asyncio.run(scenario())
    assert (before, after) == (3, 1)


def test_when_the_whois_queue_is_full_the_sender_is_unverified_at_once():
    async def scenario():
        sent: list[str] = []
        box = Outbox(sent.append, TokenBucket(1, 0.01), "gntbot", "gntbot", control_lines=2)  # nothing drains
        tracker = AccountTracker(lambda nick: box.request(f"WHOIS {nick}"), whois_timeout=3600.0)
        tracker.configure(caps=set(), casemapping="rfc1459")
        tracker.names("#tor-project", ["alice", "bob", "mallory", "dave"])
        late = asyncio.ensure_future(asyncio.gather(tracker.identify("alice"), tracker.identify("bob")))
        await asyncio.sleep(0)
        asking = [asyncio.ensure_future(tracker.identify(nick)) for nick in ("mallory", "dave")]
        for _ in range(3):  # a few turns of the loop, no time: not the 3,600 s timeout
            await asyncio.sleep(0)
        answered_at_once = all(task.done() for task in asking)
        refused = await asyncio.gather(*asking)
        box.control("JOIN #tor-project")  # the bot's own requests still go in
        for nick in ("alice", "bob"):
            tracker.whois_registered(nick)
            tracker.whois_end(nick)
        return refused, answered_at_once, await late, box.pending()

    refused, at_once, answered, pending = asyncio.run(scenario())
    assert [identity.unverified_reason for identity in refused] == [WHOIS_BUSY, WHOIS_BUSY]
    assert at_once and all(identity.account is None for identity in refused)  # fail closed, and at once
    assert [identity.account for identity in answered] == ["alice", "bob"]  # the replies still match theirs
    assert pending == 3


def test_a_reply_answers_the_oldest_whois_even_when_more_were_asked_than_are_kept_open():
    """Six WHOISes for one nick, unanswered: the ones past the bound are refused, none
    is forgotten, so the server's first reply still answers the first question."""
    async def scenario() -> tuple[int, list[bool]]:
        sent: list[str] = []
        open_whois = OpenWhois(lambda nick: sent.append(nick) is None, str.lower, 100)
        asked = [open_whois.ask("alice", n) for n in range(1, 7)]
        refused = [isinstance(p.done.exception(), WhoisBusy) if p.done.done() else False for p in asked]
        open_whois.identified("alice")
        answered = open_whois.end("alice")
        assert answered is not None and len(sent) == refused.count(False)
        return answered[0].asked, refused

    first, refused = asyncio.run(scenario())
    assert first == 1
    assert refused == [False] * 4 + [True] * 2
