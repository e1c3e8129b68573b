"""The gntbot command as people and the evaluation drive it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

GNTBOT = Path(sys.executable).parent / "gntbot"


def gntbot(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(GNTBOT), *args], input=stdin, capture_output=True, text=True, timeout=60)


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


def test_console_reads_commands_from_a_pipe(tmp_path):
    session = gntbot("console", "--index", str(tmp_path / "index"),
                     stdin="!search drbd split brain\n!help search\nhow do i get to the serial console\n")
    assert session.returncode == 0, session.stderr
    out = session.stdout
    assert "1. How-to › Pager playbook › Split brain recovery" in out
    assert "!search QUERY: list the runbook sections that match QUERY" in out
    assert "Tutorial › Accessing serial console" in out


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
    for secret in sorted(set(re.findall(r'^\w+_file = "(/etc/gntbot/[^"]+)"', example, re.M))):
        stand_in = tmp_path / Path(secret).name
        stand_in.write_text("secret\n")
        example = example.replace(f'"{secret}"', f'"{stand_in}"')
    for variable in re.findall(r'^\w+_env = "(\w+)"', example, re.M):
        monkeypatch.setenv(variable, "secret")
    config = tmp_path / "config.toml"
    config.write_text(example)
    checked = gntbot("-c", str(config), "check-config")
    assert checked.returncode == 0, checked.stderr
    assert "OK" in checked.stdout
