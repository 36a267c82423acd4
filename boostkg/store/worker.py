"""A query worker: a process that opens the store read-only and answers queries framed on its pipes.

Run as a script (``python worker.py``) by :mod:`boostkg.store.workers`, never imported by
the package: it needs only the standard library and pyoxigraph, so it starts in a fraction of a
second. The parent kills it to cancel a query (pyoxigraph has no cancellation of its own) and
starts another.

Frames, both ways: a 4-byte big-endian payload length, a 1-byte kind, the payload. The parent sends
``Q`` (a JSON request: query, dataset, formats, store generation); the worker answers ``H`` (JSON:
which of the two requested formats it wrote, ``results`` or ``rdf``), then ``D`` frames of
serialised results, then ``E``; or ``X`` (JSON: ``kind`` syntax|query, ``message``, ``line``,
``column``) at any point. Each request names the database checkpoint to read (``db``); the
worker reopens when it changes, so that it sees every write the server made.

``python worker.py --update DIR`` is the other mode, one update per process: it opens the database
copy ``DIR`` for writing, runs the update read as JSON (``update``, ``base``) from its input,
flushes, and prints ``{"ok": true}`` or the error body above; the store
(:meth:`~boostkg.store.embedded.EmbeddedStore.update_isolated`) kills it at the update deadline
and then simply discards the copy.
"""

from __future__ import annotations

import json
import os
import re
import struct
import sys
from typing import Any

import pyoxigraph as ox

FRAME = struct.Struct(">IB")
CHUNK = 64 * 1024
RESULT_FORMATS = {
    "json": ox.QueryResultsFormat.JSON,
    "xml": ox.QueryResultsFormat.XML,
    "csv": ox.QueryResultsFormat.CSV,
    "tsv": ox.QueryResultsFormat.TSV,
}
RDF_FORMATS = {
    "turtle": ox.RdfFormat.TURTLE,
    "ntriples": ox.RdfFormat.N_TRIPLES,
    "nquads": ox.RdfFormat.N_QUADS,
    "trig": ox.RdfFormat.TRIG,
    "jsonld": ox.RdfFormat.JSON_LD,
    "rdfxml": ox.RdfFormat.RDF_XML,
}
_POSITION = re.compile(r"^error at (\d+):(\d+): ")


class Pipe:
    """Frames out on a file descriptor, coalesced: frames wait in ``pending`` until a chunk of
    results is full or the answer ends, so a small answer (header, data, end) is one write."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = bytearray()
        self.pending = bytearray()

    def frame(self, kind: bytes, payload: bytes = b"") -> None:
        self.pending += FRAME.pack(len(payload), kind[0])
        self.pending += payload

    def send(self, kind: bytes, payload: bytes = b"") -> None:
        """Add a frame and write out everything pending."""
        self.frame(kind, payload)
        view = memoryview(self.pending)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]
        view.release()
        self.pending.clear()

    def write(self, data: bytes) -> int:
        self.buffer += data
        if len(self.buffer) >= CHUNK:
            self.send(b"D", bytes(self.buffer))
            self.buffer.clear()
        return len(data)

    def flush(self) -> None:
        if self.buffer:
            self.frame(b"D", bytes(self.buffer))
            self.buffer.clear()


def read_exact(fd: int, size: int) -> bytes | None:
    """``size`` bytes from ``fd``, or ``None`` at end of input."""
    parts = bytearray()
    while len(parts) < size:
        data = os.read(fd, size - len(parts))
        if not data:
            return None
        parts += data
    return bytes(parts)


def graphs(names: list[str] | None) -> list[Any] | None:
    """pyoxigraph graph names ("" is the default graph)."""
    if names is None:
        return None
    return [ox.DefaultGraph() if not name else ox.NamedNode(name) for name in names]


def error_body(kind: str, exc: BaseException) -> dict[str, Any]:
    """An engine error as ``kind``, ``message`` (one line) and, for syntax errors, ``line``/``column``."""
    message = str(exc)
    position = _POSITION.match(message)
    line = column = None
    if position:
        line, column = int(position.group(1)), int(position.group(2))
        message = message[position.end() :]
    return {"kind": kind, "message": " ".join(message.split()), "line": line, "column": column}


def error(pipe: Pipe, kind: str, exc: BaseException) -> None:
    pipe.send(b"X", json.dumps(error_body(kind, exc)).encode("utf-8"))


def run_update(path: str) -> None:
    """Apply the update read from standard input to the database at ``path``; print the outcome."""
    request = json.loads(sys.stdin.buffer.read())
    body: dict[str, Any] = {"ok": True}
    try:
        store = ox.Store(path)
        store.update(request["update"], base_iri=request.get("base"))
        store.flush()
    except SyntaxError as exc:
        body = error_body("syntax", exc)
    except (OSError, ValueError) as exc:
        body = error_body("query", exc)
    sys.stdout.write(json.dumps(body))
    sys.stdout.flush()


def answer(store: ox.Store, request: dict[str, Any], pipe: Pipe) -> None:
    options: dict[str, Any] = {"base_iri": request.get("base")}
    default, named = graphs(request.get("default")), graphs(request.get("named"))
    if default is not None:
        options["default_graph"] = default
    if named is not None:
        options["named_graphs"] = named
    if default is None and named is None and request.get("union"):
        options["use_default_graph_as_union"] = True
    try:
        result = store.query(request["query"], **options)
    except SyntaxError as exc:
        error(pipe, "syntax", exc)
        return
    except (OSError, ValueError) as exc:
        error(pipe, "query", exc)
        return
    try:
        if isinstance(result, ox.QueryTriples):
            pipe.frame(b"H", b'"rdf"')
            result.serialize(pipe, RDF_FORMATS[request["rdf"]])  # type: ignore[arg-type]
        else:
            pipe.frame(b"H", b'"results"')
            result.serialize(pipe, RESULT_FORMATS[request["results"]])  # type: ignore[arg-type]
        pipe.flush()
    except (OSError, ValueError) as exc:  # an evaluation error after results started
        pipe.buffer.clear()
        pipe.pending.clear()  # nothing sent yet: the error is the whole answer
        error(pipe, "query", exc)
        return
    pipe.send(b"E")


def main() -> None:
    """Answer requests until the parent closes our input."""
    out_fd = os.dup(1)
    os.dup2(2, 1)  # anything printed by accident goes to stderr, not into the frames
    pipe = Pipe(out_fd)
    store: ox.Store | None = None
    opened: object = None
    while True:
        header = read_exact(0, FRAME.size)
        if header is None:
            return
        size, _kind = FRAME.unpack(header)
        payload = read_exact(0, size)
        if payload is None:
            return
        request = json.loads(payload)
        if store is None or request["db"] != opened:
            store = None
            try:
                store = ox.Store.read_only(request["db"])
            except (OSError, RuntimeError) as exc:
                error(pipe, "query", exc)
                continue
            opened = request["db"]
        answer(store, request, pipe)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--update":
        run_update(sys.argv[2])
    else:
        main()
