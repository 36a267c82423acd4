"""Backups of a running server: the snapshot the server dumps, and the client that downloads it.

A running server cannot hand its store to another process, so it writes the backup stream itself
(``GET /admin/backup``, :mod:`boostkg.api.routes.backup`) from an :func:`online_snapshot`: a
checkpoint of the database, the token rows and hard links to the archive, all taken under the
server's write lock, between two write units, then dumped while writes go on.
:func:`download_backup` is the client side (``boostkg backup FILE --url ... --token ...``).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

import httpx

from boostkg.auth import TokenStore
from boostkg.backup.file import CHUNK, Checker, Manifest, Progress, Source, check_backup, writing
from boostkg.errors import (
    AuthError,
    BackupRejectedError,
    BoostKGError,
    ForbiddenError,
    InputError,
    Location,
    PayloadTooLargeError,
    StoreError,
    StoreUnavailableError,
)
from boostkg.store import RemoteStore
from boostkg.store.embedded import READERS_DIR
from boostkg.store.snapshot import SnapshotReader

BACKUP_ROUTE = "/admin/backup"
RESTORE_ROUTE = "/admin/restore"
QUADS_HEADER = "X-Boostkg-Quads"
"""The response header of :data:`BACKUP_ROUTE` saying how many quads the stream will hold (progress)."""


class ExclusiveLock(Protocol):
    """The server's write lock as a backup takes it: excluding writes, releasable from any thread."""

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool: ...

    def release(self) -> None: ...


def _link_tree(source: Path, target: Path) -> None:
    """A copy of the folder ``source`` at ``target`` made of hard links (copies across devices)."""
    for path in sorted(source.rglob("*")):
        if path.is_symlink():
            continue
        dest = target / path.relative_to(source)
        if path.is_dir():
            dest.mkdir(parents=True, exist_ok=True)
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, dest)
        except OSError:
            shutil.copy2(path, dest)


class Snapshot:
    """What a backup taken while a server runs reads: a store that no write reaches, the token
    rows and the archive as of one moment between two write units. Close it when done."""

    def __init__(
        self,
        source: Source,
        records: list[dict[str, str | int | None]],
        archive: Path | None,
        cleanup: Callable[[], None],
    ) -> None:
        self.source = source
        self.records = records
        self.archive = archive
        self._cleanup: Callable[[], None] | None = cleanup
        try:
            self.quads = source.triple_count()
            """The quads the backup will hold."""
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Release what the snapshot holds (idempotent)."""
        cleanup, self._cleanup = self._cleanup, None
        if cleanup is not None:
            cleanup()


def online_snapshot(
    store: Source, tokens: TokenStore, archive: Path | None, write_lock: ExclusiveLock
) -> Snapshot:
    """A :class:`Snapshot` of a store a server is writing to. ``write_lock`` is the lock every write
    unit of the server holds (submissions also write their archive folder under it).

    Embedded store: under the lock, a checkpoint of the database (:meth:`EmbeddedStore.reader_snapshot`)
    and the archive are hard-linked into a private folder (the store's readers folder, which the
    next opening clears if the process dies); the lock is released at once and writes go on while
    the snapshot is dumped. Remote store: a server's database cannot be checkpointed from here, so
    the lock is held until the snapshot is closed: this server's writes wait (and are consistent
    with the dump); writes other clients send to the SPARQL server directly are not held back.

    Raises:
        StoreError: the checkpoint could not be made or linked.
    """
    write_lock.acquire()
    if isinstance(store, RemoteStore):
        try:
            records = tokens.records()
        except BaseException:
            write_lock.release()
            raise
        return Snapshot(store, records, archive, write_lock.release)
    private = store.path / READERS_DIR / f"backup-{uuid.uuid4().hex[:12]}"
    try:
        try:
            checkpoint = store.reader_snapshot()
            _link_tree(checkpoint, private / "db")
            if archive is not None and archive.is_dir():
                _link_tree(archive, private / "archive")
        except OSError as exc:
            shutil.rmtree(private, ignore_errors=True)
            raise StoreError(f"cannot snapshot store {store.path} for a backup: {exc}") from exc
        records = tokens.records()
    except BaseException:
        shutil.rmtree(private, ignore_errors=True)
        raise
    finally:
        write_lock.release()
    try:
        reader = SnapshotReader(private / "db")
    except BaseException:
        shutil.rmtree(private, ignore_errors=True)
        raise

    def cleanup() -> None:
        reader.close()
        shutil.rmtree(private, ignore_errors=True)

    return Snapshot(reader, records, private / "archive", cleanup)


_REFUSALS: dict[int, type[BoostKGError]] = {
    400: InputError,
    401: AuthError,
    403: ForbiddenError,
    413: PayloadTooLargeError,
    422: BackupRejectedError,
    503: StoreUnavailableError,
}
"""The error a refusal of the backup or restore route stands for (any other status: StoreError)."""


def _refusal(response: httpx.Response, url: str) -> Exception:
    try:
        detail = str(response.json().get("detail", ""))
    except ValueError:
        detail = response.text[:200]
    message = f"{url} answered {response.status_code}: {detail}"
    return _REFUSALS.get(response.status_code, StoreError)(message)


def download_backup(
    url: str, token: str, path: Path, *, progress: Progress | None = None, timeout_s: float = 600.0
) -> Manifest:
    """Take a backup through the running server at ``url`` (``GET /admin/backup`` with an
    administrator's ``token``) into ``path`` (gzip for ``.gz``), checked as it arrives: a stream
    cut short or corrupt leaves no file.

    Raises:
        AuthError, ForbiddenError: the token is unknown, revoked or not an administrator's.
        StoreUnavailableError: the server cannot be reached or the connection broke.
        InputError: what arrived is not a whole backup.
        StoreError: the server refused otherwise, or the file cannot be written.
    """
    address = url.rstrip("/") + BACKUP_ROUTE
    checker = Checker(Location(address))
    received = 0
    timeout = httpx.Timeout(timeout_s, connect=10.0)
    try:
        with httpx.stream(
            "GET", address, headers={"Authorization": f"Bearer {token}"}, timeout=timeout
        ) as response:
            if response.status_code != 200:
                response.read()
                raise _refusal(response, address)
            quads = response.headers.get(QUADS_HEADER, "")
            total = int(quads) if quads.isdigit() else 0
            with writing(path) as out:
                for chunk in response.iter_bytes(CHUNK):
                    checker.feed(chunk)
                    out.write(chunk)
                    received += len(chunk)
                    if progress is not None:
                        progress(min(checker.lines, total), total)
                return checker.finish()
    except httpx.HTTPError as exc:
        raise StoreUnavailableError(f"backup from {address} failed after {received:,} bytes: {exc}") from exc
    finally:
        checker.close()


def upload_restore(
    url: str, token: str, path: Path, *, progress: Progress | None = None, timeout_s: float = 3600.0
) -> dict[str, object]:
    """Restore the backup at ``path`` into the running server at ``url`` (``POST /admin/restore``
    with an administrator's ``token``), once it is checked here (a file that is not whole is not
    sent). The server checks it again before it touches anything and swaps it in under its write
    lock. Returns the server's summary (``quads``, ``graphs``, ``files``, ``tokens``, ``created``).

    Raises:
        InputNotFoundError: no such file.
        InputError: the file is not whole (checked here), or the server found it malformed (400).
        BackupRejectedError: the server refused the backup as truncated, tampered with or
            inconsistent (422); nothing was changed.
        PayloadTooLargeError: the file is larger than the server accepts (413).
        AuthError, ForbiddenError: the token is unknown, revoked or not an administrator's.
        StoreUnavailableError: the server cannot be reached, the connection broke, or the server
            could not swap the store in now (503); nothing was changed.
        StoreError: the server failed otherwise.
    """
    check_backup(path, progress=progress)
    address = url.rstrip("/") + RESTORE_ROUTE
    size = path.stat().st_size

    def body() -> Iterator[bytes]:
        sent = 0
        with path.open("rb") as source:
            while chunk := source.read(CHUNK):
                sent += len(chunk)
                if progress is not None:
                    progress(sent, size)
                yield chunk

    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/gzip" if path.name.endswith(".gz") else "application/n-quads",
        "Content-Length": str(size),
    }
    try:
        response = httpx.post(
            address, content=body(), headers=headers, timeout=httpx.Timeout(timeout_s, connect=10.0)
        )
    except httpx.HTTPError as exc:
        raise StoreUnavailableError(
            f"restore through {address} failed: {exc}; the server restores all or nothing, "
            "check its state with a backup before trying again"
        ) from exc
    if response.status_code != 200:
        raise _refusal(response, address)
    try:
        return dict(response.json())
    except ValueError as exc:
        raise StoreError(f"{address} answered 200 without its JSON summary") from exc
