"""IRC: the bot in the channels of one network, for as long as it runs.

Each connection is an `IrcSession`; between connections the transport waits
as its `ReconnectStrategy` says. A failed login ends the connection like a
lost one, and is logged as an error: the bot never carries on without its
account.
"""

from __future__ import annotations

from bot.core.dispatch import Dispatcher
from bot.transports.flood import InboundLimiter
from bot.transports.irc_session import IrcSession
from bot.transports.reconnect import ExponentialBackoff, ReconnectStrategy
from bot.transports.session import ReconnectingTransport
from bot.transports.settings import IrcSettings


class IrcTransport(ReconnectingTransport):
    def __init__(self, settings: IrcSettings, bot_name: str, strategy: ReconnectStrategy | None = None) -> None:
        chat = settings.chat
        super().__init__(f"irc.{settings.network}", f"{settings.server}:{settings.port}",
                         strategy or ExponentialBackoff(chat.reconnect_min, chat.reconnect_max))
        self.settings = settings
        self.bot_name = bot_name
        # Outlives connections: reconnecting does not refill anyone's budget.
        self.limiter = InboundLimiter(chat.flood.user_burst, chat.flood.user_rate)

    def new_session(self, dispatcher: Dispatcher) -> IrcSession:
        return IrcSession(self.settings, dispatcher, self.bot_name, self.limiter, self.stats)

    def queued_lines(self) -> int | None:
        session = self.session
        return session.outbox.pending() if isinstance(session, IrcSession) else 0
