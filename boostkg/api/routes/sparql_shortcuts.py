"""Answers to ``GET /sparql`` given ahead of the application's full path: the same status,
headers and body that path would give, with less work per request.

- :class:`LookupFastPath` is ASGI middleware, outermost of the app's own, answering a query that
  cannot run long before FastAPI's routing, dependency and exception layers.
- :func:`front_answer` serves ``boostkg serve``'s own HTTP protocol (:mod:`boostkg.api.front`),
  which reads a request head before h11: a query that cannot run long is answered at once, any
  other becomes a :class:`FrontResponse` that a worker (or the remote store) answers.
- :func:`lookup_answer` serves the lookup processes (:mod:`boostkg.api.lookups`).

Each takes only what it can answer and returns ``None`` for anything else, errors included: the
full path (:mod:`boostkg.api.routes.sparql`) then answers, and reports the error.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from http import HTTPStatus
from typing import Any, cast

from fastapi import Request
from fastapi.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from boostkg.api.front import lookup_response
from boostkg.api.problems import problem, status_for
from boostkg.api.routes.sparql import (
    IN_PROCESS_MAX_BYTES,
    START_BUFFER,
    LookupRunner,
    Params,
    check_services,
    checked_text,
    endpoint_url,
    lookup_runner,
    media_for,
    negotiate,
    query_small,
    rest_of,
)
from boostkg.config import Settings
from boostkg.errors import BoostKGError, EncodingError, InputError, NotAcceptableError, ResultTooLargeError
from boostkg.store import RdfFormat, ResultFormat
from boostkg.store.lexer import Scan, scan
from boostkg.store.remote_queries import RemoteQueries
from boostkg.store.workers import Answer, QueryJob, QueryWorkers


def lookup_answer(
    settings: Settings, run: LookupRunner, query_string: bytes, accept: str, base_iri: str
) -> tuple[bytes, str] | None:
    """The answer (body, media type) to ``GET /sparql?<query_string>`` if it has only the
    ``query`` parameter and ``run`` answers it (a query that cannot run long); ``None`` for
    anything else (the full path then answers it, errors included)."""
    if len(query_string) > settings.max_query_bytes:
        return None
    try:
        params = Params.parse(query_string)
    except EncodingError:
        return None
    found = params.values.get("query")
    if len(params.values) != 1 or found is None or len(found) != 1:
        return None
    query = found[0]
    try:
        checked_text(query, settings, "query")
    except InputError:
        return None
    scanned = scan(query)
    if scanned.services or scanned.has_dataset_clause or scanned.form is None:
        return None
    formats = _negotiated(scanned, accept, None)
    if formats is None:
        return None
    body = run(query, formats[0], formats[1], base_iri, min(IN_PROCESS_MAX_BYTES, settings.max_result_bytes))
    return None if body is None else (body, media_for(scanned.form, formats))


def app_lookup_answer(app: Any, query_string: bytes, accept: str, base_iri: str) -> tuple[bytes, str] | None:
    """:func:`lookup_answer` on ``app``'s store and settings."""
    return lookup_answer(
        cast(Settings, app.state.settings), lookup_runner(app), query_string, accept, base_iri
    )


class LookupFastPath:
    """ASGI middleware answering ``GET /sparql?query=<bounded lookup>`` before FastAPI's routing,
    dependency and exception layers, which cost more than the lookup. Only a request with the one
    parameter ``query``, no ``Origin`` (so no CORS headers are due) and an ``Accept`` some results
    format satisfies takes this path; it answers only a success, so anything else (every error
    included) goes through the app as before, which reports it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"] == "/sparql":
            response = self._answer(scope)
            if response is not None:
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    @staticmethod
    def _answer(scope: Scope) -> Response | None:
        accept = ""
        for name, value in scope["headers"]:
            if name == b"origin":
                return None
            if name == b"accept" and not accept:
                accept = value.decode("latin-1")
        request = Request(scope)
        app = scope["app"]
        found = app_lookup_answer(app, scope["query_string"], accept, endpoint_url(request))
        if found is None:
            return None
        # the headers the middleware this path skips would add (security headers, CORS)
        headers = {"x-content-type-options": "nosniff"}
        if cast(Settings, app.state.settings).cors_origins:
            headers["vary"] = "Origin"
        return Response(found[0], media_type=found[1], headers=headers)


class FrontResponse:
    """The whole HTTP/1.1 response to a ``GET /sparql`` that the query workers (or the remote
    store) answer, as bytes to write in order (:meth:`pieces`): the same status, headers and body
    the application would send, bar its request id. ``status`` is known once the first piece has
    been produced."""

    def __init__(
        self,
        start: Callable[[], Awaitable[Answer]],
        job: QueryJob,
        settings: Settings,
        default_headers: list[tuple[bytes, bytes]],
    ) -> None:
        self._start = start
        self._job = job
        self._settings = settings
        self._default_headers = default_headers
        self.status = 0
        self.slug = ""
        """The problem type of an error response (``""`` for a 200)."""

    async def pieces(self) -> AsyncGenerator[bytes, None]:
        """The response: in one piece with ``content-length`` when the results fit
        :data:`START_BUFFER`, else chunked; an error before then is a problem response (its status,
        ``Retry-After`` for an unavailable server), an error after it raises once the body has
        been cut off, and the caller must then close the connection without the terminator."""
        settings, job = self._settings, self._job
        limit = settings.max_result_bytes
        try:
            answer = await self._start()
        except BoostKGError as exc:
            yield self._problem(exc)
            return
        media = job.rdf.media_type if answer.is_graph else job.results.value
        chunks = answer.chunks
        head: list[bytes] = []
        size = 0
        failed: BoostKGError | None = None
        try:
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise ResultTooLargeError(
                        f"the results are larger than this endpoint's {limit:,}-byte limit"
                    )
                head.append(chunk)
                if size >= START_BUFFER:
                    break
            else:
                self.status = 200
                yield lookup_response(self._default_headers, b"".join(head), media)
                return
        except BoostKGError as exc:
            failed = exc
        finally:
            if failed is not None or size < START_BUFFER:
                await chunks.aclose()  # type: ignore[attr-defined]
        if failed is not None:
            yield self._problem(failed)
            return
        self.status = 200
        start = [b"HTTP/1.1 200 OK\r\n"]
        for name, value in self._default_headers:
            start += (name, b": ", value, b"\r\n")
        content_type = f"{media}; charset=utf-8" if media.startswith("text/") else media
        start += (b"content-type: ", content_type.encode("ascii"), b"\r\nx-content-type-options: nosniff")
        start.append(b"\r\ntransfer-encoding: chunked\r\n\r\n")
        try:
            yield b"".join(start)
            async for chunk in rest_of(head, chunks, size, limit):
                if chunk:
                    yield b"%x\r\n%b\r\n" % (len(chunk), chunk)
        finally:  # closed early (the client went away): the server connection and the turn go back
            await chunks.aclose()  # type: ignore[attr-defined]
        yield b"0\r\n\r\n"

    def _problem(self, exc: BoostKGError) -> bytes:
        """The problem response the application's error handler sends for ``exc``."""
        status, slug = status_for(exc)
        self.status, self.slug = status, slug
        rendered = problem(status, slug, str(exc), "/sparql")
        out = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n".encode("ascii")]
        for name, value in [*self._default_headers, *rendered.raw_headers]:
            out += (name, b": ", value, b"\r\n")
        out += (b"x-content-type-options: nosniff\r\n\r\n", bytes(rendered.body))
        return b"".join(out)


_NEGOTIATED: dict[tuple[str | None, str, str | None], tuple[ResultFormat, RdfFormat] | None] = {}
_NEGOTIATED_MAX = 512


def _negotiated(found: Scan, accept: str, wanted: str | None) -> tuple[ResultFormat, RdfFormat] | None:
    """:func:`negotiate` (``None`` for a 406), remembered per query form, ``Accept`` and ``format=``:
    clients send the same few headers again and again, and negotiating costs more than the lookup
    of the answer (~12 µs)."""
    key = (found.form, accept, wanted)
    try:
        return _NEGOTIATED[key]
    except KeyError:
        pass
    try:
        formats: tuple[ResultFormat, RdfFormat] | None = negotiate(found, accept, wanted)
    except NotAcceptableError:
        formats = None
    if len(_NEGOTIATED) >= _NEGOTIATED_MAX:  # many distinct headers: start again rather than grow
        _NEGOTIATED.clear()
    _NEGOTIATED[key] = formats
    return formats


def front_answer(
    app: Any, query_string: bytes, accept: str, base_iri: str, default_headers: list[tuple[bytes, bytes]]
) -> bytes | FrontResponse | None:
    """The response to ``GET /sparql?<query_string>`` when it is a plain query: the parameters
    ``query`` and optionally ``format``, once each, UTF-8, within the size limit, a query form the
    lexer recognises, no SERVICE the settings refuse, a format the client accepts. A query that
    cannot run long on the embedded store is answered at once (the whole response, as bytes); any
    other is a :class:`FrontResponse` that runs it on the query workers, or on the remote store.
    Decided without I/O; ``None`` for anything else (the full path then answers it, its errors
    included)."""
    state = app.state
    settings = cast(Settings, state.settings)
    if len(query_string) > settings.max_query_bytes:
        return None
    try:
        values = Params.parse(query_string).values
    except EncodingError:
        return None
    found = values.get("query")
    wanted = values.get("format", [None])
    if found is None or len(found) != 1 or len(wanted) != 1 or len(values) != 1 + ("format" in values):
        return None
    query = found[0]
    try:
        checked_text(query, settings, "query")
        scanned = scan(query)
        if scanned.form is None:
            return None
        check_services(scanned, settings)
    except BoostKGError:
        return None
    formats = _negotiated(scanned, accept, wanted[0])
    if formats is None:
        return None
    if settings.cors_origins:  # as CORSMiddleware marks an answer to a request without Origin
        default_headers = [*default_headers, (b"vary", b"Origin")]
    workers = state.query_workers
    remote = isinstance(workers, RemoteQueries)
    if not remote and not scanned.services and not scanned.has_dataset_clause:
        body = query_small(app, query, formats, base_iri, settings)
        if body is not None:
            return lookup_response(default_headers, body, media_for(scanned.form, formats))
    results, rdf = formats
    job = QueryJob(
        query=query, results=results, rdf=rdf, union=not scanned.has_dataset_clause, base_iri=base_iri
    )
    timeout_s = settings.query_timeout_s
    if remote:
        remote_workers = cast(RemoteQueries, workers)
        form = scanned.form
        raw = query_string.decode("latin-1") if len(values) == 1 else None

        def start() -> Awaitable[Answer]:
            return remote_workers.run(job, timeout_s=timeout_s, form=form, query_params=raw)

    else:
        pool = cast(QueryWorkers, workers)

        def start() -> Awaitable[Answer]:
            return pool.run(job, timeout_s=timeout_s)

    return FrontResponse(start, job, settings, default_headers)
