"""Networks like OFTC (the reference team's #tor-project) have no SASL account
tags: identity comes from WHOIS 307 ("is identified for this nick"). No real
server here answers WHOIS with 307 alone, so this drives the account tracker
with the exact replies such a server sends."""

from __future__ import annotations

import asyncio

from bot.transports.irc_identity import NOT_LOGGED_IN, AccountTracker


def oftc_like() -> tuple[AccountTracker, list[str]]:
    asked: list[str] = []
    tracker = AccountTracker(asked.append, whois_timeout=0.2)
    tracker.configure(caps=set(), casemapping="rfc1459")  # no account-tag, no account-notify
    tracker.names("#tor-project", ["@alice", "+bob", "mallory"])
    return tracker, asked


async def whois(tracker: AccountTracker, nick: str, *, identified: bool) -> None:
    """What the server sends back after the bot's WHOIS: 307 only if identified, then 318."""
    await asyncio.sleep(0)
    if identified:
        tracker.whois_registered(nick)
    tracker.whois_end(nick)


def test_307_verifies_the_nick_and_is_asked_once_while_cached():
    async def scenario():
        tracker, asked = oftc_like()
        identity, _ = await asyncio.gather(tracker.identify("alice"), whois(tracker, "alice", identified=True))
        again = await tracker.identify("ALICE")  # same person under RFC 1459 case folding
        return identity, again, asked

    identity, again, asked = asyncio.run(scenario())
    assert identity.account == "alice" and identity.principal == "irc:alice"
    assert again.account == "alice"
    assert asked == ["alice"]


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


def test_a_line_waiting_while_its_nick_changes_hands_is_not_vouched_for():
    """mallory says "!reindex" as "x", leaves the nick, and alice (identified)
    takes "x" before the line is answered: the line must not run as alice."""
    async def scenario():
        tracker, _ = oftc_like()
        tracker.names("#tor-project", ["x"])
        arrived = tracker.epoch("x")  # mallory's line arrives now
        tracker.renamed("x", "mallory")
        tracker.renamed("alice", "x")
        identity, _ = await asyncio.gather(tracker.identify("x", epoch=arrived),
                                           whois(tracker, "x", identified=True))
        fresh, _ = await asyncio.gather(tracker.identify("x", epoch=tracker.epoch("x")),
                                        whois(tracker, "x", identified=True))
        return identity, fresh

    identity, fresh = asyncio.run(scenario())
    assert identity.account is None and "changed hands" in identity.unverified_reason
    assert fresh.account == "x"  # alice's own line, sent after the swap, is fine
