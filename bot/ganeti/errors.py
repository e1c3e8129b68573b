"""What can go wrong when asking a cluster, in words an operator can act on.

Every message names the cluster (as configured, e.g. ``gnt-fsn``) because the
bot may talk to several, and the person reading it needs to know which one to
look at.
"""

from __future__ import annotations

from bot.errors import GntbotError


class RapiError(GntbotError):
    """A cluster could not answer a question; ``cluster`` is its configured name."""

    def __init__(self, cluster: str, problem: str) -> None:
        super().__init__(f"{cluster}: {problem}")
        self.cluster = cluster
        self.problem = problem

    def again(self, note: str = "") -> RapiError:
        """The same error, new, for another asker (an exception object is raised by one thread only)."""
        return type(self)(self.cluster, f"{self.problem}{note}")


class RapiUnreachable(RapiError):
    """No connection: name does not resolve, nothing listens, network down."""


class RapiTimeout(RapiError):
    """Connected (or tried to) but no answer in time."""


class RapiTlsError(RapiError):
    """The server's certificate is not the one configured: no data was sent."""


class RapiAuthError(RapiError):
    """401: the user name or password was refused."""


class RapiForbidden(RapiError):
    """403: the credentials are valid but lack the right (read/write option)."""


class RapiNotFound(RapiError):
    """404, or an empty answer for an ID: the thing asked about does not exist."""


class RapiServerError(RapiError):
    """5xx: the RAPI daemon or the master daemons behind it failed."""


class RapiBadAnswer(RapiError):
    """An answer the bot cannot use: not JSON, too big, a redirect, or a field
    missing or of the wrong kind (another Ganeti version, a proxy, a bug)."""


class InvalidName(GntbotError):
    """A name from chat that cannot be a Ganeti name; it never reaches a URL."""


class UnknownName(GntbotError):
    """No cluster (of those asked) knows this instance, node or cluster name."""


class AmbiguousName(GntbotError):
    """A short name that matches more than one object; the message lists them."""
