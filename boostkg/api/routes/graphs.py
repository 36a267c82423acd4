"""The SPARQL 1.1 Graph Store HTTP Protocol at ``/graphs``.

A graph is named indirectly (``/graphs?graph=IRI``, ``/graphs?default``) or directly (the request
URL ``/graphs/...`` is the graph's IRI). GET and HEAD are open to everyone, as the same triples are
through ``/sparql``; PUT, POST and DELETE need an administrator's token and run under the app's
write lock as one all-or-nothing unit. ``?default`` is the store's unnamed graph, which SPARQL
queries see as part of the union default graph (boostkg itself keeps every triple in a named
graph, so it is empty unless an administrator writes to it). POST to ``/graphs`` with no graph
creates a new graph under ``/graphs/`` and answers 201 with its IRI in ``Location``. The metadata
graph (PROV-O records) is written only by boostkg: writes to it get 403. Every write leaves a
PROV-O record of who made it in graph/meta, in the same unit (:mod:`boostkg.api.audit`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from rdflib import URIRef

from boostkg.api.admin import require_admin, write_state
from boostkg.api.audit import StoreWriteRecord
from boostkg.api.deps import get_app_settings, get_store
from boostkg.api.negotiation import choose
from boostkg.api.routes.sparql import META_GRAPH, Params, read_body, run_graph_download
from boostkg.auth import Steward
from boostkg.errors import (
    ForbiddenError,
    InputError,
    NotAcceptableError,
    NotFoundError,
    UnsupportedMediaTypeError,
)
from boostkg.store import EmbeddedStore, RdfFormat

router = APIRouter()

_TRIPLE_FORMATS = (RdfFormat.TURTLE, RdfFormat.NTRIPLES, RdfFormat.RDFXML, RdfFormat.JSONLD)
_INPUT_TYPES = {f.media_type: f for f in _TRIPLE_FORMATS} | {
    "application/x-turtle": RdfFormat.TURTLE,
    "text/plain": RdfFormat.NTRIPLES,
    "application/xml": RdfFormat.RDFXML,
    "text/xml": RdfFormat.RDFXML,
    "application/json": RdfFormat.JSONLD,
}
GraphTarget = URIRef | None
"""A graph IRI, or ``None`` for the store's unnamed default graph."""


class NewGraph:
    """What a POST to ``/graphs`` without a graph names: a graph the server is to create."""


def _target(request: Request, direct: str | None, *, creating: bool = False) -> GraphTarget | NewGraph:
    """The graph a request names; a :class:`NewGraph` for a POST that creates one.

    Raises:
        InputError: both ``graph`` and ``default``, neither (except a creating POST), or a bad IRI.
    """
    params = Params.parse(request.scope["query_string"])
    graph = params.one("graph")
    default = "default" in params.values
    if direct is not None:
        if graph is not None or default:
            raise InputError("a graph named by its URL takes no ?graph or ?default")
        return URIRef(str(request.url.replace(query="", fragment="")))
    if graph is not None and default:
        raise InputError("give either ?graph=IRI or ?default, not both")
    if default:
        return None
    if graph is None:
        if creating:
            return NewGraph()
        raise InputError("name the graph: ?graph=IRI or ?default")
    if ":" not in graph or any(c in graph for c in ' <>"{}|\\^`'):
        raise InputError(f"graph {graph!r} is not an absolute IRI")
    return URIRef(graph)


def _media(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _parts(request: Request, body: bytes) -> list[tuple[bytes, RdfFormat]]:
    """The RDF payloads of a request: its body, or each file of a multipart/form-data body.

    Raises:
        UnsupportedMediaTypeError: a payload in a format the store does not read.
    """
    media = _media(request)
    if media == "multipart/form-data":
        header = request.headers["content-type"].encode("latin-1")
        message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + header + b"\r\n\r\n" + body)
        if not isinstance(message, EmailMessage) or not message.is_multipart():
            raise InputError("malformed multipart body")
        found = []
        for part in message.iter_parts():
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                found.append((payload, _format(part.get_content_type(), part.get_filename())))
        return found
    return [(body, _format(media, None))]


def _format(media: str, filename: str | None) -> RdfFormat:
    fmt = _INPUT_TYPES.get(media.lower())
    if fmt is None and filename:
        fmt = RdfFormat.from_path(Path(filename))
    if fmt is None or fmt.has_graphs:
        known = ", ".join(f.media_type for f in _TRIPLE_FORMATS)
        raise UnsupportedMediaTypeError(f"Content-Type {media or 'none'} is not a graph format; use {known}")
    return fmt


def _write(
    store: EmbeddedStore,
    lock: object,
    graph: GraphTarget,
    parts: list[tuple[bytes, RdfFormat]],
    base_iri: str,
    record: StoreWriteRecord,
    *,
    replace: bool,
) -> bool:
    """Replace or extend ``graph`` with ``parts`` in one unit with its record; whether the graph is new."""
    with lock:  # type: ignore[attr-defined]
        record.started = datetime.now(UTC)
        created = not store.has_graph(graph)
        with store.atomic(label=f"graph store write to {graph or 'default graph'}"):
            before = 0 if replace or created or graph is None else store.triple_count(graph)
            for index, (data, fmt) in enumerate(parts):
                store.load_into(graph, data, fmt, base_iri=base_iri, replace=replace and index == 0)
            if graph is not None:
                size = store.triple_count(graph)
                record.generated[graph] = size
                record.triples = size - before
            record.write(store)
        return created


def _delete(store: EmbeddedStore, lock: object, graph: GraphTarget, record: StoreWriteRecord) -> None:
    """Drop ``graph`` (clear the unnamed one), with its record, in one unit.

    Raises:
        NotFoundError: no such graph.
    """
    with lock:  # type: ignore[attr-defined]
        record.started = datetime.now(UTC)
        if graph is not None and not store.has_graph(graph):
            raise NotFoundError(f"no graph {graph}")
        with store.atomic(label=f"graph store delete {graph or 'default graph'}"):
            if graph is None:
                store.clear_default_graph()
            else:
                store.drop_graph(graph)
                record.removed.append(graph)
            record.write(store)


def _refuse_meta(graph: GraphTarget | NewGraph) -> None:
    if graph == META_GRAPH:
        raise ForbiddenError(f"{META_GRAPH} holds boostkg's PROV-O records and is written only by boostkg")


def _record(operation: str, steward: Steward, graph: GraphTarget) -> StoreWriteRecord:
    record = StoreWriteRecord(operation, steward)
    if graph is None:
        record.default_graph = True
    else:
        record.targets.append(graph)
    return record


async def _read(request: Request, direct: str | None, *, head: bool) -> Response:
    graph = _target(request, direct)
    assert not isinstance(graph, NewGraph)
    store = get_store(request)
    if not store.has_graph(graph):
        raise NotFoundError(f"no graph {graph}")
    accept = request.headers.get("accept", "")
    media = choose(accept, [f.media_type for f in _TRIPLE_FORMATS]) if accept.strip() else "text/turtle"
    if media is None:
        raise NotAcceptableError(f"graphs are served as {', '.join(f.media_type for f in _TRIPLE_FORMATS)}")
    fmt = next(f for f in _TRIPLE_FORMATS if f.media_type == media)
    if head:
        return Response(media_type=fmt.media_type)
    return await run_graph_download(request, "" if graph is None else str(graph), fmt)


async def _put_or_post(request: Request, direct: str | None, *, replace: bool) -> Response:
    graph = _target(request, direct, creating=not replace)
    _refuse_meta(graph)
    steward = await require_admin(request, "Writing a graph")
    location: str | None = None
    if isinstance(graph, NewGraph):
        location = f"{str(request.base_url).rstrip('/')}/graphs/{uuid.uuid4()}"
        graph = URIRef(location)
    body = await read_body(request, get_app_settings(request).max_submission_bytes)
    parts = _parts(request, body)
    base = str(graph) if graph is not None else str(request.url.replace(query=""))
    record = _record(f"Graph Store {'PUT' if replace else 'POST'}", steward, graph)
    record.used(body, _media(request))
    created = await run_in_threadpool(
        _write,
        get_store(request),
        write_state(request).write_lock,
        graph,
        parts,
        base,
        record,
        replace=replace,
    )
    if location is not None:
        return Response(status_code=201, headers={"Location": location})
    return Response(status_code=201 if created else 204)


async def _remove(request: Request, direct: str | None) -> Response:
    graph = _target(request, direct)
    _refuse_meta(graph)
    steward = await require_admin(request, "Deleting a graph")
    assert not isinstance(graph, NewGraph)
    record = _record("Graph Store DELETE", steward, graph)
    await run_in_threadpool(_delete, get_store(request), write_state(request).write_lock, graph, record)
    return Response(status_code=204)


@router.get("/graphs", summary="Graph Store: get a graph (?graph=IRI or ?default)")
async def get_graph(request: Request) -> Response:
    return await _read(request, None, head=False)


@router.head("/graphs", include_in_schema=False)
async def head_graph(request: Request) -> Response:
    return await _read(request, None, head=True)


@router.put("/graphs", summary="Graph Store: replace a graph (administrators)")
async def put_graph(request: Request) -> Response:
    return await _put_or_post(request, None, replace=True)


@router.post("/graphs", summary="Graph Store: add to a graph, or create one (administrators)")
async def post_graph(request: Request) -> Response:
    return await _put_or_post(request, None, replace=False)


@router.delete("/graphs", summary="Graph Store: drop a graph (administrators)")
async def delete_graph(request: Request) -> Response:
    return await _remove(request, None)


@router.get("/graphs/{path:path}", summary="Graph Store: get a graph named by this URL")
async def get_direct(request: Request, path: str) -> Response:
    return await _read(request, path, head=False)


@router.head("/graphs/{path:path}", include_in_schema=False)
async def head_direct(request: Request, path: str) -> Response:
    return await _read(request, path, head=True)


@router.put("/graphs/{path:path}", summary="Graph Store: replace the graph named by this URL")
async def put_direct(request: Request, path: str) -> Response:
    return await _put_or_post(request, path, replace=True)


@router.post("/graphs/{path:path}", summary="Graph Store: add to the graph named by this URL")
async def post_direct(request: Request, path: str) -> Response:
    return await _put_or_post(request, path, replace=False)


@router.delete("/graphs/{path:path}", summary="Graph Store: drop the graph named by this URL")
async def delete_direct(request: Request, path: str) -> Response:
    return await _remove(request, path)
