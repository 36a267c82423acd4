"""Backups of a store: one self-checking N-Quads file with every graph, the token register and the
submissions archive; written from the store (:mod:`~boostkg.backup.file`), from a running server
while it takes writes (:mod:`~boostkg.backup.online`), checked, and restored
(:mod:`~boostkg.backup.restore`)."""

from boostkg.backup.file import (
    DATA_LINE,
    FILE_LINE,
    TRAILER,
    ArchivedFile,
    Manifest,
    check_backup,
    write_backup,
    write_backup_to,
)
from boostkg.backup.online import (
    BACKUP_ROUTE,
    QUADS_HEADER,
    RESTORE_ROUTE,
    ExclusiveLock,
    Snapshot,
    download_backup,
    online_snapshot,
    upload_restore,
)
from boostkg.backup.restore import is_empty, restore_backup

__all__ = [
    "BACKUP_ROUTE",
    "DATA_LINE",
    "FILE_LINE",
    "QUADS_HEADER",
    "RESTORE_ROUTE",
    "TRAILER",
    "ArchivedFile",
    "ExclusiveLock",
    "Manifest",
    "Snapshot",
    "check_backup",
    "download_backup",
    "is_empty",
    "online_snapshot",
    "restore_backup",
    "upload_restore",
    "write_backup",
    "write_backup_to",
]
