"""One scratch server (empty store, admin token) for the W3C protocol and graph store suites."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.endpoint_server import Scratch, scratch_server


@pytest.fixture(scope="package")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scratch]:
    with scratch_server(tmp_path_factory.mktemp("w3c")) as server:
        yield server
