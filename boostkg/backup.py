"""Backup files of a store: write one, check one, restore one.

A backup is one N-Quads file (gzip-compressed when its name ends ``.gz``) that any RDF tool can
read: a comment line saying what it is, every quad of the store (every named graph and the unnamed
default graph, blank-node labels as stored), and a last comment line, the *trailer*, holding a JSON
manifest: the format version, when and by which boostkg it was taken, the quad count of each named
graph (empty ones included), the total, the token register's rows (salted scrypt hashes, never a
secret) and the SHA-256 and line count of everything before the trailer. A file without its
trailer, or whose bytes do not hash to it, is truncated or corrupt and is refused before the store
is touched. Writing streams the store's own N-Quads dump through a hashing writer; restoring
checks the whole file first, then streams it into a fresh database (``EmbeddedStore.replace_dataset``)
and replaces the token register, all inside one write unit of the store.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, cast

from rdflib import URIRef

import boostkg
from boostkg.auth import TokenStore
from boostkg.errors import ConflictError, InputError, InputNotFoundError, Location, StoreError
from boostkg.store import EmbeddedStore, RdfFormat

FORMAT = "boostkg-backup/1"
HEADER = b"# boostkg backup: N-Quads of every graph; the last line is a JSON manifest that checks it\n"
TRAILER = b"# boostkg-manifest "
CHUNK = 1 << 20

Progress = Callable[[int, int], None]
"""Called as work advances with (done, total): quads written, or bytes of the file read."""


@dataclass(frozen=True)
class Manifest:
    """The trailer of a backup file."""

    created: str
    version: str
    quads: int
    graphs: dict[str, int]
    tokens: list[dict[str, str | int | None]] = field(default_factory=list)
    sha256: str = ""
    lines: int = 0

    def to_line(self) -> bytes:
        body = {
            "format": FORMAT,
            "created": self.created,
            "boostkg": self.version,
            "quads": self.quads,
            "graphs": self.graphs,
            "tokens": self.tokens,
            "sha256": self.sha256,
            "lines": self.lines,
        }
        return TRAILER + json.dumps(body, separators=(",", ":"), sort_keys=True).encode("utf-8") + b"\n"

    @classmethod
    def from_line(cls, line: bytes, where: Location) -> Manifest:
        """The manifest of a trailer line.

        Raises:
            InputError: the line is not a boostkg manifest (the file was cut short or is not a backup).
        """
        if not line.startswith(TRAILER) or not line.endswith(b"\n"):
            raise InputError(
                "no manifest at the end: the file is truncated or is not a boostkg backup", where
            )
        try:
            body = json.loads(line[len(TRAILER) :])
            if body.get("format") != FORMAT:
                raise InputError(f"unknown backup format {body.get('format')!r} (expected {FORMAT})", where)
            return cls(
                created=str(body["created"]),
                version=str(body["boostkg"]),
                quads=int(body["quads"]),
                graphs={str(g): int(n) for g, n in body["graphs"].items()},
                tokens=list(body["tokens"]),
                sha256=str(body["sha256"]),
                lines=int(body["lines"]),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InputError(f"the manifest is malformed ({exc})", where) from exc


def is_compressed(path: Path) -> bool:
    return path.name.endswith(".gz")


class _HashingWriter:
    """A write target for the store's dump: hashes and counts lines as the bytes go to ``out``."""

    def __init__(self, out: BinaryIO, total: int, progress: Progress | None) -> None:
        self.out = out
        self.digest = hashlib.sha256()
        self.lines = 0
        self.total = total
        self.progress = progress

    def write(self, chunk: bytes) -> int:
        self.digest.update(chunk)
        self.lines += chunk.count(b"\n")
        self.out.write(chunk)
        if self.progress is not None:
            self.progress(self.lines, self.total)
        return len(chunk)

    def flush(self) -> None:
        self.out.flush()


@contextmanager
def _writing(path: Path) -> Iterator[BinaryIO]:
    """``path`` opened for writing (gzip for ``.gz``), via a ``.part`` file renamed on success."""
    part = path.with_name(path.name + ".part")
    try:
        with part.open("wb") as raw:
            if is_compressed(path):
                with gzip.GzipFile(filename=path.name[:-3], mode="wb", fileobj=raw, compresslevel=6) as gz:
                    yield cast(BinaryIO, gz)
            else:
                yield raw
            raw.flush()
            os.fsync(raw.fileno())
        part.replace(path)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise StoreError(f"cannot write backup {path}: {exc}") from exc
    except BaseException:
        part.unlink(missing_ok=True)
        raise


def write_backup(
    store: EmbeddedStore, tokens: TokenStore, path: Path, *, progress: Progress | None = None
) -> Manifest:
    """Write every quad of ``store`` and every row of ``tokens`` to ``path`` (see the module doc).

    Raises:
        StoreError: the file cannot be written, or the store changed while it was dumped.
    """
    graphs = {str(g.graph): g.triples for g in store.graphs()}
    quads = store.triple_count()
    records = tokens.records()
    with _writing(path) as out:
        writer = _HashingWriter(out, quads, progress)
        writer.write(HEADER)
        store.dump(writer, RdfFormat.NQUADS)  # type: ignore[arg-type]
        written = writer.lines - 1
        if written != quads:
            raise StoreError(f"the store changed while {path} was written ({written:,} quads for {quads:,})")
        manifest = Manifest(
            created=datetime.now(UTC).isoformat(timespec="seconds"),
            version=boostkg.__version__,
            quads=quads,
            graphs=graphs,
            tokens=records,
            sha256=writer.digest.hexdigest(),
            lines=writer.lines,
        )
        out.write(manifest.to_line())
    return manifest


class _Reading:
    """The bytes of a backup file, decompressed if need be; reports how far into the file it is."""

    def __init__(self, path: Path, progress: Progress | None) -> None:
        self.path = path
        self.size = path.stat().st_size
        self.progress = progress
        self.raw = path.open("rb")
        self.stream: BinaryIO = (
            cast(BinaryIO, gzip.GzipFile(fileobj=self.raw, mode="rb")) if is_compressed(path) else self.raw
        )

    def read(self, size: int = -1) -> bytes:
        try:
            data = self.stream.read(size)
        except (OSError, EOFError, zlib.error) as exc:  # gzip: bad header, CRC, cut short
            raise InputError(f"not a readable gzip file ({exc})", Location(str(self.path))) from exc
        if self.progress is not None:
            self.progress(self.raw.tell(), self.size)
        return data

    def close(self) -> None:
        self.stream.close()
        self.raw.close()


def check_backup(path: Path, *, progress: Progress | None = None) -> Manifest:
    """Read the whole of ``path`` and return its manifest if the file is whole.

    Raises:
        InputNotFoundError: no such file.
        InputError: the file is truncated, corrupt or not a boostkg backup (naming it).
    """
    where = Location(str(path))
    if not path.is_file():
        raise InputNotFoundError(path)
    digest = hashlib.sha256()
    lines = 0
    pending = b""  # the last line read so far: the trailer if nothing follows it
    reading = _Reading(path, progress)
    try:
        while chunk := reading.read(CHUNK):
            data = pending + chunk
            cut = data.rfind(b"\n", 0, len(data) - 1) + 1  # keep back the last line, whole or not
            digest.update(data[:cut])
            lines += data.count(b"\n", 0, cut)
            pending = data[cut:]
    finally:
        reading.close()
    manifest = Manifest.from_line(pending, where)
    if lines != manifest.lines or digest.hexdigest() != manifest.sha256:
        raise InputError(
            f"corrupt: {lines:,} lines hashing to {digest.hexdigest()[:12]}… where the manifest says "
            f"{manifest.lines:,} lines hashing to {manifest.sha256[:12]}…",
            where,
        )
    return manifest


def is_empty(store: EmbeddedStore, tokens: TokenStore) -> bool:
    """Whether the store holds no graph, no quad and no token."""
    return not store.graph_names() and not store.ask("ASK { ?s ?p ?o }") and not tokens.records()


def restore_backup(
    store: EmbeddedStore,
    tokens: TokenStore,
    path: Path,
    *,
    force: bool = False,
    progress: Progress | None = None,
) -> Manifest:
    """Make ``store`` and ``tokens`` hold exactly what the backup at ``path`` holds.

    The file is checked whole first; then, in one write unit of the store, its quads replace the
    store's, the counts are compared with the manifest and the token register is replaced. Any
    failure leaves both as they were.

    Raises:
        InputNotFoundError: no such file.
        InputError: the file is truncated, corrupt or not a boostkg backup.
        ConflictError: the store or the register holds something and ``force`` is not set.
        StoreError: the restored store does not match the manifest, or cannot be written.
    """
    manifest = check_backup(path, progress=progress)
    if not force and not is_empty(store, tokens):
        raise ConflictError(
            f"store {store.path} is not empty: restoring {path} would replace everything in it "
            "(use --force to do so)"
        )
    reading = _Reading(path, progress)
    try:
        with store.atomic(label=f"restore {path.name}"):
            store.replace_dataset(
                cast(BinaryIO, reading), name=str(path), graphs=[URIRef(g) for g in manifest.graphs]
            )
            got = {str(g.graph): g.triples for g in store.graphs()}
            if got != manifest.graphs or store.triple_count() != manifest.quads:
                raise StoreError(
                    f"restoring {path} gave other counts than its manifest; the store is unchanged"
                )
            tokens.replace_records(manifest.tokens)
    finally:
        reading.close()
    return manifest
