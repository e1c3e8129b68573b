"""Text crossing the wire: normalised on the way in, made safe on the way out.

In, once per chat line and before anything reads it (`inbound`): cut to
`MAX_INBOUND` characters (XMPP has no limit of its own), IRC formatting codes
and terminal escapes removed, NFKC (full-width ``！ｓｅａｒｃｈ`` is ``!search``,
``²`` is ``2``), and invisible characters dropped (zero-width spaces and
joiners, bidirectional controls, a combining mark with nothing to combine
with), so that nothing a reader cannot see changes what the bot does.

Out, for every line a transport sends (`outbound`), one rule that suits every
protocol: IRC and the console carry no control character at all (no CR, LF
or NUL, no CTCP marker; the bot sends no formatting of its own, and a terminal
must not be driven by a runbook), and XMPP only characters that XML 1.0
allows, else the server drops the stream; the same set does both. None carries a
bidirectional control (a runbook line with U+202E shows its text reversed, and
can make a command read as another) or a noncharacter. Terminal escapes (``ESC [ 31 m``,
from runbooks or job logs) go as a whole everywhere. Lines arrive here already
split and clipped by the core (`bot.core.clipping`).
"""

from __future__ import annotations

import re
import unicodedata

MAX_INBOUND = 512  # about what one IRC line holds

# CSI (ESC [ or the C1 byte), OSC up to BEL or ST, and two-byte ESC sequences.
# Each part's classes are disjoint, so matching stays linear.
_ESCAPES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[ -Z\\-~]?"
)
# Bold, colour (with its numbers), hex colour, reset, monospace, reverse,
# italic, strike-through, underline.
_IRC_FORMATTING = re.compile(
    r"\x03(?:\d{1,2}(?:,\d{1,2})?)?"
    r"|\x04(?:[0-9a-fA-F]{6}(?:,[0-9a-fA-F]{6})?)?"
    r"|[\x02\x0f\x11\x16\x1d\x1e\x1f]"
)
# Letters that show as nothing but are not format characters, and variation selectors.
_INVISIBLE = re.compile("[\u115f\u1160\u3164\uffa0\u2800\u034f\ufe00-\ufe0f\U000e0100-\U000e01ef]")
_CONTROLS = "\x00-\x08\x0a-\x1f\x7f-\x9f\ud800-\udfff"  # C0 but tab, DEL, C1, lone surrogates
# What no protocol lets through: the bidirectional controls (embeddings,
# overrides, isolates, the marks), which reorder what a reader sees around
# them, and the noncharacters (U+FDD0-U+FDEF, and the last two of every plane),
# which are never text and which XML forbids in part.
_UNSEEN = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufdd0-\ufdef" + "".join(
    f"{chr(plane + 0xFFFE)}{chr(plane + 0xFFFF)}" for plane in range(0, 0x110000, 0x10000))
# One set for every protocol: what IRC would misread is also what XML forbids or discourages.
_UNSAFE = re.compile(f"[{_CONTROLS}{_UNSEEN}]")


def inbound(text: str, limit: int = MAX_INBOUND) -> str:
    """A chat line as the bot reads it (see the module docstring)."""
    text = _IRC_FORMATTING.sub("", _ESCAPES.sub("", text[:limit]))
    text = _INVISIBLE.sub("", unicodedata.normalize("NFKC", text))
    if not (text.isascii() and text.isprintable()):
        text = "".join(_visible(text))
    return text[:limit]


def _visible(text: str) -> list[str]:
    kept: list[str] = []
    for char in text:
        if char.isprintable():
            if unicodedata.category(char)[0] == "M" and (not kept or kept[-1] == " "):
                continue  # a mark over nothing: invisible
            kept.append(char)
        elif char.isspace():
            kept.append(" ")
    return kept


def outbound(line: str) -> str:
    """``line`` as any transport may send it: no control character or escape (nothing IRC or
    a terminal would act on, all XML 1.0 allows), nothing that reorders or hides text."""
    return _UNSAFE.sub("", _ESCAPES.sub("", line.replace("\t", " ")))
