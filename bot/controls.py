"""Control characters in text from outside: C0, DEL, C1, and the Unicode line and
paragraph separators. The configuration refuses them; the log escapes them."""

from __future__ import annotations

import re

CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def escaped(text: str) -> str:
    """``text`` with control characters as escapes (``\\n``, ``\\x1b``)."""
    return CONTROL.sub(lambda found: repr(found.group())[1:-1], text)
