"""Drive the Ganeti lab of ``lab/`` from Python: up, down, faults, fixtures.

Used by the pytest fixtures (conftest.py) and as a command:

    python tests/cluster/labctl.py up [--state DIR] [--port N]   # leave a lab running
    python tests/cluster/labctl.py down [--state DIR]
    python tests/cluster/labctl.py record                      # re-record fixtures/

``record`` builds a fresh lab, saves the RAPI answers the bot's own requests
get into ``fixtures/`` (the unit tests read them), and tears the lab down.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # run as a script from anywhere

from bot.ganeti import model
from bot.ganeti.errors import RapiError
from bot.ganeti.rapi import RapiClient
from bot.ganeti.settings import ClusterSettings, Credentials

LAB = HERE / "lab"
FIXTURES = HERE / "fixtures"
READER = ("reader", "reader-secret")
OPERATOR = ("operator", "operator-secret")
DOMAIN = ".ganeti.test"


class LabError(RuntimeError):
    """The lab could not be built; the message carries the end of its log."""


def unavailable() -> str | None:
    """Why this machine cannot run the lab (it needs network namespaces), or None."""
    if os.geteuid() != 0:
        return "the Ganeti lab needs root (network namespaces, mounts, veth, bridges)"
    name = f"gntlab-probe-{os.getpid()}"
    probe = subprocess.run(["ip", "netns", "add", name], check=False, capture_output=True, text=True)
    if probe.returncode != 0:
        return f"cannot create network namespaces here: {probe.stderr.strip() or 'ip netns add failed'}"
    subprocess.run(["ip", "netns", "delete", name], check=False, capture_output=True)
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Lab:
    """One 3-node lab cluster whose state lives in ``state``.

    Its namespaces are named after ``state`` (``gntlab1a2b3c-node1``...), so
    that two test runs on one machine never tear down each other's lab.
    """

    def __init__(self, state: Path, port: int) -> None:
        self.state = state
        self.port = port
        self.url = f"https://127.0.0.1:{port}"
        lab_id = hashlib.sha256(str(state.resolve()).encode()).hexdigest()[:6]
        self._env = {**os.environ, "LAB_STATE": str(state), "LAB_PORT": str(port), "LAB_ID": lab_id}

    def up(self, timeout: float = 240) -> float:
        """Build the cluster (tearing down any previous one); returns the seconds it took."""
        started = time.monotonic()
        result = subprocess.run([str(LAB / "up.sh")], env=self._env, check=False, capture_output=True, text=True,
                                timeout=timeout)
        if result.returncode != 0:
            raise LabError(f"lab/up.sh failed ({result.returncode}):\n{result.stdout[-2000:]}"
                           f"\n{result.stderr[-2000:]}\n{self._logs()}")
        self.wait_for_rapi()
        return time.monotonic() - started

    def down(self) -> None:
        subprocess.run([str(LAB / "down.sh"), "--purge"], env=self._env, check=False, capture_output=True, timeout=60)

    def run(self, node: str, *command: str, timeout: float = 60) -> str:
        """Run ``command`` on ``node`` (its namespaces); returns stdout, raises on failure."""
        result = subprocess.run([str(LAB / "nsrun"), node, *command], env=self._env, check=False, capture_output=True,
                                text=True, timeout=timeout)
        if result.returncode != 0:
            raise LabError(f"{node}: {' '.join(command)} failed: {result.stderr.strip()}")
        return result.stdout

    def stop_noded(self, node: str) -> None:
        self.run(node, "/usr/lib/ganeti/daemon-util", "stop", "ganeti-noded")

    def start_noded(self, node: str) -> None:
        self.run(node, "/usr/lib/ganeti/daemon-util", "start", "ganeti-noded")

    def shut_down(self, node: str) -> None:
        """The first half of a "reboot": every Ganeti daemon of ``node`` stops, and the instances
        that ran there are gone (a reboot empties /run, where the fake hypervisor keeps them)."""
        self.run(node, "/usr/lib/ganeti/daemon-util", "stop-all", timeout=120)
        for state in (self.state / "nodes" / node / "run" / "ganeti" / "fake-hypervisor").glob("*"):
            state.unlink()

    def boot(self, node: str) -> str:
        """The second half: the daemons start again, and the node has a new boot id (the lab's
        nodes share the host's kernel, so it is bind-mounted over /proc's in the node's mounts,
        which the daemons started here inherit). Returns the new boot id."""
        boot_id = str(uuid.uuid4())
        self.run(node, "sh", "-c", f'echo {boot_id} > /run/lab-boot-id && '
                 'mount --bind /run/lab-boot-id /proc/sys/kernel/random/boot_id && '
                 'exec /usr/lib/ganeti/daemon-util start-all', timeout=120)
        return boot_id

    def certificate_pem(self) -> str:
        """The public part of the cluster's self-signed rapi.pem (never the key)."""
        pem = (self.state / "nodes" / "node1" / "var" / "lib" / "ganeti" / "rapi.pem").read_text()
        found = re.search(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", pem, re.DOTALL)
        if found is None:
            raise LabError("rapi.pem holds no certificate")
        return found.group(0) + "\n"

    def fingerprint(self) -> str:
        """``sha256:AB:CD:...``, as ``openssl x509 -fingerprint -sha256`` prints it."""
        digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(self.certificate_pem())).hexdigest().upper()
        return "sha256:" + ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))

    def wait_for_rapi(self, timeout: float = 60) -> None:
        """RAPI answers /2/info with the reader's credentials (curl: nothing of the bot)."""
        deadline = time.monotonic() + timeout
        while True:
            result = subprocess.run(["curl", "-sk", "-o", "/dev/null", "-w", "%{http_code}", "-u", ":".join(READER),
                                     f"{self.url}/2/info"], check=False, capture_output=True, text=True)
            if result.stdout == "200":
                return
            if time.monotonic() > deadline:
                raise LabError(f"RAPI did not answer /2/info within {timeout}s (last: {result.stdout})")
            time.sleep(0.5)

    def _logs(self) -> str:
        tails = []
        for log in sorted(self.state.glob("*.log")):
            tails.append(f"--- {log.name}\n{log.read_text(errors='replace')[-1500:]}")
        return "\n".join(tails)


# -- recording fixtures ---------------------------------------------------------------


def record(lab: Lab, out: Path = FIXTURES) -> None:
    """Save the answers to the requests the bot makes, as the unit tests' fixtures."""
    def client(user: tuple[str, str]) -> _Recorder:
        digest = lab.fingerprint().split(":", 1)[1].replace(":", "").lower()
        return _Recorder(ClusterSettings("lab", lab.url, Credentials(*user), fingerprint=digest, retries=0))

    reader = client(READER)
    index: list[str] = ["file\tuser\tpath\tstatus"]

    def save(name: str, call: Callable[[RapiClient], Any], rapi: _Recorder = reader) -> Any:
        try:
            value = call(rapi)
        except RapiError:
            value = None
        response, body = rapi.last
        (out / name).write_bytes(body)
        index.append(f"{name}\t{rapi.settings.read.user}\t{response.request.path_url}\t{response.status_code}")
        return value

    out.mkdir(exist_ok=True)
    save("info.json", lambda c: c.info())
    save("instance-names.json", lambda c: c.names("instances"))
    save("node-names.json", lambda c: c.names("nodes"))
    save("instances.json", lambda c: c.query("instance", model.INSTANCE_FIELDS))
    save("nodes.json", lambda c: c.query("node", model.NODE_FIELDS))
    save("groups.json", lambda c: c.query("group", model.GROUP_FIELDS))
    save("instance-inst5.json", lambda c: c.instance("inst5" + DOMAIN))
    save("node-node2.json", lambda c: c.node("node2" + DOMAIN))
    query_job = save("instance-query-submit.json", lambda c: c.submit_instance_query("inst5" + DOMAIN))
    failing_job = save("instance-query-submit-nope.json", lambda c: c.submit_instance_query("nope" + DOMAIN))
    _wait_for_jobs(reader, (query_job, failing_job))
    save("job-instance-query.json", lambda c: c.job(query_job))
    save("job-failed.json", lambda c: c.job(failing_job))
    save("jobs.json", lambda c: c.query("job", model.JOB_FIELDS))
    created = _job_id(out / "jobs.json", "INSTANCE_CREATE(inst5")
    save("job-instance-create.json", lambda c: c.job(created))
    save("error-404-instance.json", lambda c: c.instance("nope" + DOMAIN))
    save("error-403-job-wait.json", lambda c: c.get("/2/jobs/1/wait"))
    wrong = client((READER[0], "wrong-password"))
    save("error-401.json", lambda c: c.info(), rapi=wrong)

    lab.stop_noded("node3")
    try:
        save("instances-node3-down.json", lambda c: c.query("instance", model.INSTANCE_FIELDS))
        save("nodes-node3-down.json", lambda c: c.query("node", model.NODE_FIELDS))
        save("node-node3-down.json", lambda c: c.node("node3" + DOMAIN))
        save("instance-inst5-node3-down.json", lambda c: c.instance("inst5" + DOMAIN))
    finally:
        lab.start_noded("node3")
    (out / "index.tsv").write_text("\n".join(index) + "\n")


class _Recorder(RapiClient):
    """A client that keeps the last response and the body it read, to save them."""

    last: tuple[requests.Response, bytes]

    def _body(self, response: requests.Response, what: str) -> bytes:
        body = super()._body(response, what)
        self.last = (response, body)
        return body


def _wait_for_jobs(client: RapiClient, job_ids: tuple[int, ...], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while any(client.job(job_id)["status"] not in ("success", "error", "canceled") for job_id in job_ids):
        if time.monotonic() > deadline:
            raise LabError(f"jobs {job_ids} did not finish within {timeout}s")
        time.sleep(0.3)


def _job_id(jobs_file: Path, summary_prefix: str) -> int:
    body = json.loads(jobs_file.read_text())
    names = [field["name"] for field in body["fields"]]
    for row in body["data"]:
        job = dict(zip(names, (value for _, value in row), strict=True))
        if any(summary.startswith(summary_prefix) for summary in job["summary"]):
            return job["id"]
    raise LabError(f"no job {summary_prefix}... in {jobs_file}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("up", "down", "record"))
    parser.add_argument("--state", type=Path, default=Path("/tmp/gntbot-lab"))
    parser.add_argument("--port", type=int, default=5080)
    args = parser.parse_args()
    lab = Lab(args.state, args.port)
    if args.action == "down":
        lab.down()
        return 0
    reason = unavailable()
    if reason:
        print(f"labctl: {reason}", file=sys.stderr)
        return 1
    if args.action == "up":
        seconds = lab.up()
        print(f"lab up in {seconds:.0f}s: {lab.url} (users {READER[0]}, {OPERATOR[0]}, guest)")
        print(f"fingerprint = \"{lab.fingerprint()}\"")
        return 0
    try:
        lab.up()
        record(lab)
    finally:
        lab.down()
    print(f"recorded {FIXTURES}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
