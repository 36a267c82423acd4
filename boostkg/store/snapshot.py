"""Read-only access to a checkpoint of the store (:meth:`EmbeddedStore.reader_snapshot`), for
processes other than the writer: the lookup processes of ``boostkg serve --processes N``."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pyoxigraph as ox

from boostkg.errors import StoreError
from boostkg.store import journal, planner
from boostkg.store.embedded import EmbeddedStore, degrees_file_name

_DEGREES_RECHECK_S = 0.5


class SnapshotReader(EmbeddedStore):
    """An :class:`EmbeddedStore` over a database checkpoint opened read-only: its query methods
    (``select``, ``ask``, ``query_small`` ...) work, every write fails. The checkpoint is immutable
    (hard links to the writer's files at one generation), so what it answers never changes."""

    def __init__(self, checkpoint: Path) -> None:  # no super().__init__: no journal, no lock
        self.path = checkpoint
        self._layout = journal.Layout(checkpoint)
        self.recovered = None
        try:
            self._store = ox.Store.read_only(str(checkpoint))
        except OSError as exc:
            raise StoreError(f"cannot open the store checkpoint {checkpoint}: {exc}") from exc
        self._depth = 0
        self.generation = 0
        self._readers = []
        self.degrees = None
        name = checkpoint.name  # g<generation>-<n>-<id>, as the writer names its checkpoints
        head = name.split("-", 1)[0]
        self._degrees_file = (
            checkpoint.parent / degrees_file_name(int(head[1:])) if head[1:].isdigit() else None
        )
        self._degrees_checked = 0.0

    def current_degrees(self) -> planner.Degrees | None:
        """The fan-out bounds the writer measured at this checkpoint's generation, once it has
        (looked for at most every half second until found)."""
        if self.degrees is not None or self._degrees_file is None:
            return self.degrees
        now = time.monotonic()
        if now - self._degrees_checked < _DEGREES_RECHECK_S:
            return None
        self._degrees_checked = now
        try:
            data = json.loads(self._degrees_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        self.degrees = planner.Degrees.from_json(data)
        return self.degrees

    def close(self) -> None:
        self._store = None
