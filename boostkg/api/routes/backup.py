"""``GET /admin/backup`` and ``POST /admin/restore``: backups of the running server's store and
restores into it, for administrators only.

The answer is the file ``boostkg backup`` writes (N-Quads, the submissions archive, the token rows
and a checking manifest as the last line; see :mod:`boostkg.backup`), streamed from a snapshot taken
between two write units, while submissions and other writes go on. The snapshot is taken before
the response starts, so a failure to take it is a problem-details answer; a failure later cuts the
stream before its manifest, which the client (``boostkg backup FILE --url ... --token ...``) refuses.

A restore (``boostkg restore FILE --url ... --token ...``) receives the backup into a file beside
the store, checks it whole (as ``boostkg restore --check``) before anything is touched, and only
then, under the write lock, replaces the store, the submissions archive and the token register
(:func:`boostkg.backup.restore_backup`, all or nothing). Queries read the last committed state until
the swap and the restored one after it; a query that needs the live database during the swap
itself gets 503 with ``Retry-After``.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope, Send

from boostkg.api.admin import require_admin, write_state
from boostkg.api.deps import get_app_settings
from boostkg.api.routes.submissions import SubmissionState
from boostkg.backup import (
    BACKUP_ROUTE,
    QUADS_HEADER,
    RESTORE_ROUTE,
    Manifest,
    Snapshot,
    check_backup,
    online_snapshot,
    restore_backup,
    write_backup_to,
)
from boostkg.backup.file import check_header
from boostkg.errors import (
    BackupRejectedError,
    BoostKGError,
    InputError,
    PayloadTooLargeError,
    StoreError,
)
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


INCOMING_DIR = "restore-incoming"
"""Beside the store (its parent folder holds the token register): backups being received."""
STALE_INCOMING_S = 24 * 3600.0
"""A received file this old is a leftover of a server that died mid-restore: removed."""
_GZIP_MAGIC = b"\x1f\x8b"


def _incoming(state: SubmissionState) -> Path:
    folder = state.archive.parent / INCOMING_DIR
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.iterdir():
            if time.time() - old.stat().st_mtime > STALE_INCOMING_S:
                old.unlink(missing_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot receive a backup into {folder}: {exc}") from exc
    return folder


async def _receive(request: Request, folder: Path, limit: int) -> Path:
    """The request body in a file of ``folder`` (named ``.nq.gz`` when it is gzip).

    Raises:
        PayloadTooLargeError: the body is (or says it is) larger than ``limit`` bytes.
        InputError: the body is empty.
        StoreError: the file cannot be written.
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLargeError(
            f"the backup is larger than the {limit:,} bytes accepted (BOOSTKG_MAX_RESTORE_BYTES)"
        )
    path = folder / f"restore-{uuid.uuid4().hex[:12]}.nq"
    size = 0
    first = b""
    try:
        with path.open("wb") as out:
            pending = bytearray()
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLargeError(
                        f"the backup is larger than the {limit:,} bytes accepted (BOOSTKG_MAX_RESTORE_BYTES)"
                    )
                if len(first) < 2:
                    first += chunk[:2]
                pending += chunk
                if len(pending) >= BLOCK:
                    await run_in_threadpool(out.write, bytes(pending))
                    pending.clear()
            await run_in_threadpool(out.write, bytes(pending))
        if not size:
            raise InputError("the request has no body: send the backup file (boostkg backup FILE)")
        if first[:2] == _GZIP_MAGIC:
            path = path.rename(path.with_name(path.name + ".gz"))
    except OSError as exc:
        path.unlink(missing_ok=True)
        raise StoreError(f"cannot receive the backup into {folder}: {exc}") from exc
    except ClientDisconnect as exc:
        path.unlink(missing_ok=True)
        log.warning("online restore: the client went away after %d bytes; nothing was changed", size)
        raise InputError(f"the upload was cut short after {size:,} bytes; nothing was changed") from exc
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def _check(path: Path) -> Manifest:
    """The backup's manifest once the whole file agrees with it (``boostkg restore --check``).

    Raises:
        InputError: it is not a boostkg backup at all (400).
        BackupRejectedError: it is one, truncated, tampered with or otherwise corrupt (422).
    """
    check_header(path)
    try:
        return check_backup(path)
    except InputError as exc:
        raise BackupRejectedError(f"the backup was refused, nothing was changed: {exc}") from exc


def _apply(store: EmbeddedStore | RemoteStore, state: SubmissionState, path: Path) -> Manifest:
    """Replace the store, the archive and the token register with the backup's, under the write lock."""
    with state.write_lock:
        try:
            return restore_backup(store, state.tokens, path, archive=state.archive, force=True)
        except InputError as exc:  # passed the check, yet its quads do not parse or count right
            raise BackupRejectedError(f"the backup was refused, nothing was changed: {exc}") from exc


@router.post(
    RESTORE_ROUTE,
    summary="Restore a backup into the running server (administrators only)",
    responses={
        200: {"description": "restored: a summary of what the store now holds"},
        400: {"description": "the body is not a boostkg backup"},
        413: {"description": "the body is larger than BOOSTKG_MAX_RESTORE_BYTES"},
        422: {"description": "a backup that is truncated, tampered with or inconsistent; nothing changed"},
    },
)
async def restore(request: Request) -> JSONResponse:
    """The body is a file written by ``boostkg backup`` (N-Quads, or gzip). It is checked whole
    before anything is touched; then, under the write lock, every graph, the submissions archive and
    the token register are replaced by the backup's, all or nothing. Queries see the old store until
    the swap and the restored one after it (or a 503 with ``Retry-After`` during the swap itself).
    401 without a valid token, 403 for a steward's token."""
    admin = await require_admin(request, "a restore")
    state = write_state(request)
    store = cast(EmbeddedStore | RemoteStore, request.app.state.store)
    limit = get_app_settings(request).max_restore_bytes
    path = await _receive(request, await run_in_threadpool(_incoming, state), limit)
    try:
        checked = await run_in_threadpool(_check, path)
        log.info(
            "online restore for %s (token %s): %s checked, %d quads, taken %s",
            admin.name,
            admin.token_id,
            path.name,
            checked.quads,
            checked.created,
        )
        started = time.monotonic()
        manifest = await run_in_threadpool(_apply, store, state, path)
    finally:
        path.unlink(missing_ok=True)
    seconds = time.monotonic() - started
    log.info("online restore: %d quads in %.1f s", manifest.quads, seconds)
    return JSONResponse(
        {
            "quads": manifest.quads,
            "graphs": len(manifest.graphs),
            "files": len(manifest.files),
            "tokens": len(manifest.tokens),
            "created": manifest.created,
            "seconds": round(seconds, 2),
        },
        headers={"Cache-Control": "no-store"},
    )
