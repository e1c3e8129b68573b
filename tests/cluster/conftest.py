"""Fixtures for the cluster tests: certificates, the fake RAPI, the real lab.

- ``tls`` / ``other_tls``: two independent CAs with a certificate for 127.0.0.1.
- ``fake_rapi``: `fakerapi.FakeRapi` replaying the recorded lab answers;
  ``healthy``: another one, for a second cluster that keeps working.
- ``lab`` and ``lab_settings`` (in ``tests/conftest.py``, shared with the chat
  tests): the real 3-node Ganeti cluster of ``lab/``, once per session.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from clusterkit import Tls, make_tls
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


@pytest.fixture
def healthy(tls: Tls) -> Iterator[FakeRapi]:
    server = FakeRapi(tls.cert_file, tls.key_file, recorded()).start()
    yield server
    server.stop()
