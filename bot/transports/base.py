"""What every transport is: something that runs until stopped, feeding a dispatcher."""

from __future__ import annotations

import abc

from bot.core.dispatch import Dispatcher


class Transport(abc.ABC):
    """A connection to one chat network (or the local console).

    `run` connects, feeds every incoming line to the dispatcher as a
    `Message`, sends the replies, and returns only when `stop` is called (or
    the input ends, for the console). Reconnecting is the transport's business.
    """

    name: str

    @abc.abstractmethod
    async def run(self, dispatcher: Dispatcher) -> None:
        """Serve until stopped."""

    @abc.abstractmethod
    async def stop(self) -> None:
        """Leave cleanly (QUIT, unavailable presence) and make `run` return."""
