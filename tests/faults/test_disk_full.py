"""A full disk under a small store: a size-limited tmpfs (``mount -t tmpfs -o size=...``) holds a
copy of the main job's store, and a load or a submission bigger than the space left fails with a
clean error (a one-line CLI error, an HTTP 507 problem), leaving the store intact and usable.

Mounting needs root (CAP_SYS_ADMIN). Where the mount is refused the tests skip, saying why (the
skip shows in the run's summary; on this project's build machine the mount works)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from rdflib import URIRef

from boostkg.api.app import create_app
from boostkg.auth import TokenStore, token_store_path
from boostkg.config import Settings
from boostkg.namespaces import BASE
from boostkg.store import open_store
from boostkg.store.journal import MARKER, SNAPSHOT_DIR
from tests.api.test_submissions import actors
from tests.cli_in_process import boostkg_in_process
from tests.conftest import MainLoaded
from tests.faults.state import store_state

SIZE_MB = 20
"""The small disk: the main job's store takes ~8 MB of it."""
GRAPH = URIRef(f"{BASE}graph/disk-filler")


def _mount(target: Path) -> None:
    target.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SIZE_MB}m,mode=0700", "tmpfs", str(target)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode == 0:
        return
    message = (
        f"cannot make a size-limited directory: `mount -t tmpfs` as uid {os.geteuid()} exited with "
        f"{done.returncode}: {done.stderr.strip()}"
    )
    # A skip, also under CI: whether a container may mount is the runner's policy, not something
    # the project's set-up can install; the skip and its reason show in the run's summary.
    pytest.skip(message)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs of SIZE_MB megabytes, unmounted afterwards."""
    disk = tmp_path / "disk"
    _mount(disk)
    try:
        yield disk
    finally:
        subprocess.run(["umount", "--lazy", str(disk)], capture_output=True, check=False)


@pytest.fixture
def small_store(small_disk: Path, main_loaded: MainLoaded) -> Path:
    """A copy of the main job's store on the small disk."""
    store = small_disk / "store"
    shutil.copytree(main_loaded.store, store)
    return store


def _big_ntriples(path: Path, triples: int) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for i in range(triples):
            fh.write(
                f'<https://example.org/s{i // 7}> <https://example.org/p{i % 7}> "filler {i}, padded" .\n'
            )


def _free_bytes(path: Path) -> int:
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


@pytest.mark.slow
def test_a_load_bigger_than_the_disk_is_a_one_line_error_and_the_store_is_intact(
    small_store: Path, tmp_path: Path
) -> None:
    with open_store(small_store) as kg:
        before = store_state(kg)
    big = tmp_path / "big.nt"  # outside the small disk
    _big_ntriples(big, 600_000)
    assert big.stat().st_size > _free_bytes(small_store)

    failed = boostkg_in_process("load", big, "--graph", GRAPH, "--store", small_store, cwd=tmp_path)
    assert failed.returncode == 1
    lines = failed.stderr.strip().splitlines()
    assert len(lines) == 1, failed.stderr  # one line, no traceback
    assert lines[0].startswith("error: store ")
    assert "the disk is full" in lines[0]
    assert "No space left on device" in lines[0]
    assert not (small_store / MARKER).exists()
    assert not (small_store / SNAPSHOT_DIR).exists()

    with open_store(small_store) as kg:
        assert kg.recovered is None  # rolled back by the failing process itself
        assert store_state(kg) == before
        assert kg.ask("ASK { ?s a ?type }")
    small = tmp_path / "small.nt"
    _big_ntriples(small, 1_000)
    loaded = boostkg_in_process("load", small, "--graph", GRAPH, "--store", small_store, cwd=tmp_path)
    assert loaded.returncode == 0, loaded.stderr
    with open_store(small_store) as kg:
        assert kg.triple_count(GRAPH) == 1_000


@pytest.mark.slow
@pytest.mark.parametrize(
    ("room", "where"),
    [(64 * 1024, "submissions"), (1024 * 1024, "db")],
    ids=["archive-full", "database-full"],
)
def test_a_submission_on_a_full_disk_is_a_507_and_the_store_is_intact(
    small_store: Path, room: int, where: str
) -> None:
    """``room``: bytes left on the disk; ``where``: the folder the write fails in (the request's
    archive beside the store, written first; or the database, once the archive fits)."""
    settings = Settings(store=small_store, query_workers=1, metrics=False)
    token, _ = TokenStore(token_store_path(small_store)).create(
        steward="Radu", organisation=f"{BASE}id/organisation/nwrda", region="RO11"
    )
    headers = {"Content-Type": "text/turtle", "Authorization": f"Bearer {token}"}
    data = actors("full", 300)  # 3,300 triples
    ballast = small_store.parent / "ballast"
    with TestClient(create_app(settings)) as client:
        store = client.app.state.store  # type: ignore[attr-defined]
        before = store_state(store)
        with ballast.open("wb") as fh:  # leave the store less room than the submission needs
            fh.write(b"\0" * max(0, _free_bytes(small_store) - room))
        full = client.post("/submissions", content=data, headers=headers)
        assert full.status_code == 507, full.text
        assert full.headers["content-type"].startswith("application/problem+json")
        problem = full.json()
        assert problem["type"].endswith("/insufficient-storage")
        assert "the disk is full" in problem["detail"]
        assert f"{small_store}/{where}/" in problem["detail"]  # names the place it failed
        assert store_state(store) == before  # nothing of it, no record
        assert client.get("/submissions").json()["count"] == 0

        ballast.unlink()  # space freed: the same server accepts it
        accepted = client.post("/submissions", content=data, headers=headers)
        assert accepted.status_code == 201, accepted.text
        assert accepted.json()["triples"] == 300 * 11


@pytest.mark.slow
def test_a_write_on_a_disk_with_no_room_left_fails_cleanly_before_touching_the_store(
    small_store: Path, tmp_path: Path
) -> None:
    with open_store(small_store) as kg:
        before = store_state(kg)
    small = tmp_path / "small.nt"
    _big_ntriples(small, 1_000)
    ballast = small_store.parent / "ballast"
    with ballast.open("wb") as fh:
        fh.write(b"\0" * _free_bytes(small_store))
    assert _free_bytes(small_store) == 0

    failed = boostkg_in_process("load", small, "--graph", GRAPH, "--store", small_store, cwd=tmp_path)
    assert failed.returncode == 1
    lines = failed.stderr.strip().splitlines()
    assert len(lines) == 1, failed.stderr
    assert lines[0].startswith(f"error: cannot open store {small_store}: the disk is full")
    assert not (small_store / MARKER).exists()
    assert not (small_store / SNAPSHOT_DIR).exists()

    ballast.unlink()
    with open_store(small_store) as kg:
        assert store_state(kg) == before
    loaded = boostkg_in_process("load", small, "--graph", GRAPH, "--store", small_store, cwd=tmp_path)
    assert loaded.returncode == 0, loaded.stderr
