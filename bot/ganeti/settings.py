"""``[clusters.NAME]``: where each cluster's RAPI is and how to trust and log in to it.

Example (every key is documented in config.example.toml)::

    [clusters.gnt-fsn]
    url = "https://fsn-cluster.example.org:5080"
    read_user = "gntbot-read"
    read_password_file = "/etc/gntbot/gnt-fsn.read"
    fingerprint = "sha256:CF:71:...:5C"     # or: ca_file = "/etc/gntbot/gnt-fsn-ca.pem"
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from bot.configreader import ConfigError, Table

CLUSTER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
_FINGERPRINT = re.compile(r"(?:[0-9a-f]{2}:?){31}[0-9a-f]{2}")


@dataclass(frozen=True)
class Credentials:
    """One RAPI user. The password never appears in a repr or a log line."""

    user: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class ClusterSettings:
    """How to reach one cluster.

    Exactly one of ``ca_file`` and ``fingerprint`` is set. ``fingerprint`` is
    the SHA-256 of the RAPI certificate as 64 lowercase hex digits; it is how
    Ganeti's own self-signed ``rapi.pem`` (CN ganeti.example.com, no SAN) can be
    trusted without switching verification off.
    """

    name: str
    url: str
    read: Credentials
    write: Credentials | None = None  # for actions; never used to read
    ca_file: Path | None = None
    fingerprint: str | None = None
    timeout: float = 10.0
    retries: int = 2
    cache_seconds: float = 5.0

    def __post_init__(self) -> None:
        if (self.ca_file is None) == (self.fingerprint is None):
            raise ValueError("exactly one of ca_file and fingerprint must be set")


def parse_clusters(tables: Iterable[tuple[str, Table]]) -> tuple[ClusterSettings, ...]:
    """Every ``[clusters.NAME]`` table of the configuration, validated."""
    clusters = []
    for name, table in tables:
        if not CLUSTER_NAME.fullmatch(name):
            raise ConfigError(f"{table.source}: {table.name}: not a usable cluster name "
                              "(letters, digits, '-', '_', '.'; chat says @NAME)")
        clusters.append(_cluster(name, table))
    return tuple(clusters)


def _cluster(name: str, table: Table) -> ClusterSettings:
    """Each part is checked on its own (`Problems.attempt`): a bad ``url`` does not hide
    a bad ``read_user`` next to it."""
    attempt = table.problems.attempt
    ca_file = table.optional_file("ca_file")
    fingerprint = table.optional_string("fingerprint")
    url = attempt(_url, table, fallback="")
    read = attempt(_read_credentials, table, fallback=Credentials("", ""))  # the placeholder is never used:
    write = attempt(_credentials, table, "write", required=False, fallback=None)
    fingerprint = attempt(_fingerprint, table, fingerprint, ca_file, fallback=None)
    timeout = table.number("timeout", 10.0, low=0.1)
    retries = table.integer("retries", 2, low=0, high=5)
    cache_seconds = table.number("cache_seconds", 5.0, low=0)
    table.done()  # a recorded problem fails the whole file at its end
    return ClusterSettings(name=name, url=url, read=read, write=write, ca_file=ca_file, fingerprint=fingerprint,
                           timeout=timeout, retries=retries, cache_seconds=cache_seconds)


def _url(table: Table) -> str:
    url = table.string("url")
    parts = urlsplit(url)
    if parts.scheme != "https":
        raise table.error("url", f"must start with https:// (RAPI speaks TLS), not {url!r}")
    if not parts.hostname:
        raise table.error("url", f"{url!r} names no host")
    if parts.username or parts.password:
        raise table.error("url", "must not contain credentials: use read_user and read_password_file")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise table.error("url", f"must be just https://HOST[:PORT], not {url!r}")
    try:
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as error:
        raise table.error("url", f"bad port in {url!r}") from error
    return url.rstrip("/")


def _read_credentials(table: Table) -> Credentials:
    credentials = _credentials(table, "read", required=True)
    assert credentials is not None  # a missing read_user has raised already
    return credentials


def _credentials(table: Table, role: str, *, required: bool) -> Credentials | None:
    user_key = f"{role}_user"
    user = table.string(user_key) if required else table.optional_string(user_key)
    password = table.secret(f"{role}_password", required=user is not None)
    if user is None:
        if password is not None:
            raise table.error(user_key, f"{role}_password is set but {user_key} is missing")
        return None
    for key, value in ((user_key, user), (f"{role}_password", password)):
        # RAPI decodes Basic credentials as ASCII; anything else never matches
        if not value or not value.isascii() or any(c.isspace() for c in value):
            raise table.error(key, "must be non-empty ASCII without spaces")
    assert password is not None
    return Credentials(user, password)


def _fingerprint(table: Table, value: str | None, ca_file: Path | None) -> str | None:
    if (value is None) == (ca_file is None):
        raise table.error("fingerprint",
                          "set exactly one of fingerprint and ca_file (how to trust the cluster's certificate)")
    if value is None:
        return None
    algorithm, _, digest = value.partition(":")
    digest = digest.lower()
    if algorithm.lower() != "sha256" or not _FINGERPRINT.fullmatch(digest):
        raise table.error("fingerprint", 'expected "sha256:" and 32 hex bytes, e.g. "sha256:CF:71:...:5C" '
                          "(openssl x509 -in rapi.pem -noout -fingerprint -sha256)")
    return digest.replace(":", "")
