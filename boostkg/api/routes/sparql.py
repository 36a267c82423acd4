"""The SPARQL 1.1 Protocol at ``/sparql``: queries for everyone, updates for administrators.

Queries: GET ``?query=``, POST form-encoded, POST ``application/sparql-query``; the dataset from
``default-graph-uri``/``named-graph-uri`` (else the query's FROM, else the union of all graphs);
results chosen by ``Accept`` (q-values) or ``format=``. Queries run in killable worker processes
(:mod:`boostkg.store.workers`) with a deadline and a size limit, except lookups whose every triple
pattern has a named subject (:func:`~boostkg.store.lexer.is_bounded_lookup`), which cannot scan the
store and are answered on the event loop when their results are small; the first MiB of results is held
back so that an error before then is a proper status, and an error after it ends the chunked body
without its terminator, so that clients fail loudly rather than read a truncated result.

Updates: POST ``application/sparql-update`` or form ``update=``, with an administrator's bearer
token, optional ``using-graph-uri``/``using-named-graph-uri``; run under the app's write lock as
one all-or-nothing unit, on a copy of the database in a child process that is killed at the update
deadline (``update_timeout_s``; the store is then unchanged), with a PROV-O record of who made the
update in graph/meta (:mod:`boostkg.api.audit`) in the same unit. ``LOAD`` is refused, and so is
any change to the metadata graph (``CLEAR``/``DROP`` ``ALL`` or ``NAMED`` spare it).

``GET /sparql`` without a query returns the SPARQL 1.1 Service Description.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse
from rdflib import URIRef

from boostkg.api import service_description as service
from boostkg.api.admin import require_admin, write_state
from boostkg.api.audit import StoreWriteRecord
from boostkg.api.deps import get_app_settings, get_store
from boostkg.api.negotiation import choose
from boostkg.config import Settings
from boostkg.errors import (
    EncodingError,
    ForbiddenError,
    InputError,
    NotAcceptableError,
    PayloadTooLargeError,
    QueryError,
    ResultTooLargeError,
    UnsupportedMediaTypeError,
    UriTooLongError,
)
from boostkg.namespaces import graph_iri
from boostkg.store import EmbeddedStore, RdfFormat, ResultFormat
from boostkg.store.lexer import Scan, named_graphs, scan, with_using
from boostkg.store.workers import QueryJob, QueryWorkers

router = APIRouter()

START_BUFFER = 1 << 20
"""Bytes of results held back before the 200 goes out (errors before then get a real status)."""
FORM = "application/x-www-form-urlencoded"
QUERY_TYPE = "application/sparql-query"
UPDATE_TYPE = "application/sparql-update"
META_GRAPH = graph_iri("meta")
DOWNLOAD_TIMEOUT_FACTOR = 20
_EMPTY_FINGERPRINT = hashlib.sha256(b"").hexdigest()
""":meth:`~boostkg.store.embedded.EmbeddedStore.fingerprint` of an empty or absent graph."""
IN_PROCESS_MAX_BYTES = 256 * 1024
"""Largest result of a bounded lookup answered in the server process (larger: a worker runs it)."""

_RESULT_OFFERS: tuple[tuple[str, ResultFormat], ...] = (
    (ResultFormat.JSON.value, ResultFormat.JSON),
    (ResultFormat.XML.value, ResultFormat.XML),
    (ResultFormat.CSV.value, ResultFormat.CSV),
    (ResultFormat.TSV.value, ResultFormat.TSV),
    ("application/json", ResultFormat.JSON),
    ("application/xml", ResultFormat.XML),
    ("text/xml", ResultFormat.XML),
)
_BOOLEAN_OFFERS = tuple(o for o in _RESULT_OFFERS if o[1] in (ResultFormat.JSON, ResultFormat.XML))
_RDF_OFFERS: tuple[tuple[str, RdfFormat], ...] = (
    *((f.media_type, f) for f in RdfFormat),
    ("application/json", RdfFormat.JSONLD),
    ("application/xml", RdfFormat.RDFXML),
    ("text/xml", RdfFormat.RDFXML),
    ("text/plain", RdfFormat.NTRIPLES),
    ("application/x-turtle", RdfFormat.TURTLE),
)
_RDF_ORDER = (
    RdfFormat.TURTLE,
    RdfFormat.NTRIPLES,
    RdfFormat.RDFXML,
    RdfFormat.JSONLD,
    RdfFormat.TRIG,
    RdfFormat.NQUADS,
)
_RDF_OFFERS = tuple(sorted(_RDF_OFFERS, key=lambda o: (o[0] != o[1].media_type, _RDF_ORDER.index(o[1]))))
_FORMAT_NAMES: dict[str, ResultFormat] = {"json": ResultFormat.JSON, "xml": ResultFormat.XML}
_FORMAT_NAMES.update(csv=ResultFormat.CSV, tsv=ResultFormat.TSV)


@dataclass(frozen=True)
class Params:
    """The protocol's parameters, from the URL and (for a form POST) the body; every value a list."""

    values: dict[str, list[str]]

    @classmethod
    def parse(cls, *sources: bytes) -> Params:
        """Decode query strings / form bodies (percent-escapes must decode to UTF-8).

        Raises:
            EncodingError: a value is not UTF-8 once percent-decoded.
        """
        values: dict[str, list[str]] = {}
        for source in sources:
            if not source:
                continue
            try:
                pairs = parse_qsl(
                    source.decode("utf-8"), keep_blank_values=True, encoding="utf-8", errors="strict"
                )
            except UnicodeDecodeError as exc:
                raise EncodingError(f"a request parameter is not valid UTF-8 ({exc.reason})") from exc
            for name, value in pairs:
                values.setdefault(name, []).append(value)
        return cls(values)

    def all(self, name: str) -> list[str]:
        return self.values.get(name, [])

    def one(self, name: str) -> str | None:
        """The single value of ``name`` (``None`` if absent).

        Raises:
            InputError: ``name`` was given more than once.
        """
        found = self.values.get(name)
        if not found:
            return None
        if len(found) > 1:
            raise InputError(f"'{name}' was given {len(found)} times; send exactly one")
        return found[0]

    def graphs(self, name: str) -> tuple[str, ...] | None:
        """The graph IRIs given as ``name`` (``None`` if none).

        Raises:
            InputError: a value is not an absolute IRI.
        """
        found = self.values.get(name)
        if not found:
            return None
        for iri in found:
            if ":" not in iri or any(c in iri for c in ' <>"{}|\\^`'):
                raise InputError(f"{name} {iri!r} is not an absolute IRI")
        return tuple(found)


def _workers(request: Request) -> QueryWorkers:
    return cast(QueryWorkers, request.app.state.query_workers)


def endpoint_url(request: Request) -> str:
    return str(request.url.replace(query="", fragment="")).rstrip("?")


def checked_text(text: str, settings: Settings, what: str) -> str:
    if len(text) > settings.max_query_bytes or len(text.encode("utf-8")) > settings.max_query_bytes:
        raise PayloadTooLargeError(
            f"the {what} is longer than the {settings.max_query_bytes:,} bytes this endpoint accepts"
        )
    if not text.strip():
        raise InputError(f"the {what} is empty")
    return text


def check_services(found: Scan, settings: Settings) -> None:
    for target in found.services:
        if target not in settings.service_allow:
            if not settings.service_allow:
                raise ForbiddenError(f"SERVICE is disabled on this endpoint (asked for {target})")
            raise ForbiddenError(
                f"SERVICE {target} is not allowed; allowed endpoints: {', '.join(settings.service_allow)}"
            )


def negotiate(found: Scan, accept: str, wanted: str | None) -> tuple[ResultFormat, RdfFormat]:
    """The results format and the RDF format for this query (only the one its form uses matters).

    Raises:
        NotAcceptableError: nothing the client accepts can represent any query result.
    """
    results, rdf = ResultFormat.JSON, RdfFormat.TURTLE
    if wanted:
        return _named_format(wanted)
    result_offers = _BOOLEAN_OFFERS if found.form == "ASK" else _RESULT_OFFERS
    chosen_results = choose(accept, [m for m, _ in result_offers])
    chosen_rdf = choose(accept, [m for m, _ in _RDF_OFFERS])
    if chosen_results:
        results = dict(result_offers)[chosen_results]
    if chosen_rdf:
        rdf = dict(_RDF_OFFERS)[chosen_rdf]
    if chosen_results is None and chosen_rdf is None:
        raise NotAcceptableError(
            f"nothing this endpoint writes matches Accept: {accept}; it writes SPARQL results as "
            f"{', '.join(f.value for f in ResultFormat)} and graphs as "
            f"{', '.join(f.media_type for f in RdfFormat)}"
        )
    # a client that accepts only RDF (or only results) gets the form's default rather than a 406:
    # SPARQL clients send one fixed Accept for every query form.
    return results, rdf


def _named_format(wanted: str) -> tuple[ResultFormat, RdfFormat]:
    """``format=`` (a short name or a media type) as both formats.

    Raises:
        NotAcceptableError: an unknown format.
    """
    name = wanted.strip().lower()
    results = _FORMAT_NAMES.get(name) or dict(_RESULT_OFFERS).get(name)
    rdf = dict(_RDF_OFFERS).get(name)
    if rdf is None:
        try:
            rdf = RdfFormat.from_name(name)
        except InputError:
            rdf = None
    if results is None and rdf is None:
        raise NotAcceptableError(
            f"unknown format {wanted!r}; use json, xml, csv, tsv, turtle, nt, rdfxml, jsonld, trig, "
            "nquads or a media type"
        )
    return results or ResultFormat.JSON, rdf or RdfFormat.TURTLE


async def run_query(request: Request, query: str, params: Params) -> Response:
    """Run a query through the worker pool and answer it (buffered start, then streamed)."""
    settings = get_app_settings(request)
    checked_text(query, settings, "query")
    if params.all("using-graph-uri") or params.all("using-named-graph-uri"):
        raise InputError("using-graph-uri and using-named-graph-uri belong to updates, not queries")
    found = scan(query)
    check_services(found, settings)
    results, rdf = negotiate(found, request.headers.get("accept", ""), params.one("format"))
    default_graphs = params.graphs("default-graph-uri")
    named_graphs = params.graphs("named-graph-uri")
    if named_graphs is not None and default_graphs is None:
        default_graphs = ()  # a protocol dataset without default graphs has an empty default graph
    if default_graphs is not None and named_graphs is None:
        named_graphs = ()
    base_iri = endpoint_url(request)
    if (
        default_graphs is None
        and named_graphs is None
        and not found.has_dataset_clause
        and not found.services
    ):
        answered = _lookup_in_process(request, query, found.form, (results, rdf), settings)
        if answered is not None:
            return answered
    job = QueryJob(
        query=query,
        results=results,
        rdf=rdf,
        default_graphs=default_graphs,
        named_graphs=named_graphs,
        union=not found.has_dataset_clause,
        base_iri=base_iri,
    )
    return await respond(request, job, settings.query_timeout_s)


def _lookup_in_process(
    request: Request,
    query: str,
    form: str | None,
    formats: tuple[ResultFormat, RdfFormat],
    settings: Settings,
) -> Response | None:
    """Answer a query that provably cannot run long (a bounded lookup, or a join whose work bound
    is small: :meth:`~boostkg.store.embedded.EmbeddedStore.query_inline`) on the event loop,
    skipping the worker round trip that costs more than the query; ``None`` when it is not one, a
    write holds the store, it fails (the worker then reports the error) or its results pass
    :data:`IN_PROCESS_MAX_BYTES` (the worker then runs it under the deadline)."""
    body = query_small(request.app, query, formats, endpoint_url(request), settings)
    if body is None:
        return None
    return Response(body, media_type=media_for(form, formats))


def media_for(form: str | None, formats: tuple[ResultFormat, RdfFormat]) -> str:
    return formats[1].media_type if form in ("CONSTRUCT", "DESCRIBE") else formats[0].value


LookupRunner = Callable[[str, ResultFormat, RdfFormat, str, int], "bytes | None"]
"""Runs a query if it is cheap enough to answer without a worker (query, results format, RDF format,
base IRI, byte budget): its serialised results, or ``None``."""


def app_lookup_runner(app: Any) -> LookupRunner:
    """Cheap queries on ``app``'s store, skipped (``None``) while a write holds its write lock."""
    state = app.state
    lock = getattr(state, "lookup_write_lock", None)
    if lock is None:
        lock = state.lookup_write_lock = write_state(Request({"type": "http", "app": app})).write_lock
    store = cast(EmbeddedStore, state.store)
    metrics = getattr(state, "metrics", None)
    inline = metrics.inline if metrics is not None else None

    def run(query: str, results: ResultFormat, rdf: RdfFormat, base_iri: str, max_bytes: int) -> bytes | None:
        if not lock.acquire(blocking=False):
            return None
        try:
            body = store.query_inline(
                query, result_format=results, rdf_format=rdf, base_iri=base_iri, max_bytes=max_bytes
            )
        finally:
            lock.release()
        if body is not None and inline is not None:
            inline.inc()
        return body

    return run


def query_small(
    app: Any, query: str, formats: tuple[ResultFormat, RdfFormat], base_iri: str, settings: Settings
) -> bytes | None:
    return lookup_runner(app)(
        query, formats[0], formats[1], base_iri, min(IN_PROCESS_MAX_BYTES, settings.max_result_bytes)
    )


def lookup_runner(app: Any) -> LookupRunner:
    """``app``'s lookup runner, made on first use (a remote store's app sets one that declines)."""
    runner = getattr(app.state, "lookup_runner", None)
    if runner is None:
        runner = app.state.lookup_runner = app_lookup_runner(app)
    return cast(LookupRunner, runner)


async def run_graph_download(request: Request, graph: str, rdf: RdfFormat) -> Response:
    """Stream one graph's triples (``""``: the unnamed default graph) in ``rdf``; a download may
    run for ``DOWNLOAD_TIMEOUT_FACTOR`` times the query timeout."""
    settings = get_app_settings(request)
    job = QueryJob(
        query="CONSTRUCT WHERE { ?s ?p ?o }",
        rdf=rdf,
        default_graphs=(graph,),
        named_graphs=(),
        union=False,
    )
    return await respond(request, job, settings.query_timeout_s * DOWNLOAD_TIMEOUT_FACTOR)


async def respond(request: Request, job: QueryJob, timeout_s: float) -> Response:
    """Run ``job`` and answer: in one piece if its results fit in :data:`START_BUFFER`, else
    streamed; an error before the buffer fills is a problem response with its own status."""
    settings = get_app_settings(request)
    answer = await _workers(request).run(job, timeout_s=timeout_s)
    media = job.rdf.media_type if answer.is_graph else job.results.value
    chunks = answer.chunks
    head: list[bytes] = []
    size = 0
    limit = settings.max_result_bytes
    try:
        async for chunk in chunks:
            size += len(chunk)
            if size > limit:
                raise ResultTooLargeError(f"the results are larger than this endpoint's {limit:,}-byte limit")
            head.append(chunk)
            if size >= START_BUFFER:
                break
        else:
            return Response(b"".join(head), media_type=media)
    except BaseException:
        await chunks.aclose()  # type: ignore[attr-defined]
        raise
    return StreamingResponse(rest_of(head, chunks, size, limit), media_type=media)


async def rest_of(
    head: list[bytes], chunks: AsyncIterator[bytes], size: int, limit: int
) -> AsyncIterator[bytes]:
    """The held-back start, then the rest; an error ends the body without its chunked terminator
    (after a last line saying why), which every HTTP client reports as an incomplete response."""
    try:
        for chunk in head:
            yield chunk
        head.clear()
        async for chunk in chunks:
            size += len(chunk)
            if size > limit:
                raise ResultTooLargeError(f"the results are larger than this endpoint's {limit:,}-byte limit")
            yield chunk
    except QueryError as exc:
        yield f"\n\n# boostkg: {exc}. THIS RESPONSE IS INCOMPLETE.\n".encode()
        raise
    finally:
        await chunks.aclose()  # type: ignore[attr-defined]


def _apply_update(
    store: EmbeddedStore,
    update: str,
    base_iri: str,
    lock: object,
    record: StoreWriteRecord,
    timeout_s: float,
) -> None:
    """Run an update under the write lock as one unit with its record; refuse (and undo) a change
    to graph/meta; stop it (nothing changed) past ``timeout_s``."""
    bulk = bool(scan(update).keywords & {"ALL", "NAMED"})
    with lock:  # type: ignore[attr-defined]
        record.started = datetime.now(UTC)
        before = store.fingerprint(META_GRAPH)
        meta = io.BytesIO()
        if bulk:
            store.dump(meta, RdfFormat.NTRIPLES, graph=META_GRAPH)
        graphs_before = store.graph_names()
        with store.atomic(label="SPARQL update"):
            store.update_isolated(update, base_iri=base_iri, timeout_s=timeout_s)
            after = store.fingerprint(META_GRAPH)
            if after != before and bulk and after == _EMPTY_FINGERPRINT:
                # CLEAR/DROP ALL or NAMED: every graph but boostkg's own records
                store.load_into(META_GRAPH, meta.getvalue(), RdfFormat.NTRIPLES, replace=True)
            elif after != before:
                raise ForbiddenError(
                    f"the update changes {META_GRAPH}, the PROV-O record boostkg keeps of every load; "
                    "it is written only by boostkg itself (nothing was changed)"
                )
            record.note_graph_changes(graphs_before, store.graph_names())
            record.write(store)


async def run_update(request: Request, update: str, params: Params) -> Response:
    """Run an administrator's update; 204 when done."""
    settings = get_app_settings(request)
    steward = await require_admin(request, "SPARQL Update")
    checked_text(update, settings, "update")
    found = scan(update)
    if "LOAD" in found.keywords:
        raise ForbiddenError("LOAD is refused on this endpoint: the server reads no files or URLs")
    check_services(found, settings)
    using = params.graphs("using-graph-uri") or ()
    using_named = params.graphs("using-named-graph-uri") or ()
    if (using or using_named) and found.keywords & {"USING", "WITH"}:
        raise InputError(
            "the update names its dataset with USING or WITH and the request with "
            "using-graph-uri/using-named-graph-uri; use one or the other"
        )
    text = with_using(update, found, list(using), list(using_named))
    record = StoreWriteRecord("SPARQL Update", steward)
    record.used(text.encode("utf-8"), UPDATE_TYPE)
    record.targets = [URIRef(g) for g in named_graphs(text)]
    store = get_store(request)
    lock = write_state(request).write_lock
    await run_in_threadpool(
        _apply_update, store, text, endpoint_url(request), lock, record, settings.update_timeout_s
    )
    return Response(status_code=204)


def _content_type(request: Request) -> tuple[str, str | None]:
    """Media type and charset of the request body.

    Raises:
        UnsupportedMediaTypeError: a charset other than UTF-8.
    """
    header = request.headers.get("content-type", "")
    media, *params = header.split(";")
    charset = None
    for param in params:
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    if charset not in (None, "utf-8", "utf8"):
        raise UnsupportedMediaTypeError(f"charset {charset} is not supported; send UTF-8")
    return media.strip().lower(), charset


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLargeError(f"the request body is larger than the {limit:,} bytes accepted")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLargeError(f"the request body is larger than the {limit:,} bytes accepted")
        chunks.append(chunk)
    return b"".join(chunks)


def _decode(body: bytes, what: str) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EncodingError(f"the {what} is not valid UTF-8 (byte {exc.start})") from exc


@router.get("/sparql", summary="SPARQL query (GET) or the service description")
async def sparql_get(request: Request) -> Response:
    """``?query=`` (with ``default-graph-uri``, ``named-graph-uri``, ``format``); without a query,
    the SPARQL 1.1 Service Description of this endpoint."""
    settings = get_app_settings(request)
    raw = request.scope["query_string"]
    if len(raw) > settings.max_query_bytes * 3:
        raise UriTooLongError(
            f"the request URL is {len(raw):,} bytes long; POST queries longer than "
            f"{settings.max_query_bytes:,} bytes (they are refused either way)"
        )
    params = Params.parse(raw)
    if params.all("update"):
        raise InputError("an update must be sent with POST (application/sparql-update or form update=)")
    query = params.one("query")
    if query is None:
        if params.values:
            raise InputError("missing 'query' parameter")
        return await service.describe(request, endpoint_url(request))
    return await run_query(request, query, params)


@router.post("/sparql", summary="SPARQL query or update (POST)")
async def sparql_post(request: Request) -> Response:
    """A query (form ``query=`` or ``application/sparql-query``) or an administrator's update (form
    ``update=`` or ``application/sparql-update``)."""
    settings = get_app_settings(request)
    media, _ = _content_type(request)
    url_params = Params.parse(request.scope["query_string"])
    if media == FORM:
        body = await read_body(request, settings.max_query_bytes * 3 + 65536)
        params = Params.parse(request.scope["query_string"], body)
        query, update = params.one("query"), params.one("update")
        if query is not None and update is not None:
            raise InputError("the request has both 'query' and 'update'; send one operation")
        if update is not None:
            return await run_update(request, update, params)
        if query is None:
            raise InputError("missing 'query' (or 'update') in the form")
        return await run_query(request, query, params)
    if media not in (QUERY_TYPE, UPDATE_TYPE):
        shown = media or "none"
        raise UnsupportedMediaTypeError(
            f"Content-Type {shown} is not a SPARQL request; use {FORM}, {QUERY_TYPE} or {UPDATE_TYPE}"
        )
    if url_params.all("query") or url_params.all("update"):
        raise InputError(f"a {media} request carries its operation in the body, not in the URL")
    body = await read_body(request, settings.max_query_bytes)
    if media == UPDATE_TYPE:
        return await run_update(request, _decode(body, "update"), url_params)
    return await run_query(request, _decode(body, "query"), url_params)
