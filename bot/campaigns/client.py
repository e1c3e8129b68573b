"""Sending events to the bot without ever holding up the reboot.

Every event goes into an on-disk queue first (one file per event, named so
that they sort in the order they were made) and the queue is then sent in
order, each request with a short timeout. The first failure to reach the bot
stops the round: what is left waits for the next event, or for
``gntbot announce flush``, and goes out then, still in order. An event keeps
its id and the time it happened however late it is delivered, so the bot
takes it once (a resent event it had already got is answered 409, and
forgotten here) and computes durations from when things happened.

An event the bot refuses for good (bad signature, malformed, a campaign it
does not know) is moved to ``rejected/`` beside the queue with a warning:
resending it would never work, and it must not block the ones behind it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

from bot.campaigns import events, signing
from bot.campaigns.settings import AnnounceSettings
from bot.state.private import prepare_directory

log = logging.getLogger(__name__)

PATH = "/v1/events"


@dataclass(frozen=True)
class Report:
    delivered: int  # taken by the bot now (or earlier: 409)
    rejected: int  # refused for good, moved aside
    waiting: int  # still queued
    problem: str = ""  # why the round stopped, if it did


class AnnounceClient:
    """The sender's side; blocking (it is a command-line tool)."""

    def __init__(self, settings: AnnounceSettings, queue: Path) -> None:
        self.settings = settings
        self.queue = prepare_directory(queue, "the announce queue")
        self.session = requests.Session()
        self.session.trust_env = False  # no proxy variable decides where reboot events go
        self.session.verify = str(settings.ca_file) if settings.ca_file else True

    def send(self, event: events.Event) -> Report:
        """Queue ``event`` and send everything queued, in order."""
        self.enqueue(event)
        return self.flush()

    def enqueue(self, event: events.Event) -> None:
        """Put ``event`` in the queue, after the others (quick: a small file)."""
        with self._locked(".enqueue"):
            self._enqueue(event)

    def flush(self) -> Report:
        """Send what is queued, in order, until done or the bot cannot be reached."""
        with self._locked(".lock"):
            return self._flush()

    # -- the queue ---------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self, name: str) -> Iterator[None]:
        """One sender (``.lock``) or one writer (``.enqueue``) at a time per queue, so that
        two invocations never interleave their events."""
        descriptor = os.open(self.queue / name, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)

    def waiting(self) -> list[Path]:
        return sorted(self.queue.glob("*.json"))

    def _enqueue(self, event: events.Event) -> None:
        waiting = self.waiting()
        if any(path.name.split("-", 1)[1] == f"{event.id}.json" for path in waiting):
            return  # the same event again: it is queued already
        number = max([time.time_ns(), *(int(path.name.split("-", 1)[0]) + 1 for path in waiting)])
        path = self.queue / f"{number:020d}-{event.id}.json"
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(events.to_wire(event)))
        os.replace(temporary, path)

    def _flush(self) -> Report:
        delivered = rejected = 0
        waiting = self.waiting()
        for path in waiting:
            body = path.read_bytes()
            outcome = self._post(body)
            if outcome is None:
                path.unlink()
                delivered += 1
                continue
            status, problem = outcome
            if status is not None and 400 <= status < 500:
                log.warning("the bot refused %s for good (%d: %s); moved to rejected/", path.name, status, problem)
                rejected_dir = prepare_directory(self.queue / "rejected", "the rejected events")
                os.replace(path, rejected_dir / path.name)
                rejected += 1
                continue
            return Report(delivered, rejected, len(self.waiting()), problem)
        return Report(delivered, rejected, 0)

    def _post(self, body: bytes) -> tuple[int | None, str] | None:
        """None when the bot has the event; else (status or None, why not)."""
        settings = self.settings
        stamp = int(time.time())
        try:
            response = self.session.post(settings.url + PATH, data=body, timeout=settings.timeout,
                                         headers=signing.headers(settings.secret, settings.source, stamp, body))
        except requests.RequestException as error:
            return None, f"cannot reach {settings.url}: {type(error).__name__}"
        if response.status_code == 202:
            return None
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if response.status_code == 409 and answer.get("duplicate"):
            return None
        return response.status_code, str(answer.get("error") or response.reason)
