"""A real server for the API tests: ``boostkg serve`` in a subprocess on a copy of the store the
session's ``boostkg main --no-serve`` loaded, one per test module, stopped at teardown."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import MainLoaded
from tests.endpoint_server import cli_env, free_port

BOOSTKG = Path(sys.executable).with_name("boostkg")
STARTUP_S = 60.0


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


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, main_loaded: MainLoaded) -> Iterator[Served]:
    """A server of its own (per module) over a copy of the store the session's real ``boostkg main
    --no-serve`` loaded."""
    base = tmp_path_factory.mktemp("served")
    store = base / "store"
    shutil.copytree(main_loaded.store, store)

    port = free_port()
    log_path = base / "serve.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [str(BOOSTKG), "serve", "--store", str(store), "--host", "127.0.0.1", "--port", str(port)],
            cwd=base,
            env=cli_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + STARTUP_S
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"boostkg serve exited with {proc.returncode}:\n{log_path.read_text()}")
                try:
                    if httpx.get(url + "/health", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"boostkg serve did not answer /health in {STARTUP_S:.0f} s:\n{log_path.read_text()}"
                    )
                time.sleep(0.1)
            yield Served(url, store, main_loaded.output)
        finally:
            _stop(proc)
