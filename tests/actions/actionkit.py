"""What the action tests share: a real bot with ``[actions]``, people in rooms, the lab.

`Bot` is the real `Application`, built from a TOML configuration like the one
an operator writes, running its upkeep (job watching, expiry) on a background
event loop, with sinks attached to the announcer the way the transports attach
theirs, so a test sees what each room would be told. People are identities as
the transports make them: verified accounts, or nicks without one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import labctl
from chat.harness import Loop
from prometheus_client.parser import text_string_to_metric_families

from bot.app import Application
from bot.config import SHIPPED_RUNBOOKS, load_config
from bot.core.message import Identity, Message
from bot.ganeti.rapi import RapiClient
from bot.ganeti.settings import ClusterSettings, Credentials
from bot.ganeti.writes import WriteClient

ROOM = "#ops"
DOMAIN = ".ganeti.test"
ALICE = Identity("irc", "alice", "alice")
ALICE_XMPP = Identity("xmpp", "alice", "alice@localhost")
BOB = Identity("irc", "bob", "bob")
CAROL = Identity("irc", "carol", "carol")  # verified, but not in any access list
MALLORY = Identity("irc", "alice_", None, "you are not logged in to a services account")
CONSOLE = Identity("console", "root", "root")

PEOPLE = """
[people]
alice = ["irc:alice", "xmpp:alice@localhost"]
bob = ["irc:bob", "xmpp:bob@localhost"]
[groups]
ops = ["alice", "bob"]
"""


def cluster_table(name: str, lab: labctl.Lab, secrets: Path, *, write: bool = True) -> str:
    (secrets / "read").write_text("reader-secret\n")
    (secrets / "write").write_text("operator-secret\n")
    table = f"""
[clusters.{name}]
url = "{lab.url}"
read_user = "reader"
read_password_file = "{secrets / 'read'}"
fingerprint = "{lab.fingerprint()}"
cache_seconds = 0
timeout = 20
"""
    if write:
        table += f'write_user = "operator"\nwrite_password_file = "{secrets / "write"}"\n'
    return table


def fake_cluster_table(url: str, fingerprint: str, secrets: Path, timeout: float = 0.5) -> str:
    """``[clusters.gnt-fsn]`` for a fake RAPI at ``url`` (one user reads and writes; short timeouts)."""
    (secrets / "password").write_text("reader-secret\n")
    return f"""
[clusters.gnt-fsn]
url = "{url}"
read_user = "reader"
read_password_file = "{secrets / 'password'}"
write_user = "reader"
write_password_file = "{secrets / 'password'}"
fingerprint = "sha256:{fingerprint}"
timeout = {timeout}
cache_seconds = 0
"""


def activate_job(job_id: int, reason: str, status: str = "success") -> dict[str, Any]:
    """``GET /2/jobs/ID`` of an activate-disks of inst5 (a fake RAPI serves it), with ``reason`` first in its trail."""
    return {"id": job_id, "status": status, "summary": ["INSTANCE_ACTIVATE_DISKS(inst5.ganeti.test)"],
            "opstatus": [status], "opresult": [[]], "oplog": [[]], "received_ts": [1, 0], "start_ts": [1, 0],
            "end_ts": None if status in ("queued", "waiting", "running") else [2, 0],
            "ops": [{"OP_ID": "OP_INSTANCE_ACTIVATE_DISKS", "reason": [["gnt:user", reason, 1]]}]}


def write_config(folder: Path, clusters: str, actions: str) -> Path:
    """A configuration file as an operator would write it (the shipped runbooks, a private state)."""
    path = folder / "gntbot.toml"
    path.write_text(f"""
[bot]
state_dir = "{folder / 'state'}"
[knowledge]
runbooks = "{SHIPPED_RUNBOOKS}"
index = "{folder / 'index'}"
reload_seconds = 0
[irc.test]
server = "127.0.0.1"
password_file = "{folder / 'irc-password'}"
channels = ["{ROOM}"]
[xmpp]
jid = "gntbot@localhost"
password_file = "{folder / 'irc-password'}"
rooms = ["ops@conference.localhost"]
{PEOPLE}
{clusters}
{actions}
""")
    (folder / "irc-password").write_text("unused\n")
    return path


@dataclass(frozen=True)
class Said:
    realm: str
    target: str
    text: str


class Bot:
    """The real application on a background loop, and everything it announced.

    With ``campaigns``, its reboot campaigns run too, as ``gntbot run`` starts them
    (the service, the cluster watcher, the drains' link), before the upkeep."""

    def __init__(self, config: Path, loop: Loop, *, campaigns: bool = False) -> None:
        self.loop = loop
        self.config = load_config(config)

        async def build() -> Application:  # the store belongs to the thread of the event loop
            return Application(self.config)

        self.app = loop.run(build())
        self.said: list[Said] = []
        self._lock = threading.Lock()
        for realm in ("irc", "xmpp", "console"):
            self.app.dispatcher.announcer.attach(realm, self._sink(realm))
        self.campaigns = campaigns
        if campaigns:
            app = self.app
            loop.run(app.campaigns.start(app.clusters, app.store))
        self.upkeep = loop.spawn(self.app.upkeep())

    def _sink(self, realm: str) -> Any:
        def sink(target: str, lines: Any) -> None:
            with self._lock:
                self.said.extend(Said(realm, target, line) for line in lines)
        return sink

    def say(self, who: Identity, text: str, room: str | None = ROOM) -> list[str]:
        message = Message(text, who, room=room, addressed=room is None)
        return list(self.loop.run(self.app.dispatcher.handle(message), timeout=120).lines)

    def text(self, who: Identity, line: str, room: str | None = ROOM) -> str:
        return "\n".join(self.say(who, line, room))

    def plan(self, who: Identity, line: str, room: str | None = ROOM) -> str:
        """Ask for an action; the token of the plan (the test fails if there is none)."""
        reply = self.text(who, line, room)
        found = re.search(r"confirm ([a-z0-9]{5})\b", reply)
        assert found, f"no plan in {reply!r}"
        return found.group(1)

    def wait_for(self, pattern: str, timeout: float = 90.0, realm: str = "irc", since: int = 0) -> Said:
        """The first announcement in ``realm`` matching ``pattern`` (from the ``since``-th on), waiting for it."""
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while True:
            with self._lock:
                found = next((said for said in self.said[since:] if said.realm == realm and regex.search(said.text)),
                             None)
            if found is not None:
                return found
            assert time.monotonic() < deadline, f"nothing like {pattern!r} announced; said: {self.said}"
            time.sleep(0.2)

    def outcome(self, token: str, timeout: float = 120.0) -> str:
        """The outcome of ``token``'s job, as the service reports it (after the room was told)."""
        service = self.app.actions
        assert service is not None

        async def wait() -> str:
            while token not in service.follow.watching:
                await asyncio.sleep(0.05)
            return await service.wait_watched(token)

        return self.loop.run(wait(), timeout=timeout)

    def audit_steps(self, token: str) -> list[str]:
        """The steps of ``token`` in the audit log, in order."""
        assert self.config.actions is not None
        lines = self.config.actions.audit_file.read_text().splitlines()
        return [entry["step"] for entry in map(json.loads, lines) if entry.get("token") == token]

    def metric(self, name: str, **labels: str) -> float | None:
        """The value of one series of the bot's /metrics (None: no such series)."""
        text = self.app.metrics.exposition().decode()
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and sample.labels == labels:
                    return sample.value
        return None

    def close(self) -> None:
        self.upkeep.cancel()
        deadline = time.monotonic() + 10
        while not self.upkeep.done() and time.monotonic() < deadline:
            time.sleep(0.05)
        async def close() -> None:
            if self.campaigns:
                await self.app.campaigns.stop()
            self.app.close()

        self.loop.run(close())


@contextlib.contextmanager
def faked(url: str, fingerprint: str, folder: Path, loop: Loop, actions: str) -> Iterator[Bot]:
    """A `Bot` on the fake RAPI at ``url`` (see `fake_cluster_table`), closed afterwards."""
    bot = Bot(write_config(folder, fake_cluster_table(url, fingerprint, folder), actions), loop)
    try:
        yield bot
    finally:
        bot.close()


class LabView:
    """The lab as the tests check it: directly over RAPI, never through the bot."""

    def __init__(self, lab: labctl.Lab) -> None:
        self.lab = lab
        digest = lab.fingerprint().split(":", 1)[1].replace(":", "").lower()
        settings = ClusterSettings("lab", lab.url, Credentials("reader", "reader-secret"),
                                   Credentials("operator", "operator-secret"), fingerprint=digest, timeout=30)
        self.reader = RapiClient(settings)
        self.operator = WriteClient(settings)

    def job_ids(self) -> set[int]:
        return {int(row["id"]) for row in self.reader.query("job", ("id",))}

    @contextlib.contextmanager
    def nothing_submitted(self) -> Iterator[None]:
        """The cluster's job list does not grow meanwhile."""
        before = self.job_ids()
        yield
        assert self.job_ids() == before, "a job was submitted"

    def primary(self, instance: str) -> str:
        return self.reader.instance(instance + DOMAIN)["pnode"]

    def primaries(self, node: str) -> list[str]:
        return sorted(self.reader.node(node + DOMAIN)["pinst_list"] or [])

    def role(self, node: str) -> str:
        """``M``, ``C``, ``R``, ``D`` (drained) or ``O`` (offline)."""
        return self.reader.node(node + DOMAIN)["role"]

    def job(self, job_id: int) -> dict[str, Any]:
        return self.reader.job(job_id)

    def wait(self, job_id: int, timeout: float = 120) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            job = self.reader.job(job_id)
            if job["status"] in ("success", "error", "canceled"):
                return job
            assert time.monotonic() < deadline, f"job {job_id} did not finish"
            time.sleep(0.3)

    def place(self, instance: str, node: str) -> None:
        """Setup: put a running shared-storage instance on ``node`` (migrate), as the operator."""
        if self.primary(instance) != node + DOMAIN:
            job = self.wait(self.operator.migrate_instance(instance + DOMAIN, reason="test setup",
                                                           target_node=node + DOMAIN))
            assert job["status"] == "success", job["opresult"]

    def place_stopped(self, instance: str, node: str) -> None:
        """Setup: put a stopped instance on ``node`` (failover)."""
        if self.primary(instance) != node + DOMAIN:
            job = self.wait(self.operator.failover_instance(instance + DOMAIN, reason="test setup",
                                                            target_node=node + DOMAIN))
            assert job["status"] == "success", job["opresult"]

    def other_node(self, *nodes: str) -> str:
        """A node (short name) that is none of ``nodes`` (full names), not the master."""
        for name in ("node2", "node3"):
            if name + DOMAIN not in nodes:
                return name
        raise AssertionError(f"no node besides {nodes}")
