"""Fixtures for the action tests: a certificate for the fake RAPI, the fake RAPI, a background loop,
and a read-only view of the real lab."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from actionkit import LabView
from chat.harness import Loop
from clusterkit import Tls, make_tls
from fakerapi import FakeRapi, recorded


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    return make_tls(tmp_path_factory.mktemp("actions-tls"))


@pytest.fixture(scope="session")
def loop() -> Iterator[Loop]:
    background = Loop()
    yield background
    background.close()


@pytest.fixture
def server(tls: Tls) -> Iterator[FakeRapi]:
    """A fake RAPI that answers as the lab did (fault injection only)."""
    fake = FakeRapi(tls.cert_file, tls.key_file, recorded()).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def view(action_lab) -> LabView:
    """What the real lab holds now, read over RAPI (the lab tests' own eyes)."""
    return LabView(action_lab)
