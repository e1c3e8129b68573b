"""``gntbot run`` as a service: metrics and health over HTTP, ``gntbot status``, SIGHUP reloads.

A real ``gntbot run`` process on the real IRC and XMPP servers the suite starts.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ops.scrape import free_port, health, scrape, value

from bot.config import PROJECT_ROOT

from .common import REBALANCE, in_room
from .test_run import ROOM, ROOM_PASSWORD, running_bot, write_config

pytestmark = pytest.mark.servers


def status(config: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", "status", "-c", str(config)], check=False, capture_output=True,
                          text=True, timeout=60, cwd=PROJECT_ROOT)


def wait_until_well(url: str, seconds: float = 30) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        try:
            code, report = health(url)
            if code == 200:
                return report
        except OSError:
            code, report = 0, {}
        if time.monotonic() > deadline:
            raise AssertionError(f"not well after {seconds} s: {code} {report}")
        time.sleep(0.5)


def test_metrics_health_status_and_a_reload_that_keeps_the_connections(
        ircd, prosody, certs, secrets, tmp_path, irc_people, xmpp_people, aloop) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    config = write_config(tmp_path, ircd, prosody, certs, secrets, extra=f'\n[metrics]\nlisten = "127.0.0.1:{port}"\n')
    log = tmp_path / "gntbot.log"
    with running_bot(config, log) as bot:
        alice = irc_people(ircd.port, "alice", "alice").registered()
        alice.join("#run")
        alice.expect(lambda l: l.command == "JOIN" and l.nick == "runbot", 20, "runbot joining #run")
        in_room(aloop, xmpp_people("alice"), ROOM, "alice", password=ROOM_PASSWORD)
        report = wait_until_well(url)
        assert [(n["name"], n["ok"]) for n in report["networks"]] == [("irc.test", True), ("xmpp", True)]

        assert alice.ask("#run", f"runbot: {REBALANCE}", "runbot").text.startswith("alice: How-to › Rebalancing")
        families = scrape(url)
        assert value(families, "gntbot_chat_connected", network="irc.test") == 1
        assert value(families, "gntbot_chat_connected", network="xmpp") == 1
        assert value(families, "gntbot_chat_messages_received_total", network="irc.test") == 1
        assert value(families, "gntbot_chat_messages_sent_total", network="irc.test") >= 1
        assert value(families, "gntbot_chat_messages_received_total", network="xmpp") == 0
        assert value(families, "gntbot_chat_reconnects_total", network="irc.test") == 0
        assert value(families, "gntbot_chat_outgoing_queue_lines", network="irc.test") >= 0
        assert value(families, "gntbot_questions_total", outcome="answered") == 1

        checked = status(config)
        assert checked.returncode == 0, checked.stderr
        assert checked.stdout.splitlines()[0].startswith("network irc.test: ok: connected to 127.0.0.1:")

        # SIGHUP: alice is no longer an operator; the bot stays in the channel all along.
        alice.forget()
        assert alice.ask("#run", "!whoami", "runbot").text.endswith("an operator.")
        config.write_text(config.read_text().replace('operators = ["irc:alice", ', "operators = ["))
        bot.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 20
        while value(scrape(url), "gntbot_config_reloads_total", result="applied") < 1:
            assert time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.2)
        assert alice.ask("#run", "!whoami", "runbot").text.endswith("not an operator.")

        # A broken file is refused: the bot goes on as it was, and says why in the log.
        good = config.read_text()
        config.write_text(good + "\n[chat]\nnetwork = 'typo'\n")
        bot.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 20
        while value(scrape(url), "gntbot_config_reloads_total", result="refused") < 1:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert alice.ask("#run", "!whoami", "runbot").text.endswith("not an operator.")
        assert not alice.collect(lambda l: l.nick == "runbot" and l.command in ("QUIT", "JOIN", "PART"), 1)
        assert value(scrape(url), "gntbot_chat_reconnects_total", network="irc.test") == 0

        bot.send_signal(signal.SIGTERM)
        assert bot.wait(15) == 0
    text = log.read_text()
    assert "reload refused, the running configuration stays in use" in text and "chat: unknown key" in text

    config.write_text(good)
    stopped = status(config)
    assert stopped.returncode == 1 and "is gntbot run running" in stopped.stderr
