"""The HTTP side of RAPI: one `requests` session per cluster, strict about trust.

- TLS is always verified: against ``ca_file`` (chain and host name), or by
  pinning the SHA-256 of the server's certificate. The pin is how Ganeti's own
  self-signed ``rapi.pem`` can be trusted: it names ``ganeti.example.com`` and
  no subjectAltName, so no host name check can pass, and the pin replaces
  both the chain and the host name check. Nothing ever turns verification
  off: the pinning adapter keeps its own TLS settings whatever ``verify`` says.
- ``trust_env`` is off, so ``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE`` or a
  proxy variable in the environment cannot silently replace the pin.
- Redirects are never followed: RAPI does not send them, so one means
  something else answers at that address.
- Every call has a timeout, and a body is read only up to `MAX_BODY` bytes and decoded
  only if it holds at most `MAX_CONTAINERS` JSON lists and objects and `MAX_VALUES` values:
  decoding holds the interpreter lock, and the event loop must not wait 100 ms.
  GETs are retried with backoff when no connection could be made or the
  server says it is temporarily unable (502/503/504); nothing else is ever
  retried.
- Every failure becomes a `RapiError` whose text names the cluster and says
  what to check, without the user name, address or other configuration:
  those go to the log.

The client blocks: callers on an event loop run it in a thread.
"""

from __future__ import annotations

import html
import json
import logging
import re
import ssl
import threading
import time
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3 import BaseHTTPResponse
from urllib3.connectionpool import ConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ReadTimeoutError,
    ResponseError,
)
from urllib3.util.retry import Retry

from bot import __version__
from bot.ganeti import errors, shapes
from bot.ganeti.metrics import RapiMeter
from bot.ganeti.names import checked_name
from bot.ganeti.settings import ClusterSettings, Credentials

log = logging.getLogger(__name__)

# RAPI serves about 20 connections at a time for everyone; stay polite.
MAX_IN_FLIGHT = 3
# The largest answer the bot reads: a listing of 2,000 instances is about 0.5 MiB.
MAX_BODY = 16 * 1024 * 1024
MAX_CONTAINERS = 100_000  # in one answer: ~5,000 instances of the listing; decoded in ~50 ms
MAX_VALUES = 400_000  # ~7,000 instances (52 per instance); 400,000 floats decode in ~85 ms
_CHUNK = 64 * 1024
Params = Mapping[str, str | int | bool]
Failure = tuple[type[errors.RapiError], str]


class PinnedAdapter(HTTPAdapter):
    """Accepts exactly one server certificate, identified by its SHA-256.

    urllib3 compares the fingerprint right after the TLS handshake, before the
    request (and its Authorization header) is sent. The context is our own,
    and the adapter does not let a request's ``verify`` change it: requests
    would otherwise demand a CA-signed chain (which Ganeti's self-signed
    certificate cannot have) unless verification were switched off, and load
    the system's CA store for every connection (about 80 ms of CPU each, and
    RAPI closes every connection). The pin makes that store irrelevant.
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

    def build_connection_pool_key_attributes(self, request: requests.PreparedRequest, verify: bool | str,
                                             cert: Any = None) -> tuple[dict[str, Any], dict[str, Any]]:
        host, _tls_from_verify = super().build_connection_pool_key_attributes(request, verify, cert)
        return host, {}  # TLS: the pool manager's own context and pin, set above

    def cert_verify(self, conn: Any, url: str, verify: bool | str, cert: Any) -> None:
        """Where requests would apply ``verify`` to the connection: the pin decides instead."""


_STARTS_A_JOB = re.compile(r"^/2/instances/[^/]+/info$")


class _Retry(Retry):
    """GETs are retried, except ``/2/instances/NAME/info``: it queues a job, and
    after a 502/503/504 that job may already be queued; asking again would queue
    a second one. (A refused connection never reached RAPI and is retried.)"""

    def increment(self, method: str | None = None, url: str | None = None, response: BaseHTTPResponse | None = None,
                  error: Exception | None = None, _pool: ConnectionPool | None = None,
                  _stacktrace: TracebackType | None = None) -> Self:
        if response is not None and url and _STARTS_A_JOB.match(urlsplit(url).path):
            raise MaxRetryError(_pool, url, ResponseError("not retried: the request starts a job"))  # type: ignore[arg-type]
        return super().increment(method, url, response, error, _pool, _stacktrace)


class _NoRedirects(requests.Session):
    """A session that hands every redirect back as the answer instead of following it."""

    def get_redirect_target(self, resp: requests.Response) -> None:
        return None


def build_session(settings: ClusterSettings, credentials: Credentials | None = None, *,
                  retries: int | None = None) -> requests.Session:
    """A session that trusts only what ``settings`` says, logged in as
    ``credentials`` (default: the read user). ``retries`` overrides the
    configured count: a session that submits jobs passes 0."""
    credentials = credentials or settings.read
    retries = settings.retries if retries is None else retries
    session = _NoRedirects()
    session.trust_env = False
    session.auth = (credentials.user, credentials.password)
    session.headers.update({"User-Agent": f"gntbot/{__version__}", "Accept": "application/json"})
    retry = _Retry(
        total=retries,
        connect=retries,
        status=retries,
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
        self._where = f"{parts.hostname}:{parts.port or 443}"  # for the log only
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
        body = self.get(f"/2/{collection}")
        with shapes.answer_of(self.name, f"the list of {collection}"):
            return shapes.entry_ids(body)

    def job(self, job_id: int) -> dict[str, Any]:
        body = self.get(f"/2/jobs/{int(job_id)}", what=f"job {job_id}")
        with shapes.answer_of(self.name, f"job {job_id}"):
            job = shapes.mapping(body, "the job")
        if job.get("status") is None:  # unknown or archived-and-cleaned IDs
            raise errors.RapiNotFound(self.name, f"there is no job {job_id} (never existed, or archived and deleted)")
        return dict(job)

    def submit_instance_query(self, name: str, *, static: bool = True) -> int:
        """Start an OpInstanceQueryData job and return its ID.

        A GET that runs a job: the only view of where each disk lives (volume
        group or directory) and, with ``static`` off (the nodes are asked, which
        is slower), whether each DRBD disk is in sync. Read users may do it.
        """
        path = f"/2/instances/{_segment(name, 'instance name')}/info"
        body = self.get(path, {"static": static}, what=f"instance {name}")
        with shapes.answer_of(self.name, f"the info job for instance {name}"):
            return shapes.job_id(body)

    def query(self, resource: str, fields: Sequence[str]) -> list[dict[str, Any]]:
        """One request for every item of ``resource`` with just ``fields``.

        Cells the server could not fill (node down, offline, unknown field)
        come back as None.
        """
        body = self.get(f"/2/query/{resource}", {"fields": ",".join(fields)})
        with shapes.answer_of(self.name, f"the {resource} listing"):
            return shapes.query_rows(body)

    # -- transport ---------------------------------------------------------

    def get(self, path: str, params: Params | None = None, *, what: str = "") -> Any:
        """GET ``path`` and decode the JSON, or raise a `RapiError` that says why not."""
        url = self.settings.url + path
        what = what or path
        with self._slots:
            started = time.monotonic()
            code: int | None = None  # until an answer's headers arrive
            try:
                response = self.session.get(url, params=_encode(params), timeout=self.settings.timeout, stream=True)
                code = response.status_code
                with response:
                    body = self._body(response, what)
            except requests.RequestException as error:
                kind, text = self._transport_failure(error)
                raise kind(self.name, text) from None
            finally:
                self.meter.request("GET", code, time.monotonic() - started)
        if response.status_code != 200:
            kind, text = self._status_failure(response, body, what)
            raise kind(self.name, text)
        # Decoding is one C call that holds the interpreter lock throughout, and
        # its cost is the number of values made (5 million empty rows, 14 MiB,
        # held it for 2.3 s; 5.5 million numbers, 1.2 s): count them first, a
        # scan of ~1 ms per MiB. A comma or colon inside a string counts too,
        # which errs on the safe side.
        containers = body.count(b"[") + body.count(b"{")
        if containers > MAX_CONTAINERS or containers + body.count(b",") + body.count(b":") > MAX_VALUES:
            raise errors.RapiBadAnswer(self.name, f"the answer for {what} holds more values than the bot reads "
                                                  f"(over {MAX_CONTAINERS:,} lists and objects or {MAX_VALUES:,} "
                                                  "values; is a proxy in the way?)")
        try:
            return json.loads(body)
        except (ValueError, RecursionError):  # RecursionError: nested too deep, "[[[[..."
            raise errors.RapiBadAnswer(self.name, f"RAPI answered {what} with something that is not JSON "
                                                  "(is a proxy in the way?)") from None

    def _body(self, response: requests.Response, what: str) -> bytes:
        """All of the body, if it is at most `MAX_BODY` bytes and arrives within the timeout."""
        declared = response.headers.get("Content-Length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > MAX_BODY:
            raise self._too_big(what)
        deadline = time.monotonic() + self.settings.timeout
        chunks, size = [], 0
        while chunk := _arrived(response):
            size += len(chunk)
            if size > MAX_BODY:
                raise self._too_big(what)
            if time.monotonic() > deadline:
                raise errors.RapiTimeout(self.name, f"RAPI did not finish sending its answer within "
                                                    f"{self.settings.timeout:g}s (master busy or network trouble?)")
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_big(self, what: str) -> errors.RapiError:
        return errors.RapiBadAnswer(self.name, f"the answer for {what} is over {MAX_BODY // 2**20} MiB, more than "
                                               "the bot reads (is a proxy in the way?)")

    def _transport_failure(self, error: requests.RequestException) -> Failure:
        cause = _cause(error)
        seconds, section = f"{self.settings.timeout:g}s", f"[clusters.{self.name}]"
        log.info("%s: request to %s failed: %r", self.name, self._where, error)
        if isinstance(error, requests.exceptions.SSLError):
            return errors.RapiTlsError, self._tls_problem(str(cause))
        if isinstance(cause, ReadTimeoutError):
            return errors.RapiTimeout, (f"RAPI accepted the connection but gave no answer within {seconds} "
                                        "(master busy or stuck?)")
        # urllib3's NewConnectionError is a kind of ConnectTimeoutError: test it first
        if isinstance(cause, NameResolutionError):
            return errors.RapiUnreachable, f"the host name in its url does not resolve (check url in {section})"
        if isinstance(cause, NewConnectionError) and "refused" in str(cause).lower():
            return errors.RapiUnreachable, "RAPI refused the connection (is ganeti-rapi running on the master?)"
        if isinstance(cause, ConnectTimeoutError) and not isinstance(cause, NewConnectionError):
            return errors.RapiUnreachable, f"no connection to RAPI within {seconds} (host down or filtered?)"
        return errors.RapiUnreachable, f"cannot talk to RAPI ({type(cause).__name__}; the log has the details)"

    def _tls_problem(self, detail: str) -> str:
        if "fingerprint" in detail.lower():
            return ("the TLS certificate of its RAPI does not match the pinned fingerprint, so nothing was "
                    f"sent. If rapi.pem was renewed on purpose, put the new fingerprint in [clusters.{self.name}].")
        reason = re.search(r"certificate verify failed: ([^(']+)", detail)
        text = reason.group(1).strip().rstrip(".,") if reason else "the TLS handshake failed"
        if "mismatch" in text.lower():  # OpenSSL names the host here: say which setting instead
            return ("TLS verification of its RAPI failed (the certificate is not valid for the host in url), so "
                    "nothing was sent. Ganeti's self-signed rapi.pem names no host: pin its fingerprint instead of "
                    "ca_file.")
        return f"TLS verification of its RAPI failed ({text}), so nothing was sent."

    def _status_failure(self, response: requests.Response, body: bytes, what: str) -> Failure:
        code, message = response.status_code, _message(body, response.reason)
        if code in (401, 403):
            log.warning("%s: RAPI at %s answered %s to user %r", self.name, self._where, code, self.settings.read.user)
        if code == 401:
            return errors.RapiAuthError, (f"RAPI refused the bot's credentials (401): check read_user and its "
                                          f"password in [clusters.{self.name}] against the RAPI users file on the "
                                          "master")
        if code == 403:
            return errors.RapiForbidden, ("the bot's RAPI user lacks the right for this (403): "
                                          "give it the 'read' option in the RAPI users file on the master")
        if 300 <= code < 400:
            return errors.RapiBadAnswer, (f"RAPI answered with a redirect ({code}), which the bot never follows: "
                                          f"check url in [clusters.{self.name}]")
        if code == 404:
            return errors.RapiNotFound, f"there is no {what}"
        if code == 502:
            return errors.RapiServerError, (f"RAPI cannot reach the master daemon (502: {message}); "
                                            "a master failover may be under way")
        if code >= 500:
            return errors.RapiServerError, f"RAPI failed ({code}: {message})"
        log.warning("%s: unexpected %s for %s: %s", self.name, code, response.request.path_url, message)
        return errors.RapiError, f"RAPI rejected the request ({code}: {message}); this is a gntbot bug"


def _arrived(response: requests.Response) -> bytes:
    """The next part of the body as it arrives (b"" at its end): a server that
    trickles its answer byte by byte is noticed at once, not after a full chunk."""
    try:
        return response.raw.read1(_CHUNK, decode_content=True)
    except HTTPError as error:  # urllib3's own, as requests would wrap it
        raise requests.exceptions.ConnectionError(error) from error


def _segment(name: str, kind: str) -> str:
    return quote(checked_name(name, kind), safe="")


def _encode(params: Params | None) -> dict[str, str] | None:
    """RAPI reads flags with int(): ``bulk=1`` works, ``bulk=True`` is a 400."""
    if params is None:
        return None
    return {key: str(int(value)) if isinstance(value, bool) else str(value) for key, value in params.items()}


def _message(body: bytes, reason: str | None) -> str:
    """The human part of a RAPI error body (JSON ``message``, HTML-escaped by the server)."""
    try:
        message = json.loads(body)["message"]
    except (ValueError, KeyError, TypeError, RecursionError):
        return reason or "no explanation"
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
