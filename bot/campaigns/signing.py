"""How an event is signed on its way to the bot: HMAC-SHA256 over time and body.

The sender puts three headers on each POST: ``X-Gntbot-Source`` (its name in
``[intake.sources]``), ``X-Gntbot-Timestamp`` (Unix seconds when it sent the
request) and ``X-Gntbot-Signature`` (``sha256=`` and the hex HMAC, keyed with
that source's secret, of ``source``, the timestamp and the body, joined by
newlines). The timestamp is signed, so an old request cannot be made fresh;
the bot refuses timestamps outside its skew window, and event ids it has seen.
"""

from __future__ import annotations

import hashlib
import hmac

SOURCE_HEADER = "X-Gntbot-Source"
TIMESTAMP_HEADER = "X-Gntbot-Timestamp"
SIGNATURE_HEADER = "X-Gntbot-Signature"
PREFIX = "sha256="


def signature(secret: bytes, source: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret, f"{source}\n{timestamp}\n".encode() + body, hashlib.sha256).hexdigest()
    return PREFIX + digest


def headers(secret: bytes, source: str, timestamp: int, body: bytes) -> dict[str, str]:
    stamp = str(timestamp)
    return {SOURCE_HEADER: source, TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: signature(secret, source, stamp, body),
            "Content-Type": "application/json"}


def valid(secret: bytes, source: str, timestamp: str, body: bytes, given: str) -> bool:
    """True if ``given`` is the signature; compared in constant time."""
    return hmac.compare_digest(signature(secret, source, timestamp, body).encode(), given.encode("utf-8", "replace"))
