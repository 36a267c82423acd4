"""``GET /admin/backup``: a backup of the running server's store, for administrators only.

The answer is the file ``boostkg backup`` writes (N-Quads, the submissions archive, the token rows
and a checking manifest as the last line; see :mod:`boostkg.backup`), streamed from a snapshot taken
between two write units, while submissions and other writes go on. The snapshot is taken before
the response starts, so a failure to take it is a problem-details answer; a failure later cuts the
stream before its manifest, which the client (``boostkg backup FILE --url ... --token ...``) refuses.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import cast

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from boostkg.api.admin import require_admin, write_state
from boostkg.backup import BACKUP_ROUTE, QUADS_HEADER, Snapshot, online_snapshot, write_backup_to
from boostkg.errors import BoostKGError
from boostkg.store import EmbeddedStore, RemoteStore

router = APIRouter()
log = logging.getLogger(__name__)

BLOCK = 256 * 1024
"""Bytes per streamed block."""
QUEUED_BLOCKS = 16
"""Blocks written ahead of a slow client (4 MiB); the dump then waits for it."""
STALL_S = 120.0
"""A client that reads nothing for this long is given up: the dump stops, the snapshot is freed."""
_END = b""


class _AbandonedError(Exception):
    """The client went away or stopped reading: the dump stops."""


class _Pipe:
    """Bytes written by the dump (in its own thread) handed to the response in blocks of
    :data:`BLOCK`, at most :data:`QUEUED_BLOCKS` ahead of the client."""

    def __init__(self) -> None:
        self.blocks: queue.Queue[bytes] = queue.Queue(QUEUED_BLOCKS)
        self.buffer = bytearray()
        self.gone = threading.Event()
        """Set when the response is over (sent, or the client went away): the dump stops."""

    def write(self, data: bytes) -> int:
        self.buffer += data
        if len(self.buffer) >= BLOCK:
            self._put(bytes(self.buffer))
            self.buffer.clear()
        return len(data)

    def flush(self) -> None:
        """Blocks go out when full; the rest with :meth:`finish`."""

    def _put(self, block: bytes) -> None:
        waited = 0.0
        while not self.gone.is_set():
            try:
                self.blocks.put(block, timeout=1.0)
                return
            except queue.Full:
                waited += 1.0
                if waited >= STALL_S:
                    self.gone.set()
        raise _AbandonedError

    def finish(self) -> None:
        """Send what is still buffered (the end of a whole backup)."""
        if self.buffer:
            self._put(bytes(self.buffer))
            self.buffer.clear()

    def end(self) -> None:
        """Mark the end of the stream (whole or cut short); never raises."""
        with contextlib.suppress(_AbandonedError):
            self._put(_END)

    def __iter__(self) -> Iterator[bytes]:
        while (block := self.blocks.get()) != _END:
            yield block


class _BackupResponse(StreamingResponse):
    """Streams a pipe and, however the response ends (sent, client gone, server stopping), tells
    the dump to stop: a client that disconnects frees the snapshot (and, on a remote store, the
    write lock) at once instead of after :data:`STALL_S`."""

    def __init__(self, pipe: _Pipe, headers: dict[str, str]) -> None:
        super().__init__(iter(pipe), media_type="application/n-quads", headers=headers)
        self.pipe = pipe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.pipe.gone.set()


def _dump(snapshot: Snapshot, pipe: _Pipe) -> None:
    try:
        manifest = write_backup_to(
            pipe,  # type: ignore[arg-type]
            snapshot.source,
            snapshot.records,
            archive=snapshot.archive,
            name="the online backup",
        )
        pipe.finish()
        log.info("online backup: %d quads, %d archive files", manifest.quads, len(manifest.files))
    except _AbandonedError:
        log.warning("online backup abandoned: the client went away or stopped reading")
    except BoostKGError as exc:  # the stream ends without its manifest: the client refuses it
        log.error("online backup failed: %s", exc)
    finally:
        snapshot.close()
        pipe.end()


@router.get(
    BACKUP_ROUTE,
    summary="A backup of the store, taken while the server runs (administrators only)",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/n-quads": {}}}},
)
async def backup(request: Request) -> _BackupResponse:
    """Every quad, the submissions archive and the token register (hashes only) as of one moment
    between two writes, in the format of ``boostkg backup``. 401 without a valid token, 403 for a
    steward's token."""
    admin = await require_admin(request, "a backup")
    state = write_state(request)
    store = cast(EmbeddedStore | RemoteStore, request.app.state.store)
    snapshot = await run_in_threadpool(online_snapshot, store, state.tokens, state.archive, state.write_lock)
    pipe = _Pipe()
    log.info("online backup for %s (token %s): %d quads", admin.name, admin.token_id, snapshot.quads)
    threading.Thread(target=_dump, args=(snapshot, pipe), name="online-backup", daemon=True).start()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return _BackupResponse(
        pipe,
        headers={
            "Content-Disposition": f'attachment; filename="boostkg-{stamp}.nq"',
            "Cache-Control": "no-store",
            QUADS_HEADER: str(snapshot.quads),
        },
    )
