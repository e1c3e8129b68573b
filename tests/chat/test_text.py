"""Text in and out of the transports: what the bot reads, what goes on the wire. (No servers.)"""

from __future__ import annotations

import unicodedata
from xml.etree import ElementTree

import pytest
import slixmpp
from hypothesis import given
from hypothesis import strategies as st

from bot.transports.conversation import read_line
from bot.transports.text import MAX_INBOUND, inbound, outbound

from .fuzzkit import unseen


def command(raw: str) -> str | None:
    """What the dispatcher would get from ``raw`` said in a channel, or None."""
    parsed = read_line(inbound(raw), names=("gntbot",), prefix="!", private=False)
    return parsed[0] if parsed else None


@pytest.mark.parametrize("raw", [
    "\u200b!search drbd",  # a zero-width space before the prefix
    "\u2060!search drbd",  # a word joiner
    "\ufeff!search drbd",  # a byte order mark
    "\u202e!search drbd",  # a right-to-left override
    "\u0301!search drbd",  # a combining accent over nothing
    "\x02!search\x02 drbd",  # IRC bold
    "\x0304,12!search\x03 drbd",  # IRC colours, with their numbers
    "\x1d\x1f!search drbd\x0f",  # italic, underline, reset
    "！ｓｅａｒｃｈ　ｄｒｂｄ",  # full-width letters and space
    "!sea\u200crch drbd",  # a zero-width non-joiner inside the word
])
def test_invisible_and_formatting_characters_do_not_turn_a_command_into_chatter(raw: str) -> None:
    assert command(raw) == "!search drbd"


def test_addressing_the_bot_survives_invisible_characters_too() -> None:
    parsed = read_line(inbound("gntbot\u200d: how do i\u00a0rebalance"), names=("gntbot",), prefix="!", private=False)
    assert parsed == ("how do i rebalance", True)


def test_compatibility_digits_become_ascii_digits() -> None:
    assert inbound("!jobs ²") == "!jobs 2"
    assert inbound("!job ①②③") == "!job 123"


def test_an_endless_message_is_cut_before_any_work_is_done_on_it() -> None:
    assert len(inbound("ﷺ" * 1_000_000)) == MAX_INBOUND  # one character that NFKC makes eighteen
    assert len(inbound("a" * 5_000_000)) == MAX_INBOUND


def test_line_breaks_and_tabs_inside_a_message_are_spaces() -> None:
    assert inbound("!search drbd\nsplit\tbrain\r") == "!search drbd split brain "


HOSTILE = ("\x1b[1;31mDANGER\x1b[0m \x1b]0;owned\x07 \x01ACTION dances\x01 a\x00b\rc\nd \x7f\x85\x9b2J "
           "\ud800 \ufffe \x08\x0b\x0c ok é ✓ 🙂")


def test_nothing_irc_would_misread_goes_out() -> None:
    clean = outbound(HOSTILE)
    assert all(ord(char) >= 0x20 and not 0x7F <= ord(char) <= 0x9F for char in clean)
    assert "DANGER" in clean and "[1;31m" not in clean and "owned" not in clean
    assert clean.encode("utf-8")  # no lone surrogate left to fail the encoding
    assert clean.endswith("ok é ✓ 🙂")


def test_an_xmpp_body_is_always_well_formed_xml() -> None:
    body = outbound(HOSTILE)
    message = slixmpp.Message()
    message["to"], message["body"] = "ops@conference.example.org", body
    parsed = ElementTree.fromstring(str(message))  # what a server would parse
    assert parsed.find("{jabber:client}body").text == body
    assert "ok é ✓ 🙂" in body and "\x1b" not in body


# Text as a runbook or a job log may hold it: anything, with the troublemakers often.
TROUBLE = "\x00\x01\x07\r\n\x1b[\x1b]\x9b\x85\u202a\u202e\u2066\u2069\u200e\u200f\u061c\ufdd0\ufdef\ufffe\uffff"
HOSTILE_TEXT = st.lists(st.one_of(st.text(), st.sampled_from(TROUBLE), st.sampled_from(["\U0001fffe", "\U0010ffff"])),
                        max_size=30).map("".join)


@given(HOSTILE_TEXT)
def test_no_outgoing_line_carries_a_control_a_bidi_control_or_a_noncharacter(text: str) -> None:
    clean = outbound(text)
    assert not any(unseen(char) or unicodedata.category(char) in ("Cc", "Cs") for char in clean), ascii(clean)
    clean.encode("utf-8")  # raises on a lone surrogate


@given(st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Cf", "Co", "Cn"))))
def test_ordinary_text_goes_out_as_it_is(text: str) -> None:
    assert outbound(text) == text


def test_bidi_controls_and_noncharacters_from_a_runbook_are_removed() -> None:
    line = "gnt-node list \u202eevil\u202c \u2067x\u2069 \u200f\u061c \ufffe\uffff \ufdd0 ok"
    assert outbound(line) == "gnt-node list evil x    ok"
