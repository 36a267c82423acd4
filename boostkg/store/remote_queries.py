"""The endpoint's queries delegated to a remote SPARQL server, streamed through as they arrive.

The stand-in for :class:`~boostkg.store.workers.QueryWorkers` when the store is a
:class:`~boostkg.store.remote.RemoteStore`: the server evaluates the query (and stops it at its own
timeout, if it has one), and its response bytes are passed to the client as they come, untouched,
in the format the client asked for. At most ``size`` queries are sent at once; the others wait for
a turn.

The server hop is the endpoint's whole cost per delegated query, so it is a small HTTP/1.1 client of
its own over asyncio streams rather than httpx's (which cost about 1.6 ms of CPU per query here,
several times what the server spends answering a lookup): one kept-alive connection per query
under way, reused LIFO; a request written in one piece; the response head read in one piece and
its body passed on as it arrives (``Content-Length``, chunked or until the server closes). A
request on a kept-alive connection the server had closed meanwhile is sent once more on a new one
(queries are safe to repeat). With credentials, the store's :class:`httpx.Auth` still decides what
a 401 challenge is answered with.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import httpx

from boostkg.errors import QueryError, QueryTimeoutError, StoreUnavailableError
from boostkg.store.remote import RemoteStore, accept_for
from boostkg.store.workers import Answer, QueryJob

_CHUNK = 64 * 1024
_HEAD_LIMIT = 64 * 1024
"""Longest response head accepted from the server (the stream reader's buffer limit)."""
_FORM = "application/x-www-form-urlencoded"
_ENCODED = re.compile(r"query=[A-Za-z0-9%+._~!$'()*,;:@/?=-]*")
"""A client's ``query=`` parameter that can go to the server as it is (nothing to escape)."""
GET_MAX = 2000
"""Longest URL-encoded parameters sent in a GET's URL (longer: a form POST); Oxigraph spends about
10 % less CPU on a GET than on the same query POSTed as a form."""


@dataclass(slots=True)
class _Head:
    """A response's status line and headers (names lower-cased), and how its body is framed."""

    status: int
    headers: dict[str, str]
    length: int | None
    """``Content-Length``; ``None`` when the body is chunked or runs until the server closes."""
    chunked: bool
    keep_alive: bool


class _Connection:
    """One HTTP/1.1 connection to the server, reusable once a response has been read to its end."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.reused = False

    def usable(self) -> bool:
        """Whether the server has not closed it while it was idle."""
        return not self.reader.at_eof() and not self.writer.is_closing()

    def close(self) -> None:
        self.writer.close()

    async def exchange(self, request: bytes) -> _Head:
        """Send ``request`` (head and body) and read the response head (after any 1xx).

        Raises:
            OSError: the connection failed, the server closed it or answered something else than
                HTTP/1.x (``ConnectionError``).
        """
        self.writer.write(request)
        if len(request) > _CHUNK:
            await self.writer.drain()
        while True:
            try:
                raw = await self.reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError as exc:
                raise ConnectionError("the server closed the connection before answering") from exc
            except asyncio.LimitOverrunError as exc:
                raise ConnectionError(f"the response head is longer than {_HEAD_LIMIT:,} bytes") from exc
            head = _parse_head(raw)
            if head.status >= 200:
                return head

    async def body(self, head: _Head) -> AsyncIterator[bytes]:
        """The response body as it arrives (transfer coding removed, content untouched).

        Raises:
            OSError: the connection failed or the server closed it before the end of the body.
        """
        reader = self.reader
        try:
            if head.chunked:
                while True:
                    line = await reader.readuntil(b"\r\n")
                    try:
                        size = int(line.split(b";", 1)[0], 16)
                    except ValueError as exc:
                        raise ConnectionError(f"malformed chunk size {line[:40]!r}") from exc
                    if size == 0:
                        while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                            pass
                        return
                    while size > _CHUNK:
                        piece = await reader.readexactly(_CHUNK)
                        size -= _CHUNK
                        yield piece
                    data = await reader.readexactly(size + 2)
                    yield data[:-2]
            elif head.length is not None:
                left = head.length
                while left > 0:
                    piece = await reader.read(min(left, _CHUNK))
                    if not piece:
                        raise ConnectionError(f"the body ended {left:,} bytes short of its Content-Length")
                    left -= len(piece)
                    yield piece
            else:
                while piece := await reader.read(_CHUNK):
                    yield piece
        except asyncio.IncompleteReadError as exc:
            raise ConnectionError("the server closed the connection in the middle of the body") from exc
        except asyncio.LimitOverrunError as exc:
            raise ConnectionError("a chunk-size line is too long") from exc


def _parse_head(raw: bytes) -> _Head:
    """The response head ``raw`` (ending with its blank line).

    Raises:
        ConnectionError: not an HTTP/1.x response head.
    """
    lines = raw[:-4].decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    code = rest[:3]
    if not version.startswith("HTTP/1.") or not code.isdigit():
        raise ConnectionError(f"not an HTTP/1.x response: {lines[0][:80]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon:
            key = name.strip().lower()
            value = value.strip()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
    connection = headers.get("connection", "").lower()
    chunked = "chunked" in headers.get("transfer-encoding", "").lower()
    length_text = headers.get("content-length")
    length = int(length_text) if length_text is not None and length_text.isdigit() else None
    status = int(code)
    if status in (204, 304):
        length = 0
    return _Head(
        status=status,
        headers=headers,
        length=None if chunked else length,
        chunked=chunked,
        keep_alive=version != "HTTP/1.0" and "close" not in connection and (chunked or length is not None),
    )


class RemoteQueries:
    """Run :class:`QueryJob` s on the remote server behind ``store`` (same interface as the pool)."""

    def __init__(self, size: int, store: RemoteStore) -> None:
        self.size = size
        self._store = store
        self._slots = asyncio.Semaphore(size)
        self._running = 0
        self._idle: list[_Connection] = []
        self._open: set[_Connection] = set()
        url = urlsplit(store.query_url)
        self._tls = url.scheme == "https"
        self._host = url.hostname or "localhost"
        self._port = url.port or (443 if self._tls else 80)
        self._target = (url.path or "/") + (f"?{url.query}" if url.query else "")
        self._join = "&" if url.query else "?"
        self._host_header = url.netloc.rpartition("@")[2].encode("idna").decode("ascii")
        self._started = False
        self._base = ("", "")

    async def start(self) -> None:
        """Ready the pool (connections are opened as queries need them)."""
        self._started = True

    async def close(self) -> None:
        """Close every connection (queries under way are cut off)."""
        self._started = False
        for connection in list(self._open):
            connection.close()
        self._open.clear()
        self._idle.clear()

    @property
    def busy(self) -> int:
        """Queries under way on the server now."""
        return self._running

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

    def _request(self, params: str, accept: str) -> bytes:
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

    async def _connection(self) -> _Connection:
        """An idle kept-alive connection, else a new one.

        Raises:
            OSError: the server cannot be reached.
        """
        while self._idle:
            connection = self._idle.pop()
            if connection.usable():
                connection.reused = True
                return connection
            self._drop(connection)
        reader, writer = await asyncio.open_connection(
            self._host,
            self._port,
            ssl=ssl.create_default_context() if self._tls else None,
            limit=_HEAD_LIMIT,
        )
        connection = _Connection(reader, writer)
        self._open.add(connection)
        return connection

    def _drop(self, connection: _Connection) -> None:
        connection.close()
        self._open.discard(connection)

    async def _send(self, request: bytes) -> tuple[_Connection, _Head]:
        """Send ``request``; once more on a new connection if a kept-alive one was found closed.

        Raises:
            OSError: the server cannot be reached or broke off.
        """
        connection = await self._connection()
        try:
            return connection, await connection.exchange(request)
        except OSError:
            self._drop(connection)
            if not connection.reused:
                raise
        except BaseException:
            self._drop(connection)
            raise
        connection = await self._connection()
        try:
            return connection, await connection.exchange(request)
        except BaseException:
            self._drop(connection)
            raise

    async def _send_with_auth(self, params: str, accept: str) -> tuple[_Connection, _Head]:
        """:meth:`_send` with the credentials the store's auth adds, answering its 401 challenges.

        Raises:
            OSError: the server cannot be reached or broke off.
        """
        auth = self._store.auth
        if auth is None:
            return await self._send(self._request(params, accept))
        if len(params) <= GET_MAX:
            request = httpx.Request(
                "GET", f"{self._store.query_url}{self._join}{params}", headers={"Accept": accept}
            )
        else:
            request = httpx.Request(
                "POST",
                self._store.query_url,
                content=params.encode("ascii"),
                headers={"Accept": accept, "Content-Type": _FORM},
            )
        flow: Generator[httpx.Request, httpx.Response, None] = auth.auth_flow(request)
        request = next(flow)
        while True:
            connection, head = await self._send(_raw_request(request))
            if head.status != 401:
                flow.close()
                return connection, head
            try:
                request = flow.send(httpx.Response(401, headers=head.headers, request=request))
            except StopIteration:  # the credentials were refused: that is the answer
                return connection, head
            try:
                await _read_all(connection, head)
            except BaseException:
                self._drop(connection)
                raise
            self._reuse_or_drop(connection, head)

    def _reuse_or_drop(self, connection: _Connection, head: _Head) -> None:
        """Back to the idle pool if the response was read to its end and the server keeps it open."""
        if head.keep_alive and self._started and connection in self._open:
            self._idle.append(connection)
        else:
            self._drop(connection)

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
        url = self._store.query_url
        if not self._started:
            raise StoreUnavailableError(f"queries to {url} are not started")
        if self._store.rollback_pending:  # a unit cut off by an outage: undo it before answering
            await asyncio.to_thread(self._store.roll_back_interrupted)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        params = self._params(job, query_params)
        accept = accept_for(job.query, job.results, job.rdf, form=form)
        if self._slots.locked():  # all turns taken: wait for one (a free one needs no timer)
            try:
                async with asyncio.timeout_at(deadline):
                    await self._slots.acquire()
            except TimeoutError:
                raise QueryTimeoutError(f"no turn to query {url} within {timeout_s:g} s") from None
        else:
            await self._slots.acquire()
        self._running += 1
        try:
            async with asyncio.timeout_at(deadline):
                connection, head = await self._send_with_auth(params, accept)
        except TimeoutError:
            self._release()
            raise QueryTimeoutError(
                f"the SPARQL server at {url} did not answer within {timeout_s:g} s"
            ) from None
        except OSError as exc:
            self._release()
            raise StoreUnavailableError(f"the SPARQL server at {url} cannot be reached: {exc}") from exc
        except BaseException:
            self._release()
            raise
        media = head.headers.get("content-type", "").split(";")[0].strip().lower()
        if head.status >= 300 or media not in (job.results.value, job.rdf.media_type):
            try:
                async with asyncio.timeout_at(deadline):
                    text = (await _read_all(connection, head)).decode("utf-8", "replace")
                self._reuse_or_drop(connection, head)
            except (TimeoutError, OSError):
                self._drop(connection)
                text = ""
            finally:
                self._release()
            if head.status < 300:
                raise QueryError(
                    f"the SPARQL server at {url} answered in {media!r}, not in a format asked for"
                )
            raise self._store.refusal(head.status, url, "a query", text, None)
        is_graph = media == job.rdf.media_type and media != job.results.value
        body = _Body(self._chunks(connection, head, deadline, timeout_s, url), lambda: self._cut(connection))
        return Answer(is_graph=is_graph, chunks=body)

    def _cut(self, connection: _Connection) -> None:
        """Give up an answer none of whose body was read (its connection cannot be reused)."""
        self._drop(connection)
        self._release()

    def _release(self) -> None:
        self._running -= 1
        self._slots.release()

    async def _chunks(
        self, connection: _Connection, head: _Head, deadline: float, timeout_s: float, url: str
    ) -> AsyncGenerator[bytes, None]:
        done = False
        try:
            async with asyncio.timeout_at(deadline):
                async for chunk in connection.body(head):
                    yield chunk
            done = True
        except TimeoutError:
            raise QueryTimeoutError(f"the query ran longer than {timeout_s:g} s and was cut off") from None
        except OSError as exc:
            raise StoreUnavailableError(f"the SPARQL server at {url} broke off its answer: {exc}") from exc
        finally:
            if done:
                self._reuse_or_drop(connection, head)
            else:  # cut off, refused by the size limit or the client went away: the rest is unread
                self._drop(connection)
            self._release()


class _Body:
    """An answer's body: the chunks as they arrive; closed before its first chunk was asked for,
    it still gives its turn and its connection back (an async generator never started would not
    run its ``finally``)."""

    def __init__(self, chunks: AsyncGenerator[bytes, None], unstarted: Callable[[], None]) -> None:
        self._chunks = chunks
        self._unstarted: Callable[[], None] | None = unstarted

    def __aiter__(self) -> _Body:
        return self

    async def __anext__(self) -> bytes:
        self._unstarted = None
        return await self._chunks.__anext__()

    async def aclose(self) -> None:
        if self._unstarted is not None:
            self._unstarted()
            self._unstarted = None
        await self._chunks.aclose()


async def _read_all(connection: _Connection, head: _Head) -> bytes:
    """The whole (short) body of an error or challenge response.

    Raises:
        OSError: the server broke off.
    """
    return b"".join([chunk async for chunk in connection.body(head)])


def _raw_request(request: httpx.Request) -> bytes:
    """``request`` (built and signed by httpx's auth) as the bytes to write."""
    lines = [f"{request.method} {request.url.raw_path.decode('ascii')} HTTP/1.1"]
    lines += [f"{name}: {value}" for name, value in request.headers.multi_items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + request.content
