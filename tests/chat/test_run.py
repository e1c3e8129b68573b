"""``gntbot run -c config.toml``: IRC and XMPP from one process, stopped by SIGTERM."""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import PROJECT_ROOT, SHIPPED_RUNBOOKS

from .common import IRC_ACCOUNTS, REBALANCE, XMPP_ACCOUNTS, ask_room, in_room
from .servers import Certs, InspircdAnope, Prosody

pytestmark = pytest.mark.servers

ROOM = "run@conference.localhost"
# The bot joins #run with a key (ignored: the channel has none) and creates the
# XMPP room with a password, so people need it too; neither may reach the log.
CHANNEL_KEY = "chan-key-4711"
ROOM_PASSWORD = "room-pass-0815"


def write_config(folder: Path, ircd: InspircdAnope, prosody: Prosody, certs: Certs, secrets: Path,
                 extra: str = "") -> Path:
    config = folder / "config.toml"
    (folder / "channel-key").write_text(CHANNEL_KEY)
    (folder / "room-password").write_text(ROOM_PASSWORD)
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

[irc.test.channel."#run"]
key_file = "{folder / 'channel-key'}"

[xmpp.room."{ROOM}"]
password_file = "{folder / 'room-password'}"
{extra}""")
    return config


@contextlib.contextmanager
def running_bot(config: Path, log: Path) -> Iterator[subprocess.Popen]:
    """``gntbot -v -c config run`` in the background, killed if a test fails."""
    with log.open("w") as output:
        bot = subprocess.Popen([sys.executable, "-m", "bot", "-v", "-c", str(config), "run"], cwd=PROJECT_ROOT,
                               stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield bot
    except BaseException as failure:
        failure.add_note("the bot's log ends with:\n" + "\n".join(log.read_text().splitlines()[-25:]))
        raise
    finally:
        if bot.poll() is None:
            os.killpg(bot.pid, signal.SIGKILL)
            bot.wait()


def alice_in_both_rooms(ircd: InspircdAnope, irc_people: Any, xmpp_people: Any, aloop: Any) -> tuple[Any, Any]:
    """alice in #run on IRC and in ROOM on XMPP, once the bot has joined both."""
    alice = irc_people(ircd.port, "alice", "alice").registered()
    alice.join("#run")
    alice.expect(lambda l: l.command == "JOIN" and l.nick == "runbot", 20, "runbot joining #run")
    return alice, in_room(aloop, xmpp_people("alice"), ROOM, "alice", password=ROOM_PASSWORD)


def test_gntbot_run_serves_irc_and_xmpp_and_leaves_cleanly_on_sigterm(
        ircd, prosody, certs, secrets, tmp_path, irc_people, xmpp_people, aloop) -> None:
    config = write_config(tmp_path, ircd, prosody, certs, secrets)
    log = tmp_path / "gntbot.log"
    with running_bot(config, log) as bot:
        alice = irc_people(ircd.port, "alice", "alice").registered()
        alice.join("#run")
        alice.expect(lambda l: l.command == "JOIN" and l.nick == "runbot", 20, "runbot joining #run")
        xalice = in_room(aloop, xmpp_people("alice"), ROOM, "alice", password=ROOM_PASSWORD)

        assert alice.ask("#run", f"runbot: {REBALANCE}", "runbot").text.startswith("alice: ")
        assert ask_room(aloop, xalice, ROOM, "alice", "!whoami") == [
            "alice: you are alice, verified as xmpp:alice@localhost; an operator."]

        bot.send_signal(signal.SIGTERM)
        quit_line = alice.expect(lambda l: l.command == "QUIT" and l.nick == "runbot", 10, "runbot quitting")
        assert "gntbot is shutting down" in quit_line.text
        aloop.run(xalice.presence_of(f"{ROOM}/gntbot", kind="unavailable", timeout=10))
        assert bot.wait(10) == 0
    text = log.read_text()
    assert "DEBUG" in text  # -v: everything was logged...
    secrets_seen = [IRC_ACCOUNTS["gntbot"], XMPP_ACCOUNTS["bot2"], CHANNEL_KEY, ROOM_PASSWORD,
                    base64.b64encode(f"gntbot\0gntbot\0{IRC_ACCOUNTS['gntbot']}".encode()).decode()]
    assert not [secret for secret in secrets_seen if secret in text]  # ...but no password


@pytest.mark.lab
def test_cluster_commands_over_irc_and_xmpp_read_the_real_lab(
        ircd, prosody, certs, secrets, tmp_path, irc_people, xmpp_people, aloop, lab, lab_settings) -> None:
    password = tmp_path / "rapi-read-password"
    password.write_text(lab_settings.read.password)
    cluster = f"""
[clusters.lab]
url = "{lab.url}"
read_user = "{lab_settings.read.user}"
read_password_file = "{password}"
fingerprint = "{lab.fingerprint()}"
cache_seconds = 0
"""
    config = write_config(tmp_path, ircd, prosody, certs, secrets, extra=cluster)
    log = tmp_path / "gntbot.log"
    with running_bot(config, log):
        alice, xalice = alice_in_both_rooms(ircd, irc_people, xmpp_people, aloop)
        summary = alice.ask("#run", "!cluster", "runbot", timeout=30).text
        assert summary.startswith("alice: lab: cluster.ganeti.test, master node1.ganeti.test, Ganeti 3.0.2")
        instances = alice.ask("#run", "!instances inst1", "runbot", timeout=30).text
        assert instances.startswith("alice: lab: 1 of 5 instances match inst1")
        nodes = ask_room(aloop, xalice, ROOM, "alice", "!nodes @lab", timeout=30)
        assert nodes[0] == "alice: lab: 3 nodes, master node1; names without .ganeti.test"
        assert [line.split()[0] for line in nodes[1:4]] == ["node1", "node2", "node3"]
    assert lab_settings.read.password not in log.read_text()  # -v logs requests, never credentials
