"""Restoring a backup file into a store, its token register and its submissions archive.

The file is checked whole first (its archive extracted to a staging folder); then, inside one
write unit of the store, the quads go into a fresh database (``EmbeddedStore.replace_dataset``; a
remote store gets each graph by the Graph Store Protocol), the counts are compared with the
manifest, the archive folder is swapped in and the token register replaced.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, cast

from rdflib import URIRef

from boostkg.auth import TokenStore
from boostkg.backup.file import Manifest, Progress, Reading, Source, archive_files, check_file
from boostkg.errors import BackupRejectedError, ConflictError, StoreError
from boostkg.store import EmbeddedStore, RdfFormat, RemoteStore, open_store


def is_empty(store: Source, tokens: TokenStore, archive: Path | None = None) -> bool:
    """Whether the store holds no graph, no quad and no token, and the archive no file."""
    return (
        not store.graph_names()
        and not store.ask("ASK { ?s ?p ?o }")
        and not tokens.records()
        and not archive_files(archive)
    )


def _replace_remote(store: RemoteStore, path: Path, manifest: Manifest) -> None:
    """Make the remote store's named graphs those of the backup: the file is loaded into a scratch
    embedded store first (it parses the N-Quads), then each graph goes up by the Graph Store
    Protocol and graphs the backup does not hold are dropped, in the caller's unit. Empty graphs are
    not kept (SPARQL servers drop them); blank nodes get the server's labels."""
    with tempfile.TemporaryDirectory(prefix="boostkg-restore-") as scratch:
        local = open_store(Path(scratch) / "store")
        try:
            reading = Reading(path, None)
            try:
                local.replace_dataset(cast(BinaryIO, reading), name=str(path))
            finally:
                reading.close()
            named = sum(g.triples for g in local.graphs())
            if local.triple_count() != named:
                raise StoreError(
                    f"{path} holds {local.triple_count() - named:,} quads in the unnamed default graph, "
                    "which a restore into a SPARQL server does not write"
                )
            keep = {g for g, n in manifest.graphs.items() if n}
            for graph in sorted(store.graph_names()):
                if str(graph) not in keep:
                    store.drop_graph(graph)
            spool = Path(scratch) / "graph.nt"
            for name in sorted(keep):
                with spool.open("wb") as out:
                    local.dump(out, RdfFormat.NTRIPLES, graph=URIRef(name))
                store.replace_graph(URIRef(name), spool, RdfFormat.NTRIPLES)
        finally:
            local.close()


@contextmanager
def _archive_swapped(archive: Path | None, staging: Path | None) -> Iterator[None]:
    """Put ``staging`` in place of ``archive``; undone if the block fails; the old one removed after."""
    if archive is None or staging is None:
        yield
        return
    retired = archive.with_name(archive.name + ".replaced")
    shutil.rmtree(retired, ignore_errors=True)
    staging.mkdir(parents=True, exist_ok=True)
    try:
        if archive.exists():
            archive.rename(retired)
        staging.rename(archive)
    except OSError as exc:
        if retired.exists() and not archive.exists():
            retired.rename(archive)
        raise StoreError(f"cannot put the restored archive in place at {archive}: {exc}") from exc
    try:
        yield
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        archive.rename(staging)
        if retired.exists():
            retired.rename(archive)
        raise
    shutil.rmtree(retired, ignore_errors=True)


def restore_backup(
    store: Source,
    tokens: TokenStore,
    path: Path,
    *,
    archive: Path | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> Manifest:
    """Make ``store``, ``tokens`` and the submissions ``archive`` folder hold exactly what the backup
    at ``path`` holds.

    The file is checked whole first (its archive files extracted to a staging folder beside
    ``archive``); then, in one write unit of the store, its quads replace the store's, the counts
    are compared with the manifest, the archive folder is swapped in and the token register is
    replaced. Any failure leaves all three as they were (a remote store: as far as its unit goes).

    Raises:
        InputNotFoundError: no such file.
        InputError: the file is truncated, corrupt or not a boostkg backup.
        BackupRejectedError: the quads do not match the manifest's counts (nothing is changed).
        ConflictError: the store, the register or the archive holds something and ``force`` is not set.
        StoreError: the store cannot be written.
    """
    staging = archive.with_name(archive.name + ".restoring") if archive is not None else None
    if staging is not None:
        shutil.rmtree(staging, ignore_errors=True)
    try:
        manifest = check_file(path, progress, staging)
        if not force and not is_empty(store, tokens, archive):
            where = store.path if isinstance(store, EmbeddedStore) else store.query_url
            raise ConflictError(
                f"store {where} is not empty: restoring {path} would replace everything in it "
                "(use --force to do so)"
            )
        with store.atomic(label=f"restore {path.name}"):
            if isinstance(store, RemoteStore):
                _replace_remote(store, path, manifest)
                expected = {g: n for g, n in manifest.graphs.items() if n}
                got = {str(g.graph): g.triples for g in store.graphs() if g.triples}
                matches = got == expected
            else:
                reading = Reading(path, progress)
                try:
                    store.replace_dataset(
                        cast(BinaryIO, reading), name=str(path), graphs=[URIRef(g) for g in manifest.graphs]
                    )
                finally:
                    reading.close()
                got = {str(g.graph): g.triples for g in store.graphs()}
                matches = got == manifest.graphs and store.triple_count() == manifest.quads
            if not matches:
                raise BackupRejectedError(
                    f"restoring {path} gave other counts than its manifest; the store is unchanged"
                )
            with _archive_swapped(archive, staging):
                tokens.replace_records(manifest.tokens)
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    return manifest
