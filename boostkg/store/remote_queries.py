"""The endpoint's queries delegated to a remote SPARQL server, streamed through as they arrive.

The stand-in for :class:`~boostkg.store.workers.QueryWorkers` when the store is a
:class:`~boostkg.store.remote.RemoteStore`: the server evaluates the query (and stops it at its own
timeout, if it has one), and its response bytes are passed to the client as they come, untouched,
in the format the client asked for. At most ``size`` queries are sent at once; the others wait for
a turn.

The server hop is the endpoint's whole cost per delegated query, so it is a small HTTP/1.1 client of
its own, driven by callbacks rather than coroutines (httpx cost about 1.6 ms of CPU per query here,
and asyncio streams with a task per query about 0.1 ms, against the 0.04 ms a bare relay of the
bytes costs). Each query is an :class:`Exchange`: it waits for a turn, writes its request in one
piece on a kept-alive connection (:class:`~boostkg.store.http_connection.Connection`, which parses
the response as it arrives, reused LIFO), and reports what comes back to a :class:`Sink`: the answer
has started, a piece of its body (transfer coding removed, content untouched), its end, or the error
that refused or broke it off. The front protocol (:mod:`boostkg.api.front`) is such a sink and
writes a small answer to its client in the very callback that completes it;
:meth:`RemoteQueries.run` wraps a sink into the awaitable :class:`~boostkg.store.workers.Answer` the
rest of the endpoint uses. A request on a kept-alive connection the server had closed meanwhile is
sent once more on a new one (queries are safe to repeat). With credentials, the store's
:class:`httpx.Auth` still decides what a 401 challenge is answered with.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
from collections import deque
from collections.abc import AsyncGenerator, Coroutine, Generator
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit

import httpx

from boostkg.errors import BoostKGError, QueryError, QueryTimeoutError, StoreUnavailableError
from boostkg.store.http_connection import HEAD_LIMIT, Connection, ResponseHead
from boostkg.store.remote import RemoteStore, accept_for
from boostkg.store.workers import Answer, AnswerBody, QueryJob

_HIGH_WATER = 256 * 1024
"""Body bytes an awaited answer holds unread before reading from the server pauses."""
_FORM = "application/x-www-form-urlencoded"
_ENCODED = re.compile(r"query=[A-Za-z0-9%+._~!$'()*,;:@/?=-]*")
"""A client's ``query=`` parameter that can go to the server as it is (nothing to escape)."""
GET_MAX = 2000
"""Longest URL-encoded parameters sent in a GET's URL (longer: a form POST); Oxigraph spends about
10 % less CPU on a GET than on the same query POSTed as a form."""


class Sink(Protocol):
    """What an :class:`Exchange` reports to, in this order: :meth:`answer` once, then :meth:`data`
    for each piece of the body, then :meth:`end`; or :meth:`fail` at any point, and then nothing
    more. Called from the event loop, never from within :meth:`RemoteQueries.begin`."""

    def answer(self, is_graph: bool) -> None:
        """The server answered in a format asked for (RDF for a graph); the body follows."""

    def data(self, piece: bytes) -> None:
        """The next piece of the body."""

    def end(self) -> None:
        """The body is complete."""

    def fail(self, error: BoostKGError) -> None:
        """Before :meth:`answer`: the query's error (refused, timed out, server unreachable or
        failing). After it: the answer was broken off (timeout, server gone)."""


# where an Exchange is
_WAITING, _SENT, _ANSWERING, _REFUSED, _CHALLENGED, _DONE = range(6)


class Exchange:
    """One query on the server, from waiting for its turn to the end of its answer; what happens
    goes to its :class:`Sink`. :meth:`close` gives up the answer (its connection is not reused);
    :meth:`pause` and :meth:`resume` stop and restart reading it from the server."""

    __slots__ = (
        "_accept",
        "_connection",
        "_flow",
        "_head",
        "_job",
        "_params",
        "_paused",
        "_phase",
        "_pool",
        "_prepared",
        "_request",
        "_retried",
        "_sink",
        "_text",
        "_timeout_s",
        "_timer",
    )

    def __init__(
        self, pool: RemoteQueries, params: str, accept: str, job: QueryJob, sink: Sink, prepared: bytes | None
    ) -> None:
        self._pool = pool
        self._prepared = prepared
        self._params = params
        self._accept = accept
        self._job = job
        self._sink = sink
        self._phase = _WAITING
        self._timer: asyncio.TimerHandle | None = None
        self._timeout_s = 0.0
        self._connection: Connection | None = None
        self._head: ResponseHead | None = None
        self._text: list[bytes] = []
        """The body of a refusal or a challenge."""
        self._flow: Generator[httpx.Request, httpx.Response, None] | None = None
        self._request: httpx.Request | None = None
        self._retried = False
        self._paused = False

    def close(self) -> None:
        """Give up: no more events; a connection with an unread answer on it is closed."""
        if self._phase != _DONE:
            self._finish(reuse=False)

    def pause(self) -> None:
        self._paused = True
        if self._connection is not None:
            self._connection.pause()

    def resume(self) -> None:
        self._paused = False
        if self._connection is not None:
            self._connection.resume()

    def start(self, timeout_s: float) -> None:
        """Arm the deadline and wait for a turn (see :meth:`RemoteQueries.begin`)."""
        pool = self._pool
        self._timeout_s = timeout_s
        self._timer = pool.loop.call_later(timeout_s, self._expired)
        if pool.store.rollback_pending:  # a unit cut off by an outage: undo it before answering
            pool.spawn(self._roll_back_first())
        else:
            pool.queue(self)

    async def _roll_back_first(self) -> None:
        store = self._pool.store
        try:
            await asyncio.to_thread(store.roll_back_interrupted)
        except BoostKGError as exc:
            self._fail(exc)
            return
        if self._phase == _WAITING:
            self._pool.queue(self)

    def turn(self) -> None:
        """Called by the pool with a turn: send on an idle connection, or on a new one."""
        self._phase = _SENT
        connection = self._pool.idle()
        if connection is None:
            self._pool.spawn(self._send_on_new())
        else:
            self._send(connection)

    async def _send_on_new(self) -> None:
        try:
            connection = await self._pool.connect()
        except OSError as exc:
            self._fail(self._unreachable(exc))
            return
        if self._phase == _DONE:  # timed out or given up meanwhile
            self._pool.put_back(connection)
            return
        self._send(connection)

    def _send(self, connection: Connection) -> None:
        self._connection = connection
        auth = self._pool.store.auth
        if auth is not None and self._flow is None:
            self._request = self._pool.auth_request(self._params, self._accept)
            self._flow = auth.auth_flow(self._request)
            self._request = next(self._flow)
        if self._request is not None:
            request = _raw_request(self._request)
        elif self._prepared is not None:
            request = self._prepared
        else:
            request = self._pool.request(self._params, self._accept)
        self._head = None
        self._text = []
        connection.send(request, self)
        if self._paused:
            connection.pause()

    # -- what the connection reports
    def on_head(self, head: ResponseHead) -> None:
        self._head = head
        if head.status == 401 and self._flow is not None:
            self._phase = _CHALLENGED
            return
        job = self._job
        media = head.headers.get("content-type", "").split(";")[0].strip().lower()
        if head.status >= 300 or media not in (job.results.value, job.rdf.media_type):
            self._phase = _REFUSED
            return
        self._phase = _ANSWERING
        self._sink.answer(media == job.rdf.media_type and media != job.results.value)

    def on_data(self, piece: bytes) -> None:
        if self._phase == _ANSWERING:
            self._sink.data(piece)
        elif sum(map(len, self._text)) < HEAD_LIMIT:
            self._text.append(piece)

    def on_end(self) -> None:
        phase, head, connection = self._phase, self._head, self._connection
        assert head is not None
        assert connection is not None
        if phase == _CHALLENGED and self._flow is not None:
            try:
                self._request = self._flow.send(
                    httpx.Response(401, headers=head.headers, request=self._request)
                )
            except StopIteration:  # the credentials were refused: that is the answer
                self._flow = None
                self._refuse()
                return
            self._connection = None
            if head.keep_alive and connection.usable():
                self._send(connection)
            else:
                self._pool.drop(connection)
                self._pool.spawn(self._send_on_new())
            return
        if phase == _REFUSED:
            self._refuse()
            return
        self._finish(reuse=head.keep_alive)
        self._sink.end()

    def on_error(self, error: ConnectionError) -> None:
        connection = self._connection
        self._connection = None
        if connection is not None:
            self._pool.drop(connection)
        if self._phase == _SENT and connection is not None and connection.reused and not self._retried:
            self._retried = True  # a kept-alive connection the server had closed: once more
            self._pool.spawn(self._send_on_new())
        elif self._phase == _ANSWERING:
            url = self._pool.store.query_url
            self._fail(StoreUnavailableError(f"the SPARQL server at {url} broke off its answer: {error}"))
        elif self._phase == _REFUSED:
            self._refuse()
        else:
            self._fail(self._unreachable(error))

    def _refuse(self) -> None:
        """Report the server's refusal (its status and text), or an answer in a format not asked for."""
        head = self._head
        assert head is not None
        url = self._pool.store.query_url
        media = head.headers.get("content-type", "").split(";")[0].strip().lower()
        error: BoostKGError
        if head.status < 300:
            error = QueryError(f"the SPARQL server at {url} answered in {media!r}, not in a format asked for")
        else:
            text = b"".join(self._text).decode("utf-8", "replace")
            error = self._pool.store.refusal(head.status, url, "a query", text, None)
        self._fail(error, reuse=True)

    def _expired(self) -> None:
        self._timer = None
        url, seconds = self._pool.store.query_url, f"{self._timeout_s:g}"
        if self._phase == _WAITING:
            self._fail(QueryTimeoutError(f"no turn to query {url} within {seconds} s"))
        elif self._phase == _ANSWERING:
            self._fail(QueryTimeoutError(f"the query ran longer than {seconds} s and was cut off"))
        elif self._phase == _REFUSED:
            self._text = []
            self._refuse()
        elif self._phase != _DONE:
            self._fail(QueryTimeoutError(f"the SPARQL server at {url} did not answer within {seconds} s"))

    def _unreachable(self, error: OSError) -> StoreUnavailableError:
        url = self._pool.store.query_url
        return StoreUnavailableError(f"the SPARQL server at {url} cannot be reached: {error}")

    def _finish(self, *, reuse: bool) -> None:
        """Done: the turn goes back, and the connection too when its response was read whole."""
        waiting = self._phase == _WAITING
        self._phase = _DONE
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        connection, self._connection = self._connection, None
        if connection is not None:
            if reuse and connection.usable():
                self._pool.put_back(connection)
            else:
                self._pool.drop(connection)
        if waiting:
            self._pool.unqueue(self)
        else:
            self._pool.release()

    def _fail(self, error: BoostKGError, *, reuse: bool = False) -> None:
        if self._phase == _DONE:
            return
        if reuse and self._head is not None and not self._head.keep_alive:
            reuse = False
        if reuse and self._connection is not None and self._connection.usable():
            self._finish(reuse=True)
        else:
            self._finish(reuse=False)
        self._sink.fail(error)


class _Awaited:
    """A :class:`Sink` for :meth:`RemoteQueries.run`: the start as a future, the body as an async
    generator (reading from the server pauses while :data:`_HIGH_WATER` bytes wait unread)."""

    def __init__(self) -> None:
        self.exchange: Exchange | None = None
        self.started: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pieces: deque[bytes] = deque()
        self._held = 0
        self._ended = False
        self._error: BoostKGError | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._paused = False

    def answer(self, is_graph: bool) -> None:
        if not self.started.done():
            self.started.set_result(is_graph)

    def data(self, piece: bytes) -> None:
        self._pieces.append(piece)
        self._held += len(piece)
        if self._held > _HIGH_WATER and not self._paused and self.exchange is not None:
            self._paused = True
            self.exchange.pause()
        self._wake()

    def end(self) -> None:
        self._ended = True
        self._wake()

    def fail(self, error: BoostKGError) -> None:
        if not self.started.done():
            self.started.set_exception(error)
        else:
            self._error = error
            self._wake()

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def chunks(self) -> AsyncGenerator[bytes, None]:
        try:
            while True:
                if self._pieces:
                    piece = self._pieces.popleft()
                    self._held -= len(piece)
                    if self._paused and self._held <= _HIGH_WATER // 2 and self.exchange is not None:
                        self._paused = False
                        self.exchange.resume()
                    yield piece
                elif self._error is not None:
                    raise self._error
                elif self._ended:
                    return
                else:
                    self._waiter = asyncio.get_running_loop().create_future()
                    await self._waiter
        finally:
            if self.exchange is not None:  # cut off or given up: the rest is unread (no-op when done)
                self.exchange.close()


class RemoteQueries:
    """Run :class:`QueryJob` s on the remote server behind ``store`` (same interface as the pool)."""

    def __init__(self, size: int, store: RemoteStore) -> None:
        self.size = size
        self.store = store
        self._free = size
        self._waiting: deque[Exchange] = deque()
        self._idle: list[Connection] = []
        self._open: set[Connection] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        url = urlsplit(store.query_url)
        self._tls = url.scheme == "https"
        self._host = url.hostname or "localhost"
        self._port = url.port or (443 if self._tls else 80)
        self._target = (url.path or "/") + (f"?{url.query}" if url.query else "")
        self._join = "&" if url.query else "?"
        self._host_header = url.netloc.rpartition("@")[2].encode("idna").decode("ascii")
        self._started = False
        self._base = ("", "")
        self.loop: asyncio.AbstractEventLoop  # the event loop the pool was started in

    async def start(self) -> None:
        """Ready the pool (connections are opened as queries need them)."""
        self.loop = asyncio.get_running_loop()
        self._started = True

    async def close(self) -> None:
        """Close every connection (queries under way are cut off)."""
        self._started = False
        for task in list(self._tasks):
            task.cancel()
        for connection in list(self._open):
            connection.close()
        self._open.clear()
        self._idle.clear()

    @property
    def busy(self) -> int:
        """Queries under way on the server now."""
        return self.size - self._free

    def begin(
        self,
        job: QueryJob,
        *,
        timeout_s: float,
        sink: Sink,
        form: str | None = None,
        query_params: str | None = None,
        request: bytes | None = None,
    ) -> Exchange:
        """Start ``job``; what happens goes to ``sink``, from the event loop (never from within this
        call). ``form`` and ``query_params``: see :meth:`run`; ``request``: what :meth:`prepare`
        gave for the same job, if the caller kept it.

        Raises:
            QueryError: the job names the unnamed graph, which a remote store does not have.
            StoreUnavailableError: the pool is not started.
        """
        if not self._started:
            raise StoreUnavailableError(f"queries to {self.store.query_url} are not started")
        if request is not None and self.store.auth is None:
            exchange = Exchange(self, "", "", job, sink, request)
        else:
            params = self._params(job, query_params)
            accept = accept_for(job.query, job.results, job.rdf, form=form)
            exchange = Exchange(self, params, accept, job, sink, None)
        exchange.start(timeout_s)
        return exchange

    def prepare(
        self, job: QueryJob, *, form: str | None = None, query_params: str | None = None
    ) -> bytes | None:
        """The request :meth:`begin` would send for ``job`` (``None`` when the store's credentials
        sign each request): a caller answering the same job again may keep it.

        Raises:
            QueryError: the job names the unnamed graph, which a remote store does not have.
        """
        if self.store.auth is not None:
            return None
        return self.request(
            self._params(job, query_params), accept_for(job.query, job.results, job.rdf, form=form)
        )

    async def run(
        self, job: QueryJob, *, timeout_s: float, form: str | None = None, query_params: str | None = None
    ) -> Answer:
        """Send ``job`` to the server; return once its response has started, with its bytes to come.

        A caller that has scanned the query already may give its ``form`` (SELECT, CONSTRUCT...),
        and one that received it URL-encoded its ``query=`` parameter as ``query_params`` (both must
        be those of ``job.query``): neither is then worked out again.

        Raises:
            QueryError: the server refused the query (malformed, unsupported format).
            QueryTimeoutError: no answer within ``timeout_s`` (waiting for a turn included).
            StoreUnavailableError: the server cannot be reached or failed (5xx).
        """
        sink = _Awaited()
        exchange = self.begin(job, timeout_s=timeout_s, sink=sink, form=form, query_params=query_params)
        sink.exchange = exchange
        try:
            is_graph = await sink.started
        except BaseException:
            exchange.close()
            raise
        return Answer(is_graph=is_graph, chunks=AnswerBody(sink.chunks(), exchange.close))

    # -- turns
    def queue(self, exchange: Exchange) -> None:
        """Give ``exchange`` a turn now, or when one is released."""
        if self._free > 0 and not self._waiting:
            self._free -= 1
            exchange.turn()
        else:
            self._waiting.append(exchange)

    def unqueue(self, exchange: Exchange) -> None:
        with contextlib.suppress(ValueError):
            self._waiting.remove(exchange)

    def release(self) -> None:
        """A turn given back: to the first query waiting, if any."""
        if self._waiting:
            self._waiting.popleft().turn()
        else:
            self._free += 1

    # -- connections
    def idle(self) -> Connection | None:
        """An idle kept-alive connection the server has not closed, if any."""
        while self._idle:
            connection = self._idle.pop()
            if connection.usable():
                connection.reused = True
                return connection
            self.drop(connection)
        return None

    async def connect(self) -> Connection:
        """A new connection.

        Raises:
            OSError: the server cannot be reached.
        """
        loop = asyncio.get_running_loop()
        _, connection = await loop.create_connection(
            Connection, self._host, self._port, ssl=ssl.create_default_context() if self._tls else None
        )
        self._open.add(connection)
        if not self._started:
            self.drop(connection)
            raise ConnectionError("the pool was closed")
        return connection

    def put_back(self, connection: Connection) -> None:
        if self._started and connection in self._open and connection.usable():
            connection.resume()
            self._idle.append(connection)
        else:
            self.drop(connection)

    def drop(self, connection: Connection) -> None:
        connection.close()
        self._open.discard(connection)

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run a coroutine of an exchange's (opening a connection, a rollback) as a task."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- requests
    def _params(self, job: QueryJob, query_params: str | None) -> str:
        """The protocol's parameters for ``job``, URL-encoded (``query_params``: its ``query=``
        parameter as the client encoded it, used as it is).

        Raises:
            QueryError: the job names the unnamed graph, which a remote store does not have.
        """
        if "" in (job.default_graphs or ()) or "" in (job.named_graphs or ()):
            raise QueryError("a remote store has no unnamed graph of its own to query; name a graph")
        if query_params is not None and _ENCODED.fullmatch(query_params):
            params = query_params
        else:
            params = urlencode({"query": job.query})
        if job.default_graphs:
            params += "&" + urlencode({"default-graph-uri": job.default_graphs}, doseq=True)
        if job.named_graphs:
            params += "&" + urlencode({"named-graph-uri": job.named_graphs}, doseq=True)
        if job.base_iri:
            if job.base_iri != self._base[0]:  # the endpoint's own URL: the same every time
                self._base = (job.base_iri, urlencode({"base-uri": job.base_iri}))
            params += "&" + self._base[1]
        return params

    def request(self, params: str, accept: str) -> bytes:
        """The request for the protocol's ``params`` (URL-encoded), without credentials: a GET when
        they are short (the server parses it with less work), else a form POST."""
        if len(params) <= GET_MAX:
            return (
                f"GET {self._target}{self._join}{params} HTTP/1.1\r\nHost: {self._host_header}\r\n"
                f"Accept: {accept}\r\n\r\n"
            ).encode("ascii")
        return (
            f"POST {self._target} HTTP/1.1\r\nHost: {self._host_header}\r\nAccept: {accept}\r\n"
            f"Content-Type: {_FORM}\r\nContent-Length: {len(params)}\r\n\r\n{params}"
        ).encode("ascii")

    def auth_request(self, params: str, accept: str) -> httpx.Request:
        """The request for ``params`` as httpx builds it, for the store's auth to sign."""
        url = self.store.query_url
        if len(params) <= GET_MAX:
            return httpx.Request("GET", f"{url}{self._join}{params}", headers={"Accept": accept})
        return httpx.Request(
            "POST", url, content=params.encode("ascii"), headers={"Accept": accept, "Content-Type": _FORM}
        )


def _raw_request(request: httpx.Request) -> bytes:
    """``request`` (built and signed by httpx's auth) as the bytes to write."""
    lines = [f"{request.method} {request.url.raw_path.decode('ascii')} HTTP/1.1"]
    lines += [f"{name}: {value}" for name, value in request.headers.multi_items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + request.content
