"""The query workers' checkpoints are taken only between write units (boostkg.api.admin)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi import Request as FastAPIRequest

from boostkg.api.admin import committed_snapshots, write_state
from boostkg.config import Settings
from boostkg.store import EmbeddedStore
from boostkg.store.snapshot import SnapshotReader

INSERT = "INSERT DATA { GRAPH <http://example.org/g> { <http://example.org/a> <http://example.org/p> %d } }"


def _count(checkpoint: Path) -> int:
    return SnapshotReader(checkpoint).triple_count()


def test_a_write_in_progress_is_not_seen_and_a_finished_one_is(tmp_path: Path) -> None:
    app = FastAPI()
    app.state.settings = Settings(store=tmp_path / "store")
    store = EmbeddedStore(tmp_path / "store")
    app.state.store = store
    snapshot = committed_snapshots(app, store)
    assert _count(snapshot()) == 0
    lock = write_state(FastAPIRequest({"type": "http", "app": app})).write_lock
    with lock, store.atomic():  # a write unit under way, one of its steps done
        store.update(INSERT % 1)
        during = snapshot()
        assert _count(during) == 0  # the last committed state, not the half-done unit
    after = snapshot()
    assert after != during
    assert _count(after) == 1
    store.close()
