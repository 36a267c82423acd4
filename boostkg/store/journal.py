"""All-or-nothing write units for an on-disk store: a snapshot plus a marker file.

Before a unit of writes starts, the database is checkpointed into ``snapshot/`` (hard links, so it
costs milliseconds, not a copy) and a marker file ``WRITING`` is written and synced. The marker is
removed only after the writes are flushed: that removal is the commit point. Whoever opens the
store next and finds the marker knows a writer died mid-unit, and puts the snapshot back in place
of the database. A snapshot without a marker is a leftover of a committed unit and is deleted.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

DB_DIR = "db"
SNAPSHOT_DIR = "snapshot"
MARKER = "WRITING"


@dataclass(frozen=True)
class Layout:
    """The files of one store directory."""

    root: Path

    @property
    def db(self) -> Path:
        return self.root / DB_DIR

    @property
    def snapshot(self) -> Path:
        return self.root / SNAPSHOT_DIR

    @property
    def marker(self) -> Path:
        return self.root / MARKER


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def begin(layout: Layout, checkpoint: Callable[[Path], None], *, label: str) -> None:
    """Snapshot the database and write the marker; from now on a crash rolls back to here."""
    if layout.snapshot.exists():
        shutil.rmtree(layout.snapshot)
    checkpoint(layout.snapshot)
    tmp = layout.root / (MARKER + ".tmp")
    tmp.write_text(json.dumps({"pid": os.getpid(), "started": time.time(), "label": label}))
    with tmp.open("rb") as fh:
        os.fsync(fh.fileno())
    tmp.replace(layout.marker)
    _fsync_dir(layout.root)


def abandon(layout: Layout) -> None:
    """Undo a :func:`begin` that failed before its marker was in place (e.g. a full disk): the
    database was not touched, so the partial snapshot and marker file are simply removed."""
    (layout.root / (MARKER + ".tmp")).unlink(missing_ok=True)
    layout.marker.unlink(missing_ok=True)
    shutil.rmtree(layout.snapshot, ignore_errors=True)


def commit(layout: Layout) -> None:
    """Remove the marker (the commit point), then the snapshot. Call after flushing the writes."""
    layout.marker.unlink()
    _fsync_dir(layout.root)
    shutil.rmtree(layout.snapshot, ignore_errors=True)


def roll_back(layout: Layout) -> None:
    """Put the snapshot in place of the database. The database must not be open."""
    broken = layout.root / (DB_DIR + ".rolled-back")
    shutil.rmtree(broken, ignore_errors=True)
    if layout.db.exists():
        layout.db.rename(broken)
    layout.snapshot.rename(layout.db)
    _fsync_dir(layout.root)
    layout.marker.unlink()
    _fsync_dir(layout.root)
    shutil.rmtree(broken, ignore_errors=True)


def recover(layout: Layout) -> str | None:
    """Before opening: finish or undo whatever a dead writer left. Returns what was done, if anything."""
    if layout.marker.exists():
        label = "an interrupted write"
        with contextlib.suppress(OSError, ValueError):
            label = json.loads(layout.marker.read_text()).get("label", label)
        if layout.snapshot.exists():
            roll_back(layout)
            return f"rolled back {label}"
        # The marker is written only after the snapshot is complete, so this means the snapshot
        # was removed by hand; the marker alone tells us nothing to undo.
        layout.marker.unlink()
        return None
    if layout.snapshot.exists():
        shutil.rmtree(layout.snapshot, ignore_errors=True)
    return None
