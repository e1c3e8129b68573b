"""``gntbot run -c config.toml``: IRC and XMPP from one process, stopped by SIGTERM."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT, SHIPPED_RUNBOOKS

from .common import IRC_ACCOUNTS, REBALANCE, XMPP_ACCOUNTS, ask_room, in_room
from .servers import Certs, InspircdAnope, Prosody

pytestmark = pytest.mark.servers

ROOM = "run@conference.localhost"


def write_config(folder: Path, ircd: InspircdAnope, prosody: Prosody, certs: Certs, secrets: Path) -> Path:
    config = folder / "config.toml"
    config.write_text(f"""
[bot]
name = "gntbot"

[knowledge]
runbooks = "{SHIPPED_RUNBOOKS}"
index = "{folder / 'index'}"

[access]
operators = ["irc:alice", "xmpp:alice@localhost"]

[irc.test]
server = "127.0.0.1"
port = {ircd.tls_port}
ca_file = "{certs.ca}"
nick = "runbot"
account = "gntbot"
password_file = "{secrets / 'irc-password'}"
channels = ["#run"]

[xmpp]
jid = "bot2@localhost"
password_file = "{secrets / 'xmpp-bot2'}"
server = "127.0.0.1"
port = {prosody.port}
ca_file = "{certs.ca}"
rooms = ["{ROOM}"]
""")
    return config


def test_gntbot_run_serves_irc_and_xmpp_and_leaves_cleanly_on_sigterm(
        ircd, prosody, certs, secrets, tmp_path, irc_people, xmpp_people, aloop) -> None:
    config = write_config(tmp_path, ircd, prosody, certs, secrets)
    log = tmp_path / "gntbot.log"
    with log.open("w") as output:
        bot = subprocess.Popen([sys.executable, "-m", "bot", "-v", "-c", str(config), "run"], cwd=PROJECT_ROOT,
                               stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        alice = irc_people(ircd.port, "alice", "alice").registered()
        alice.join("#run")
        alice.expect(lambda l: l.command == "JOIN" and l.nick == "runbot", 20, "runbot joining #run")
        xalice = in_room(aloop, xmpp_people("alice"), ROOM, "alice")

        assert alice.ask("#run", f"runbot: {REBALANCE}", "runbot").text.startswith("alice: ")
        assert ask_room(aloop, xalice, ROOM, "alice", "!whoami") == [
            "alice: you are alice, verified as xmpp:alice@localhost; an operator."]

        bot.send_signal(signal.SIGTERM)
        quit_line = alice.expect(lambda l: l.command == "QUIT" and l.nick == "runbot", 10, "runbot quitting")
        assert "gntbot is shutting down" in quit_line.text
        aloop.run(xalice.presence_of(f"{ROOM}/gntbot", kind="unavailable", timeout=10))
        assert bot.wait(10) == 0
    finally:
        if bot.poll() is None:
            os.killpg(bot.pid, signal.SIGKILL)
            bot.wait()
    text = log.read_text()
    assert "DEBUG" in text  # -v: everything was logged...
    secrets_seen = [IRC_ACCOUNTS["gntbot"], XMPP_ACCOUNTS["bot2"],
                    base64.b64encode(f"gntbot\0gntbot\0{IRC_ACCOUNTS['gntbot']}".encode()).decode()]
    assert not [secret for secret in secrets_seen if secret in text]  # ...but no password
