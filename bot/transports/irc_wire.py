"""The one place where IRC lines leave the bot: a line that would be two is never sent.

Every line goes through `WireConnection.send_raw`: the bot's own (chat
lines from the outbox, JOINs, logins) and the library's (NICK and USER at
registration, PONG, QUIT). A CR or LF inside a line would end it and start
another of someone else's choosing (``JOIN #elsewhere``), and a NUL cuts it
short on many servers, so such a line is refused and logged by its command
word alone (it may hold a password), never written. The configuration
already refuses such names and secrets (`bot.configreader`); this is the
floor beneath that, whatever the next source of text turns out to be.
"""

from __future__ import annotations

import logging
import re

from irc.client_aio import AioConnection, AioReactor

log = logging.getLogger(__name__)

_LINE_BREAKING = re.compile("[\r\n\x00]")


def command_word(line: str) -> str:
    """The command of ``line`` (``JOIN``), which may be logged when the rest may not."""
    return re.split(r"[\s\x00]", line, maxsplit=1)[0][:20]


class WireConnection(AioConnection):
    """The library's connection, with its only way out guarded (and not logging secrets)."""

    def send_raw(self, string: str) -> None:
        if _LINE_BREAKING.search(string):
            log.error("not sending a %s line: it holds a CR, LF or NUL, which would make it "
                      "two lines (fix what it was built from, e.g. a name or key in the configuration)",
                      command_word(string))
            return
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.write(string.encode("utf-8") + b"\r\n")


class WireReactor(AioReactor):
    connection_class = WireConnection
