"""Real chat servers from the Debian packages, started for the tests on 127.0.0.1.

Each server lives in its own temp dir, listens on free ports, runs as its
service user (`setpriv`) in its own session, and is stopped by its process
id. Readiness is probed at the protocol level, never by a bare TCP connect:
InspIRCd opens its port long before Anope has linked and SASL is on offer.
"""

from __future__ import annotations

import base64
import datetime
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from string import Template

import trustme

HOST = "127.0.0.1"
HERE = Path(__file__).parent / "serverconf"


@dataclass(frozen=True)
class Certs:
    """A test CA and a server certificate for localhost and the test names."""

    ca: Path
    cert: Path
    key: Path
    dh: Path

    @classmethod
    def make(cls, folder: Path) -> Certs:
        now = datetime.datetime.now(datetime.UTC)
        ca = trustme.CA()
        leaf = ca.issue_cert(
            "localhost", "127.0.0.1", "conference.localhost", "anon.localhost", "irc.test",
            common_name="localhost",
            not_before=now - datetime.timedelta(hours=1),
            not_after=now + datetime.timedelta(days=30),
        )
        certs = cls(folder / "ca.pem", folder / "server.crt", folder / "server.key", folder / "dh.pem")
        ca.cert_pem.write_to_path(str(certs.ca))
        leaf.private_key_pem.write_to_path(str(certs.key))
        certs.cert.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
        subprocess.run(
            ["openssl", "genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt", "group:ffdhe2048",
             "-out", str(certs.dh)],
            check=True, capture_output=True,
        )
        return certs

    def copy_to(self, folder: Path) -> None:
        for path in (self.cert, self.key, self.dh):
            shutil.copy(path, folder / path.name)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _open_ancestors(folder: Path) -> None:
    """Let a service user reach ``folder``: pytest's base temp dir is 0700."""
    for parent in folder.parents:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o001)


def _chown_tree(folder: Path, user: str) -> None:
    entry = pwd.getpwnam(user)
    for path in [folder, *folder.rglob("*")]:
        os.chown(path, entry.pw_uid, entry.pw_gid)
    _open_ancestors(folder)


def _render(template: str, target: Path, **values: object) -> None:
    text = Template((HERE / template).read_text()).substitute({k: str(v) for k, v in values.items()})
    target.write_text(text)


class Process:
    """One server process in its own session, stopped by its pid (and group)."""

    def __init__(self, argv: Sequence[str], cwd: Path, log: Path, user: str | None, env: Mapping[str, str] | None = None):
        command = list(argv)
        if user is not None and os.geteuid() == 0:
            command = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *command]
        # No core files: InspIRCd raises its own soft limit and crashes on SIGTERM.
        command = ["prlimit", "--core=0:0", "--", *command]
        with log.open("ab") as output:
            self.popen = subprocess.Popen(
                command, cwd=cwd, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, env={**os.environ, **(env or {})},
            )
        self.pid = self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal(self, number: int) -> None:
        if self.alive():
            os.killpg(self.pid, number)

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM, then SIGKILL if the group is still there after ``timeout``."""
        if self.popen.returncode is not None:
            return
        for number, wait in ((signal.SIGCONT, 0), (signal.SIGTERM, timeout), (signal.SIGKILL, timeout)):
            try:
                os.killpg(self.pid, number)
            except ProcessLookupError:
                break
            if wait:
                try:
                    self.popen.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        self.popen.poll()


def _wait(probe, what: str, process: Process, log: Path, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    error: Exception | None = None
    while time.monotonic() < deadline:
        if not process.alive():
            raise RuntimeError(f"{what} exited with {process.popen.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if probe():
                return
        except OSError as exc:
            error = exc
        time.sleep(0.05)
    raise RuntimeError(f"{what} not ready after {timeout}s ({error}):\n{log.read_text()[-3000:]}")


def listening(port: int) -> bool:
    """Whether something accepts TCP connections on ``port`` (raises OSError if not)."""
    socket.create_connection((HOST, port), timeout=1).close()
    return True


def irc_lines(sock: socket.socket, timeout: float) -> Iterator[str]:
    """The lines a server sends on ``sock``, until it closes or ``timeout`` passes."""
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        chunk = sock.recv(4096)
        if not chunk:
            return
        data += chunk
        *lines, data = data.split(b"\r\n")
        yield from (line.decode(errors="replace") for line in lines)


def irc_caps(port: int, timeout: float = 2.0) -> str:
    """The capabilities a server lists for ``CAP LS 302`` (all continuation lines)."""
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        sock.sendall(b"CAP LS 302\r\n")
        caps = []
        for line in irc_lines(sock, timeout):
            words = line.split(" ")
            if len(words) > 3 and words[1] == "CAP" and words[3] == "LS":
                caps.append(line.split(" :", 1)[-1])
                if words[4] != "*":
                    break
        return " ".join(caps)


def _xmpp_features(port: int) -> bool:
    with socket.create_connection((HOST, port), timeout=2) as sock:
        sock.sendall(b"<?xml version='1.0'?><stream:stream to='localhost' version='1.0' "
                     b"xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>")
        data = b""
        deadline = time.monotonic() + 2
        while b"</stream:features>" not in data and time.monotonic() < deadline:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
        return b"</stream:features>" in data


# Anope's flat-file database: one NickCore (the account) and one NickAlias
# (the registered nick) per account; "plain:" passwords need enc_none.
_ANOPE_ACCOUNT = """OBJECT NickCore
DATA display {name}
DATA pass plain:{password}
DATA email {name}@example.com
DATA language {nothing}
DATA memomax 0
DATA HIDE_EMAIL 1
DATA HIDE_MASK 1
END
OBJECT NickAlias
DATA nick {name}
DATA last_realname {name}
DATA time_registered {now}
DATA last_seen {now}
DATA nc {name}
END
"""


def prepare_anope(folder: Path, template: str, accounts: Mapping[str, str], **values: object) -> None:
    """Anope's tree under ``folder/anope``: its config from ``template`` (with
    ``DIR`` = ``folder``), an MOTD, and a database holding ``accounts``."""
    for sub in ("anope/conf", "anope/data/backups", "anope/logs"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    _render(template, folder / "anope/conf/services.conf", DIR=folder, **values)
    (folder / "anope/services.motd").write_text("test services\n")
    now = int(time.time())
    (folder / "anope/data/anope.db").write_text("".join(
        _ANOPE_ACCOUNT.format(name=name, password=base64.b64encode(password.encode()).decode(), now=now,
                              nothing="")
        for name, password in accounts.items()
    ))


def start_anope(folder: Path) -> Process:
    """Anope (as ``irc``) from the tree `prepare_anope` made under ``folder/anope``."""
    anope = folder / "anope"
    return Process(
        ["anope", "-n", f"--confdir={anope}/conf", f"--dbdir={anope}/data", f"--logdir={anope}/logs",
         "--modulesdir=/usr/lib/anope", "--localedir=/usr/share/anope/locale"],
        anope, anope / "anope.out", "irc",
    )


class InspircdAnope:
    """InspIRCd 3 with Anope 2.0 services: SASL, accounts, account-tag, WHOIS 330
    (without account-tag, extended-join and account-notify if ``account_caps`` is False).

    ``port`` is for people (no flood limit worth mentioning); ``tls_port`` is
    for the bot and has a strict flood limit with disconnection ("Excess
    Flood"), like a public network without fake lag.
    """

    def __init__(self, folder: Path, certs: Certs, accounts: Mapping[str, str], *, account_caps: bool = True) -> None:
        self.folder = folder
        self.certs = certs
        self.accounts = dict(accounts)
        self.account_caps = account_caps
        self.port, self.tls_port, self.link_port = free_port(), free_port(), free_port()
        self.ircd: Process | None = None
        self.services: Process | None = None

    def start(self) -> InspircdAnope:
        folder = self.folder
        first = not (folder / "inspircd.conf").exists()
        if first:
            self.certs.copy_to(folder)
            ports = {"PORT": self.port, "TLS_PORT": self.tls_port, "LINK_PORT": self.link_port}
            # Without these two modules the server offers no account-tag,
            # extended-join or account-notify: accounts only show in WHOIS.
            caps = '<module name="ircv3">\n<module name="ircv3_accounttag">\n' if self.account_caps else ""
            _render("inspircd.conf", folder / "inspircd.conf", DIR=folder, ACCOUNT_CAPS=caps, **ports)
            prepare_anope(folder, "services.conf", self.accounts, **ports)
        _chown_tree(folder, "irc")
        log = folder / "ircd.out"
        self.ircd = Process(["inspircd", "--config", str(folder / "inspircd.conf"), "--nofork", "--nopid"],
                            folder, log, "irc")
        _wait(lambda: listening(self.link_port), "inspircd", self.ircd, log)
        self.start_services()
        return self

    def start_services(self) -> None:
        self.services = start_anope(self.folder)
        assert self.ircd is not None
        _wait(lambda: "sasl" in irc_caps(self.port), "anope (sasl on offer)", self.services,
              self.folder / "anope/anope.out")

    def kill_ircd(self) -> None:
        """Kill InspIRCd outright (SIGKILL), as a crash would."""
        assert self.ircd is not None
        self.ircd.signal(signal.SIGKILL)
        self.ircd.popen.wait(5)

    def restart_ircd(self) -> None:
        """Start InspIRCd again on the same ports; Anope (still running) relinks."""
        log = self.folder / "ircd.out"
        self.ircd = Process(["inspircd", "--config", str(self.folder / "inspircd.conf"), "--nofork", "--nopid"],
                            self.folder, log, "irc")
        assert self.services is not None
        _wait(lambda: "sasl" in irc_caps(self.port), "inspircd + anope after restart", self.ircd, log, timeout=30)

    def stop(self) -> None:
        for process in (self.services, self.ircd):
            if process is not None:
                process.stop()


class Ngircd:
    """ngircd: plain IRC, no IRCv3, no services accounts."""

    def __init__(self, folder: Path, certs: Certs) -> None:
        self.folder = folder
        self.certs = certs
        self.port, self.tls_port = free_port(), free_port()
        self.process: Process | None = None

    def start(self) -> Ngircd:
        self.certs.copy_to(self.folder)
        _render("ngircd.conf", self.folder / "ngircd.conf", DIR=self.folder, PORT=self.port, TLS_PORT=self.tls_port)
        _chown_tree(self.folder, "irc")
        log = self.folder / "ngircd.out"
        self.process = Process(["ngircd", "--nodaemon", "-f", str(self.folder / "ngircd.conf")], self.folder, log, None)
        _wait(lambda: "multi-prefix" in irc_caps(self.port), "ngircd", self.process, log)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()


class Prosody:
    """Prosody 0.12: c2s with STARTTLS and direct TLS, MUC with real JIDs
    (``conference.localhost``) and anonymous MUC (``anon.localhost``)."""

    def __init__(self, folder: Path, certs: Certs, accounts: Mapping[str, str]) -> None:
        self.folder = folder
        self.certs = certs
        self.accounts = dict(accounts)
        self.port, self.tls_port, self.component_port = free_port(), free_port(), free_port()
        self.process: Process | None = None

    def _prosodyctl(self, *args: str) -> None:
        argv = ["prosodyctl", "--config", str(self.folder / "prosody.cfg.lua"), *args]
        if os.geteuid() == 0:
            argv = ["setpriv", "--reuid=prosody", "--regid=prosody", "--clear-groups", *argv]
        subprocess.run(argv, check=True, capture_output=True, env={**os.environ, "HOME": str(self.folder)},
                       cwd=self.folder, timeout=30)

    def start(self) -> Prosody:
        folder = self.folder
        if not (folder / "prosody.cfg.lua").exists():
            (folder / "data").mkdir(parents=True, exist_ok=True)
            self.certs.copy_to(folder)
            _render("prosody.cfg.lua", folder / "prosody.cfg.lua", DIR=folder, PORT=self.port,
                    TLS_PORT=self.tls_port, COMPONENT_PORT=self.component_port)
            _chown_tree(folder, "prosody")
            for name, password in self.accounts.items():
                self._prosodyctl("register", name, "localhost", password)
        _chown_tree(folder, "prosody")
        log = folder / "prosody.out"
        self.process = Process(["prosody", "--config", str(folder / "prosody.cfg.lua"), "-F"], folder, log,
                               "prosody", env={"HOME": str(folder)})
        _wait(lambda: _xmpp_features(self.port), "prosody", self.process, log)
        return self

    def kill(self) -> None:
        assert self.process is not None
        self.process.signal(signal.SIGKILL)
        self.process.popen.wait(5)

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
