"""A store with the real CORDIS graph for the analysis tests (built once per session, ~1.5 min),
and a real ``boostkg serve`` on a copy of it."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from boostkg.analysis.projection import Projection, project
from boostkg.store import open_store

BOOSTKG = Path(sys.executable).with_name("boostkg")


def boostkg_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOSTKG_")}
    env.update(COLUMNS="200", NO_COLOR="1", TERM="dumb")
    return env


def run_boostkg(
    *args: str, cwd: Path | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BOOSTKG), *args], cwd=cwd, env=boostkg_env(), capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="session")
def cordis_projection(cordis_store: Path) -> Projection:
    kg = open_store(cordis_store)
    try:
        return project(kg)
    finally:
        kg.close()


@pytest.fixture
def writable_store(cordis_store: Path, tmp_path: Path) -> Path:
    """A copy of the CORDIS store a test may write to."""
    copy = tmp_path / "store"
    shutil.copytree(cordis_store, copy)
    return copy


@pytest.fixture(scope="module")
def server(cordis_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``boostkg serve`` on a copy of the CORDIS store; yields its base URL."""
    copy = tmp_path_factory.mktemp("served-cordis") / "store"
    shutil.copytree(cordis_store, copy)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [str(BOOSTKG), "serve", "--store", str(copy), "--port", str(port)],
        env=boostkg_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"server did not start: {proc.stderr.read() if proc.stderr else b''!r}")
        time.sleep(0.3)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
