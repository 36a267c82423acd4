"""The embedded store: pyoxigraph (RocksDB) on disk, with all-or-nothing write units.

The store directory holds ``db/`` (the database) and, while a write unit is open, ``snapshot/`` and
the ``WRITING`` marker (see :mod:`boostkg.store.journal`). Big files go in with pyoxigraph's bulk
loader, which is several times faster than its transactional loader but not atomic by itself; the
journal's snapshot makes the whole unit atomic, including across a SIGKILL.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import hashlib
import io
import itertools
import json
import logging
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, cast

import pyoxigraph as ox
from rdflib import URIRef

from boostkg.errors import (
    Location,
    ParseError,
    QueryError,
    QueryTimeoutError,
    StorageFullError,
    StoreError,
    StoreLockedError,
    StoreUnavailableError,
)
from boostkg.store import journal, planner
from boostkg.store.base import GraphStats, RdfFormat, ResultFormat, SelectResult, Term, Triple
from boostkg.store.lexer import is_bounded_lookup
from boostkg.store.parsing import ParsedTriples
from boostkg.store.terms import one_line, parse_error, to_oxigraph, to_rdflib

log = logging.getLogger(__name__)

COUNT_BY_READING = 512
"""Quads :meth:`EmbeddedStore.count_capped` reads one by one before it asks a COUNT query instead."""
REBUILD_MIN_TRIPLES = 100_000
"""Graphs smaller than this are cleared in place when replaced."""
REBUILD_RATIO = 2
"""Rebuild when the graph to drop, times this, outweighs the rest of the store."""
REBUILD_DUMP = "rebuild.nq"
REBUILD_DIR = "db.rebuild"
REBUILD_RETIRED = "db.retired"
READERS_DIR = "readers"
"""Checkpoints of the database that read-only openers (query workers) open, one per generation."""
READERS_KEPT = 3
SMALL_BATCH = 20_000
"""Below this many quads, add_triples writes one transaction rather than through the bulk writer."""
REOPEN_WAIT_S = 30.0
"""How long a swap of the database waits for queries still running on its handle to end."""
UPDATES_DIR = "updates"
"""Copies of the database that an isolated update (:meth:`EmbeddedStore.update_isolated`) writes."""
_WORKER_SCRIPT = Path(__file__).with_name("worker.py")
_RDF_FORMATS = {
    RdfFormat.TURTLE: ox.RdfFormat.TURTLE,
    RdfFormat.NTRIPLES: ox.RdfFormat.N_TRIPLES,
    RdfFormat.NQUADS: ox.RdfFormat.N_QUADS,
    RdfFormat.TRIG: ox.RdfFormat.TRIG,
    RdfFormat.JSONLD: ox.RdfFormat.JSON_LD,
    RdfFormat.RDFXML: ox.RdfFormat.RDF_XML,
}
_RESULT_FORMATS = {
    ResultFormat.JSON: ox.QueryResultsFormat.JSON,
    ResultFormat.XML: ox.QueryResultsFormat.XML,
    ResultFormat.CSV: ox.QueryResultsFormat.CSV,
    ResultFormat.TSV: ox.QueryResultsFormat.TSV,
}


def _syntax_message(exc: SyntaxError) -> str:
    """pyoxigraph's ``error at LINE:COLUMN: ...`` as ``line L, column C: ...`` on one line."""
    text = one_line(exc)
    match = re.match(r"^error at (\d+):(\d+): ", text)
    if match:
        return f"line {match.group(1)}, column {match.group(2)}: {text[match.end() :]}"
    return text


_FULL = (errno.ENOSPC, errno.EDQUOT)
_FULL_TEXT = ("no space left on device", "disk quota exceeded")


def _disk_full(exc: BaseException) -> OSError | None:
    """The "no space left" (or quota) error behind ``exc``, if there is one: pyoxigraph reports
    RocksDB's as an OSError without errno, so its message is read too; wrapped errors are followed
    through their causes."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return None
        if isinstance(seen, OSError) and (
            seen.errno in _FULL or any(text in str(seen).lower() for text in _FULL_TEXT)
        ):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _full_error(path: Path, cause: OSError) -> StorageFullError:
    return StorageFullError(
        f"store {path}: the disk is full ({one_line(cause)}); the write was rolled back, "
        "the store is as it was before it: free some space and try again"
    )


def _update_error(outcome: dict[str, object], stderr: bytes) -> QueryError:
    """The error an isolated update's child reported (or, if it died, what it printed)."""
    message = str(outcome.get("message") or stderr.decode("utf-8", "replace").strip()[-500:] or "no output")
    if outcome.get("kind") == "syntax":
        where = f"line {outcome.get('line')}, column {outcome.get('column')}: " if outcome.get("line") else ""
        return QueryError(f"malformed SPARQL update: {where}{message}")
    return QueryError(f"update failed: {message}")


class _OverBudgetError(Exception):
    """Raised by :class:`_BoundedBuffer` to stop a serialisation that grew past its budget."""


class _BoundedBuffer:
    """A write target for pyoxigraph's serialisers that refuses to grow past ``limit`` bytes."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.data = bytearray()

    def write(self, chunk: bytes) -> int:
        if len(self.data) + len(chunk) > self.limit:
            raise _OverBudgetError
        self.data += chunk
        return len(chunk)

    def flush(self) -> None:
        return None


def measure_degrees(checkpoint: Path, generation: int) -> planner.Degrees:
    """The fan-out bounds of a checkpoint (:data:`~boostkg.store.planner.DEGREE_QUERIES`, a few
    seconds per million quads; pyoxigraph lets other threads run meanwhile); the checkpoint is
    removed afterwards.

    Raises:
        StoreError: the checkpoint cannot be read.
    """
    try:
        db = ox.Store.read_only(str(checkpoint))
        rows: dict[str, planner.Rows] = {}
        for name, text in planner.DEGREE_QUERIES.items():
            result = cast(ox.QuerySolutions, db.query(text))
            variables = [v.value for v in result.variables]
            rows[name] = [
                {v: cast(ox.Literal | ox.NamedNode, row[v]).value for v in variables if row[v] is not None}
                for row in result
            ]
        del db
    except OSError as exc:
        raise StoreError(f"cannot measure the store's checkpoint {checkpoint}: {exc}") from exc
    finally:
        shutil.rmtree(checkpoint, ignore_errors=True)
    return planner.degrees_from_rows(generation, rows)


def degrees_file_name(generation: int) -> str:
    """Where (in the readers' folder) the fan-out bounds of one generation are kept."""
    return f"degrees-g{generation}.json"


class EmbeddedStore:
    """A persistent, transactional quad store in one directory."""

    _swapping = False
    _reopen_pending = False

    def __init__(self, path: Path) -> None:
        self.path = path
        self._layout = journal.Layout(path)
        path.mkdir(parents=True, exist_ok=True)
        recovered = journal.recover(self._layout)
        if recovered:
            log.warning("store %s: %s", path, recovered)
        self.recovered = recovered
        for leftover in (REBUILD_DIR, REBUILD_RETIRED):  # of a rebuild that died (journal rolled back)
            shutil.rmtree(path / leftover, ignore_errors=True)
        (path / REBUILD_DUMP).unlink(missing_ok=True)
        shutil.rmtree(path / READERS_DIR, ignore_errors=True)
        self._swapping = False
        """True while the database is being replaced (readers then get a 503, not a closed store)."""
        self._store: ox.Store | None = self._open()
        self._depth = 0
        self.generation = 0
        """Moves on every write, so that read-only openers (query workers) know to reopen."""
        self._readers: list[tuple[int, Path]] = []
        self.degrees: planner.Degrees | None = None
        """Fan-out bounds measured at some generation (:meth:`refresh_degrees`)."""

    def reader_snapshot(self) -> Path:
        """A checkpoint of the database as of the current generation, for read-only openers.

        Another process must not open the live database read-only: the writer's compactions delete
        files under it (RocksDB: undefined behaviour). A checkpoint is hard links to immutable
        files, so it stays whole whatever the writer does. One is made per generation (on first
        use after a write); the last few are kept so that readers still on an older one finish.

        Raises:
            StoreError: the checkpoint could not be made.
        """
        if self._readers and self._readers[-1][0] == self.generation:
            return self._readers[-1][1]
        generation = self.generation
        target = self._checkpoint(f"g{generation}-{len(self._readers)}", "for readers")
        self._readers.append((generation, target))
        for _, old in self._readers[:-READERS_KEPT]:
            shutil.rmtree(old, ignore_errors=True)
        del self._readers[:-READERS_KEPT]
        return target

    def _open(self) -> ox.Store:
        try:
            return ox.Store(str(self._layout.db))
        except OSError as exc:
            if "lock" in str(exc).lower():
                raise StoreLockedError(
                    f"store {self.path} is in use by another process (is `boostkg serve` running?)"
                ) from exc
            full = _disk_full(exc)
            if full is not None:  # opening writes a new manifest: nothing of the data is touched
                raise StorageFullError(
                    f"cannot open store {self.path}: the disk is full ({one_line(full)}): "
                    "free some space and try again"
                ) from exc
            raise StoreError(f"cannot open store {self.path}: {exc}") from exc

    @property
    def _db(self) -> ox.Store:
        if self._store is None and self._reopen_pending and not self._swapping:
            with contextlib.suppress(StoreLockedError):  # still held by the query that stopped a swap
                self._store = self._open()
                self._reopen_pending = False
        if self._store is None:
            if self._swapping:
                raise StoreUnavailableError(
                    f"store {self.path} is swapping in a new state of its database (an update or a "
                    "rollback); try again in a moment"
                )
            raise StoreError(f"store {self.path} is closed")
        return self._store

    def _drop_handle(self, *, rolling_back: bool = False) -> None:
        """Drop our database handle and wait until no other handle to it lives in this process,
        before the directory is swapped. A query another thread is still running (a page, a
        lookup) keeps the old handle alive, and a live RocksDB handle goes on working on its path
        (it deletes files it thinks obsolete): renaming a new database into that path under it
        corrupts the new one. The probe is a writable open, which RocksDB refuses while any handle
        in this process holds the path's lock; it is closed at once.

        Raises:
            StoreUnavailableError: a query still held the old handle after :data:`REOPEN_WAIT_S`;
                nothing was swapped, the store reopens on its next use once the query ends.
            StoreError: the same while ``rolling_back``: the store stays closed (a half-written
                unit must not be served), and the journal rolls the unit back at the next open.
        """
        self._store = None
        deadline = time.monotonic() + REOPEN_WAIT_S
        while True:
            gc.collect()
            try:
                probe = ox.Store(str(self._layout.db))
            except OSError as exc:
                if _disk_full(exc) is not None:
                    return  # RocksDB takes the lock before it writes: no other handle holds it
                if "lock" not in str(exc).lower():
                    raise StoreError(f"cannot open store {self.path}: {exc}") from exc
                if time.monotonic() > deadline:
                    if rolling_back:
                        raise StoreError(
                            f"store {self.path}: a query still reads the database after {REOPEN_WAIT_S:g} s, "
                            "so an interrupted write could not be rolled back now; the store is closed "
                            "and rolls it back when next opened (restart the server)"
                        ) from exc
                    self._reopen_pending = True
                    raise StoreUnavailableError(
                        f"store {self.path}: a query still reads the database after {REOPEN_WAIT_S:g} s; "
                        "nothing was changed, try again"
                    ) from exc
                time.sleep(0.02)
                continue
            del probe
            gc.collect()
            return

    # --- queries -------------------------------------------------------------------------------
    def _query(self, query: str) -> ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples:
        try:
            return self._db.query(query, use_default_graph_as_union=True)
        except SyntaxError as exc:
            raise QueryError(f"malformed SPARQL: {one_line(exc)}") from exc
        except OSError as exc:
            raise QueryError(f"query failed: {one_line(exc)}") from exc

    def select(self, query: str) -> SelectResult:
        result = self._query(query)
        if not isinstance(result, ox.QuerySolutions):
            raise QueryError("not a SELECT query")
        variables = tuple(v.value for v in result.variables)
        rows = []
        for solution in result:
            row: dict[str, Term] = {}
            for name in variables:
                value = solution[name]
                if value is not None:
                    row[name] = to_rdflib(value)
            rows.append(row)
        return SelectResult(variables, tuple(rows))

    def ask(self, query: str) -> bool:
        result = self._query(query)
        if not isinstance(result, ox.QueryBoolean):
            raise QueryError("not an ASK query")
        return bool(result)

    def construct(self, query: str) -> list[Triple]:
        result = self._query(query)
        if not isinstance(result, ox.QueryTriples):
            raise QueryError("not a CONSTRUCT or DESCRIBE query")
        return [(to_rdflib(t.subject), to_rdflib(t.predicate), to_rdflib(t.object)) for t in result]

    def query_to(
        self, query: str, out: BinaryIO, *, result_format: ResultFormat, rdf_format: RdfFormat
    ) -> ResultFormat | RdfFormat:
        result = self._query(query)
        try:
            if isinstance(result, ox.QueryTriples):
                result.serialize(out, _RDF_FORMATS[rdf_format])
                return rdf_format
            result.serialize(out, _RESULT_FORMATS[result_format])
            return result_format
        except OSError as exc:
            raise QueryError(f"query failed: {one_line(exc)}") from exc

    def query_small(
        self,
        query: str,
        *,
        result_format: ResultFormat,
        base_iri: str | None,
        max_bytes: int,
        rdf_format: RdfFormat | None = None,
    ) -> bytes | None:
        """Run a query over the union of all graphs and return its results serialised (a graph in
        ``rdf_format``; without one, only SELECT/ASK are answered), or ``None`` if the query fails
        in any way or its results pass ``max_bytes`` (serialising stops there): the caller then runs
        it where errors are reported and long queries can be stopped.
        """
        try:
            result = self._db.query(query, base_iri=base_iri, use_default_graph_as_union=True)
        except (SyntaxError, OSError, ValueError):
            return None
        out = _BoundedBuffer(max_bytes)
        try:
            if isinstance(result, ox.QueryTriples):
                if rdf_format is None:
                    return None
                result.serialize(out, _RDF_FORMATS[rdf_format])  # type: ignore[arg-type]
            else:
                result.serialize(out, _RESULT_FORMATS[result_format])  # type: ignore[arg-type]
        except (_OverBudgetError, OSError, ValueError):
            return None
        return bytes(out.data)

    def query_inline(
        self,
        query: str,
        *,
        result_format: ResultFormat,
        rdf_format: RdfFormat,
        base_iri: str | None,
        max_bytes: int,
    ) -> bytes | None:
        """:meth:`query_small` for a query that provably cannot run long: a bounded lookup
        (:func:`~boostkg.store.lexer.is_bounded_lookup`, its work capped by ``max_bytes``) or a
        query whose :func:`~boostkg.store.planner.work_bound` under the current degrees is within
        the planner's budget; ``None`` for any other query (it needs a killable worker)."""
        if not is_bounded_lookup(query):
            degrees = self.current_degrees()
            if degrees is None or planner.work_bound(query, degrees, self.count_capped) is None:
                return None
        return self.query_small(
            query, result_format=result_format, base_iri=base_iri, max_bytes=max_bytes, rdf_format=rdf_format
        )

    def count_capped(self, subject: str, predicate: str | None, cap: int) -> int:
        """The subject's triples (with ``predicate``, or all) in the union of the graphs, counted up
        to ``cap`` (the planner's exact first step). A triple held by several graphs may count
        more than once: the count is an upper bound, as the planner needs.

        A few quads are counted by reading the index (a few µs); past
        :data:`COUNT_BY_READING`, by a COUNT query (~100 µs, but no Python object per quad)."""
        try:
            quads = self._db.quads_for_pattern(
                ox.NamedNode(subject), None if predicate is None else ox.NamedNode(predicate), None, None
            )
            seen = sum(1 for _ in itertools.islice(quads, min(cap, COUNT_BY_READING)))
        except (OSError, ValueError):
            return cap
        if seen < COUNT_BY_READING or cap <= COUNT_BY_READING:
            return seen
        where = f"<{subject}> {'?p' if predicate is None else f'<{predicate}>'} ?o"
        try:
            result = self._db.query(
                f"SELECT (COUNT(*) AS ?n) {{ SELECT * {{ {where} }} LIMIT {cap} }}",
                use_default_graph_as_union=True,
            )
        except (SyntaxError, OSError, ValueError):
            return cap
        for row in cast(ox.QuerySolutions, result):
            value = row["n"]
            return int(value.value) if isinstance(value, ox.Literal) else cap
        return cap

    def current_degrees(self) -> planner.Degrees | None:
        """The fan-out bounds if they were measured at the current generation, else ``None``."""
        degrees = self.degrees
        return degrees if degrees is not None and degrees.generation == self.generation else None

    def refresh_degrees(self) -> bool:
        """Measure the fan-out bounds now and keep them (:meth:`degrees_checkpoint`, then
        :func:`measure_degrees`, then :meth:`keep_degrees`); whether they were kept. Call it where no
        write runs at once (the server measures in the background instead: api/planning.py)."""
        generation, checkpoint = self.degrees_checkpoint()
        return self.keep_degrees(measure_degrees(checkpoint, generation))

    def degrees_checkpoint(self) -> tuple[int, Path]:
        """A private checkpoint of the database to measure the fan-out bounds on, and the
        generation it holds. Take it while no write is under way (a write may swap the database);
        the measuring itself then never touches the live database and may run alongside writes."""
        generation = self.generation
        return generation, self._checkpoint(f"measure-g{generation}", "to measure it")

    def _checkpoint(self, name: str, purpose: str) -> Path:
        """A RocksDB checkpoint (hard links) of the database in the readers' folder.

        Raises:
            StoreError: it could not be made (nothing of it is left).
        """
        target = self.path / READERS_DIR / f"{name}-{uuid.uuid4().hex[:8]}"
        target.parent.mkdir(exist_ok=True)
        try:
            self._db.backup(str(target))
        except OSError as exc:
            shutil.rmtree(target, ignore_errors=True)
            raise StoreError(f"cannot checkpoint the store {purpose}: {exc}") from exc
        return target

    def keep_degrees(self, degrees: planner.Degrees) -> bool:
        """Keep bounds measured at the current generation (also written beside the readers'
        checkpoints, ``degrees-g<generation>.json``, for the lookup processes); bounds of an
        older generation are dropped. Whether they were kept."""
        if degrees.generation != self.generation:
            return False
        self.degrees = degrees
        folder = self.path / READERS_DIR
        folder.mkdir(exist_ok=True)
        target = folder / degrees_file_name(degrees.generation)
        partial = target.with_suffix(".partial")
        partial.write_text(json.dumps(degrees.to_json()), encoding="utf-8")
        partial.replace(target)
        return True

    # --- writes ----------------------------------------------------------------------------------
    @contextmanager
    def atomic(self, label: str = "write") -> Iterator[None]:
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        # No local variable may hold the pyoxigraph Store: a rollback must be able to drop the last
        # reference to it (releasing RocksDB's lock) while a traceback still holds these frames.
        self._db.flush()
        try:
            journal.begin(self._layout, lambda target: self._db.backup(str(target)), label=label)
        except OSError as exc:
            journal.abandon(self._layout)
            full = _disk_full(exc)
            if full is not None:
                raise _full_error(self.path, full) from exc
            raise StoreError(f"store {self.path}: cannot start a write: {one_line(exc)}") from exc
        self._depth = 1
        try:
            yield
            self._db.flush()
        except BaseException as exc:
            self._depth = 0
            self._roll_back()
            self.generation += 1
            full = _disk_full(exc)
            if full is not None and not isinstance(exc, StorageFullError):
                raise _full_error(self.path, full) from exc
            raise
        self._depth = 0
        journal.commit(self._layout)
        self.generation += 1

    def _roll_back(self) -> None:
        self._swapping = True
        try:
            self._drop_handle(rolling_back=True)  # no handle may work on the directory meanwhile
            journal.roll_back(self._layout)
            self._store = self._open()
        finally:
            self._swapping = False

    def update(self, update: str, *, base_iri: str | None = None) -> None:
        self.generation += 1
        try:
            self._db.update(update, base_iri=base_iri)
        except SyntaxError as exc:
            raise QueryError(f"malformed SPARQL update: {_syntax_message(exc)}") from exc
        except (OSError, ValueError) as exc:
            full = _disk_full(exc)
            if full is not None:  # an update is one transaction: nothing of it was kept
                raise _full_error(self.path, full) from exc
            raise QueryError(f"update failed: {one_line(exc)}") from exc

    def update_isolated(self, update: str, *, base_iri: str | None = None, timeout_s: float) -> None:
        """Run ``update`` with a deadline: a child process applies it to a checkpoint of the
        database (hard links: milliseconds), and when it has finished, the copy takes the
        database's place. pyoxigraph cannot stop an update it has started, but the child can be
        killed: past ``timeout_s`` it is, the copy is discarded and the store is unchanged. Must run
        inside :meth:`atomic` (a failure later in the unit rolls the swap back with it); costs a
        process start and a reopen of the database (~0.2 s) on top of the update itself.

        Raises:
            QueryError: the update is malformed (with line and column) or failed.
            QueryTimeoutError: it ran longer than ``timeout_s``; nothing was changed.
            StoreError: not inside atomic(), or the copy could not be made.
        """
        if not self._depth:
            raise StoreError("update_isolated() must run inside atomic()")
        self.generation += 1
        folder = self.path / UPDATES_DIR
        shutil.rmtree(folder, ignore_errors=True)  # leftovers: writes are serialised, none is running
        folder.mkdir()
        copy = folder / uuid.uuid4().hex
        try:
            self._db.flush()
            self._db.backup(str(copy))
            request = json.dumps({"update": update, "base": base_iri}).encode("utf-8")
            try:
                done = subprocess.run(
                    [sys.executable, str(_WORKER_SCRIPT), "--update", str(copy)],
                    input=request,
                    capture_output=True,
                    timeout=timeout_s,
                    check=False,
                )
            except subprocess.TimeoutExpired:  # run() has killed the child
                raise QueryTimeoutError(
                    f"the update ran longer than {timeout_s:g} s and was stopped; nothing was changed"
                ) from None
            try:
                outcome = json.loads(done.stdout or b"{}")
            except ValueError:
                outcome = {}
            if not outcome.get("ok"):
                raise _update_error(outcome, done.stderr)
            self._swap_in(copy)
        except OSError as exc:
            raise StoreError(f"cannot run the update on a copy of the store: {exc}") from exc
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _swap_in(self, fresh: Path) -> None:
        """Put the database at ``fresh`` in place of ours and open it (inside atomic())."""
        retired = self.path / REBUILD_RETIRED
        shutil.rmtree(retired, ignore_errors=True)
        self._swapping = True
        try:
            self._drop_handle()  # no handle may work on the directory while it is swapped
            self._layout.db.rename(retired)
            fresh.rename(self._layout.db)
            self._store = self._open()
        finally:
            self._swapping = False
        shutil.rmtree(retired, ignore_errors=True)

    def graph_names(self) -> set[URIRef]:
        """The store's named graphs, without counting their triples (cheap)."""
        return {URIRef(g.value) for g in self._db.named_graphs() if isinstance(g, ox.NamedNode)}

    def replace_graph(
        self, graph: URIRef, source: Path | bytes, rdf_format: RdfFormat, *, base_iri: str | None = None
    ) -> int:
        if rdf_format.has_graphs:
            raise StoreError(f"{rdf_format.name} names its own graphs; give one graph's triples instead")
        target = ox.NamedNode(str(graph))
        with self.atomic(label=f"replace {graph}"):
            self._empty_graph(target)
            self._bulk_load(source, rdf_format, target, base_iri)
            if not self._db.contains_named_graph(target):
                self._db.add_graph(target)  # an empty file still makes an (empty) graph
        return self.triple_count(graph)

    def _empty_graph(self, target: ox.NamedNode) -> None:
        """Remove every triple of ``target``, by the cheaper of deleting and rebuilding."""
        if not self._db.contains_named_graph(target):
            return
        old = self.triple_count(URIRef(target.value))
        if old >= REBUILD_MIN_TRIPLES and old * REBUILD_RATIO >= len(self._db) - old:
            self._rebuild_without(target)
        elif old:
            self._db.clear_graph(target)

    def _bulk_load(
        self, source: Path | bytes, rdf_format: RdfFormat, target: ox.NamedNode, base_iri: str | None
    ) -> None:
        # Uses self._db, never a local: a traceback must not keep the Store alive (see atomic()).
        name = str(source) if isinstance(source, Path) else "request body"
        try:
            if isinstance(source, Path):
                self._db.bulk_load(
                    path=str(source), format=_RDF_FORMATS[rdf_format], to_graph=target, base_iri=base_iri
                )
            else:
                self._db.bulk_load(
                    io.BytesIO(source), format=_RDF_FORMATS[rdf_format], to_graph=target, base_iri=base_iri
                )
        except SyntaxError as exc:
            raise parse_error(exc, name) from exc
        except (OSError, ValueError) as exc:
            raise ParseError(one_line(exc), Location(name)) from exc

    def _rebuild_without(self, dropped: ox.NamedNode) -> None:
        """Drop a big graph by rebuilding the database from everything else.

        pyoxigraph deletes about 20,000 quads a second (clear_graph of a million-triple graph takes
        ~50 s) but bulk-loads ~100,000 a second, so when the graph to drop is large compared with
        the rest, copying the rest into a fresh database is far cheaper. Must run inside atomic():
        the journal's snapshot still holds the old database, so a crash anywhere in here rolls back.
        """
        layout = self._layout
        rest = layout.root / REBUILD_DUMP
        fresh = layout.root / REBUILD_DIR
        shutil.rmtree(fresh, ignore_errors=True)
        graphs = [g for g in self._db.named_graphs() if g != dropped]
        with rest.open("wb") as fh:
            for g in graphs:
                ox.serialize(self._db.quads_for_pattern(None, None, None, g), fh, ox.RdfFormat.N_QUADS)
            ox.serialize(
                self._db.quads_for_pattern(None, None, None, ox.DefaultGraph()), fh, ox.RdfFormat.N_QUADS
            )
        new_db = ox.Store(str(fresh))
        new_db.bulk_load(path=str(rest), format=ox.RdfFormat.N_QUADS)
        for g in graphs:
            new_db.add_graph(g)  # keep empty graphs
        new_db.flush()
        del new_db
        rest.unlink()
        retired = layout.root / REBUILD_RETIRED
        shutil.rmtree(retired, ignore_errors=True)
        self._swapping = True
        try:
            self._drop_handle()  # no handle may work on the directory while it is swapped
            layout.db.rename(retired)
            fresh.rename(layout.db)
            self._store = self._open()
        finally:
            self._swapping = False
        shutil.rmtree(retired, ignore_errors=True)

    def add_triples(self, graph: URIRef, triples: Iterable[Triple]) -> None:
        self.generation += 1
        # A parsed document hands over its pyoxigraph quads (blank nodes renamed), unconverted.
        if isinstance(triples, ParsedTriples):
            quads = triples.quads_in(graph)
        else:
            g = ox.NamedNode(str(graph))
            quads = [ox.Quad(to_oxigraph(s), to_oxigraph(p), to_oxigraph(o), g) for s, p, o in triples]  # type: ignore[arg-type]
        # The bulk writer is ~3x faster than a transaction for large batches (100k triples: 0.8 s
        # against 2.7 s) but not atomic by itself: the journal makes it so. It writes and ingests
        # files, a fixed cost that a transaction does not pay: below SMALL_BATCH quads a
        # transaction is faster (12 quads: 0.2 ms against 120 ms on the shared test machine).
        with self.atomic(label=f"add to {graph}"):
            if len(quads) < SMALL_BATCH:
                self._db.extend(quads)
            else:
                self._db.bulk_extend(quads)

    def replace_graph_by_queries(self, graph: URIRef, queries: Sequence[str]) -> list[int]:
        """Replace ``graph`` with the union of what the CONSTRUCT ``queries`` derive from all the
        *other* graphs (the old content is removed first, so it cannot feed itself); returns the
        number of triples each query produced (duplicates between queries included). All or
        nothing."""
        target = ox.NamedNode(str(graph))
        with (
            self.atomic(label=f"derive {graph}"),
            tempfile.TemporaryDirectory(dir=self.path, prefix="derive-") as tmp,
        ):
            self._empty_graph(target)
            derived = Path(tmp) / "derived.nt"
            counts = self._construct_to_file(queries, derived)
            self._bulk_load(derived, RdfFormat.NTRIPLES, target, None)
            if not self._db.contains_named_graph(target):
                self._db.add_graph(target)
        return counts

    def _construct_to_file(self, queries: Sequence[str], path: Path) -> list[int]:
        # Query results hold the Store alive: they must be gone before a write that may rebuild
        # the database (see _rebuild_without), hence this separate frame.
        counts = []
        with path.open("wb") as fh:
            for query in queries:
                result = self._query(query)
                if not isinstance(result, ox.QueryTriples):
                    raise QueryError("not a CONSTRUCT query")
                data = result.serialize(format=ox.RdfFormat.N_TRIPLES) or b""
                del result
                counts.append(data.count(b"\n"))
                fh.write(data)
        return counts

    def drop_graph(self, graph: URIRef) -> None:
        self.generation += 1
        g = ox.NamedNode(str(graph))
        if self._db.contains_named_graph(g):
            self._db.remove_graph(g)

    # --- the Graph Store Protocol's operations (graph None: the store's unnamed default graph) ----
    def has_graph(self, graph: URIRef | None) -> bool:
        """Whether ``graph`` exists (the unnamed default graph always does)."""
        return graph is None or self._db.contains_named_graph(ox.NamedNode(str(graph)))

    def load_into(
        self,
        graph: URIRef | None,
        data: bytes,
        rdf_format: RdfFormat,
        *,
        base_iri: str | None = None,
        replace: bool,
    ) -> None:
        """Parse ``data`` into ``graph`` (``None``: the unnamed default graph), replacing its content
        or adding to it; creates the graph. All or nothing.

        Raises:
            ParseError: the data is malformed (names line and column); nothing is changed.
        """
        if rdf_format.has_graphs:
            raise StoreError(f"{rdf_format.name} names its own graphs; send one graph's triples instead")
        target: ox.NamedNode | ox.DefaultGraph = (
            ox.DefaultGraph() if graph is None else ox.NamedNode(str(graph))
        )
        with self.atomic(label=f"{'replace' if replace else 'add to'} {graph or 'default graph'}"):
            if replace:
                if isinstance(target, ox.NamedNode):
                    self._empty_graph(target)
                else:
                    self._db.clear_graph(target)
            self._bulk_load(data, rdf_format, target, base_iri)  # type: ignore[arg-type]
            if isinstance(target, ox.NamedNode) and not self._db.contains_named_graph(target):
                self._db.add_graph(target)

    def clear_default_graph(self) -> None:
        """Remove every triple of the unnamed default graph."""
        self.generation += 1
        self._db.clear_graph(ox.DefaultGraph())

    def fingerprint(self, graph: URIRef) -> str:
        """A digest of ``graph``'s triples (sorted N-Triples), to tell whether a write changed it."""
        target = ox.NamedNode(str(graph))
        lines = sorted(
            str(ox.Triple(q.subject, q.predicate, q.object))
            for q in self._db.quads_for_pattern(None, None, None, target)
        )
        return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()

    # --- inspection --------------------------------------------------------------------------------
    def graphs(self) -> list[GraphStats]:
        counts = {str(g.value): 0 for g in self._db.named_graphs() if isinstance(g, ox.NamedNode)}
        rows = self._db.query("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")
        assert isinstance(rows, ox.QuerySolutions)
        for row in rows:
            g, n = row["g"], row["n"]
            if isinstance(g, ox.NamedNode) and isinstance(n, ox.Literal):
                counts[g.value] = int(n.value)
        return [GraphStats(URIRef(g), n) for g, n in sorted(counts.items())]

    def triple_count(self, graph: URIRef | None = None) -> int:
        if graph is None:
            return len(self._db)
        query = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"
        rows = list(self._db.query(query))  # type: ignore[arg-type]
        value = rows[0]["n"]
        return int(value.value) if isinstance(value, ox.Literal) else 0

    def dump(self, out: BinaryIO, rdf_format: RdfFormat, *, graph: URIRef | None = None) -> None:
        fmt = _RDF_FORMATS[rdf_format]
        try:
            if graph is not None:
                self._db.dump(out, fmt, from_graph=ox.NamedNode(str(graph)))
            elif rdf_format.has_graphs:
                self._db.dump(out, fmt)
            else:
                union = self._db.query(
                    "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }",
                )
                assert isinstance(union, ox.QueryTriples)
                union.serialize(out, fmt)
        except OSError as exc:
            raise StoreError(f"export failed: {exc}") from exc

    def flush(self) -> None:
        self._db.flush()

    def optimize(self) -> None:
        """Flush and compact the database now (e.g. after dropping a large graph), instead of
        leaving the work to background compactions that compete with the next requests.

        Raises:
            StoreError: the compaction failed.
        """
        try:
            self._db.flush()
            self._db.optimize()
        except OSError as exc:
            raise StoreError(f"optimizing the store failed: {exc}") from exc

    def close(self) -> None:
        shutil.rmtree(self.path / READERS_DIR, ignore_errors=True)
        self._readers.clear()
        if self._store is not None:
            self._store.flush()
            self._store = None
            gc.collect()

    def __enter__(self) -> EmbeddedStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- restore (boostkg.backup) -------------------------------------------------------------------
    def replace_dataset(self, source: BinaryIO, *, name: str, graphs: Iterable[URIRef] = ()) -> None:
        """Replace everything in the store with the N-Quads read from ``source`` (named ``name`` in
        errors), blank-node labels kept, plus the named ``graphs`` (which N-Quads cannot show when
        empty). Streamed into a fresh database that then takes the old one's place, inside
        :meth:`atomic`: all or nothing, also when nested in a caller's unit.

        Raises:
            ParseError: ``source`` is not valid N-Quads (line and column); nothing is changed.
            StoreError: the fresh database could not be written; nothing is changed.
        """
        fresh = self.path / REBUILD_DIR
        shutil.rmtree(fresh, ignore_errors=True)
        with self.atomic(label=f"restore {name}"):
            try:
                db = ox.Store(str(fresh))
                try:
                    db.bulk_extend(ox.parse(source, format=ox.RdfFormat.N_QUADS, rename_blank_nodes=False))
                    for graph in graphs:
                        db.add_graph(ox.NamedNode(str(graph)))
                    db.flush()
                finally:
                    del db
                    gc.collect()  # release RocksDB's lock on the fresh database
                self._swap_in(fresh)
            except SyntaxError as exc:
                raise parse_error(exc, name) from exc
            except (OSError, ValueError) as exc:
                raise StoreError(f"cannot restore {name}: {one_line(exc)}") from exc
            finally:
                shutil.rmtree(fresh, ignore_errors=True)
