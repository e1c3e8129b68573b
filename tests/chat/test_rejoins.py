"""When the bot goes back into a room it was kicked from or refused entry to."""

from __future__ import annotations

from bot.transports.reconnect import Rejoins


def test_a_refused_join_backs_off_instead_of_retrying_every_few_seconds():
    now = [0.0]
    rejoins = Rejoins(first=10, maximum=600, settled=60, clock=lambda: now[0])
    delays = []
    for _ in range(5):  # banned: every JOIN is refused, the bot never gets in
        delays.append(rejoins.next_delay("#tor-project"))
        now[0] += delays[-1]
    assert delays[-1] > 4 * delays[0]


def test_a_long_stay_starts_the_delays_over_but_repeated_kicks_do_not():
    now = [0.0]
    rejoins = Rejoins(first=10, maximum=600, settled=60, clock=lambda: now[0])
    first = rejoins.next_delay("#ops")
    rejoins.joined("#ops")
    now[0] += 5  # kicked again right away
    second = rejoins.next_delay("#ops")
    rejoins.joined("#ops")
    now[0] += 3600  # stayed an hour
    third = rejoins.next_delay("#ops")
    assert second > first and third <= 10
