"""Read-only access to a checkpoint of the store (:meth:`EmbeddedStore.reader_snapshot`), for
processes other than the writer: the lookup processes of ``boostkg serve --processes N``."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox

from boostkg.errors import StoreError
from boostkg.store import journal
from boostkg.store.embedded import EmbeddedStore


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

    def close(self) -> None:
        self._store = None
