"""``gntbot reboot-log``: the team's script unchanged, its log turned into announcements.

The script here is a stand-in written in the shape of the real one: its
``-v`` messages (bare, on stderr), the output of the commands it runs (on
stdout), a prompt without a newline, and its exit status.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from bot.campaigns.events import HostStep, Kind, Mode
from bot.campaigns.logwrapper import LogReader, configured, script_options

from .kit import SECRET, SETTINGS, with_bot

GNTBOT = Path(sys.executable).parent / "gntbot"

REBOOT = textwrap.dedent('''\
    #!/usr/bin/env python3
    """A stand-in for the team's reboot script: the same messages, no reboot."""
    import sys, time
    hosts = sys.argv[sys.argv.index("-H") + 1].split(",")
    log = lambda text: print(text, file=sys.stderr, flush=True)
    for number, host in enumerate(hosts):
        log(f"checking if host {host} needs a reboot")
        if host.startswith("skip"):
            log("no reboot required")
            log(f"host {host} does not need a reboot, skipping")
            continue
        log("reboot required: ['kernel']")
        log("current kernel: 6.1.0-17-amd64, expected: 6.1.0-18-amd64")
        if number:
            log(f"sleeping 1 seconds before rebooting {host}")
        log(f"rebooting host {host}")
        log(f"checking for ganeti master on host {host}")
        log("ganeti node detected with master fsn-node-01.torproject.org")
        log(f"ganeti node detected, migrating 2 instances from {host}: web-01.torproject.org db-01.torproject.org")
        print("Migrating instance web-01.torproject.org", flush=True)
        print("All instances migrated successfully.", flush=True)
        log(f'running shutdown -r +0 "kernel upgrade" on {host}')
        log("host shutting down, waiting up to 30 seconds for confirmation, at 2026-12-01 10:00:30 (now is ...)")
        log("host down, waiting 300 seconds for host to go up, at 2026-12-01 10:05:30 (now is ...)")
        time.sleep(0.2)
        if host.startswith("bad"):
            log(f"host {host} did not return after 300 seconds, aborting")
            log(f"rebooting host {host} failed, aborting")
            sys.stdout.write("pay attention to your cryptographic token and press enter")
            sys.stdout.flush()
            sys.exit(3)
        log(f"host {host} seems back online, checking uptime")
        log(f"host {host} rebooted")
        log("migrating back 2 instances")
        log(f"done with host {host}")
        print("\\a", flush=True)
''')


def script(tmp_path: Path) -> Path:
    path = tmp_path / "reboot"
    path.write_text(REBOOT)
    path.chmod(0o755)
    return path


def test_the_script_runs_unchanged_and_its_log_is_announced(tmp_path):
    reboot = script(tmp_path)
    secret = tmp_path / "secret"
    secret.write_text(SECRET.decode())
    args = ["-v", "--ganeti-migrate-back", "--reason", "kernel upgrade", "-H", "fsn-node-02,skip-03,bad-04"]
    alone = subprocess.run([str(reboot), *args], check=False, capture_output=True, timeout=30)
    runs = {}

    def body(url: str, heard: list[str], intake: object) -> None:
        runs["wrapped"] = subprocess.run(
            [str(GNTBOT), "reboot-log", "--url", url, "--source", "reboot-script", "--secret-file", str(secret),
             "--queue", str(tmp_path / "queue"), "--owner", "anarcat", "--", str(reboot), *args],
            check=False, capture_output=True, timeout=60)

    # stdout and stderr are two pipes, read side by side: a host's steps may come in out of
    # order, and the hold lets its line say all of them.
    heard = with_bot(tmp_path, body, settings=replace(SETTINGS, hold_seconds=1.0))
    wrapped = runs["wrapped"]
    assert wrapped.returncode == alone.returncode == 3
    assert wrapped.stdout == alone.stdout  # byte for byte, the prompt without its newline included
    assert wrapped.stdout.endswith(b"press enter")
    assert wrapped.stderr.endswith(alone.stderr) and wrapped.stderr.startswith(b"gntbot: announcing campaign ")
    assert heard[0].startswith("[reboot] START anarcat: reboot of 3 hosts (instances migrated off and back), "
                               "reason: kernel upgrade — campaign ")
    tails = [line.split("] ", 1)[1] for line in heard[1:-1]]
    finished = [tail for tail in tails if re.match(r"\S+ (done in|skipped|FAILED)", tail)]
    assert [re.sub(r" — ETA .*", "", tail) for tail in finished] == [
        "fsn-node-02 done in 0s (down 0s), 2 instances migrated back", "skip-03 skipped: no reboot needed",
        "bad-04 FAILED: did not come back in time"]
    for host in ("fsn-node-02", "skip-03", "bad-04"):  # coalesced: at most three lines a host
        assert 1 <= sum(tail.startswith(host) for tail in tails) <= 3
    assert heard[-1].startswith("[reboot] END (FAIL) campaign ") and heard[-1].endswith(
        ": 1 succeeded, 1 failed, 1 skipped, 0 untouched; failed: bad-04 (did not come back in time); "
        "the tooling exited with status 3")


def test_a_recorded_log_with_timestamps_gives_its_own_times_and_configured_phrases_come_first():
    hosts = ["chi-node-01.torproject.org", "chi-node-02.torproject.org"]
    reader = LogReader("c-1", hosts, configured([("up", r"^node (?P<host>\S+) answers ssh again$")]))
    log = """\
2026-12-01 10:00:00,120 checking if host chi-node-01.torproject.org needs a reboot
2026-12-01 10:00:02,000 reboot required: ['kernel', 'ganeti.service']
2026-12-01 10:00:03,500 ganeti node detected, migrating 3 instances from chi-node-01.torproject.org: a b c
2026-12-01 10:02:00,000 host down, waiting 300 seconds for host to go up, at ...
2026-12-01 10:03:10,000 server waiting for crypto password, sleeping 30 seconds for mandos
2026-12-01 10:04:00,000 node chi-node-01 answers ssh again
2026-12-01 10:06:00,000 done with host chi-node-01.torproject.org
this line is about nothing the bot knows
"""
    steps = [event for event in map(reader.feed, log.splitlines()) if event is not None]
    assert [(e.host, str(e.step)) for e in steps if isinstance(e, HostStep)] == [
        (hosts[0], "need-check"), (hosts[0], "emptying"), (hosts[0], "down"), (hosts[0], "waiting-unlock"),
        (hosts[0], "up"), (hosts[0], "done")]
    assert steps[0].needed is True and steps[0].detail == "['kernel', 'ganeti.service']"
    assert steps[1].count == 3 and steps[1].instances == ("a", "b", "c")
    assert steps[-1].time - steps[0].time == 358.0


def test_the_script_command_line_says_hosts_reason_kind_and_mode():
    options = script_options(["./reboot", "-v", "-H", "a.example.org,b.example.org", "c.example.org",
                              "--kind", "-c", "--reason=qemu flagged", "--skip-ganeti-empty", "--delay-up", "600"])
    assert options.hosts == ("a.example.org", "b.example.org", "c.example.org")
    assert (options.kind, options.mode, options.reason, options.delay_up) == (
        Kind.CANCEL, Mode.WITH_INSTANCES, "qemu flagged", 600.0)


def test_a_saved_log_on_stdin_is_announced(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text(SECRET.decode())
    yesterday = datetime.fromtimestamp(time.time() - 86400, UTC).strftime("%Y-%m-%d")
    log = "\n".join(line.replace("2026-12-01", yesterday) for line in [
        "2026-12-01 10:00:00 checking if host gnt-a.example.org needs a reboot",
        "2026-12-01 10:00:01 reboot required: ['kernel']",
        "2026-12-01 10:00:02 rebooting host gnt-a.example.org",
        "2026-12-01 10:03:00 host gnt-a.example.org rebooted",
        "2026-12-01 10:04:00 done with host gnt-a.example.org",
    ]) + "\n"
    runs = {}

    def body(url: str, heard: list[str], intake: object) -> None:
        runs["read"] = subprocess.run(
            [str(GNTBOT), "reboot-log", "--url", url, "--source", "reboot-script", "--secret-file", str(secret),
             "--queue", str(tmp_path / "queue"), "--hosts", "gnt-a.example.org,gnt-b.example.org",
             "--id", "saved-log-1", "--kind", "reboot"], input=log.encode(), check=False, capture_output=True, timeout=60)

    heard = with_bot(tmp_path, body)
    assert runs["read"].returncode == 0 and runs["read"].stdout == b"", runs["read"].stderr
    assert heard[1:3] == ["[reboot 1/2 0%] gnt-a back up",
                          "[reboot 1/2 50%] gnt-a done in 3m59s — ETA " + heard[2].split("ETA ")[-1]]
    assert heard[3:] == [("[reboot] END (FAIL) campaign saved-log-1 after 3m59s: 1 succeeded, 0 failed, 0 skipped, "
                         "1 untouched")]  # the log's own times, from its first event to its last
