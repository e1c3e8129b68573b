"""Is the bot well? Connected to each chat network, able to reach each cluster.

The running bot answers this at ``/health`` (`bot.web.monitoring`), and
``gntbot status`` asks it there and turns the answer into an exit code, so a
script or a monitoring check can tell, per network and per cluster, what is wrong.

A failing cluster is described by the kind of its failure, in fixed words
(`FAILURE_WORDS`), never by the error's own text: that may quote RAPI's answer
(a user name, a URL), and ``/health`` is unauthenticated and ends up in
monitoring systems and tickets. The full error goes to the bot's log.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from bot.errors import GntbotError
from bot.ganeti import errors
from bot.ganeti.cluster import Cluster
from bot.transports.base import Transport
from bot.transports.session import ReconnectingTransport

log = logging.getLogger(__name__)

PROBE_SECONDS = 10.0  # a cluster that has not answered by then counts as unreachable
SEE_LOG = "; the bot's log has the details"
# What /health says for each kind of failure (the first class that matches).
FAILURE_WORDS: tuple[tuple[type[GntbotError], str], ...] = (
    (errors.RapiAuthError, "RAPI refused the bot's read credentials (401)"),
    (errors.RapiForbidden, "the bot's RAPI user lacks the read right (403)"),
    (errors.RapiTlsError, "TLS verification failed (certificate or pinned fingerprint), nothing was sent"),
    (errors.RapiUnreachable, "no connection to RAPI (host name, connection refused or network)"),
    (errors.RapiTimeout, "RAPI did not answer in time"),
    (errors.RapiServerError, "RAPI or the master daemon failed (5xx)"),
    (errors.RapiBadAnswer, "RAPI gave an answer the bot cannot read"),
    (GntbotError, "the cluster information could not be read"),
)


@dataclass(frozen=True)
class Check:
    """One network or cluster: ``ok``, and a few words on its state."""

    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class HealthReport:
    networks: tuple[Check, ...] = ()
    clusters: tuple[Check, ...] = ()

    @property
    def ok(self) -> bool:
        return all(check.ok for check in (*self.networks, *self.clusters))

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "networks": [asdict(c) for c in self.networks],
                "clusters": [asdict(c) for c in self.clusters]}

    @classmethod
    def from_json(cls, data: Any) -> HealthReport:
        """The report as ``/health`` sent it; `ValueError` if it is not one."""
        try:
            return cls(*(tuple(Check(str(c["name"]), c["ok"] is True, str(c["detail"])) for c in data[part])
                         for part in ("networks", "clusters")))
        except (KeyError, TypeError) as error:
            raise ValueError(f"not a health report ({error!r})") from error

    def lines(self) -> list[str]:
        """One line per network and cluster, for people."""
        return [f"{kind} {check.name}: {'ok' if check.ok else 'FAILING'}: {check.detail}"
                for kind, checks in (("network", self.networks), ("cluster", self.clusters))
                for check in checks]


def network_checks(transports: Iterable[Transport]) -> tuple[Check, ...]:
    """Whether each chat network is connected and logged in right now."""
    checks = []
    for transport in transports:
        if isinstance(transport, ReconnectingTransport):
            connected = transport.connected
            checks.append(Check(transport.name, connected,
                                f"connected to {transport.where}" if connected
                                else f"not connected to {transport.where} (reconnecting)"))
    return tuple(checks)


async def cluster_checks(clusters: Sequence[Cluster], timeout: float = PROBE_SECONDS) -> tuple[Check, ...]:
    """Ask every cluster for its info (a cached listing) at once; each answers or says why not."""
    return tuple(await asyncio.gather(*(_probe(cluster, timeout) for cluster in clusters)))


async def _probe(cluster: Cluster, timeout: float) -> Check:
    try:
        info = await asyncio.wait_for(cluster.run(Cluster.info), timeout)  # in the cluster's own threads
    except TimeoutError:
        return Check(cluster.name, False, f"no answer within {timeout:g} s")
    except GntbotError as error:
        log.warning("health: %s is failing: %s", cluster.name, error)
        return Check(cluster.name, False, failure_words(error) + SEE_LOG)
    return Check(cluster.name, True, f"reachable: {info.name}, master {info.master}")


def failure_words(error: GntbotError) -> str:
    return next(words for kind, words in FAILURE_WORDS if isinstance(error, kind))
