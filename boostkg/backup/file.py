"""The backup file: its format, writing one from a store, checking one as it is read.

A backup is one N-Quads file (gzip-compressed when its name ends ``.gz``) that any RDF tool can
read: a comment line saying what it is, every quad of the store (every named graph and the unnamed
default graph, blank-node labels as stored), then the submissions archive (the files stewards sent
and their reports, each as a ``# boostkg-file`` comment line naming it followed by ``# boostkg-data``
comment lines of base64), and a last comment line, the *trailer*, holding a JSON manifest: the
format version, when and by which boostkg it was taken, the quad count of each named graph (empty
ones included), the total, the token register's rows (salted scrypt hashes, never a secret), each
archive file's path, size and SHA-256, and the SHA-256 and line count of everything before the
trailer. A file without its trailer, whose bytes do not hash to it or whose archive files do not
hash to their entries is truncated or corrupt and is refused before the store is touched. Writing
streams the store's own N-Quads dump through a hashing writer; checking reads the bytes as they
come (from a file or the network) and compares them with the trailer at the end.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import hashlib
import json
import os
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import BinaryIO, cast

import boostkg
from boostkg.auth import TokenStore
from boostkg.errors import InputError, InputNotFoundError, Location, StoreError
from boostkg.store import EmbeddedStore, RdfFormat, RemoteStore

FORMAT = "boostkg-backup/1"
HEADER = b"# boostkg backup: N-Quads of every graph; the last line is a JSON manifest that checks it\n"
TRAILER = b"# boostkg-manifest "
FILE_LINE = b"# boostkg-file "
DATA_LINE = b"# boostkg-data "
MARK = b"# boostkg-"
CHUNK = 1 << 20
DATA_BYTES = 48 * 1024
"""Bytes of an archive file per ``# boostkg-data`` line (64 KiB of base64)."""

Progress = Callable[[int, int], None]
"""Called as work advances with (done, total): quads written, or bytes of the file read."""

Source = EmbeddedStore | RemoteStore


@dataclass(frozen=True)
class ArchivedFile:
    """One file of the submissions archive as the manifest lists it."""

    path: str
    """Relative to the archive folder, '/'-separated (``<submission id>/source``)."""
    size: int
    sha256: str

    def to_json(self) -> dict[str, str | int]:
        return {"path": self.path, "size": self.size, "sha256": self.sha256}


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
    files: list[ArchivedFile] = field(default_factory=list)

    def to_line(self) -> bytes:
        body = {
            "format": FORMAT,
            "created": self.created,
            "boostkg": self.version,
            "quads": self.quads,
            "graphs": self.graphs,
            "tokens": self.tokens,
            "files": [f.to_json() for f in self.files],
            "sha256": self.sha256,
            "lines": self.lines,
        }
        return TRAILER + json.dumps(body, separators=(",", ":"), sort_keys=True).encode("utf-8") + b"\n"

    @classmethod
    def from_line(cls, line: bytes, where: Location) -> Manifest:
        """The manifest of a trailer line (a backup without ``files`` predates the archive: none).

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
                files=[
                    ArchivedFile(str(f["path"]), int(f["size"]), str(f["sha256"]))
                    for f in body.get("files", [])
                ],
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InputError(f"the manifest is malformed ({exc})", where) from exc


def is_compressed(path: Path) -> bool:
    return path.name.endswith(".gz")


class HashingWriter:
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
def writing(path: Path) -> Iterator[BinaryIO]:
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


def archive_files(archive: Path | None) -> list[str]:
    """The regular files under ``archive`` as '/'-separated relative paths, sorted (none if absent)."""
    if archive is None or not archive.is_dir():
        return []
    return sorted(
        p.relative_to(archive).as_posix() for p in archive.rglob("*") if p.is_file() and not p.is_symlink()
    )


def write_files(writer: HashingWriter, archive: Path | None) -> list[ArchivedFile]:
    written = []
    for rel in archive_files(archive):
        assert archive is not None
        digest = hashlib.sha256()
        size = 0
        try:
            with (archive / rel).open("rb") as source:
                writer.write(FILE_LINE + json.dumps({"path": rel}).encode("utf-8") + b"\n")
                while block := source.read(DATA_BYTES):
                    digest.update(block)
                    size += len(block)
                    writer.write(DATA_LINE + base64.b64encode(block) + b"\n")
        except OSError as exc:
            raise StoreError(f"cannot read the archived file {archive / rel}: {exc}") from exc
        written.append(ArchivedFile(rel, size, digest.hexdigest()))
    return written


def safe_relative(text: str, where: Location) -> PurePosixPath:
    """``text`` as a relative path that stays inside the folder it is joined to.

    Raises:
        InputError: an absolute path, an empty one or one with ``..`` (a crafted file).
    """
    rel = PurePosixPath(text)
    if not text or rel.is_absolute() or "\\" in text or any(part in ("", ".", "..") for part in rel.parts):
        raise InputError(f"archive file name {text!r} is not a plain relative path", where)
    return rel


def write_backup_to(
    out: BinaryIO,
    store: Source,
    records: list[dict[str, str | int | None]],
    *,
    archive: Path | None = None,
    name: str = "the backup",
    progress: Progress | None = None,
) -> Manifest:
    """Write a whole backup (see the module doc) of ``store``, the token rows ``records`` and the
    files under ``archive`` to ``out``.

    Raises:
        StoreError: the store changed while it was dumped (take the backup from a snapshot, or with
            writes stopped), an archived file cannot be read, or the dump failed.
    """
    graphs = {str(g.graph): g.triples for g in store.graphs()}
    quads = store.triple_count()
    writer = HashingWriter(out, quads, progress)
    writer.write(HEADER)
    store.dump(writer, RdfFormat.NQUADS)  # type: ignore[arg-type]
    written = writer.lines - 1
    if written != quads:
        raise StoreError(f"the store changed while {name} was written ({written:,} quads for {quads:,})")
    files = write_files(writer, archive)
    manifest = Manifest(
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        version=boostkg.__version__,
        quads=quads,
        graphs=graphs,
        tokens=records,
        sha256=writer.digest.hexdigest(),
        lines=writer.lines,
        files=files,
    )
    out.write(manifest.to_line())
    return manifest


def write_backup(
    store: Source,
    tokens: TokenStore,
    path: Path,
    *,
    archive: Path | None = None,
    progress: Progress | None = None,
) -> Manifest:
    """Write every quad of ``store``, every row of ``tokens`` and every file under ``archive`` (the
    submissions archive) to ``path``; the store must not be written meanwhile (the CLI has it to
    itself; a running server uses :func:`online_snapshot`).

    Raises:
        StoreError: the file cannot be written, or the store changed while it was dumped.
    """
    with writing(path) as out:
        return write_backup_to(
            out, store, tokens.records(), archive=archive, name=str(path), progress=progress
        )


class Checker:
    """Reads a backup's bytes as they come (from a file or the network): hashes and counts its
    lines, hashes each archive file (writing it under ``extract_to`` if given) and, at the end,
    compares everything with the trailer."""

    def __init__(self, where: Location, extract_to: Path | None = None) -> None:
        self.where = where
        self.extract_to = extract_to
        self.digest = hashlib.sha256()
        self.lines = 0
        self.pending = b""  # the last line read so far: the trailer if nothing follows it
        self.found: dict[str, tuple[int, hashlib._Hash]] = {}
        self.current: str | None = None
        self.out: BinaryIO | None = None

    def feed(self, chunk: bytes) -> None:
        data = self.pending + chunk
        cut = data.rfind(b"\n", 0, len(data) - 1) + 1  # keep back the last line, whole or not
        body = data[:cut]
        self.digest.update(body)
        if MARK in body:
            self._scan_files(body)
        self.lines += body.count(b"\n")
        self.pending = data[cut:]

    def _scan_files(self, body: bytes) -> None:
        for number, line in enumerate(body.split(b"\n")[:-1], start=self.lines + 1):
            if line.startswith(DATA_LINE):
                if self.current is None:
                    raise InputError("archive data before any file line", self._at(number))
                try:
                    block = base64.b64decode(line[len(DATA_LINE) :], validate=True)
                except binascii.Error as exc:
                    raise InputError(
                        f"archive file {self.current}: malformed base64 ({exc})", self._at(number)
                    ) from exc
                size, digest = self.found[self.current]
                digest.update(block)
                self.found[self.current] = (size + len(block), digest)
                if self.out is not None:
                    self.out.write(block)
            elif line.startswith(FILE_LINE):
                self._start_file(line, number)

    def _at(self, line: int) -> Location:
        return Location(self.where.source, line=line)

    def _start_file(self, line: bytes, number: int) -> None:
        self._end_file()
        try:
            text = str(json.loads(line[len(FILE_LINE) :])["path"])
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"malformed archive file line ({exc})", self._at(number)) from exc
        rel = safe_relative(text, self._at(number))
        if text in self.found:
            raise InputError(f"archive file {text} appears twice", self._at(number))
        self.current = text
        self.found[text] = (0, hashlib.sha256())
        if self.extract_to is not None:
            target = self.extract_to.joinpath(*rel.parts)
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                self.out = target.open("wb")
            except OSError as exc:
                raise StoreError(f"cannot write {target}: {exc}") from exc

    def _end_file(self) -> None:
        if self.out is not None:
            self.out.close()
            self.out = None
        self.current = None

    def finish(self) -> Manifest:
        """The manifest, once everything read agrees with it.

        Raises:
            InputError: the trailer is missing or malformed, an archive file is missing, extra or
                does not hash to its entry (naming it), or the bytes do not hash to the trailer.
        """
        self._end_file()
        manifest = Manifest.from_line(self.pending, self.where)
        listed = {f.path: f for f in manifest.files}
        for path, entry in listed.items():
            if path not in self.found:
                raise InputError(f"archive file {path} is listed in the manifest but missing", self.where)
            size, digest = self.found[path]
            if size != entry.size or digest.hexdigest() != entry.sha256:
                raise InputError(
                    f"archive file {path} is corrupt: {size:,} bytes hashing to {digest.hexdigest()[:12]}… "
                    f"where the manifest says {entry.size:,} bytes hashing to {entry.sha256[:12]}…",
                    self.where,
                )
        extra = sorted(set(self.found) - set(listed))
        if extra:
            raise InputError(f"archive file {extra[0]} is not in the manifest", self.where)
        if self.lines != manifest.lines or self.digest.hexdigest() != manifest.sha256:
            raise InputError(
                f"corrupt: {self.lines:,} lines hashing to {self.digest.hexdigest()[:12]}… where the "
                f"manifest says {manifest.lines:,} lines hashing to {manifest.sha256[:12]}…",
                self.where,
            )
        return manifest

    def close(self) -> None:
        self._end_file()


class Reading:
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


def check_file(path: Path, progress: Progress | None, extract_to: Path | None) -> Manifest:
    if not path.is_file():
        raise InputNotFoundError(path)
    checker = Checker(Location(str(path)), extract_to)
    reading = Reading(path, progress)
    try:
        while chunk := reading.read(CHUNK):
            checker.feed(chunk)
        return checker.finish()
    finally:
        checker.close()
        reading.close()


def check_header(path: Path) -> None:
    """Whether ``path`` starts as a boostkg backup does (its first line), decompressed if need be.

    Raises:
        InputError: it does not (it is some other file, or not gzip though named ``.gz``).
    """
    reading = Reading(path, None)
    try:
        start = reading.read(len(HEADER))
    finally:
        reading.close()
    if start != HEADER:
        raise InputError(
            f"not a boostkg backup: its first line is not {HEADER.decode().strip()!r}", Location(str(path))
        )


def check_backup(path: Path, *, progress: Progress | None = None) -> Manifest:
    """Read the whole of ``path`` and return its manifest if the file is whole.

    Raises:
        InputNotFoundError: no such file.
        InputError: the file is truncated, corrupt or not a boostkg backup, or one of its archive
            files is corrupt (naming the backup and that file).
    """
    return check_file(path, progress, None)
