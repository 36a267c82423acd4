"""One scratch server for the whole security package (attacks and fuzzing): a server start costs
about 5 s of CPU on the shared machine, and no test here depends on another's absence."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.endpoint_server import Scratch, scratch_server


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scratch]:
    with scratch_server(tmp_path_factory.mktemp("security"), {"BOOSTKG_QUERY_TIMEOUT_S": "5"}) as running:
        yield running
