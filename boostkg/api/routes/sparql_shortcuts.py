"""Answers to ``GET /sparql`` given ahead of the application's full path: the same status,
headers and body that path would give, with less work per request.

- :class:`LookupFastPath` is ASGI middleware, outermost of the app's own, answering a query that
  cannot run long before FastAPI's routing, dependency and exception layers.
- :func:`front_plan` and :func:`front_answer` serve ``boostkg serve``'s own HTTP protocol
  (:mod:`boostkg.api.front`), which reads a request head before h11: a query that cannot run long
  is answered at once, any other becomes a :class:`FrontResponse` that a worker (or the remote
  store) answers.
- :func:`lookup_answer` serves the lookup processes (:mod:`boostkg.api.lookups`).

Each takes only what it can answer and declines anything else (``None``), errors included: the
full path (:mod:`boostkg.api.routes.sparql`) then answers, and reports the error.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Protocol, cast

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
)
from boostkg.config import Settings
from boostkg.errors import (
    BoostKGError,
    EncodingError,
    InputError,
    NotAcceptableError,
    QueryError,
    QueryTimeoutError,
    ResultTooLargeError,
)
from boostkg.store import RdfFormat, ResultFormat
from boostkg.store.lexer import Scan, scan
from boostkg.store.remote_queries import Exchange, RemoteQueries
from boostkg.store.workers import QueryJob, QueryWorkers

_log = logging.getLogger(__name__)


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


class FrontOutput(Protocol):
    """Where a :class:`FrontResponse` writes: the client connection of :mod:`boostkg.api.front`."""

    def proxy_write(self, data: bytes) -> bool:
        """Write ``data`` to the client; whether the client's buffer is full (pause until
        :meth:`FrontResponse.resume` is called)."""

    def proxy_done(self, complete: bool) -> None:
        """The response has been written (``complete``), or cut off: close without the terminator."""


class FrontResponse:
    """The whole HTTP/1.1 response to a ``GET /sparql`` that the query workers (or the remote
    store) answer, written to a :class:`FrontOutput` as the answer arrives: the same status,
    headers and body the application would send, bar its request id. In one piece with
    ``content-length`` when the results fit :data:`START_BUFFER`, else chunked; an error before
    then is a problem response (its status, ``Retry-After`` for an unavailable server); an error
    after it ends the body without its terminator (after a last line saying why, as the full path
    does). On the remote store it is the :class:`~boostkg.store.remote_queries.Sink` of the query's
    exchange, so a small answer is written in the callback that completes it, with no task; on
    the query workers a task feeds it. ``status`` is known once the response has started."""

    def __init__(
        self,
        job: QueryJob,
        settings: Settings,
        default_headers: list[tuple[bytes, bytes]],
        *,
        workers: QueryWorkers | None = None,
        remote: RemoteQueries | None = None,
        form: str | None = None,
        query_params: str | None = None,
        request: bytes | None = None,
    ) -> None:
        self._job = job
        self._settings = settings
        self._default_headers = default_headers
        self._workers = workers
        self._remote = remote
        self._form = form
        self._query_params = query_params
        self._request = request
        self.status = 0
        self.slug = ""
        """The problem type of an error response (``""`` for a 200)."""
        self.error: BoostKGError | None = None
        """What cut the response off after it started, if anything did."""
        self._out: FrontOutput | None = None
        self._exchange: Exchange | None = None
        self._task: asyncio.Task[None] | None = None
        self._media = ""
        self._held: list[bytes] = []
        self._size = 0
        self._streaming = False
        self._done = False
        self._paused = False
        self._resumed: asyncio.Future[None] | None = None

    @property
    def timed_out(self) -> bool:
        """Whether the query was stopped at its deadline (a 503 problem, or a cut-off)."""
        return self.slug == "query-timeout" or isinstance(self.error, QueryTimeoutError)

    def start(self, out: FrontOutput) -> None:
        """Run the query; the response goes to ``out``, from the event loop."""
        self._out = out
        timeout_s = self._settings.query_timeout_s
        if self._remote is not None:
            try:
                self._exchange = self._remote.begin(
                    self._job,
                    timeout_s=timeout_s,
                    sink=self,
                    form=self._form,
                    query_params=self._query_params,
                    request=self._request,
                )
            except BoostKGError as exc:
                asyncio.get_running_loop().call_soon(self.fail, exc)
            return
        assert self._workers is not None
        self._task = asyncio.get_running_loop().create_task(self._pump(self._workers, timeout_s))
        self._task.add_done_callback(_report_failure)

    def close(self) -> None:
        """The client went away: stop the query (its turn and connection, or worker, go back)."""
        self._done = True
        if self._exchange is not None:
            self._exchange.close()
        if self._task is not None:
            self._task.cancel()
        self._wake()

    def resume(self) -> None:
        """The client's buffer has room again."""
        if self._paused:
            self._paused = False
            if self._exchange is not None:
                self._exchange.resume()
            self._wake()

    def _wake(self) -> None:
        resumed, self._resumed = self._resumed, None
        if resumed is not None and not resumed.done():
            resumed.set_result(None)

    async def _pump(self, workers: QueryWorkers, timeout_s: float) -> None:
        """Feed the workers' answer to this sink, pausing while the client's buffer is full."""
        try:
            try:
                answer = await workers.run(self._job, timeout_s=timeout_s)
            except BoostKGError as exc:
                self.fail(exc)
                return
            chunks = answer.chunks
            try:
                self.answer(answer.is_graph)
                async for chunk in chunks:
                    self.data(chunk)
                    while self._paused and not self._done:
                        self._resumed = asyncio.get_running_loop().create_future()
                        await self._resumed
                    if self._done:
                        return
                self.end()
            except BoostKGError as exc:
                self.fail(exc)
            finally:  # ended early (the client went away, the limit): the worker goes back
                await chunks.aclose()  # type: ignore[attr-defined]
        finally:
            if not self._done and self._out is not None:  # a failure of ours: cut off, then logged
                self._done = True
                self._out.proxy_done(False)

    # -- the Sink
    def answer(self, is_graph: bool) -> None:
        job = self._job
        self._media = job.rdf.media_type if is_graph else job.results.value

    def data(self, piece: bytes) -> None:
        if self._done:
            return
        self._size += len(piece)
        limit = self._settings.max_result_bytes
        if self._size > limit:
            if self._exchange is not None:
                self._exchange.close()  # the rest is not wanted
            self.fail(
                ResultTooLargeError(f"the results are larger than this endpoint's {limit:,}-byte limit")
            )
            return
        if self._streaming:
            self._write(b"%x\r\n%b\r\n" % (len(piece), piece))
            return
        self._held.append(piece)
        if self._size >= START_BUFFER:
            self._streaming = True
            self.status = 200
            start = [b"HTTP/1.1 200 OK\r\n"]
            for name, value in self._default_headers:
                start += (name, b": ", value, b"\r\n")
            media = self._media
            content_type = f"{media}; charset=utf-8" if media.startswith("text/") else media
            start += (b"content-type: ", content_type.encode("ascii"), b"\r\nx-content-type-options: nosniff")
            start.append(b"\r\ntransfer-encoding: chunked\r\n\r\n")
            start += (b"%x\r\n%b\r\n" % (len(held), held) for held in self._held if held)
            self._held = []
            self._write(b"".join(start))

    def end(self) -> None:
        if self._done:
            return
        self._done = True
        out = self._out
        assert out is not None
        if self._streaming:
            out.proxy_write(b"0\r\n\r\n")
        else:
            self.status = 200
            out.proxy_write(lookup_response(self._default_headers, b"".join(self._held), self._media))
        out.proxy_done(True)

    def fail(self, error: BoostKGError) -> None:
        if self._done:
            return
        self._done = True
        out = self._out
        assert out is not None
        if not self._streaming:
            out.proxy_write(self._problem(error))
            out.proxy_done(True)
            return
        self.error = error
        if isinstance(error, QueryError):  # as the full path's last line says (rest_of)
            line = f"\n\n# boostkg: {error}. THIS RESPONSE IS INCOMPLETE.\n".encode()
            out.proxy_write(b"%x\r\n%b\r\n" % (len(line), line))
        out.proxy_done(False)

    def _write(self, data: bytes) -> None:
        out = self._out
        assert out is not None
        if out.proxy_write(data) and not self._paused:
            self._paused = True
            if self._exchange is not None:
                self._exchange.pause()

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


def _report_failure(task: asyncio.Task[None]) -> None:
    """Log what went wrong in a proxied answer beyond the errors it reports to the client."""
    if not task.cancelled() and (exc := task.exception()) is not None:
        _log.error("answering a query on the query workers failed", exc_info=exc)


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


@dataclass(frozen=True, slots=True)
class FrontPlan:
    """What :func:`front_plan` decided for a request, all of it worked out without I/O from the
    request's query string, ``Accept`` and URL and the app's settings: reusable for the same
    request again (:class:`~boostkg.api.front.FrontProtocol` remembers plans by request head)."""

    job: QueryJob
    form: str
    media: str
    """The media type of an answer given at once."""
    inline: bool
    """Whether the query may be answered at once (embedded store, no SERVICE, no dataset clause)."""
    query_params: str | None
    """The ``query=`` parameter as the client encoded it, when it is the only one."""
    request: bytes | None
    """On a remote store, the request to send it (see :meth:`RemoteQueries.prepare`)."""


def front_plan(app: Any, query_string: bytes, accept: str, base_iri: str) -> FrontPlan | None:
    """The plan for ``GET /sparql?<query_string>`` when it is a plain query: the parameters
    ``query`` and optionally ``format``, once each, UTF-8, within the size limit, a query form the
    lexer recognises, no SERVICE the settings refuse, a format the client accepts; ``None`` for
    anything else (the full path then answers it, its errors included)."""
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
    results, rdf = formats
    job = QueryJob(
        query=query, results=results, rdf=rdf, union=not scanned.has_dataset_clause, base_iri=base_iri
    )
    workers = state.query_workers
    remote = isinstance(workers, RemoteQueries)
    query_params = query_string.decode("latin-1") if remote and len(values) == 1 else None
    request = None
    if remote:
        try:
            request = workers.prepare(job, form=scanned.form, query_params=query_params)
        except BoostKGError:
            return None
    return FrontPlan(
        job=job,
        form=scanned.form,
        media=media_for(scanned.form, formats),
        inline=not remote and not scanned.services and not scanned.has_dataset_clause,
        query_params=query_params,
        request=request,
    )


def front_answer(
    app: Any, plan: FrontPlan, default_headers: list[tuple[bytes, bytes]]
) -> bytes | FrontResponse:
    """The response to a request planned by :func:`front_plan`: a query that cannot run long on
    the embedded store is answered at once (the whole response, as bytes); any other is a
    :class:`FrontResponse` that runs it on the query workers, or on the remote store."""
    state = app.state
    settings = cast(Settings, state.settings)
    if settings.cors_origins:  # as CORSMiddleware marks an answer to a request without Origin
        default_headers = [*default_headers, (b"vary", b"Origin")]
    job = plan.job
    if plan.inline:
        body = query_small(app, job.query, (job.results, job.rdf), cast(str, job.base_iri), settings)
        if body is not None:
            return lookup_response(default_headers, body, plan.media)
    workers = state.query_workers
    if isinstance(workers, RemoteQueries):
        return FrontResponse(
            job,
            settings,
            default_headers,
            remote=workers,
            form=plan.form,
            query_params=plan.query_params,
            request=plan.request,
        )
    return FrontResponse(job, settings, default_headers, workers=cast(QueryWorkers, workers))
