"""Keeping the bot in its IRC channels: JOIN with keys, and JOIN again after a
kick or a refused JOIN, when `Rejoins` says."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from bot.transports.reconnect import Rejoins
from bot.transports.settings import IrcSettings

log = logging.getLogger(__name__)


class ChannelKeeper:
    def __init__(
        self,
        settings: IrcSettings,
        send: Callable[[str], None],
        send_secret: Callable[[str], None],
        spawn: Callable[[Coroutine[Any, Any, None]], None],
    ) -> None:
        self.settings = settings
        self._send = send
        self._send_secret = send_secret  # for JOINs with a channel key: never logged
        self._spawn = spawn
        self._rejoins = Rejoins(settings.rejoin_delay)

    def join_all(self) -> None:
        for room in self.settings.chat.rooms:
            self.join(room.name)

    def join(self, channel: str) -> None:
        room = self.settings.chat.room(channel)
        if room and room.key:
            self._send_secret(f"JOIN {channel} {room.key}")
        else:
            self._send(f"JOIN {channel}")

    def joined(self, channel: str) -> None:
        """The server confirmed our JOIN."""
        self._rejoins.joined(channel)
        log.info("%s: joined %s", self.settings.network, channel)

    def lost(self, channel: str, why: str) -> None:
        """Kicked out of ``channel``, or refused entry: try again later."""
        if self.settings.chat.room(channel) is None:
            return  # not one of ours
        delay = self._rejoins.next_delay(channel)
        log.warning("%s: %s; joining %s again in %.0f s", self.settings.network, why, channel, delay)

        async def later() -> None:
            await asyncio.sleep(delay)
            self.join(channel)

        self._spawn(later())
