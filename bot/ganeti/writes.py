"""The write side of RAPI: submitting the jobs that change a cluster.

Only the calls the confirmed actions need, each with the method and the body
the server really reads (see ``shared/reference/ganeti-rapi.md`` §5.9-5.16):

- instance ``migrate`` and ``failover`` are PUTs whose JSON body is read, and
  whose ``dry_run`` body key runs Ganeti's own prerequisite checks only (the
  ``?dry-run`` query parameter is silently ignored there);
- ``activate-disks`` is a PUT whose body is ignored;
- node ``migrate`` is a POST where *any* query parameter makes the server drop
  the body; the bot sends its reason in the query and no body at all, so each
  instance goes to its default target (DRBD: the secondary, shared storage:
  the iallocator);
- node ``modify`` is a POST whose body is read (`set_drained`: the node's
  drained flag, as ``gnt-node modify --drained``).

A job that must wait for another names it in ``depends`` (a body key of every
opcode): Ganeti starts it only once the other ended as required, and fails it
("Dependency job N finished with status 'error'") otherwise, so an order that
matters holds even if the bot stops in between.

Every call carries ``?reason=``, which Ganeti puts first in the job's reason
trail (``gnt-job info`` shows it). A write is never retried: the session has no
retries at all, and a request that may have reached the server before failing
is reported as such (`SubmissionUncertain`), so that nobody submits a second
migration by accident. "Nothing was submitted" is said only where that is
certain: no connection was made, the TLS handshake refused the server's
certificate (before anything was sent), or RAPI itself answered that it did not
take the job (4xx; its own 502 "cannot reach the master daemon" and 503 "job
queue full or drained"). A 504 (RAPI gave up waiting for the master daemon,
which may still queue the job: LUXI allows it 180 s), a 500 (any other master
daemon error), a 5xx from something that is not RAPI, a TLS failure after the
handshake, or an answer lost on the way may each hide a queued job.
"""

from __future__ import annotations

import json
import re
import ssl
import time
from typing import Any

import requests
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError
from urllib3.exceptions import SSLError as TlsFailure

from bot.ganeti import errors, shapes
from bot.ganeti.rapi import (
    Failure,
    Params,
    RapiClient,
    _cause,
    _message,
    _segment,
    build_session,
)
from bot.ganeti.settings import ClusterSettings

MAX_REASON = 400
# RAPI's own answers for a job it did not pass on: the master daemon is out of
# reach (502), or its queue is full or drained (503).
NOT_QUEUED = frozenset({502, 503})
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f]+")


class NoWriteCredentials(errors.RapiError):
    """The cluster has no write user configured: the bot cannot act on it."""


class SubmissionUncertain(errors.RapiError):
    """The request may have reached RAPI before the connection failed: a job
    may exist. Nothing is retried; a person must look at the job list."""


class WriteClient(RapiClient):
    """Submits jobs as the cluster's write user. Blocking: run it in a thread."""

    def __init__(self, settings: ClusterSettings, session: requests.Session | None = None) -> None:
        if settings.write is None:
            raise NoWriteCredentials(settings.name, "no write user is configured (write_user and write_password_file "
                                     f"in [clusters.{settings.name}]), so the bot cannot act on this cluster")
        super().__init__(settings, session or build_session(settings, settings.write, retries=0))

    def migrate_instance(self, name: str, *, reason: str, mode: str = "live", target_node: str | None = None,
                         iallocator: str | None = None, dry_run: bool = False, after: int | None = None) -> int:
        """``after``: a job that must succeed first."""
        body: dict[str, Any] = {"mode": mode, **_placement(target_node, iallocator), **_depends(after)}
        if dry_run:
            body["dry_run"] = True
        return self._submit("PUT", f"/2/instances/{_segment(name, 'instance name')}/migrate", reason, body)

    def failover_instance(self, name: str, *, reason: str, target_node: str | None = None,
                          iallocator: str | None = None, dry_run: bool = False) -> int:
        body: dict[str, Any] = dict(_placement(target_node, iallocator))
        if dry_run:
            body["dry_run"] = True
        return self._submit("PUT", f"/2/instances/{_segment(name, 'instance name')}/failover", reason, body)

    def activate_disks(self, name: str, *, reason: str) -> int:
        return self._submit("PUT", f"/2/instances/{_segment(name, 'instance name')}/activate-disks", reason)

    def migrate_node(self, name: str, *, reason: str, mode: str = "live") -> int:
        """Every primary instance of ``name`` to its default target, one child job each.

        Query parameters only: with any of them the server ignores a body."""
        return self._submit("POST", f"/2/nodes/{_segment(name, 'node name')}/migrate", reason, extra={"mode": mode})

    def set_drained(self, name: str, drained: bool, *, reason: str, after: int | None = None) -> int:
        """Drain ``name`` (no new instances on it; a master candidate is demoted, and
        with ``auto_promote`` Ganeti promotes another node if the pool needs one), or
        undrain it (Ganeti promotes it back to master candidate if the pool needs one).
        ``after``: a job that must succeed first."""
        body: dict[str, Any] = {"drained": drained, **_depends(after)}
        if drained:
            body["auto_promote"] = True
        return self._submit("POST", f"/2/nodes/{_segment(name, 'node name')}/modify", reason, body)

    def _submit(self, method: str, path: str, reason: str, body: dict[str, Any] | None = None,
                extra: Params | None = None) -> int:
        """Send one job-submitting request; the job ID, or a `RapiError`."""
        params = {"reason": clean_reason(reason), **(extra or {})}
        code: int | None = None  # until an answer's headers arrive
        with self._slots:
            started = time.monotonic()
            try:
                response = self.session.request(method, self.settings.url + path, params=params, json=body,
                                                timeout=self.settings.timeout, stream=True)
                code = response.status_code
                with response:
                    answer = self._body(response, path)
            except requests.RequestException as error:
                raise self._transport_outcome(error) from None
            except errors.RapiError as error:  # the answer came too slowly or too big: the request got there
                raise self._uncertain(error.problem) from None
            finally:
                self.meter.request(method, code, time.monotonic() - started)
        if response.status_code != 200:
            if response.status_code >= 500 and not _rapi_refused(response.status_code, answer):
                raise self._uncertain(f"RAPI answered {response.status_code} ({_message(answer, response.reason)})")
            kind, text = self._status_failure(response, answer, path)
            raise kind(self.name, text)
        try:
            return shapes.job_id(json.loads(answer))
        except (ValueError, RecursionError):
            raise SubmissionUncertain(self.name, f"RAPI accepted {method} {path} but did not return a job ID; "
                                      "look at !jobs") from None

    def _transport_outcome(self, error: requests.RequestException) -> errors.RapiError:
        """What a failed connection means for the job: certainly not submitted, or maybe."""
        kind, text = self._transport_failure(error)  # (logged there)
        cause = _cause(error)
        if isinstance(error, requests.exceptions.SSLError):
            if _certificate_refused(cause):  # the handshake stopped before the request was sent
                return kind(self.name, text)  # the text says that nothing was sent
            return self._uncertain(f"the TLS connection to RAPI failed ({type(cause).__name__}; the log has "
                                   "the details)")
        if isinstance(cause, (ConnectTimeoutError, NameResolutionError)):  # NewConnectionError is one too
            return kind(self.name, f"{text}; nothing was submitted")
        return self._uncertain(text)

    def _uncertain(self, text: str) -> SubmissionUncertain:
        return SubmissionUncertain(self.name, f"{text}. The job may have been submitted anyway: look at "
                                   "!jobs before asking again")

    def _status_failure(self, response: requests.Response, body: bytes, what: str) -> Failure:
        if response.status_code == 401:
            return errors.RapiAuthError, (f"RAPI refused the bot's write credentials (401): check write_user and "
                                          f"its password in [clusters.{self.name}]; nothing was submitted")
        if response.status_code == 403:
            return errors.RapiForbidden, ("the bot's write user may not change the cluster (403): give it the "
                                          "'write' option in the RAPI users file on the master; nothing was submitted")
        if response.status_code == 502:
            return errors.RapiServerError, (f"RAPI cannot reach the master daemon ({_message(body, response.reason)}); "
                                            "nothing was submitted")
        if response.status_code == 503:
            return errors.RapiServerError, (f"the cluster refused the job ({_message(body, response.reason)}); "
                                            "nothing was submitted")
        return super()._status_failure(response, body, what)


def _certificate_refused(cause: BaseException) -> bool:
    """True when the bot refused the server's certificate: the pin did not match, or
    the chain or host name did not verify. Both happen in the handshake, before a
    byte of the request is sent; any other TLS failure may come after it."""
    if isinstance(cause, ssl.SSLCertVerificationError):
        return True
    return isinstance(cause, TlsFailure) and str(cause).startswith("Fingerprints did not match")


def _rapi_refused(status: int, body: bytes) -> bool:
    """True for RAPI's own 502 or 503 (a JSON error carrying the same code): the job was
    not passed on. A 5xx from a proxy in front of RAPI says nothing of the sort."""
    if status not in NOT_QUEUED:
        return False
    try:
        answer = json.loads(body)
    except (ValueError, RecursionError):
        return False
    return isinstance(answer, dict) and answer.get("code") == status and isinstance(answer.get("message"), str)


def clean_reason(text: str) -> str:
    """What goes into the job's reason trail: one printable line, bounded."""
    line = _UNPRINTABLE.sub(" ", text).strip()
    return line if len(line) <= MAX_REASON else line[: MAX_REASON - 1] + "…"


def _placement(target_node: str | None, iallocator: str | None) -> dict[str, str]:
    if target_node:
        return {"target_node": target_node}
    if iallocator:
        return {"iallocator": iallocator}
    return {}


def _depends(job_id: int | None) -> dict[str, list[list[object]]]:
    return {"depends": [[job_id, ["success"]]]} if job_id is not None else {}

