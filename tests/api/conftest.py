"""A real server for the API tests: ``boostkg serve`` in a subprocess on a copy of the store the
session's ``boostkg main --no-serve`` loaded, one per test module, stopped at teardown; modules
that only read share one (``served_for_readers``)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import MainLoaded
from tests.endpoint_server import scratch_server


@dataclass(frozen=True)
class Served:
    """A running server: its base URL, its store and what ``boostkg main`` printed when loading it."""

    url: str
    store: Path
    main_output: str

    @property
    def sparql(self) -> str:
        return self.url + "/sparql"

    @property
    def quads(self) -> int:
        """The quad count ``boostkg main`` reported."""
        match = re.search(r"store holds ([\d,]+) quads", self.main_output)
        assert match, self.main_output
        return int(match.group(1).replace(",", ""))

    @property
    def loaded_graphs(self) -> list[str]:
        """The named graphs ``boostkg main`` reported loading or inferring."""
        return re.findall(r"(?:loaded|inferred)\s+[\d,]+ triples into (\S+)", self.main_output)


def _serve(tmp_path_factory: pytest.TempPathFactory, main_loaded: MainLoaded) -> Iterator[Served]:
    base = tmp_path_factory.mktemp("served")
    store = base / "store"
    shutil.copytree(main_loaded.store, store)
    with scratch_server(base, store=store) as scratch:
        yield Served(scratch.url, store, main_loaded.output)


@pytest.fixture(scope="package")
def served_for_readers(tmp_path_factory: pytest.TempPathFactory, main_loaded: MainLoaded) -> Iterator[Served]:
    """One server for the modules whose tests only read (no write, no token): they override
    ``served`` with this one (one start-up instead of one per module)."""
    yield from _serve(tmp_path_factory, main_loaded)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, main_loaded: MainLoaded) -> Iterator[Served]:
    """A server of its own (per module) over a copy of the store the session's real ``boostkg main
    --no-serve`` loaded, started and stopped like every scratch server (tests/endpoint_server.py)."""
    yield from _serve(tmp_path_factory, main_loaded)
