"""The state survives the bot: a real ``gntbot console`` process, killed by its PID
while its job runs, reports the outcome after a restart, expires what waited,
and a second bot on the same state refuses to start."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time

import pytest
from actionkit import DOMAIN, LabView, cluster_table, write_config

from bot.config import PROJECT_ROOT

pytestmark = pytest.mark.lab

ACTIONS = """
[console]
user = "alice"
[actions]
enabled = ["migrate", "activate-disks"]
requesters = ["@ops", "console:alice"]
poll_seconds = 0.3
poll_max_seconds = 1
[actions.activate-disks]
window_seconds = 15
"""


class Console:
    """``gntbot -c CONFIG console`` with its stdin and stdout in our hands."""

    def __init__(self, config) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "bot", "-c", str(config), "console"],
                                        cwd=PROJECT_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True, start_new_session=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def expect(self, pattern: str, timeout: float = 120) -> str:
        """A line matching ``pattern``: one already read, or the next that comes."""
        earlier = next((line for line in self.seen if re.search(pattern, line)), None)
        if earlier is not None:
            return earlier
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no line like {pattern!r}; seen: {self.seen}") from None
            self.seen.append(line)
            if re.search(pattern, line):
                return line

    def say(self, text: str, pattern: str = ".", timeout: float = 120) -> str:
        self.seen.clear()  # the answer comes after the question
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()
        return self.expect(pattern, timeout)

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


def test_a_bot_killed_during_a_job_reports_its_outcome_after_a_restart(action_lab, tmp_path):
    view = LabView(action_lab)
    config = write_config(tmp_path, cluster_table("lab", action_lab, tmp_path), ACTIONS)
    view.place("inst3", "node2")
    first = Console(config)
    second = None
    try:
        token = re.search(r"confirm (\w{5})", first.say("!migrate inst3 node3 -- restart test", "confirm")).group(1)
        waiting = re.search(r"confirm (\w{5})", first.say("!activate-disks inst2", "confirm")).group(1)
        asked = time.monotonic()
        # hold node2's lock for a while, so the migration waits (as behind any long job)
        action_lab.run("node1", "gnt-debug", "delay", "--submit", "-n", "node2" + DOMAIN, "20")
        job_id = int(re.search(r"submitted as job (\d+)", first.say(f"!confirm {token}", "submitted")).group(1))

        refused = subprocess.run([sys.executable, "-m", "bot", "-c", str(config), "console"], check=False,
                                 cwd=PROJECT_ROOT, input="", capture_output=True, text=True, timeout=60)
        assert refused.returncode == 1  # failed (not a usage error): another bot holds the state
        assert f"another gntbot (pid {first.process.pid}) is running on the state" in refused.stderr

        first.kill()
        assert view.job(job_id)["status"] in ("queued", "waiting", "running")  # killed while the job runs
        assert not [line for line in first.seen if "expired" in line]
        time.sleep(max(0.0, asked + 16 - time.monotonic()))  # the other request's window passes while it is down

        second = Console(config)
        outcome = second.expect(r"^alice: migrate inst3 @lab done", timeout=120)
        assert outcome.startswith("alice: migrate inst3 @lab done: now on node3 ") and f"job {job_id})" in outcome
        assert view.primary("inst3") == "node3" + DOMAIN
        second.expect(rf"^alice: {waiting} expired: activate-disks inst2 @lab .* nothing was done$", timeout=30)
        assert second.say(f"!confirm {waiting}", "not confirmed") == (
            f"not confirmed: {waiting} is not waiting any more: it was expired")
    finally:
        first.stop()
        if second is not None:
            second.stop()
