"""Fixtures for the action tests: a certificate for the fake RAPI, a background loop."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from chat.harness import Loop
from clusterkit import Tls, make_tls


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    return make_tls(tmp_path_factory.mktemp("actions-tls"))


@pytest.fixture(scope="session")
def loop() -> Iterator[Loop]:
    background = Loop()
    yield background
    background.close()
