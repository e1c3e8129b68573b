"""ircd-hybrid 8.2 with Anope 2.0 services: an OFTC-like network on 127.0.0.1.

OFTC runs a Hybrid-derived server with its own services, so this pair is the
closest a Debian machine gets to it. What it really sends (ircd-hybrid
1:8.2.43, anope 2.0.12, recorded while this fixture was built):

- No SASL: ``CAP LS`` lists ``account-notify away-notify cap-notify chghost
  extended-join invite-notify multi-prefix userhost-in-names``; no
  ``account-tag``, no RPL_LOGGEDIN (900).
- IDENTIFY, as NickServ and the server answer it::

      :NickServ!services@services.test NOTICE alice :Password accepted - you are now recognized.
      :alice!alice@127.0.0.1 MODE alice :+r
      :alice!alice@127.0.0.1 ACCOUNT alice                  (to channel members with account-notify)

  The mark of a login is user mode ``+r`` ("identified for this nick");
  ``+R`` means something else on Hybrid: only ``+r`` users may send you
  private messages. ``+r`` comes only when the nick belongs to the account:
  ``IDENTIFY bob <pass>`` from nick ``bob2`` logs in to ``bob`` (330) without
  ``+r`` (no 307).
- WHOIS of someone identified for their nick::

      :irc.test 307 observer alice :has identified for this nick
      :irc.test 330 observer alice alice :is logged in as

- ``NICK`` away from the nick: ``MODE alice :-r`` before the NICK; the account
  (330) stays with the connection. Back to a nick of the account: ``+r`` again
  (and another ``ACCOUNT alice``).
- ``LOGOUT``: ``NOTICE … :Your nick has been logged out.``, then ``ACCOUNT *``
  and ``MODE alice :-r`` (Anope sends the notice before SVSACCOUNT and
  SVSMODE, so a line sent the instant the notice arrives may still be
  identified); WHOIS then has neither 307 nor 330.
- ``RECOVER bob`` (and ``GHOST``, the same command here) from someone logged
  in to ``bob``: the holder is renamed (``NICK :Guest15710``, with ``This
  nickname has been recovered by bob2.``), then the caller is renamed to
  ``bob`` and gets ``+r``.
- CertFP: the server hands the TLS client certificate's fingerprint to
  services (``CERTFP``); with it on the account (``NickServ CERT ADD``),
  ``SSL certificate fingerprint accepted, you are now identified to
  gntbot.`` comes at connect, with ``+r`` and 307/330, but only when the
  nick belongs to the account: from another nick Anope logs the connection
  in on its side alone and the server never learns it (no 330, no 307).

``without=OFTC_LIKE`` starts the server without its CAP and SVSACCOUNT
modules (they are left out of the module folder it loads: ``m_cap`` is
resident and cannot be unloaded at run time). Then no capability and no
account name ever reaches a client, as on OFTC: a login shows only as ``+r``
and WHOIS 307.

Debian's ircd-hybrid and ngircd packages conflict (installing one removes
the other), so ``scripts/install --test`` unpacks ircd-hybrid's package into
`UNPACKED` instead of installing it. The binary looks for its modules in
`MODULES`, a path compiled in: where the package is not installed, the
server runs in a mount namespace of its own in which the unpacked tree is
laid over ``/usr/lib`` (an overlay: nothing changes outside).

The link, worked out for these two: Hybrid's ``connect {}`` block for
``services.test`` with one password both ways, a ``service {}`` block that
gives services their powers, and a listener with ``flags = server``. Anope
loads the ``hybrid`` protocol module, needs a TS6 id (``serverinfo { id }``)
and Hybrid's casemapping (``ascii``, as its ISUPPORT says).
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import socket
from collections.abc import Mapping, Sequence
from pathlib import Path

from .people import IrcPerson
from .servers import (
    HOST,
    Certs,
    Process,
    _chown_tree,
    _render,
    _wait,
    free_port,
    irc_lines,
    listening,
    prepare_anope,
    start_anope,
)

UNPACKED = Path("/opt/gntbot-tests/ircd-hybrid")  # scripts/install --test unpacks the package here
MODULES = Path("/usr/lib/ircd-hybrid")  # where the binary looks for its modules
AUTOLOAD = MODULES / "modules/autoload"  # every module in it is loaded at start
OFTC_LIKE = ("m_cap", "m_svsaccount")


def _installed() -> bool:
    return MODULES.is_dir() and shutil.which("ircd-hybrid") is not None


def _binary() -> str:
    return "ircd-hybrid" if _installed() else str(UNPACKED / "usr/sbin/ircd-hybrid")


def missing() -> list[str]:
    """What this machine lacks to run the pair."""
    lacking = [program for program in ("anope", "setpriv", "unshare", "mount") if shutil.which(program) is None]
    if not _installed() and not (UNPACKED / "usr/sbin/ircd-hybrid").is_file():
        lacking.append(f"ircd-hybrid (scripts/install --test unpacks it into {UNPACKED})")
    if os.geteuid() != 0:
        lacking.append("root (the servers run as irc, in a mount namespace of their own)")
    return lacking


def services_answer(port: int, timeout: float = 2.0) -> bool:
    """True once NickServ answers a fresh client: the server is up and Anope
    has linked and finished its burst."""
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        sock.sendall(b"NICK probe\r\nUSER probe 0 * :probe\r\n")
        for line in irc_lines(sock, timeout):
            source, _, rest = line.partition(" ")
            command = rest.split(" ", 1)[0]
            if command == "001":
                sock.sendall(b"PRIVMSG NickServ :HELP\r\n")
            elif command == "401":
                return False  # "No such nick": services not linked yet
            elif source.startswith(":NickServ!") and command == "NOTICE":
                sock.sendall(b"QUIT\r\n")
                return True
        return False


class HybridAnope:
    """ircd-hybrid with Anope linked as ``services.test``.

    ``port`` is plain, ``tls_port`` TLS (client certificates are passed on to
    services for CertFP). ``without`` names modules to leave out of the
    server (`OFTC_LIKE`).
    """

    def __init__(self, folder: Path, certs: Certs, accounts: Mapping[str, str], *,
                 without: Sequence[str] = ()) -> None:
        self.folder = folder
        self.certs = certs
        self.accounts = dict(accounts)
        self.without = tuple(without)
        self.port, self.tls_port, self.link_port = free_port(), free_port(), free_port()
        self.ircd: Process | None = None
        self.services: Process | None = None

    def start(self) -> HybridAnope:
        folder = self.folder
        self.certs.copy_to(folder)
        ports = {"PORT": self.port, "TLS_PORT": self.tls_port, "LINK_PORT": self.link_port}
        _render("hybrid.conf", folder / "ircd.conf", DIR=folder, **ports)
        prepare_anope(folder, "anope-hybrid.conf", self.accounts, **ports)
        if self.without:
            self._copy_modules(folder / "autoload")
        _chown_tree(folder, "irc")
        log = folder / "ircd.out"
        self.ircd = Process(self._ircd_command(), folder, log, None)  # setpriv in the command drops to irc
        _wait(lambda: listening(self.link_port), "ircd-hybrid", self.ircd, log)
        self.start_services()
        return self

    def _ircd_command(self) -> list[str]:
        folder = self.folder
        files = {"configfile": "ircd.conf", "pidfile": "ircd.pid", "logfile": "ircd.log",
                 "klinefile": "kline.db", "dlinefile": "dline.db", "xlinefile": "xline.db", "resvfile": "resv.db"}
        argv = [_binary(), "-foreground"]
        for option, name in files.items():
            argv += [f"-{option}", str(folder / name)]
        mounts = []
        if not _installed():
            mounts.append(f"mount -t overlay overlay -o lowerdir={UNPACKED / 'usr/lib'}:/usr/lib /usr/lib")
        if self.without:  # a copy of the autoload folder without the left-out modules
            mounts.append(f"mount --bind {shlex.quote(str(folder / 'autoload'))} {AUTOLOAD}")
        inner = ["setpriv", "--reuid=irc", "--regid=irc", "--clear-groups", *argv]
        script = " && ".join([*mounts, f"exec {shlex.join(inner)}"])
        return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script]

    def _copy_modules(self, target: Path) -> None:
        target.mkdir()
        source = AUTOLOAD if _installed() else UNPACKED / AUTOLOAD.relative_to("/")
        for module in source.iterdir():
            if module.name.split(".")[0] not in self.without:
                shutil.copy(module, target / module.name)

    def start_services(self) -> None:
        self.services = start_anope(self.folder)
        _wait(lambda: services_answer(self.port), "anope (NickServ answering)", self.services,
              self.folder / "anope/anope.out")

    def stop_services(self) -> None:
        """Stop Anope: the server stays, without NickServ."""
        if self.services is not None:
            self.services.stop()

    def stop(self) -> None:
        """Both at once: each takes about 2 s to go after SIGTERM."""
        running = [process for process in (self.services, self.ircd) if process is not None]
        for process in running:
            process.signal(signal.SIGTERM)
        for process in running:
            process.stop()


# People on this pair.

def identify(person: IrcPerson, password: str, account: str | None = None) -> None:
    """``/msg NickServ IDENTIFY [account] password``, as a person does it: wait
    for NickServ's answer, and for ``+r`` when the nick is the account's."""
    person.say("NickServ", f"IDENTIFY {account} {password}" if account else f"IDENTIFY {password}")
    person.expect(lambda line: line.nick == "NickServ" and "Password accepted" in line.text, what="NickServ's yes")
    if account is None or account.lower() == person.nick.lower():
        person.expect(lambda line: line.command == "MODE" and line.params == (person.nick, "+r"), what="+r")


def change_nick(person: IrcPerson, nick: str, *, owned: bool = False) -> None:
    """``NICK nick``; with ``owned`` (a nick of the account the person is
    logged in to), wait for services to set ``+r`` again."""
    person.send(f"NICK {nick}")
    person.expect(lambda line: line.command == "NICK" and line.text == nick, what=f"the change to {nick}")
    person.nick = nick
    if owned:
        person.expect(lambda line: line.command == "MODE" and line.params == (nick, "+r"), what="+r back")


def logout(person: IrcPerson) -> None:
    """``/msg NickServ LOGOUT``, and wait until the server has logged us out
    (``-r``): NickServ's notice comes first, and a line sent between the two
    is still sent identified."""
    person.say("NickServ", "LOGOUT")
    person.expect(lambda line: line.nick == "NickServ" and "logged out" in line.text, what="NickServ's logout")
    person.expect(lambda line: line.command == "MODE" and line.params == (person.nick, "-r"), what="-r")
