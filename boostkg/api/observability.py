"""What an operator sees of the running server: request ids, structured logs, Prometheus metrics.

One pure-ASGI middleware (:class:`Observability`, outermost of the application's own) gives every
request an id (the client's ``X-Request-ID`` when it is a sane token, else a new one), echoes it
in the response, makes it part of every log record written while the request runs, counts the
request by method, route template and status, times it, and notes two outcomes the status alone
does not tell apart: a query or update stopped at its deadline (a 503 whose problem type is
``query-timeout``) and a steward's submission accepted or rejected. Metrics live in a registry of
the app's own (:class:`Metrics`, ``app.state.metrics``): two apps in one process never share
counts. Plain ``GET /sparql`` queries that ``boostkg serve``'s front protocol answers before the
application (:mod:`boostkg.api.front`) do not pass through here: the front protocol counts them in
the same metrics, but they get no request id; with ``BOOSTKG_ACCESS_LOG=true`` that shortcut is
off and every request is both counted and logged.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from bisect import bisect_left
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextvars import ContextVar
from datetime import UTC, datetime
from itertools import accumulate
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector
from starlette.routing import BaseRoute, Match

import boostkg
from boostkg.config import LogFormat, Settings
from boostkg.errors import QueryError, QueryTimeoutError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

REQUEST_ID_HEADER = b"x-request-id"
METRICS_MEDIA_TYPE = CONTENT_TYPE_LATEST
_SANE_ID = re.compile(rb"^[A-Za-z0-9._:/+=@-]{1,128}$")
_TIMEOUT_PROBLEM = b"/problems/query-timeout"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
"""Seconds; from a bounded lookup (~1 ms) to an update at its default deadline (120 s)."""

request_id: ContextVar[str | None] = ContextVar("boostkg_request_id", default=None)
"""The id of the request being answered in this context (``None`` outside a request)."""

log = logging.getLogger("boostkg.request")


class StreamCutOffError(Exception):
    """A response whose body had started was ended early on purpose (a query's deadline or result
    size limit, after its first MiB went out): the server closes the connection without the
    chunked terminator, and logs one warning line instead of two tracebacks (:class:`QuietCutOffs`)."""


def _cut_off(exc: BaseException) -> QueryError | None:
    """The query error that ended a streamed body, if that is what ``exc`` is (Starlette wraps it
    in *Caught handled exception, but response already started*, a RuntimeError)."""
    if isinstance(exc, QueryError):
        return exc
    if isinstance(exc, RuntimeError) and isinstance(exc.__cause__, QueryError):
        return exc.__cause__
    return None


class QuietCutOffs(logging.Filter):
    """Drops the records that carry a :class:`StreamCutOffError` (uvicorn's *Exception in ASGI
    application* with its traceback): the middleware has already logged the cut-off in one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], StreamCutOffError))


class _Answered(Collector):
    """The counter ``boostkg_http_requests`` (by method, route template and status) and the
    histogram ``boostkg_http_request_duration_seconds`` (by method and route template), kept in
    plain dicts and lists and turned into metrics when scraped: every request is counted, and
    prometheus_client's labelled counter and histogram (a lock each, the buckets walked in Python)
    cost several times what the count itself does."""

    def __init__(self, buckets: tuple[float, ...]) -> None:
        self._bounds = list(buckets)
        self._labels = [
            *(repr(float(bound)) for bound in buckets),
            "+Inf",
        ]  # as prometheus_client writes them
        self._created = time.time()
        self._counts: dict[tuple[str, str, int], int] = {}
        self._durations: dict[tuple[str, str], list[float]] = {}
        """Per method and route: the count in each bucket (the last for +Inf), then the sum."""

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        counts = self._counts
        key = (method, route, status)
        counts[key] = counts.get(key, 0) + 1
        durations = self._durations.get((method, route))
        if durations is None:
            durations = self._durations[(method, route)] = [0.0] * (len(self._bounds) + 2)
        durations[bisect_left(self._bounds, seconds)] += 1  # the first bucket whose bound is >= seconds
        durations[-1] += seconds

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "boostkg_http_requests",
            "HTTP requests answered, by route template and status.",
            labels=["method", "route", "status"],
        )
        for (method, route, status), count in list(self._counts.items()):
            requests.add_metric([method, route, str(status)], count, created=self._created)
        yield requests
        latency = HistogramMetricFamily(
            "boostkg_http_request_duration_seconds",
            "Time from a request's arrival to the end of its response, by route template.",
            labels=["method", "route"],
        )
        for (method, route), durations in list(self._durations.items()):
            cumulative = list(accumulate(durations[:-1]))
            latency.add_metric(
                [method, route],
                list(zip(self._labels, cumulative, strict=True)),
                durations[-1],
            )
        yield latency


class Metrics:
    """The server's Prometheus metrics, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self._answered = _Answered(LATENCY_BUCKETS)
        r.register(self._answered)
        self.in_progress = Gauge(
            "boostkg_http_requests_in_progress", "Requests being answered now.", registry=r
        )
        self.timeouts = Counter(
            "boostkg_query_timeouts",
            "SPARQL queries and updates stopped at their deadline (or finding no free worker in time).",
            ["route"],
            registry=r,
        )
        self.submissions = Counter(
            "boostkg_submissions",
            "Steward submissions (POST /submissions): accepted (2xx), rejected (4xx: not conforming, "
            "malformed, too large, unauthorised...) or failed (5xx).",
            ["outcome", "status"],
            registry=r,
        )
        self.store_quads = Gauge(
            "boostkg_store_quads",
            "Quads in the store (recounted at most once per BOOSTKG_METRICS_STORE_MAX_AGE_S).",
            registry=r,
        )
        self.store_counted = Gauge(
            "boostkg_store_quads_counted_timestamp_seconds",
            "When boostkg_store_quads was counted.",
            registry=r,
        )
        self.inline = Counter(
            "boostkg_sparql_inline",
            "SPARQL queries the server process answered without a query worker: bounded lookups and "
            "joins whose work has a small proven bound (lookup processes count theirs apart).",
            registry=r,
        )
        self.planner_ready = Gauge(
            "boostkg_planner_bounds_current",
            "1 when the store's fan-out bounds are measured for its current state (joins with a small "
            "proven work bound are then answered without a worker), 0 while they are being measured.",
            registry=r,
        )
        self.workers = Gauge("boostkg_query_workers", "Query worker processes.", registry=r)
        self.workers_busy = Gauge(
            "boostkg_query_workers_busy", "Query workers running a query now.", registry=r
        )
        build = Gauge("boostkg_build_info", "The running boostkg version.", ["version"], registry=r)
        build.labels(boostkg.__version__).set(1)
        self._counted_at = 0.0

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request and its duration."""
        self._answered.observe(method, route, status, seconds)

    def store_count_due(self, max_age_s: float) -> bool:
        return time.time() - self._counted_at >= max_age_s

    def set_store_quads(self, quads: int) -> None:
        self._counted_at = time.time()
        self.store_quads.set(quads)
        self.store_counted.set(self._counted_at)

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)


def route_template(scope: Scope, routes: list[BaseRoute]) -> str:
    """The template of the route that answered (``/submissions/{submission_id}``), so that label
    values stay few; requests answered before routing are matched here; ``unmatched`` otherwise."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    for candidate in routes:
        match, _ = candidate.matches(scope)
        if match is not Match.NONE:
            found = getattr(candidate, "path", None)
            if isinstance(found, str):
                return found
    return "unmatched"


class Observability:
    """The middleware (see the module docstring). ``routes`` are the app's, for requests answered
    ahead of routing; ``log_requests`` writes one record per request (else only for 5xx)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Metrics,
        routes: list[BaseRoute],
        log_requests: bool,
        on_startup: Callable[[], None] | None = None,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = routes
        self.log_requests = log_requests
        self.on_startup = on_startup

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan" and self.on_startup is not None:
            await self.app(scope, self._lifespan_receive(receive), send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _incoming_id(scope) or uuid.uuid4().hex
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500
        sniff = False
        timed_out = False
        responding = False
        self.metrics.in_progress.inc()

        async def tagged_send(message: Message) -> None:
            nonlocal status, sniff, timed_out, responding
            if message["type"] == "http.response.start":
                responding = True
                status = int(message["status"])
                sniff = status == 503
                message["headers"] = [*message.get("headers", ()), (REQUEST_ID_HEADER, rid.encode("ascii"))]
            elif sniff and message["type"] == "http.response.body":
                timed_out = _TIMEOUT_PROBLEM in message.get("body", b"")
                sniff = False
            await send(message)

        try:
            await self.app(scope, receive, tagged_send)
        except Exception as exc:
            cause = _cut_off(exc) if responding else None
            if cause is None:
                status = 500
                log.exception("unhandled error answering %s %s", scope["method"], scope["path"])
                raise
            # Counted with the status sent (the body's end tells the client), and as a timeout if it was one.
            timed_out = isinstance(cause, QueryTimeoutError)
            log_cut_off(scope["method"], scope["path"], cause)
            raise StreamCutOffError(str(cause)) from None
        finally:
            seconds = time.perf_counter() - started
            self.metrics.in_progress.dec()
            self._record(scope, status, seconds, timed_out)
            request_id.reset(token)

    def _record(self, scope: Scope, status: int, seconds: float, timed_out: bool) -> None:
        method = scope["method"]
        route = route_template(scope, self.routes)
        self.metrics.observe(method, route, status, seconds)
        if timed_out:
            self.metrics.timeouts.labels(route).inc()
        if route == "/submissions" and method == "POST":
            outcome = "accepted" if status < 300 else "rejected" if status < 500 else "failed"
            self.metrics.submissions.labels(outcome, str(status)).inc()
        if self.log_requests or status >= 500:
            client = scope.get("client")
            log_request(method, scope["path"], route, status, seconds, client[0] if client else None)

    def _lifespan_receive(self, receive: Receive) -> Receive:
        async def wrapped() -> Message:
            message = await receive()
            if message["type"] == "lifespan.startup" and self.on_startup is not None:
                self.on_startup()
            return message

        return wrapped


def log_cut_off(method: str, path: str, cause: BaseException) -> None:
    """The one warning line of an answer ended on purpose after its status went out."""
    log.warning("%s %s cut off after its response started: %s", method, path, cause)


def log_request(method: str, path: str, route: str, status: int, seconds: float, client: str | None) -> None:
    """The log line of one answered request (ERROR for a 5xx, else INFO), with its ``http`` fields."""
    log.log(
        logging.ERROR if status >= 500 else logging.INFO,
        "%s %s %d %.1f ms",
        method,
        path,
        status,
        seconds * 1000,
        extra={
            "http": {
                "method": method,
                "path": path,
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 3),
                "client": client,
            }
        },
    )


def _incoming_id(scope: Scope) -> str | None:
    """The client's X-Request-ID if it is a short token of safe characters (it ends up in logs)."""
    for name, value in scope["headers"]:
        if name == REQUEST_ID_HEADER:
            return value.decode("ascii") if _SANE_ID.match(value) else None
    return None


# --- logs ------------------------------------------------------------------------------------------


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, and the record's
    ``http`` fields and exception when it has them."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        http = getattr(record, "http", None)
        if http is not None:
            entry["http"] = http
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class RequestIdFilter(logging.Filter):
    """Puts the current request's id on every record (``None`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id.get()
        return True


class _OurHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler configure_logging installs (and replaces when it runs again)."""


def _handler(settings: Settings) -> logging.Handler:
    handler = _OurHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.addFilter(QuietCutOffs())
    if settings.log_format is LogFormat.json:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        )
    return handler


def configure_logging(settings: Settings, *, server: bool = False) -> None:
    """Send the ``boostkg`` loggers' records to stderr in ``settings.log_format`` at
    ``settings.log_level`` (they still propagate, to whatever the root logger has); with ``server``,
    uvicorn's own records too (called once uvicorn has configured its loggers), and its access log
    off when ours is on (ours carries the request id)."""
    ours = logging.getLogger("boostkg")
    for old in [h for h in ours.handlers if isinstance(h, _OurHandler)]:
        ours.removeHandler(old)
    ours.addHandler(_handler(settings))
    ours.setLevel(settings.log_level.value.upper())
    if server:
        uvicorn = logging.getLogger("uvicorn")  # uvicorn.error propagates to it
        uvicorn.handlers = [_handler(settings)]
        uvicorn.setLevel(settings.log_level.value.upper())
        uvicorn.propagate = False
        if settings.access_log:
            logging.getLogger("uvicorn.access").disabled = True


def install(app: Any, settings: Settings) -> Metrics:
    """Add the middleware (outermost of those added so far) and the operations routes to ``app``."""
    from boostkg.api.routes import operations  # here: operations imports this module

    metrics = Metrics()
    app.state.metrics = metrics
    app.include_router(operations.router)
    app.add_middleware(
        Observability,
        metrics=metrics,
        routes=app.router.routes,
        log_requests=settings.access_log,
        on_startup=lambda: configure_logging(settings, server=True),
    )
    return metrics
