"""Load: budgets per person, bounded outgoing queues, where an IRC line was said. (No servers.)"""

from __future__ import annotations

import asyncio

from irc.client import NickMask

from bot.transports.flood import Admission, Backlog, InboundLimiter, TokenBucket
from bot.transports.irc_lines import audience, budget_key
from bot.transports.irc_outbox import LINE_LIMIT, SHED, Outbox


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_one_off_senders_are_forgotten_once_their_budget_has_refilled() -> None:
    clock = Clock()
    limiter = InboundLimiter(burst=5, rate=0.5, clock=clock)
    for n in range(20_000):
        clock.now = n * 0.01  # 100 new senders a second
        assert limiter.admit(f"host:10.{n // 65536}.{n // 256 % 256}.{n % 256}") is Admission.ACCEPT
    assert len(limiter) <= 2_100  # the last 20 s worth (2 x burst / rate), not 20,000


def test_the_number_of_senders_kept_is_bounded_even_when_they_all_come_at_once() -> None:
    limiter = InboundLimiter(burst=5, rate=0.5, clock=Clock(), max_senders=1000)
    for n in range(5000):
        limiter.admit(f"host:{n}")
    assert len(limiter) == 1000


def test_output_is_charged_to_the_person_who_asked_for_it() -> None:
    clock = Clock()
    limiter = InboundLimiter(burst=20, rate=0.5, clock=clock)
    assert limiter.admit("account:alice") is Admission.ACCEPT
    limiter.charge("account:alice", 40)  # a long answer: deep in debt, down to -20 at most
    assert limiter.admit("account:alice") is Admission.WARN
    assert limiter.admit("account:alice") is Admission.DROP
    assert limiter.admit("account:bob") is Admission.ACCEPT  # nobody else pays for it
    clock.now = 41
    assert limiter.admit("account:alice") is Admission.DROP  # -19 + 20.5: not one token yet
    clock.now = 43
    assert limiter.admit("account:alice") is Admission.ACCEPT


def test_one_person_at_the_permitted_rate_cannot_build_up_lag() -> None:
    """The reported case: a question every 5 s, each answered with a 6-line page,
    for an hour, against an outbox that sends one line a second."""
    clock = Clock()
    limiter = InboundLimiter(burst=20, rate=0.5, clock=clock)
    queued = worst = 0.0
    for second in range(3600):
        clock.now = second
        queued = max(0.0, queued - 1)  # the outbox sends one line a second
        if second % 5 == 0 and limiter.admit("host:example.org") is Admission.ACCEPT:
            queued += 6
            limiter.charge("host:example.org", 6)
        worst = max(worst, queued)
    assert worst <= 30  # seconds of lag, at most: the burst, then 0.5 lines/s


def test_a_nick_change_does_not_change_whose_budget_a_line_spends() -> None:
    before, after = NickMask("mallory!~m@host-7.example.net"), NickMask("mallory_!~m@host-7.example.net")
    assert budget_key(before, [], account_tags=False) == budget_key(after, [], account_tags=False)
    tagged = [{"key": "account", "value": "Alice"}]
    assert budget_key(before, tagged, account_tags=True) == "account:alice"
    assert budget_key(before, tagged, account_tags=False).startswith("host:")  # tags not negotiated: not trusted


def test_a_line_to_a_channels_operators_is_not_a_private_line() -> None:
    def same(a: str, b: str) -> bool:
        return a.lower() == b.lower()

    assert audience("@#ops", "gntbot", "@+", same) == ("#ops", "@#ops")
    assert audience("+#ops", "gntbot", "@+", same) == ("#ops", "+#ops")
    assert audience("GntBot", "gntbot", "@+", same) == (None, None)
    assert audience("#ops", "gntbot", "@+", same) == ("#ops", "#ops")
    assert audience("+modeless", "gntbot", "@+", same) == ("+modeless", "+modeless")
    assert audience("@elsewhere", "gntbot", "@+", same) is None


def outbox(sent: list[str], **bounds: int) -> Outbox:
    return Outbox(sent.append, TokenBucket(1000, 1000.0), "gntbot", "gntbot", **bounds)


async def drain(box: Outbox) -> None:
    task = asyncio.create_task(box.run())
    while box.pending():
        await asyncio.sleep(0)
    task.cancel()


def test_queues_are_bounded_per_target_and_in_all_and_shedding_is_said_once() -> None:
    async def scenario() -> list[str]:
        sent: list[str] = []
        box = outbox(sent, target_lines=10, total_lines=25)
        assert box.privmsg("#ops", [f"line {n}" for n in range(40)]) == 11  # ten, and the notice
        assert box.privmsg("#ops", ["more"]) == 0  # told already
        assert box.privmsg("alice", [f"private {n}" for n in range(8)]) == 8
        assert box.privmsg("bob", [f"private {n}" for n in range(8)]) == 7  # the total is full: 6, and the notice
        assert box.pending() <= 25 + 10
        await drain(box)
        box.privmsg("#ops", [f"again {n}" for n in range(12)])  # drained: a new episode, told again
        await drain(box)
        return sent

    sent = asyncio.run(scenario())
    notices = [line for line in sent if line.endswith(SHED)]
    assert sorted(notices) == [f"NOTICE #ops :{SHED}", f"NOTICE #ops :{SHED}", f"NOTICE bob :{SHED}"]
    assert sum(line.startswith("PRIVMSG #ops :line") for line in sent) == 10


def test_every_line_fits_the_relayed_limit_and_carries_no_control_character() -> None:
    async def scenario() -> list[str]:
        sent: list[str] = []
        box = outbox(sent)
        box.privmsg("#ops", ["\x1b[31m" + "é✓\x01\x00\r" * 300 + "\x1b[0m"])
        await drain(box)
        return sent

    sent = asyncio.run(scenario())
    prefix = ":gntbot!~gntbot@" + "x" * 63 + " "
    assert len(sent) >= 3
    for line in sent:
        assert len((prefix + line).encode()) + 2 <= LINE_LIMIT
        assert not any(ord(char) < 0x20 for char in line)


def test_one_persons_backlog_delays_anothers_answer_by_a_line_not_by_the_backlog() -> None:
    async def scenario() -> list[str]:
        sent: list[str] = []
        box = outbox(sent, target_lines=40, total_lines=100)
        box.privmsg("#ops", [f"flood {n}" for n in range(30)], "host:mallory")
        box.privmsg("#ops", ["alice: you are alice"], "account:alice")
        box.privmsg("#ops", ["bob: you are bob"], "account:bob")
        await drain(box)
        return sent

    sent = asyncio.run(scenario())
    assert sent.index("PRIVMSG #ops :alice: you are alice") <= 1
    assert sent.index("PRIVMSG #ops :bob: you are bob") <= 3
    assert [line for line in sent if "flood" in line] == [f"PRIVMSG #ops :flood {n}" for n in range(30)]


def test_a_full_target_sheds_the_longest_backlog_first() -> None:
    async def scenario() -> tuple[list[str], int]:
        sent: list[str] = []
        box = outbox(sent, target_lines=10, total_lines=25)
        box.privmsg("#ops", [f"flood {n}" for n in range(10)], "host:mallory")
        taken = box.privmsg("#ops", ["alice 1", "alice 2", "alice 3"], "account:alice")
        await drain(box)
        return sent, taken

    sent, taken = asyncio.run(scenario())
    assert taken == 4  # hers, and the notice that lines were dropped
    assert [line for line in sent if "alice" in line] == [f"PRIVMSG #ops :alice {n}" for n in (1, 2, 3)]
    assert [line for line in sent if "flood" in line] == [f"PRIVMSG #ops :flood {n}" for n in range(7)]
    assert sent.count(f"NOTICE #ops :{SHED}") == 1


def test_a_targets_backlog_is_bounded_and_told_once_per_episode() -> None:
    backlog = Backlog(2)
    assert [backlog.reserve("#ops") for _ in range(4)] == [Admission.ACCEPT, Admission.ACCEPT,
                                                           Admission.WARN, Admission.DROP]
    assert backlog.reserve("alice@example.org") is Admission.ACCEPT  # another target, its own bound
    backlog.release("#ops")
    assert backlog.reserve("#ops") is Admission.ACCEPT
    backlog.release("#ops")
    backlog.release("#ops")  # drained: the next episode is told again
    assert [backlog.reserve("#ops") for _ in range(3)][-1] is Admission.WARN


def test_the_notice_that_lines_were_dropped_is_never_shed_itself() -> None:
    """The flooder's backlog is shed for alice's answer: the notice must still go out."""
    async def scenario() -> list[str]:
        sent: list[str] = []
        box = outbox(sent, target_lines=30, total_lines=120)
        box.privmsg("#ops", [f"flood {n}" for n in range(40)], "host:evil.example")  # 30, and the notice
        assert box.privmsg("#ops", ["alice 1", "alice 2", "alice 3"], "account:alice") == 3
        await drain(box)
        return sent

    sent = asyncio.run(scenario())
    assert sent.count(f"NOTICE #ops :{SHED}") == 1
    assert [line for line in sent if "alice" in line] == [f"PRIVMSG #ops :alice {n}" for n in (1, 2, 3)]
