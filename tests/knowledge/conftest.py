"""Small runbook trees for knowledge tests."""

from __future__ import annotations

from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
SHIPPED = PROJECT / "runbooks"
CORPUS = PROJECT.parent / "shared" / "corpus"


@pytest.fixture
def runbooks(tmp_path: Path) -> Path:
    root = tmp_path / "runbooks"
    (root / "howto").mkdir(parents=True)
    (root / "howto" / "drbd.md").write_text(
        "# DRBD\n\n## Split brain recovery\n\nPick the victim node and discard its data.\n\n"
        "```\ndrbdadm secondary r0\ndrbdadm connect --discard-my-data r0\n```\n"
    )
    (root / "howto" / "ganeti.md").write_text(
        "# Ganeti\n\n## Rebalancing a cluster\n\nAfter reboots, spread the instances again.\n\n"
        "```\nhbal -L -C -v -p\n```\n\n## Node failure\n\nFail the instances over to their secondaries.\n"
    )
    return root


# The fuzz suite's worst parse time per strategy, printed after the run.
FUZZ_WORST = pytest.StashKey[dict[str, tuple[float, int]]]()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    for strategy, (seconds, size) in sorted(config.stash.get(FUZZ_WORST, {}).items()):
        terminalreporter.write_line(
            f"markdown fuzz, {strategy} input: worst parse {seconds * 1000:.1f} ms of CPU ({size} characters)")
