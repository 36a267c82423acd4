"""Keeps the store's fan-out bounds current, so that cheap joins are answered without a worker.

The planner (:mod:`boostkg.store.planner`) proves that a query cannot run long from per-predicate
fan-out bounds measured on the store (:meth:`~boostkg.store.embedded.EmbeddedStore.refresh_degrees`,
a few seconds per million quads). They hold for one write generation: after a write, queries that
are not bounded lookups go to the killable workers again until the bounds are measured anew, which
this task does once the store has been quiet for a moment (so a burst of submissions costs one
measurement, not one per submission).
"""

from __future__ import annotations

import asyncio
import logging
import time

from boostkg.errors import StoreError
from boostkg.store import EmbeddedStore

log = logging.getLogger(__name__)

QUIET_S = 2.0
"""How long the store must go without a write before its bounds are measured."""
POLL_S = 0.5


async def keep_degrees(store: EmbeddedStore, quiet_s: float = QUIET_S) -> None:
    """Run until cancelled: measure the bounds whenever they are stale and the store is quiet."""
    seen = store.generation
    since = time.monotonic()
    while True:
        await asyncio.sleep(POLL_S)
        if store.current_degrees() is not None:
            continue
        if store.generation != seen:
            seen, since = store.generation, time.monotonic()
            continue
        if time.monotonic() - since < quiet_s:
            continue
        started = time.monotonic()
        try:
            kept = await asyncio.to_thread(store.refresh_degrees)
        except (StoreError, OSError) as exc:  # a closed store or a full disk: try again later
            log.warning("could not measure the store's fan-out bounds: %s", exc)
            since = time.monotonic()
            continue
        if kept:
            log.info("fan-out bounds measured in %.1f s (generation %d)", time.monotonic() - started, seen)
