"""Reboot campaigns end to end: a real ``gntbot run`` on the real IRC server and
Prosody, events sent by the real client to the bot's real HTTP intake.

Event times are those of a campaign that began an hour ago (the client sends
an event with the time it happened), so the durations and the ETA in the
lines are a real campaign's; the steps are sent a second apart, so that each
host's milestones are said as they would be.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from campaigns.kit import SECRET, free_port, host_cycle, start, step

from bot.campaigns import events, signing
from bot.campaigns.client import AnnounceClient
from bot.campaigns.settings import AnnounceSettings

from .test_run import ROOM, ROOM_PASSWORD, running_bot, write_config

pytestmark = pytest.mark.servers

HOSTS = ["fsn-node-01.torproject.org", "fsn-node-02.torproject.org", "fsn-node-03.torproject.org"]
GNTBOT = Path(sys.executable).parent / "gntbot"


def campaign_config(tmp_path: Path, ircd, prosody, certs, secrets, port: int, down_seconds: float = 86400) -> Path:
    secret = tmp_path / "intake.secret"
    secret.write_text(SECRET.decode())
    return write_config(tmp_path, ircd, prosody, certs, secrets, extra=f"""
[campaigns]
rooms = ["irc:#run", "xmpp:{ROOM}"]
line_interval = 0.2
hold_seconds = 0.8
down_seconds = {down_seconds}
silence_seconds = 0

[intake]
listen = "127.0.0.1:{port}"

[intake.sources.reboot-script]
secret_file = "{secret}"
""")


@pytest.fixture
def state(tmp_path, monkeypatch) -> Path:
    """The bot's state directory ($STATE_DIRECTORY, as systemd would set it)."""
    folder = tmp_path / "state"
    monkeypatch.setenv("STATE_DIRECTORY", str(folder))
    return folder


def client(tmp_path: Path, port: int) -> AnnounceClient:
    return AnnounceClient(AnnounceSettings(f"http://127.0.0.1:{port}", "reboot-script", SECRET, timeout=2),
                          tmp_path / "queue")


def bot_lines(person, seconds: float) -> list[str]:
    return [line.text for line in person.collect(
        lambda line: line.command == "PRIVMSG" and line.nick.startswith("runbot") and line.params[0] == "#run", seconds)]


def in_channel(irc_people, ircd, nick: str = "alice"):
    person = irc_people(ircd.port, nick, nick).registered()
    person.join("#run")
    person.expect(lambda line: line.command == "JOIN" and line.nick.startswith("runbot"), 20, "runbot joining #run")
    return person


def send_cycle(sender: AnnounceClient, host: str, begin: float) -> None:
    """A host's steps, in three bursts 1.5 s apart (emptying; down; back and done)."""
    steps = host_cycle(host, begin, minutes=14, moved=5)
    for burst in (steps[:1], steps[1:4], steps[4:]):
        for event in burst:
            assert sender.send(_in_campaign(event)).problem == ""
        time.sleep(1.5)


def _in_campaign(event: events.Event, campaign: str = "ovs-2026-12") -> events.Event:
    return events.parse({**events.to_wire(event), "campaign": campaign})


def test_a_three_host_campaign_is_told_on_irc_and_xmpp_with_an_eta_from_the_first_host_done(
        ircd, prosody, certs, secrets, tmp_path, state, irc_people, xmpp_people, aloop) -> None:
    from .common import in_room

    port = free_port()
    config = campaign_config(tmp_path, ircd, prosody, certs, secrets, port)
    with running_bot(config, tmp_path / "gntbot.log"):
        alice = in_channel(irc_people, ircd)
        xalice = in_room(aloop, xmpp_people("alice"), ROOM, "alice", password=ROOM_PASSWORD)
        sender = client(tmp_path, port)
        began = time.time() - 3600
        assert sender.send(start(HOSTS, began, delay_up=300)).problem == ""
        for number, host in enumerate(HOSTS):
            send_cycle(sender, host, began + 60 + number * 1000)
        assert sender.send(events.parse({"type": "end", "id": "end-1", "campaign": "ovs-2026-12",
                                         "time": began + 2950, "exit_code": 0})).problem == ""
        heard = bot_lines(alice, 3)
        xmpp = aloop.run(xalice.messages_during(1))
    assert heard[0].startswith("[reboot] START anarcat: reboot of 3 hosts (instances migrated off and back), "
                               "reason: Open vSwitch upgrade — campaign ovs-2026-12, in irc:#run, xmpp:" + ROOM)
    assert heard[0].endswith("no ETA yet (no host done)")
    # cycles of 900 s then 1000 s (host 2 began 100 s after host 1 ended): medians 15 and 16 minutes
    eta = {1: r" — ETA \d\d:\d\d UTC \(≈15 min/host\)", 2: r" — ETA \d\d:\d\d UTC \(≈16 min/host\)", 3: ""}
    expected = []
    for number in (1, 2, 3):
        percent_before, percent_after = round(100 * (number - 1) / 3), round(100 * number / 3)
        expected += [rf"\[reboot {number}/3 {percent_before}%\] fsn-node-0{number}: migrating 5 instances off",
                     (rf"\[reboot {number}/3 {percent_before}%\] fsn-node-0{number}: 5 instances migrated off, down, "
                     r"waiting for it to come back \(up to 5m00s\)"),
                     rf"\[reboot {number}/3 {percent_after}%\] fsn-node-0{number} done in 14m00s \(down 2m20s\), "
                     r"5 instances migrated back" + eta[number]]
    assert len(heard) == 11, heard
    for pattern, line in zip(expected, heard[1:10], strict=True):
        assert re.fullmatch(pattern, line), (pattern, line)
    assert heard[10] == ("[reboot] END (PASS) campaign ovs-2026-12 after 49m10s: 3 succeeded, 0 failed, "
                         "0 skipped, 0 untouched")
    room_lines = [message["body"] for message in xmpp if message["type"] == "groupchat"]
    assert room_lines[-len(heard):] == heard  # the room heard the same, line for line


def test_refused_requests_to_the_running_bot_say_nothing_in_the_channel(
        ircd, prosody, certs, secrets, tmp_path, state, irc_people) -> None:
    port = free_port()
    config = campaign_config(tmp_path, ircd, prosody, certs, secrets, port)
    log = tmp_path / "gntbot.log"
    url = f"http://127.0.0.1:{port}/v1/events"
    real = b'{"type": "start", "id": "s1", "campaign": "evil-1", "time": %d, "reason": "x", ' \
                          b'"hosts": ["h1"], "owner": "mallory"}' % int(time.time())

    def post(payload: bytes, secret: bytes = SECRET, stamp: int | None = None) -> int:
        headers = signing.headers(secret, "reboot-script", int(time.time()) if stamp is None else stamp, payload)
        return requests.post(url, data=payload, headers=headers, timeout=5).status_code

    with running_bot(config, log):
        alice = in_channel(irc_people, ircd)
        statuses = [post(real, secret=b"guessed-secret-guessed-secret"), post(real, stamp=int(time.time()) - 900),
                    post(b"[" * 20000), post(b"not json at all"), post(b'{"type": "start"}')]
        assert post(real) == 202  # the real one, once...
        statuses.append(post(real))  # ...and its replay
        heard = bot_lines(alice, 2)
    assert statuses == [401, 401, 413, 400, 400, 409]
    assert len(heard) == 1 and heard[0].startswith("[reboot] START mallory:")
    text = log.read_text()
    assert text.count("intake: refused a request from 127.0.0.1") == 6
    assert SECRET.decode() not in text


def test_a_bot_killed_mid_campaign_resumes_and_the_queued_events_are_told_once(
        ircd, prosody, certs, secrets, tmp_path, state, irc_people) -> None:
    port = free_port()
    config = campaign_config(tmp_path, ircd, prosody, certs, secrets, port)
    sender = client(tmp_path, port)
    began = time.time() - 1800
    first_steps = host_cycle(HOSTS[0], began + 60, minutes=14)
    with running_bot(config, tmp_path / "gntbot-1.log") as bot:
        alice = in_channel(irc_people, ircd)
        for event in (start(HOSTS[:2], began, campaign="kill-1"), _in_campaign(first_steps[0], "kill-1")):
            assert sender.send(event).problem == ""
        before = bot_lines(alice, 2)
        os.killpg(bot.pid, signal.SIGKILL)  # no goodbye: the bot just dies
        bot.wait()
    while_away = [_in_campaign(event, "kill-1") for event in first_steps[1:]]
    for event in while_away:
        report = sender.send(event)
    assert report.problem.startswith("cannot reach") and report.waiting == len(while_away)
    with running_bot(config, tmp_path / "gntbot-2.log"):
        resumed = alice.expect(lambda line: line.command == "PRIVMSG" and line.nick.startswith("runbot")
                               and "resuming" in line.text, 30, "the resume line")
        assert sender.flush().waiting == 0
        assert sender.send(_in_campaign(step(HOSTS[1], "skipped", began + 1100), "kill-1")).problem == ""
        assert sender.send(events.parse({"type": "end", "id": "end-k", "campaign": "kill-1", "time": began + 1200,
                                         "exit_code": 0})).problem == ""
        after = bot_lines(alice, 3)
    assert [line.split("] ", 1)[1] for line in before] == [
        before[0].split("] ", 1)[1], "fsn-node-01: migrating 5 instances off"]
    assert resumed.text == "[reboot 1/2 0%] gntbot restarted: resuming campaign kill-1 at fsn-node-01 (emptying)"
    assert [re.sub(r" — ETA .*", "", line) for line in after] == [
        "[reboot 1/2 50%] fsn-node-01 done in 14m00s (down 2m20s), 5 instances migrated back",
        "[reboot 2/2 100%] fsn-node-02 skipped: no reboot needed",
        "[reboot] END (PASS) campaign kill-1 after 20m00s: 1 succeeded, 0 failed, 1 skipped, 0 untouched",
    ]


def test_a_host_down_too_long_highlights_its_owner_once(
        ircd, prosody, certs, secrets, tmp_path, state, irc_people) -> None:
    port = free_port()
    config = campaign_config(tmp_path, ircd, prosody, certs, secrets, port, down_seconds=1)
    secret = tmp_path / "intake.secret"
    where = ["--url", f"http://127.0.0.1:{port}", "--source", "reboot-script", "--secret-file", str(secret),
             "--queue", str(tmp_path / "queue")]
    with running_bot(config, tmp_path / "gntbot.log"):
        alice = in_channel(irc_people, ircd)
        started = subprocess.run([str(GNTBOT), "announce", "start", *where, "--hosts", ",".join(HOSTS[:2]),
                                  "--reason", "kernel", "--owner", "alice"],
                                 capture_output=True, text=True, timeout=30, check=True)
        campaign = started.stdout.strip()
        subprocess.run([str(GNTBOT), "announce", "host", *where, "--campaign", campaign, HOSTS[0], "down"],
                       timeout=30, check=True)
        heard = bot_lines(alice, 4)
    nudges = [line for line in heard if line.startswith("alice: ")]
    assert nudges, heard
    assert nudges == [f"alice: [reboot 1/2 0%] fsn-node-01 has been down for {nudges[0].split('for ')[1]}"]
    assert re.fullmatch(r"alice: \[reboot 1/2 0%\] fsn-node-01 has been down for \ds, longer than the 1s "
                        r"expected: is it stuck \(disk unlock prompt, console, BIOS\)\?", nudges[0])
