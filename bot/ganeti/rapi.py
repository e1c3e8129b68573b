"""The HTTP side of RAPI: one `requests` session per cluster, strict about trust.

- TLS is always verified: against ``ca_file`` (chain and host name), or by
  pinning the SHA-256 of the server's certificate. The pin is how Ganeti's own
  self-signed ``rapi.pem`` can be trusted: it names ``ganeti.example.com`` and
  no subjectAltName, so no host name check can pass, and the pin replaces
  both the chain and the host name check for that one session.
- ``trust_env`` is off, so ``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE`` or a
  proxy variable in the environment cannot silently replace the pin.
- Every call has a timeout. GETs are retried with backoff when no connection
  could be made or the server says it is temporarily unable (502/503/504);
  nothing else is ever retried.
- Every failure becomes a `RapiError` whose text names the cluster and says
  what to check.

The client blocks: callers on an event loop run it in a thread.
"""

from __future__ import annotations

import html
import logging
import re
import ssl
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import (
    ConnectTimeoutError,
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ReadTimeoutError,
)
from urllib3.util.retry import Retry

from bot import __version__
from bot.ganeti import errors
from bot.ganeti.metrics import RapiMeter
from bot.ganeti.names import checked_name
from bot.ganeti.settings import ClusterSettings

log = logging.getLogger(__name__)

# RAPI serves about 20 connections at a time for everyone; stay polite.
MAX_IN_FLIGHT = 3
Params = Mapping[str, str | int | bool]
Failure = tuple[type[errors.RapiError], str]


class PinnedAdapter(HTTPAdapter):
    """Accepts exactly one server certificate, identified by its SHA-256.

    urllib3 compares the fingerprint right after the TLS handshake, before the
    request (and its Authorization header) is sent. The context is our own so
    that urllib3 does not load the system's CA store for every connection
    (about 80 ms of CPU each, and RAPI closes every connection): the pin makes
    that store irrelevant.
    """

    def __init__(self, sha256_hex: str, **kwargs: Any) -> None:
        self._fingerprint = sha256_hex  # set first: the base __init__ builds the pool
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.check_hostname = False  # Ganeti's certificate names no host; the pin decides
        context.verify_mode = ssl.CERT_NONE
        kwargs["ssl_context"] = context
        kwargs["assert_fingerprint"] = self._fingerprint
        super().init_poolmanager(*args, **kwargs)


_STARTS_A_JOB = re.compile(r"^/2/instances/[^/]+/info$")


class _Retry(Retry):
    """GETs are retried, except ``/2/instances/NAME/info``: it queues a job, and
    after a 502/503/504 that job may already be queued; asking again would queue
    a second one. (A refused connection never reached RAPI and is retried.)"""

    def increment(self, method=None, url=None, response=None, *args, **kwargs):  # noqa: ANN001
        if response is not None and url and _STARTS_A_JOB.match(urlsplit(url).path):
            raise MaxRetryError(kwargs.get("_pool"), url, "not retried: the request starts a job")
        return super().increment(method, url, response, *args, **kwargs)


def build_session(settings: ClusterSettings) -> requests.Session:
    """A session that trusts only what ``settings`` says, and reads as the read user."""
    session = requests.Session()
    session.trust_env = False
    session.auth = (settings.read.user, settings.read.password)
    session.headers.update({"User-Agent": f"gntbot/{__version__}", "Accept": "application/json"})
    retry = _Retry(
        total=settings.retries,
        connect=settings.retries,
        status=settings.retries,
        # A request that timed out while reading did reach the server; asking
        # a slow master again only adds to its load and to the user's wait.
        read=0,
        other=0,
        backoff_factor=0.3,
        status_forcelist=(502, 503, 504),
        allowed_methods=frozenset({"GET"}),
        raise_on_status=False,
    )
    if settings.fingerprint is not None:
        session.verify = False  # the pin below replaces chain and host name checks
        adapter: HTTPAdapter = PinnedAdapter(settings.fingerprint, max_retries=retry)
    else:
        session.verify = str(settings.ca_file)
        adapter = HTTPAdapter(max_retries=retry)
    session.mount("https://", adapter)
    return session


class RapiClient:
    """Read-only access to one cluster's RAPI (``/2/...``)."""

    def __init__(self, settings: ClusterSettings, session: requests.Session | None = None,
                 meter: RapiMeter | None = None) -> None:
        self.settings = settings
        self.name = settings.name
        self.session = session or build_session(settings)
        self.meter = meter or RapiMeter.detached(settings.name)
        parts = urlsplit(settings.url)
        self._where = f"{parts.hostname}:{parts.port or 443}"
        self._slots = threading.BoundedSemaphore(MAX_IN_FLIGHT)

    # -- resources ---------------------------------------------------------

    def info(self) -> dict[str, Any]:
        return self.get("/2/info")

    def instance(self, name: str) -> dict[str, Any]:
        return self.get(f"/2/instances/{_segment(name, 'instance name')}", what=f"instance {name}")

    def node(self, name: str) -> dict[str, Any]:
        return self.get(f"/2/nodes/{_segment(name, 'node name')}", what=f"node {name}")

    def names(self, collection: str) -> list[str]:
        """Names in ``/2/instances`` or ``/2/nodes``: config only, cheap."""
        return [entry["id"] for entry in self.get(f"/2/{collection}")]

    def job(self, job_id: int) -> dict[str, Any]:
        job = self.get(f"/2/jobs/{int(job_id)}", what=f"job {job_id}")
        if job.get("status") is None:  # unknown or archived-and-cleaned IDs
            raise errors.RapiNotFound(self.name, f"there is no job {job_id} (never existed, or archived and deleted)")
        return job

    def submit_instance_query(self, name: str) -> int:
        """Start an OpInstanceQueryData job (config only) and return its ID.

        A GET that runs a job: the only view of where each disk lives (volume
        group or directory). Read users may do it.
        """
        path = f"/2/instances/{_segment(name, 'instance name')}/info"
        return int(self.get(path, {"static": True}, what=f"instance {name}"))

    def query(self, resource: str, fields: Sequence[str]) -> list[dict[str, Any]]:
        """One request for every item of ``resource`` with just ``fields``.

        Cells the server could not fill (node down, offline, unknown field)
        come back as None.
        """
        body = self.get(f"/2/query/{resource}", {"fields": ",".join(fields)})
        try:
            names = [field["name"] for field in body["fields"]]
            return [
                {name: value if status == 0 else None for name, (status, value) in zip(names, row, strict=True)}
                for row in body["data"]
            ]
        except (KeyError, TypeError, ValueError) as error:
            problem = f"the answer to a {resource} query has an unexpected shape ({error!r})"
            raise errors.RapiServerError(self.name, problem) from error

    # -- transport ---------------------------------------------------------

    def get(self, path: str, params: Params | None = None, *, what: str = "") -> Any:
        """GET ``path`` and decode the JSON, or raise a `RapiError` that says why not."""
        url = self.settings.url + path
        with self._slots:
            started = time.monotonic()
            try:
                response = self.session.get(url, params=_encode(params), timeout=self.settings.timeout)
            except requests.RequestException as error:
                self.meter.request("GET", None, time.monotonic() - started)
                kind, text = self._transport_failure(error)
                raise kind(self.name, text) from None
            self.meter.request("GET", response.status_code, time.monotonic() - started)
        if response.status_code != 200:
            kind, text = self._status_failure(response, what or path)
            raise kind(self.name, text)
        try:
            return response.json()
        except ValueError:
            raise errors.RapiServerError(self.name, f"answered {path} with something that is not JSON") from None

    def _transport_failure(self, error: requests.RequestException) -> Failure:
        cause = _cause(error)
        where, seconds = self._where, f"{self.settings.timeout:g}s"
        if isinstance(error, requests.exceptions.SSLError):
            return errors.RapiTlsError, self._tls_problem(str(cause))
        if isinstance(cause, ReadTimeoutError):
            return errors.RapiTimeout, (f"{where} accepted the connection but gave no answer within {seconds} "
                                        "(master busy or stuck?)")
        # urllib3's NewConnectionError is a kind of ConnectTimeoutError: test it first
        if isinstance(cause, NameResolutionError):
            return errors.RapiUnreachable, f"cannot resolve {where.rsplit(':', 1)[0]} (check the url)"
        if isinstance(cause, NewConnectionError) and "refused" in str(cause).lower():
            return errors.RapiUnreachable, f"{where} refused the connection (is ganeti-rapi running on the master?)"
        if isinstance(cause, ConnectTimeoutError) and not isinstance(cause, NewConnectionError):
            return errors.RapiUnreachable, f"no connection to {where} within {seconds} (host down or filtered?)"
        log.info("%s: request failed: %r", self.name, error)
        return errors.RapiUnreachable, f"cannot talk to {where}: {_short(cause)}"

    def _tls_problem(self, detail: str) -> str:
        if "fingerprint" in detail.lower():
            return (f"the TLS certificate of {self._where} does not match the pinned fingerprint, so nothing was "
                    f"sent. If rapi.pem was renewed on purpose, put the new fingerprint in [clusters.{self.name}].")
        reason = re.search(r"certificate verify failed: ([^(]+)", detail)
        text = reason.group(1).strip().rstrip(".") if reason else _short(detail)
        hint = (" Ganeti's self-signed rapi.pem names no host: pin its fingerprint instead of ca_file."
                if "mismatch" in text.lower() else "")
        return f"TLS verification of {self._where} failed ({text}), so nothing was sent.{hint}"

    def _status_failure(self, response: requests.Response, what: str) -> Failure:
        code, message = response.status_code, _message(response)
        user = self.settings.read.user
        if code == 401:
            return errors.RapiAuthError, (f"RAPI refused the credentials of user {user!r} (401): "
                                          "check read_user and its password file or variable")
        if code == 403:
            return errors.RapiForbidden, (f"user {user!r} lacks the right for this (403): "
                                          "give it the 'read' option in the RAPI users file on the master")
        if code == 404:
            return errors.RapiNotFound, f"there is no {what}"
        if code == 502:
            return errors.RapiServerError, (f"RAPI cannot reach the master daemon (502: {message}); "
                                            "a master failover may be under way")
        if code >= 500:
            return errors.RapiServerError, f"RAPI failed ({code}: {message})"
        log.warning("%s: unexpected %s for %s: %s", self.name, code, response.request.path_url, message)
        return errors.RapiError, f"RAPI rejected the request ({code}: {message}); this is a gntbot bug"


def _segment(name: str, kind: str) -> str:
    return quote(checked_name(name, kind), safe="")


def _encode(params: Params | None) -> dict[str, str] | None:
    """RAPI reads flags with int(): ``bulk=1`` works, ``bulk=True`` is a 400."""
    if params is None:
        return None
    return {key: str(int(value)) if isinstance(value, bool) else str(value) for key, value in params.items()}


def _message(response: requests.Response) -> str:
    """The human part of a RAPI error body (JSON ``message``, HTML-escaped by the server)."""
    try:
        body = response.json()
        message = body["message"]
    except (ValueError, KeyError, TypeError):
        return response.reason or "no explanation"
    return _short(html.unescape(str(message)))


def _cause(error: BaseException) -> BaseException:
    """The urllib3 or socket error under a requests exception (through retries)."""
    current = error
    for _ in range(5):
        inner = current.reason if isinstance(current, MaxRetryError) else (current.args[0] if current.args else None)
        if not isinstance(inner, BaseException):
            break
        current = inner
    return current


def _short(error: object) -> str:
    text = str(error)
    return text if len(text) <= 160 else text[:160] + "…"
