"""Queries off the server process: a pool of worker processes that can be killed at a deadline.

pyoxigraph evaluates a query inside one call that cannot be interrupted (an aggregate or ORDER BY
computes everything before its first row), so a thread cannot be made to stop. Each worker
(:mod:`boostkg.store.worker`) opens the store read-only, runs one query at a time and streams the
serialised results back in frames; when a query passes its deadline, or its client goes away, the
pool kills that worker (SIGKILL: the query stops at once, its memory is freed) and starts another
in the background. Workers reopen the store when its write generation moves, so they see every
write the server process made. Talking to a worker is pure asyncio pipe I/O: no thread per query.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from boostkg.errors import Location, QueryError, QueryTimeoutError, StoreError
from boostkg.store.base import RdfFormat, ResultFormat

log = logging.getLogger(__name__)

WORKER_SCRIPT = Path(__file__).with_name("worker.py")
_HEADER_SIZE = 5
_READ_LIMIT = 1 << 20
_RESULT_NAMES = {
    ResultFormat.JSON: "json",
    ResultFormat.XML: "xml",
    ResultFormat.CSV: "csv",
    ResultFormat.TSV: "tsv",
}
_RDF_NAMES = {
    RdfFormat.TURTLE: "turtle",
    RdfFormat.NTRIPLES: "ntriples",
    RdfFormat.NQUADS: "nquads",
    RdfFormat.TRIG: "trig",
    RdfFormat.JSONLD: "jsonld",
    RdfFormat.RDFXML: "rdfxml",
}


@dataclass(frozen=True)
class QueryJob:
    """One query to run: its text, the two formats (results for SELECT/ASK, RDF for graphs) and the
    dataset. ``default_graphs``/``named_graphs`` are graph IRIs ("" names the store's unnamed
    graph), ``None`` when not given; with neither, ``union`` makes the default graph the union of
    all graphs."""

    query: str
    results: ResultFormat = ResultFormat.JSON
    rdf: RdfFormat = RdfFormat.TURTLE
    default_graphs: tuple[str, ...] | None = None
    named_graphs: tuple[str, ...] | None = None
    union: bool = True
    base_iri: str | None = None


@dataclass
class Answer:
    """A query under way: which of the job's formats is being written, and the bytes as they come
    (iterate them to the end, or ``aclose`` them, so the worker is released)."""

    is_graph: bool
    chunks: AsyncIterator[bytes]


class AnswerBody:
    """An answer's chunks as they arrive. Closed before its first chunk was asked for, it still calls
    ``unstarted`` to give back what the answer holds: an async generator closed before it started
    never runs its ``finally``."""

    def __init__(self, chunks: AsyncGenerator[bytes, None], unstarted: Callable[[], None]) -> None:
        self._chunks = chunks
        self._unstarted: Callable[[], None] | None = unstarted

    def __aiter__(self) -> AnswerBody:
        return self

    async def __anext__(self) -> bytes:
        self._unstarted = None  # the generator runs from here on: its ``finally`` gives back
        return await self._chunks.__anext__()

    async def aclose(self) -> None:
        unstarted, self._unstarted = self._unstarted, None
        if unstarted is not None:
            unstarted()
        await self._chunks.aclose()


class _Worker:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    async def send(self, payload: bytes) -> None:
        stdin = self.proc.stdin
        assert stdin is not None
        stdin.write(len(payload).to_bytes(4, "big") + b"Q" + payload)
        if len(payload) > 65536:
            await stdin.drain()

    async def frame(self) -> tuple[int, bytes]:
        stdout = self.proc.stdout
        assert stdout is not None
        header = await stdout.readexactly(_HEADER_SIZE)
        size = int.from_bytes(header[:4], "big")
        return header[4], (await stdout.readexactly(size) if size else b"")


class QueryWorkers:
    """``size`` worker processes; ``snapshot`` gives the checkpoint of the store's current state
    that a query must read (workers reopen when it changes)."""

    def __init__(self, size: int, snapshot: Callable[[], Path]) -> None:
        self.size = size
        self._snapshot = snapshot
        self._idle: asyncio.Queue[_Worker] = asyncio.Queue()
        self._all: set[_Worker] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    async def start(self) -> None:
        """Start the workers.

        Raises:
            StoreError: a worker could not be started.
        """
        workers = await asyncio.gather(*(self._spawn() for _ in range(self.size)))
        for worker in workers:
            self._idle.put_nowait(worker)

    async def _spawn(self) -> _Worker:
        try:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                str(WORKER_SCRIPT),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                limit=_READ_LIMIT,
            )
        except OSError as exc:
            raise StoreError(f"cannot start a query worker: {exc}") from exc
        worker = _Worker(proc)
        self._all.add(worker)
        return worker

    def _discard(self, worker: _Worker) -> None:
        """Kill ``worker`` (whatever it is doing) and start its replacement in the background."""
        if worker.proc.returncode is None:
            worker.proc.kill()
        self._all.discard(worker)
        if not self._closed:
            task = asyncio.get_running_loop().create_task(self._replace(worker))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _replace(self, worker: _Worker) -> None:
        await worker.proc.wait()
        if self._closed:
            return
        try:
            self._idle.put_nowait(await self._spawn())
        except StoreError:
            log.exception("query worker not replaced")

    async def close(self) -> None:
        """Stop every worker."""
        self._closed = True
        for worker in list(self._all):
            if worker.proc.returncode is None:
                worker.proc.kill()
            await worker.proc.wait()
        self._all.clear()

    @property
    def busy(self) -> int:
        """Workers running a query now."""
        return len(self._all) - self._idle.qsize()

    async def run(self, job: QueryJob, *, timeout_s: float) -> Answer:
        """Start ``job`` on a free worker; return once its first answer frame arrives.

        Raises:
            QueryError: the query is malformed (with line and column) or failed.
            QueryTimeoutError: no worker was free, or the query did not answer, within ``timeout_s``.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        try:
            async with asyncio.timeout_at(deadline):
                worker = await self._idle.get()
        except TimeoutError:
            raise QueryTimeoutError(
                f"no query worker became free within {timeout_s:g} s (all {self.size} busy)"
            ) from None
        try:
            payload = self._payload(job)
        except BaseException:
            self._idle.put_nowait(worker)
            raise
        try:
            await worker.send(payload)
            kind, payload = await self._next(worker, deadline, timeout_s)
        except BaseException:  # timed out, cancelled (client gone) or dead: the worker must go
            self._discard(worker)
            raise
        if kind == ord("X"):
            self._idle.put_nowait(worker)
            raise _worker_error(payload)
        # closed unread, the answer's frames are still in the pipe: the worker goes (as when cut off)
        chunks = AnswerBody(self._chunks(worker, deadline, timeout_s), lambda: self._discard(worker))
        return Answer(is_graph=payload == b'"rdf"', chunks=chunks)

    def _payload(self, job: QueryJob) -> bytes:
        return json.dumps(
            {
                "query": job.query,
                "results": _RESULT_NAMES[job.results],
                "rdf": _RDF_NAMES[job.rdf],
                "default": job.default_graphs,
                "named": job.named_graphs,
                "union": job.union,
                "base": job.base_iri,
                "db": str(self._snapshot()),
            }
        ).encode("utf-8")

    async def _next(self, worker: _Worker, deadline: float, timeout_s: float) -> tuple[int, bytes]:
        try:
            async with asyncio.timeout_at(deadline):
                return await worker.frame()
        except TimeoutError:
            raise QueryTimeoutError(f"the query ran longer than {timeout_s:g} s and was stopped") from None
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            raise QueryError(f"the query worker died ({exc}); the query was not answered") from exc

    async def _chunks(
        self, worker: _Worker, deadline: float, timeout_s: float
    ) -> AsyncGenerator[bytes, None]:
        done = False
        try:
            while True:
                kind, payload = await self._next(worker, deadline, timeout_s)
                if kind == ord("D"):
                    yield payload
                elif kind == ord("E"):
                    done = True
                    return
                else:
                    done = True
                    raise _worker_error(payload)
        finally:
            if done:
                self._idle.put_nowait(worker)
            else:
                self._discard(worker)


def _worker_error(payload: bytes) -> QueryError:
    body = json.loads(payload)
    message = str(body.get("message", "query failed"))
    if body.get("kind") == "syntax":
        location = Location("query", body.get("line"), body.get("column"))
        return QueryError(f"malformed SPARQL at {location}: {message}")
    return QueryError(f"query failed: {message}")
