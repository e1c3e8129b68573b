"""Fixtures for the cluster tests: certificates, the fake RAPI, the real lab.

- ``tls`` / ``other_tls``: two independent CAs with a certificate for 127.0.0.1.
- ``fake_rapi``: `fakerapi.FakeRapi` replaying the recorded lab answers.
- ``lab``: the real 3-node Ganeti cluster of ``lab/``, once per session, torn
  down at the end (also when a test fails); skipped only where the machine
  cannot make network namespaces.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import labctl
from bot.ganeti.settings import ClusterSettings
from clusterkit import READER, Tls, make_tls
from fakerapi import FakeRapi, recorded


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    return make_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def other_tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    return make_tls(tmp_path_factory.mktemp("other-tls"))


@pytest.fixture
def fake_rapi(tls: Tls) -> Iterator[FakeRapi]:
    server = FakeRapi(tls.cert_file, tls.key_file, recorded()).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[labctl.Lab]:
    reason = labctl.unavailable()
    if reason:
        pytest.skip(reason)
    cluster = labctl.Lab(tmp_path_factory.mktemp("ganeti-lab"), labctl.free_port())
    try:
        cluster.up()
        yield cluster
    finally:
        cluster.down()


@pytest.fixture(scope="session")
def lab_settings(lab: labctl.Lab) -> ClusterSettings:
    digest = lab.fingerprint().split(":", 1)[1].replace(":", "").lower()
    return ClusterSettings("lab", lab.url, READER, fingerprint=digest, timeout=15, cache_seconds=0)
