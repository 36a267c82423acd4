"""Store-test fixtures: SPARQL servers on 127.0.0.1, started once per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.store.servers import Server, oxigraph_server, virtuoso_server


@pytest.fixture(scope="session")
def oxigraph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """An Oxigraph server (``oxigraph serve --union-default-graph``) with its data in a temp folder."""
    yield from oxigraph_server(tmp_path_factory.mktemp("oxigraph"))


@pytest.fixture(scope="session")
def virtuoso(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A Virtuoso Open Source server (``scripts/virtuoso-server.sh``) with its database in a temp folder."""
    yield from virtuoso_server(tmp_path_factory.mktemp("virtuoso"))
