"""Keeps the store's fan-out bounds current, so that cheap joins are answered without a worker.

The planner (:mod:`boostkg.store.planner`) proves that a query cannot run long from per-predicate
fan-out bounds measured on a checkpoint of the store (a few seconds per million quads, in a child
process: :mod:`boostkg.store.measure`). They hold for one write generation: after a write, queries
that are not bounded lookups go to the killable workers again until the bounds are measured anew,
which this task does once the store has been quiet for a moment (so a burst of submissions costs one
measurement, not one per submission) and for ten times as long as the last measurement took (so
on a big store that takes writes all the time, measuring costs at most a tenth of a core, and
joins go to the workers more of the time).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from pathlib import Path
from typing import Protocol

from boostkg.errors import StoreError
from boostkg.store import EmbeddedStore
from boostkg.store.planner import DEGREE_QUERIES, Degrees, degrees_from_rows
from boostkg.store.workers import WORKER_SCRIPT

log = logging.getLogger(__name__)

QUIET_S = 2.0
"""How long the store must go without a write before its bounds are measured."""
POLL_S = 0.5
MEASURE_SCRIPT = WORKER_SCRIPT.with_name("measure.py")
"""The measuring script, run by path like the query worker (boostkg/store/measure.py)."""
MEASURING_SHARE = 10.0
"""After a measurement that took t seconds, the next waits until the store has been quiet 10 t."""


class Lock(Protocol):
    """The app's write lock, as far as this task uses it."""

    def acquire(self, blocking: bool = ..., timeout: float = ...) -> bool: ...

    def release(self) -> None: ...


async def keep_degrees(store: EmbeddedStore, write_lock: Lock, quiet_s: float = QUIET_S) -> None:
    """Run until cancelled: measure the bounds whenever they are stale and the store is quiet. The
    checkpoint they are measured on is taken under ``write_lock`` (no write, and so no database
    swap, can run at that moment); the measuring runs in a thread on that checkpoint."""
    seen = store.generation
    since = time.monotonic()
    last_cost = 0.0
    while True:
        await asyncio.sleep(POLL_S)
        if store.current_degrees() is not None:
            continue
        if store.generation != seen:
            seen, since = store.generation, time.monotonic()
            continue
        # quiet for a moment, and for ten times the last measurement's cost (a few seconds per
        # million quads): measuring never takes more than a tenth of a core however often writes come
        wait = max(quiet_s, MEASURING_SHARE * last_cost)
        if time.monotonic() - since < wait or not write_lock.acquire(blocking=False):
            continue
        started = time.monotonic()
        try:
            try:
                generation, checkpoint = store.degrees_checkpoint()
            finally:
                write_lock.release()
            degrees = await _measure_in_child(checkpoint, generation)
        except (StoreError, OSError) as exc:  # a full disk, a closed store: try again later
            log.warning("could not measure the store's fan-out bounds: %s", exc)
            since = time.monotonic()
            continue
        last_cost = time.monotonic() - started
        if store.keep_degrees(degrees):
            log.info("fan-out bounds measured in %.1f s (generation %d)", last_cost, generation)


async def _measure_in_child(checkpoint: Path, generation: int) -> Degrees:
    """The bounds measured by the script :mod:`boostkg.store.measure` in a child process (its
    memory goes back to the system when it ends; see that module); killed if the server stops
    meanwhile.

    Raises:
        StoreError: the child failed (its last words are in the message).
    """
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        str(MEASURE_SCRIPT),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    request = json.dumps({"checkpoint": str(checkpoint), "queries": DEGREE_QUERIES}).encode()
    try:
        out, err = await child.communicate(request)
    except asyncio.CancelledError:
        child.kill()
        await child.wait()
        raise
    if child.returncode != 0:
        tail = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no message"]
        raise StoreError(f"measuring the fan-out bounds failed (exit {child.returncode}): {tail[0]}")
    try:
        return degrees_from_rows(generation, json.loads(out))
    except (ValueError, KeyError) as exc:
        raise StoreError(f"measuring the fan-out bounds gave no usable answer: {exc}") from exc
