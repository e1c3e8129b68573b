"""Fixtures shared by several test folders.

The real Ganeti lab is expensive (about 40 s to build), so it is started at
most once per session, for the cluster tests and for the chat test that asks
cluster questions over real IRC and XMPP servers.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "cluster"))

import labctl
from clusterkit import READER

from bot.ganeti.settings import ClusterSettings


@pytest.fixture(scope="session", autouse=True)
def private_state_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every gntbot the suite starts keeps its state in a folder of the session,
    never in the state directory of whoever runs the tests (a newer schema left
    there by another checkout makes the bot refuse to start)."""
    home = tmp_path_factory.mktemp("state-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_STATE_HOME", str(home))
        patch.delenv("STATE_DIRECTORY", raising=False)
        yield home


@pytest.fixture(scope="session")
def three_topics(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A runbook folder of three short sections (log rotation, quotas, snapshots before
    reboots): a question about all of them finds at most two of its five words in any one
    section (the bot answers it as the closest section), one about log rotation its own."""
    runbooks = tmp_path_factory.mktemp("three-topics")
    (runbooks / "ops.md").write_text(
        "# Ops\n\n## Rotating logs\n\nKeep a weekly logrotate schedule for the daemon logs.\n\n"
        "## Quotas\n\nQuotas are per project.\n\n## Snapshots\n\nSnapshots are taken nightly before reboots.\n")
    return runbooks


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[labctl.Lab]:
    """The 3-node lab of tests/cluster/lab, torn down at the end (also when a
    test fails); skipped only where the machine cannot make network namespaces."""
    yield from _lab_up(tmp_path_factory, "ganeti-lab")


def _lab_up(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[labctl.Lab]:
    reason = labctl.unavailable()
    if reason:
        pytest.skip(reason)
    cluster = labctl.Lab(tmp_path_factory.mktemp(name), labctl.free_port())
    try:
        cluster.up()
        yield cluster
    finally:
        cluster.down()


@pytest.fixture(scope="session")
def lab_settings(lab: labctl.Lab) -> ClusterSettings:
    digest = lab.fingerprint().split(":", 1)[1].replace(":", "").lower()
    return ClusterSettings("lab", lab.url, READER, fingerprint=digest, timeout=15, cache_seconds=0)


@pytest.fixture(scope="session")
def action_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[labctl.Lab]:
    """A lab of its own for the tests that act on a cluster: they move instances
    and stop node daemons, while the read tests expect the layout up.sh makes.

    ``GNTBOT_ACTION_LAB=STATE:PORT`` uses a lab left running by ``labctl.py up
    --state STATE --port PORT`` instead (and leaves it running), to iterate quickly.
    """
    reused = os.environ.get("GNTBOT_ACTION_LAB")
    if reused:
        state, _, port = reused.rpartition(":")
        yield labctl.Lab(Path(state), int(port))
    else:
        yield from _lab_up(tmp_path_factory, "action-lab")
