"""Replies and announcements are clipped: per line, and in all."""

from __future__ import annotations

import asyncio

import pytest

from bot.core.access import AccessPolicy
from bot.core.announce import Announcer, Place
from bot.core.clipping import OutputLimits, clip, clip_line
from bot.core.dispatch import Dispatcher
from bot.core.message import Identity, Message, Reply
from bot.core.paging import Pager
from bot.core.registry import Invocation, Registry

ALICE = Identity("irc", "alice", account="alice")
HUGE_COMMAND = "gnt-instance modify --comment=" + "é✓x" * 40_000 + " test1.example.org"  # ~200 KB


def reply_to(lines: list[str], *, page: bool) -> list[str]:
    registry = Registry()
    dispatcher = Dispatcher(registry, AccessPolicy.of([]), Pager(5))

    @registry.command("runbook", summary="what a hostile runbook holds")
    async def runbook(call: Invocation) -> Reply:
        return Reply.of(*lines)

    return list(asyncio.run(dispatcher.handle(Message("!runbook", ALICE, "#ops"), page=page)).lines)


def test_a_200_kb_command_line_becomes_one_clipped_line():
    (line,) = reply_to([HUGE_COMMAND], page=False)
    assert len(line.encode()) <= OutputLimits().line_bytes
    assert line.startswith("gnt-instance modify --comment=é✓x") and line.endswith("…")


def test_a_job_log_of_a_million_lines_is_cut_and_says_how_much_was_left_out():
    log = "\n".join(f"2026-11-23 10:00:{n % 60:02} step {n}" for n in range(1_000_000))
    whole = reply_to([log], page=False)  # as a transport that sends long answers privately gets it
    assert len(whole) == OutputLimits().reply_lines + 1
    assert whole[-1] == f"… {1_000_000 - OutputLimits().reply_lines} more lines not shown (too long for chat)"
    assert sum(len(line.encode()) for line in whole) <= OutputLimits().reply_bytes + 100


def test_every_kind_of_line_break_makes_a_new_line_and_blank_lines_go():
    assert clip(["one\r\ntwo\rthree\u2028four", "", "   ", "five\n\n"]) == ("one", "two", "three", "four", "five")


def test_a_cut_never_splits_a_character():
    for width in range(16, 40):
        cut = clip_line("✓" * 100, width)
        assert len(cut.encode()) <= width and set(cut) == {"✓", "…"}


def test_the_total_is_bounded_in_bytes_too():
    limits = OutputLimits(line_bytes=100, reply_lines=1000, reply_bytes=1000)
    clipped = clip(["x" * 100] * 50, limits)
    assert len(clipped) == 11 and clipped[-1].startswith("… 40 more lines")


def test_announcements_are_clipped_like_replies():
    announcer, sent = Announcer(), []
    announcer.attach("irc", lambda target, lines: sent.append(lines))
    announcer.announce(Place("irc", "#ops"), [HUGE_COMMAND, "job 12 log:\n" + "\n" * 5000 + "done"])
    (lines,) = sent
    assert len(lines) == 3 and all(len(line.encode()) <= OutputLimits().line_bytes for line in lines)


def test_limits_that_cannot_hold_a_line_are_refused():
    with pytest.raises(ValueError):
        OutputLimits(line_bytes=2000, reply_bytes=1000)
