"""Announcements reach the room of the realm they name, also when its network comes back later."""

from __future__ import annotations

import pytest

from bot.core.announce import Announcer, Place


def test_lines_go_to_the_attached_transport_of_their_realm():
    announcer, irc, xmpp = Announcer(), [], []
    announcer.attach("irc", lambda target, lines: irc.append((target, lines)))
    announcer.attach("xmpp", lambda target, lines: xmpp.append((target, lines)))
    announcer.announce(Place.parse("irc:#tor-admin"), ["job 1234 succeeded"])
    announcer.announce(Place("xmpp", "ops@conference.example.org"), ["job 1235 failed"])
    assert irc == [("#tor-admin", ("job 1234 succeeded",))]
    assert xmpp == [("ops@conference.example.org", ("job 1235 failed",))]


def test_lines_for_a_network_that_is_away_wait_for_it_within_a_bound(caplog):
    announcer, sent = Announcer(queued_lines=3), []
    first = lambda target, lines: sent.append(("old", lines))
    announcer.attach("irc", first)
    announcer.detach("irc", first)  # the connection dropped
    for number in range(5):
        announcer.announce(Place("irc", "#ops"), [f"line {number}"])
    assert not announcer.connected("irc") and sent == []
    announcer.attach("irc", lambda target, lines: sent.append((target, lines)))
    assert sent == [("#ops", ("line 2",)), ("#ops", ("line 3",)), ("#ops", ("line 4",))]
    assert "dropped 1 queued line(s) for #ops" in caplog.text


def test_a_stale_connection_cannot_detach_its_successor():
    announcer, sent = Announcer(), []
    old, new = (lambda t, lines: None), (lambda t, lines: sent.append(lines))
    announcer.attach("irc", old)
    announcer.attach("irc", new)  # reconnected before the old session closed
    announcer.detach("irc", old)
    announcer.announce(Place("irc", "#ops"), ["still here"])
    assert sent == [("still here",)]


def test_a_place_is_written_realm_colon_target():
    assert str(Place.parse("xmpp:ops@conference.example.org")) == "xmpp:ops@conference.example.org"
    with pytest.raises(ValueError, match="is not realm:room"):
        Place.parse("#tor-admin")
