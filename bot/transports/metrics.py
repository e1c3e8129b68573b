"""Metrics of the chat networks: messages in and out, the IRC outbox, connections.

Transports keep plain counts (`ChatStats`, one per network, outliving its
connections) and know nothing of Prometheus; `ChatCollector` reads them, and
whether each network is connected, at scrape time. Scrapes are served on the
event loop (`bot.web.monitoring`), the thread that changes these figures.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.metrics import check_family_name

if TYPE_CHECKING:
    from bot.transports.session import ReconnectingTransport


@dataclass
class ChatStats:
    """What one network's connections did, added up since the bot started."""

    received: int = 0  # chat messages taken in to act on (past the flood limit)
    sent: int = 0  # IRC lines through the paced outbox; XMPP message stanzas
    reconnects: int = 0  # connections that ended and were made again


class ChatCollector(Collector):
    """The figures of every configured network, labelled ``network`` (``irc.oftc``, ``xmpp``)."""

    def __init__(self, transports: Sequence[ReconnectingTransport]) -> None:
        self._transports = tuple(transports)

    def describe(self) -> Iterator[Metric]:
        yield from self._families()

    def collect(self) -> Iterator[Metric]:
        received, sent, reconnects, connected, queued = families = self._families()
        for transport in self._transports:
            network, stats = [transport.name], transport.stats
            received.add_metric(network, stats.received)
            sent.add_metric(network, stats.sent)
            reconnects.add_metric(network, stats.reconnects)
            connected.add_metric(network, 1 if transport.connected else 0)
            depth = transport.queued_lines()
            if depth is not None:
                queued.add_metric(network, depth)
        yield from families

    @staticmethod
    def _families() -> tuple[CounterMetricFamily, CounterMetricFamily, CounterMetricFamily,
                             GaugeMetricFamily, GaugeMetricFamily]:
        labels = ["network"]
        return (
            CounterMetricFamily(check_family_name("chat_messages_received", "counter", labels),
                                "Chat messages the bot took in to act on (commands, questions), past the "
                                "per-person flood limit.", labels=labels),
            CounterMetricFamily(check_family_name("chat_messages_sent", "counter", labels),
                                "Messages the bot sent: IRC lines through its paced outbox (replies, notices, "
                                "its own WHOIS and JOIN), XMPP message stanzas.", labels=labels),
            CounterMetricFamily(check_family_name("chat_reconnects", "counter", labels),
                                "Times a connection ended and the bot set out to connect again.", labels=labels),
            GaugeMetricFamily(check_family_name("chat_connected", "gauge", labels),
                              "1 while the bot is connected and logged in to the network, else 0.", labels=labels),
            GaugeMetricFamily(check_family_name("chat_outgoing_queue_lines", "gauge", labels),
                              "Lines waiting in the IRC outbox for the flood limit to let them out "
                              "(XMPP has no such queue).", labels=labels),
        )
