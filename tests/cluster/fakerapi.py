"""A small HTTPS server on 127.0.0.1 that answers like RAPI, or misbehaves on demand.

It replays the answers recorded from the lab (``fixtures/index.tsv`` maps each
request path, exactly as the bot sent it, to the body Ganeti returned), checks
Basic credentials like ``ganeti-rapi --require-authentication``, and records
every request it gets so tests can count them and look at their parameters.
Faults: a delay before answering, or no answer until the test opens a gate;
any status code and headers; a body of any size, with or without a
Content-Length; a different certificate. For cluster states the lab cannot
show (it has no DRBD), `listing`, `drbd_instance` and `info_job` build answers.
"""

from __future__ import annotations

import base64
import json
import ssl
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).resolve().parent / "fixtures"
DOWN_SUFFIX = "-node3-down.json"


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    delay: float = 0.0
    gate: threading.Event | None = None  # answer only once the test sets it
    headers: tuple[tuple[str, str], ...] = ()
    repeat: int = 1  # the body is sent this many times over (big bodies without building them)
    pause: float = 0.0  # seconds between two of those
    length: bool = True  # send a Content-Length; without one the body ends when the connection closes


@dataclass(frozen=True)
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    user: str | None
    body: bytes = b""


def recorded(variant: str = "") -> dict[str, Answer]:
    """Path → recorded answer; ``variant="node3-down"`` uses the answers taken
    while node3's node daemon was stopped where there are such."""
    answers: dict[str, Answer] = {}
    overrides: dict[str, Answer] = {}
    lines = (FIXTURES / "index.tsv").read_text().splitlines()[1:]
    for line in lines:
        name, _user, path, status = line.split("\t")
        answer = Answer(int(status), (FIXTURES / name).read_bytes())
        if int(status) != 200:
            continue  # error bodies are served by the faults that cause them
        (overrides if name.endswith(DOWN_SUFFIX) else answers)[path] = answer
    if variant == "node3-down":
        answers.update(overrides)
    return answers


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def recorded_path(name: str) -> str:
    """The request that got fixture ``name`` (job IDs differ from one recording to the next)."""
    for line in (FIXTURES / "index.tsv").read_text().splitlines()[1:]:
        file, _user, path, _status = line.split("\t")
        if file == name:
            return path
    raise KeyError(name)


# -- answers made up for a test (a cluster state the lab cannot show) ---------------

IN_SYNC = ["/dev/drbd0", 147, 0, None, None, False, 1]  # a DRBD disk's status: in sync, not degraded


def listing(fields: tuple[str, ...], rows: list[dict[str, Any]]) -> bytes:
    """A ``/2/query/RESOURCE`` answer with ``fields`` of ``rows`` (a missing field: null)."""
    return json.dumps({"fields": [{"name": name} for name in fields],
                       "data": [[[0, row.get(name)] for name in fields] for row in rows]}).encode()


def drbd_instance(name: str, pnode: str, snode: str, memory: int = 2048) -> dict[str, Any]:
    """A running DRBD instance as a row of ``/2/query/instance``."""
    return {"name": name, "pnode": pnode, "snodes": [snode], "status": "running", "admin_state": "up",
            "be/maxmem": memory, "be/minmem": memory, "be/auto_balance": True, "oper_ram": memory,
            "disk_template": "drbd"}


def info_job(name: str, sstatus: Any, status: str = "success") -> bytes:
    """``/2/jobs/ID`` of a finished live info job of ``name``: one DRBD disk, in sync on the
    primary, ``sstatus`` on the secondary (None: no such device there); ``status`` other
    than success: the job failed."""
    disk = {"dev_type": "drbd", "pstatus": IN_SYNC, "sstatus": sstatus}
    return json.dumps({"id": 900, "status": status, "summary": [f"INSTANCE_QUERY_DATA({name})"], "opstatus": [status],
                       "opresult": [{name: {"disks": [disk]}}] if status == "success" else [["OpExecError", ["x"]]],
                       "oplog": [[]], "received_ts": [1, 0], "start_ts": [1, 0], "end_ts": [2, 0]}).encode()


class FakeRapi:
    """Serves ``answers`` over TLS with ``certfile``/``keyfile``; start with `start`."""

    def __init__(self, certfile: Path, keyfile: Path, answers: dict[str, Answer] | None = None,
                 credentials: tuple[str, str] = ("reader", "reader-secret")) -> None:
        self.answers: dict[str, Answer | list[Answer]] = dict(answers or {})
        self.credentials = credentials
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(certfile, keyfile)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self.url = f"https://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    def start(self) -> FakeRapi:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answer(self, path: str, *answers: Answer) -> None:
        """Answer requests for ``path``, whatever their query, with ``answers`` in
        turn from now on; the last one stays."""
        for recorded_path in [key for key in self.answers if urlsplit(key).path == path]:
            del self.answers[recorded_path]
        self.answers[path] = list(answers)

    def answer_for(self, path: str) -> Answer:
        """The (first) answer ``path`` gets now, whatever the query: e.g. to send it slower."""
        found = next(answer for key, answer in self.answers.items() if urlsplit(key).path == path)
        return found[0] if isinstance(found, list) else found

    def requests_for(self, path: str) -> list[Seen]:
        with self._lock:
            return [seen for seen in self.seen if seen.path == path]

    def _respond(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        user = _basic_user(handler.headers.get("Authorization"), self.credentials)
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        with self._lock:
            self.seen.append(Seen(handler.command, parts.path, parse_qs(parts.query), user, body))
        if user is None:
            answer = Answer(401, fixture("error-401.json"))
        else:
            not_found = Answer(404, fixture("error-404-instance.json"))
            answer = self._next(handler.path) or self._next(parts.path) or not_found
        if answer.delay:
            time.sleep(answer.delay)
        if answer.gate is not None:
            answer.gate.wait(timeout=60)
        handler.send_response(answer.status)
        handler.send_header("Content-Type", "application/json")
        if answer.length:
            handler.send_header("Content-Length", str(len(answer.body) * answer.repeat))
        for name, value in answer.headers:
            handler.send_header(name, value)
        handler.send_header("Connection", "close")  # as RAPI does: no keep-alive
        handler.end_headers()
        try:
            for number in range(answer.repeat):
                if number and answer.pause:
                    handler.wfile.flush()
                    time.sleep(answer.pause)
                handler.wfile.write(answer.body)
        except OSError:
            pass  # the client stopped reading (as it should, past its limit)

    def _next(self, path: str) -> Answer | None:
        with self._lock:
            answer = self.answers.get(path)
            if isinstance(answer, list):
                return answer.pop(0) if len(answer) > 1 else answer[0]
            return answer


def _handler(server: FakeRapi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            server._respond(self)

        do_PUT = do_POST = do_GET  # the write calls (fault injection for submissions)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


def _basic_user(header: str | None, credentials: tuple[str, str]) -> str | None:
    """The user name if ``header`` carries exactly ``credentials``, else None."""
    if not header or not header.startswith("Basic "):
        return None
    user, _, password = base64.b64decode(header[6:]).decode("ascii", "replace").partition(":")
    return user if (user, password) == credentials else None
