"""Running the reboot script under ``gntbot reboot-log``, invisibly.

The script's standard output and error are passed through byte for byte as
they come (prompts without a newline included: the operator may be asked to
touch a hardware token), its exit status is ours, and Ctrl-C is left to it.
Each complete line is also read by the `LogReader`; the events go to the disk
queue at once and a sender thread delivers them, so a slow or absent bot
never slows the script down. Without a script, a log is read on stdin.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import BinaryIO, TextIO

from bot.campaigns import events
from bot.campaigns.client import AnnounceClient
from bot.campaigns.logwrapper import LogReader, new_id

RETRY_SECONDS = 15.0  # after a failed delivery, the sender waits this long before trying again


class Sender(threading.Thread):
    """Delivers the queue in the background whenever new events arrive."""

    def __init__(self, client: AnnounceClient) -> None:
        super().__init__(name="gntbot announce", daemon=True)
        self.client = client
        self._wake = threading.Event()
        self._closing = False
        self._retry_at = 0.0
        self.warned = False

    def put(self, event: events.Event) -> None:
        self.client.enqueue(event)
        self._wake.set()

    def run(self) -> None:
        while True:
            self._wake.wait(RETRY_SECONDS)
            self._wake.clear()
            closing = self._closing
            if closing or time.monotonic() >= self._retry_at:
                report = self.client.flush()
                if report.problem:
                    self._retry_at = time.monotonic() + RETRY_SECONDS
                    if not self.warned:
                        print(f"gntbot: cannot announce ({report.problem}); events are queued in "
                              f"{self.client.queue} and will follow", file=sys.stderr)
                        self.warned = True
            if closing:
                return

    def close(self) -> None:
        """One last delivery round, bounded in time; the rest stays queued."""
        self._closing = True
        self._wake.set()
        self.join(2 * self.client.settings.timeout + 1)


def run_wrapped(command: Sequence[str], client: AnnounceClient, start: events.CampaignStarted,
                reader: LogReader, stdin: TextIO = sys.stdin) -> int:
    if not command:
        return _read_log(client, start, reader, stdin)
    try:
        process = subprocess.Popen(list(command), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   env={"PYTHONUNBUFFERED": "1", **os.environ})
    except OSError as error:
        print(f"gntbot: cannot run {command[0]}: {error.strerror}", file=sys.stderr)
        return 127
    sender = Sender(client)
    sender.put(start)
    sender.start()
    lock = threading.Lock()

    def tell(line: str) -> None:
        with lock:
            event = reader.feed(line)
        if event is not None:
            sender.put(event)

    code = _supervise(process, tell)
    sender.put(events.CampaignEnded(new_id(), start.campaign, time.time(), exit_code=code))
    sender.close()
    return code


def _read_log(client: AnnounceClient, start: events.CampaignStarted, reader: LogReader, stdin: TextIO) -> int:
    """A saved log: the campaign begins at its first event and ends at its last (their timestamps)."""
    sender = Sender(client)
    sender.start()
    first: float | None = None
    last = start.time
    for line in stdin:
        event = reader.feed(line)
        if event is None:
            continue
        if first is None:
            first = event.time
            sender.put(replace(start, time=min(start.time, event.time)))
        sender.put(event)
        last = event.time
    if first is None:
        sender.put(start)
    sender.put(events.CampaignEnded(new_id(), start.campaign, last))
    sender.close()
    return 0


def _supervise(process: subprocess.Popen[bytes], tell: Callable[[str], None]) -> int:
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # the script decides what Ctrl-C means
    try:
        assert process.stdout is not None and process.stderr is not None
        pumps = [threading.Thread(target=_pump, args=(stream, out, tell), daemon=True)
                 for stream, out in ((process.stdout, sys.stdout.buffer), (process.stderr, sys.stderr.buffer))]
        for pump in pumps:
            pump.start()
        code = process.wait()
        for pump in pumps:
            pump.join()
    finally:
        signal.signal(signal.SIGINT, previous)
    return code if code >= 0 else 128 - code


def _pump(stream: BinaryIO, out: BinaryIO, tell: Callable[[str], None]) -> None:
    pending = b""
    while chunk := os.read(stream.fileno(), 65536):
        out.write(chunk)
        out.flush()
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for line in complete:
            tell(line.decode("utf-8", "replace"))
    if pending:
        tell(pending.decode("utf-8", "replace"))
