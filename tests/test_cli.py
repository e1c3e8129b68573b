"""The gntbot command as people and the evaluation drive it."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT

SCRATCH = Path("/tmp")


def gntbot(*args: str, stdin: str | None = None, cwd: Path = SCRATCH) -> subprocess.CompletedProcess:
    """``gntbot ARGS`` from this checkout, run from another directory, with a state
    directory of its own (the default index goes there)."""
    return subprocess.run([sys.executable, "-m", "bot", *args], input=stdin, check=False, capture_output=True, text=True,
                          timeout=60, cwd=cwd, env=_environment(cwd))


def _environment(cwd: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in ("GNTBOT_CONFIG", "STATE_DIRECTORY")}
    return {**env, "PYTHONPATH": str(PROJECT_ROOT), "XDG_STATE_HOME": str(cwd / "state")}


@pytest.fixture
def books(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "books"
    (root / "ops").mkdir(parents=True)
    (root / "ops" / "ganeti.md").write_text(
        "# Ganeti\n\n## Rebalancing a cluster\n\nSpread instances evenly again with hbal.\n\n"
        "```\nhbal -L -C -v -p\n```\n\n## Node failure\n\nFail the instances over.\n"
    )
    (root / "ops" / "drbd.mdwn").write_text("DRBD\n====\n\n### Split brain\n\nDiscard the victim's data.\n")
    return root, tmp_path / "index"


def test_index_then_search_json_is_the_machine_interface(books):
    root, index = books
    built = gntbot("index", "--runbooks", str(root), "--index", str(index))
    assert built.returncode == 0, built.stderr
    assert "3 added" not in built.stdout and "2 added" in built.stdout

    found = gntbot("search", "--runbooks", str(root), "--index", str(index), "--json", "--limit", "2",
                   "how do i rebalance the cluster")
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)
    assert len(hits) <= 2
    assert hits[0]["file"] == "ops/ganeti.md"
    assert hits[0]["heading"] == "Rebalancing a cluster"
    assert hits[0]["anchor"] == "rebalancing-a-cluster"
    assert isinstance(hits[0]["score"], float)

    setext = json.loads(gntbot("search", "--runbooks", str(root), "--index", str(index), "--json",
                               "drbd split brain").stdout)
    assert (setext[0]["file"], setext[0]["heading"]) == ("ops/drbd.mdwn", "Split brain")


def test_search_json_prints_an_empty_array_when_abstaining(books):
    root, index = books
    found = gntbot("search", "--runbooks", str(root), "--index", str(index), "--json",
                   "configure ceph rbd mirroring with quorum")
    assert found.returncode == 0
    assert json.loads(found.stdout) == []


def test_ask_prints_what_the_channel_would_see_on_the_shipped_runbooks(tmp_path):
    asked = gntbot("ask", "--index", str(tmp_path / "index"), "how do I rebalance the cluster")
    assert asked.returncode == 0, asked.stderr
    lines = asked.stdout.splitlines()
    assert lines[0].startswith("How-to › Rebalancing a cluster — ganeti/cluster-operations.md#rebalancing-a-cluster")
    assert any("hbal -L -C -v -p" in line for line in lines)
    assert lines[-1].endswith("more lines: !more)")


def test_ask_on_a_terminal_prints_the_whole_answer_and_lines_cuts_it(tmp_path):
    """Nobody can type !more to gntbot ask: a terminal gets everything."""
    def on_a_terminal(*args: str) -> list[str]:
        main, terminal = pty.openpty()
        with subprocess.Popen([sys.executable, "-m", "bot", *args], stdout=terminal, stderr=subprocess.PIPE,
                              cwd=tmp_path, env=_environment(tmp_path)) as process:
            os.close(terminal)
            output = b""
            while chunk := _read(main):
                output += chunk
            assert process.wait(60) == 0, process.stderr.read() if process.stderr else ""
        os.close(main)
        return output.decode().splitlines()

    whole = on_a_terminal("ask", "how do I rebalance the cluster")
    assert len(whole) > 5 and not any("!more" in line for line in whole)
    assert whole[-1].startswith("  ")  # the last command line of the procedure, not a pointer to more

    cut = gntbot("ask", "--lines", "2", "how do I rebalance the cluster", cwd=tmp_path).stdout.splitlines()
    assert cut[:2] == whole[:2]
    assert cut[2] == f"({len(whole) - 2} more lines: --lines {len(whole)} shows all)"


def _read(descriptor: int) -> bytes:
    try:
        return os.read(descriptor, 65536)
    except OSError:  # EIO: the other side of the terminal closed
        return b""


def test_version_and_exit_codes(tmp_path):
    version = gntbot("--version")
    assert (version.returncode, version.stdout.strip()) == (0, "gntbot 0.1.0")
    empty = gntbot("ask", "")
    assert empty.returncode == 2 and "is empty" in empty.stderr and empty.stdout == ""
    for limit in ("0", "-3"):
        refused = gntbot("search", "--limit", limit, "drbd")
        assert refused.returncode == 2 and "--limit: must be at least 1" in refused.stderr
    assert "exit status: 0 done; 1 failed" in gntbot("--help").stdout


@pytest.mark.parametrize("command, options", [
    ("index", ["--runbooks", "--index", "--config"]),
    ("search", ["--json", "--limit", "--runbooks", "--index"]),
    ("ask", ["--lines", "--runbooks", "--index", "--config"]),
    ("console", ["--runbooks", "--index"]),
    ("check-config", ["--config", "--verbose"]),
    ("run", ["--config"]),
    ("status", ["--json", "--config"]),
])
def test_each_command_help_lists_its_options(command, options):
    shown = gntbot(command, "--help")
    assert shown.returncode == 0
    assert all(option in shown.stdout for option in options), shown.stdout


def test_config_is_accepted_before_and_after_the_command(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text("[bot]\nprefx = '!'\n")
    for args in (("-c", str(config), "check-config"), ("check-config", "-c", str(config))):
        checked = gntbot(*args)
        assert checked.returncode == 2 and "bot.prefx: unknown key" in checked.stderr


def test_console_reads_commands_from_a_pipe(tmp_path):
    session = gntbot("console", "--index", str(tmp_path / "index"),
                     stdin="!search drbd split brain\n!help search\nhow do i get to the serial console\n")
    assert session.returncode == 0, session.stderr
    out = session.stdout
    assert "1. How-to › Pager playbook › Split brain recovery" in out
    assert "!search QUERY: list the runbook sections that match QUERY" in out
    assert "Tutorial › Accessing serial console" in out


def test_the_default_index_goes_to_the_state_directory_not_the_working_directory(tmp_path):
    asked = gntbot("ask", "how do I rebalance the cluster", cwd=tmp_path)
    assert asked.returncode == 0, asked.stderr
    assert (tmp_path / "state" / "gntbot" / "index").is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state"]
    assert not (PROJECT_ROOT / "bot" / "index").exists()


def test_bad_configuration_is_reported_with_file_and_key(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text("[bot]\nprefix = ''\n")
    checked = gntbot("-c", str(config), "check-config")
    assert checked.returncode == 2
    assert "bot.prefix" in checked.stderr and str(config) in checked.stderr


def test_the_example_configuration_is_valid(tmp_path, monkeypatch):
    """config.example.toml documents every key: it must pass check-config as it
    stands, once its machine-specific paths and secrets exist."""
    example = (Path(__file__).resolve().parents[1] / "config.example.toml").read_text()
    (tmp_path / "wiki").mkdir()
    example = example.replace('"/srv/wiki"', f'"{tmp_path / "wiki"}"')
    for secret in sorted(set(re.findall(r'^\w+_file = "(/etc/gntbot/[^"]+)"', example, re.MULTILINE))):
        stand_in = tmp_path / Path(secret).name
        stand_in.write_text("stand-in-secret-0123456789\n")  # long enough for any secret
        example = example.replace(f'"{secret}"', f'"{stand_in}"')
    for variable in re.findall(r'^\w+_env = "(\w+)"', example, re.MULTILINE):
        monkeypatch.setenv(variable, "secret")
    config = tmp_path / "config.toml"
    config.write_text(example)
    checked = gntbot("-c", str(config), "check-config")
    assert checked.returncode == 0, checked.stderr
    assert "OK" in checked.stdout


@pytest.mark.parametrize("name, text", [
    ("not-utf8", b"[bot]\nname = 'caf\xe9'\n"),
    ("shared-realm", (b"[irc.a]\nserver = 'a.example.org'\nlogin = 'none'\n"
                     b"[irc.b]\nserver = 'b.example.org'\nlogin = 'none'\n")),
    ("index-is-a-file", b"[knowledge]\nindex = 'config.toml'\n[irc.a]\nserver = 'a.example.org'\nlogin = 'none'\n"),
    ("no-network", b"[bot]\nname = 'gntbot'\n"),
    ("line-break-in-realname", (b"[irc.a]\nserver = 'a.example.org'\nlogin = 'none'\n"
                               b'realname = "r\\r\\nJOIN #injected"\n')),
], ids=lambda value: value if isinstance(value, str) else "")
def test_check_config_refuses_exactly_what_run_refuses_without_a_traceback(tmp_path, name, text):
    config = tmp_path / "config.toml"
    config.write_bytes(text)
    checked, ran = gntbot("check-config", "-c", str(config)), gntbot("run", "-c", str(config))
    assert (checked.returncode, ran.returncode) == (2, 2)
    assert checked.stderr == ran.stderr and checked.stderr.startswith(f"gntbot: {config}")
    assert "Traceback" not in checked.stderr + ran.stderr


def test_check_config_prints_a_name_with_a_line_break_escaped_and_once(tmp_path):
    config = tmp_path / "config.toml"
    config.write_bytes(b"[irc.a]\nserver = 'a.example.org'\nlogin = 'none'\n"
                       b'[people]\n"al\\r\\nice" = ["irc:alice"]\n')
    checked = gntbot("check-config", "-c", str(config))
    assert checked.returncode == 2
    assert "\r" not in checked.stderr and len(checked.stderr.splitlines()) == 1, checked.stderr
    assert "people.'al\\r\\nice': this name holds a line break" in checked.stderr
