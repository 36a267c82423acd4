"""The HTTP protocol ``boostkg serve`` runs: uvicorn's h11 protocol with a shortcut for queries.

A bounded lookup (``GET /sparql?query=`` whose every triple pattern has a named subject) costs
pyoxigraph about 0.2 ms, and h11's parsing, the ASGI cycle, Starlette's request and response objects
and the application's middleware cost as much again, and more than that (~0.7 ms) for a query
that a worker runs. Between requests, when uvicorn's protocol has nothing in flight, this protocol
reads the next request head itself. A plain ``GET /sparql?query=...`` over HTTP/1.1 (no body, no
``Origin``, no ``Connection: close``) that passes the endpoint's checks
(:func:`~boostkg.api.routes.sparql_shortcuts.front_plan`) is answered here: a query that cannot run long
gets its 200 written straight to the socket; any other runs on the query workers (or on the
remote store, ``BOOSTKG_STORE_URL``) and its answer is written to the socket as it arrives (a
:class:`~boostkg.api.routes.sparql_shortcuts.FrontResponse`: on a remote store, a small answer is
written in the very callback that receives it from the server, with no task). Every
other request, and every query the checks decline (errors included), is handed to h11 with all
the bytes read so far, and goes through the application exactly as before.

Responses are those the application would send for the same request (status, ``content-type``,
``content-length`` or chunked body, problem documents, uvicorn's ``date``/``server`` headers);
keep-alive, its timeout and graceful shutdown stay uvicorn's. Requests pipelined behind an answer
being written are held (reading pauses once more than a request head's worth is held) and handled
in order afterwards; graceful shutdown
waits for it; an error after its status went out ends the chunked body without its terminator.
Front answers are counted in /metrics but carry no ``x-request-id`` (the access log,
``BOOSTKG_ACCESS_LOG``, turns this protocol off and every request then goes through the app).
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from boostkg.api.observability import log_cut_off, log_request

if TYPE_CHECKING:
    from boostkg.api.routes.sparql_shortcuts import FrontPlan, FrontResponse

_GRACE_S = 1.0
"""How long the head deadline waits again when it finds bytes not read yet."""
HEAD_LIMIT = 16 * 1024
"""A request head longer than this (without its end) is left to h11, which enforces the limits."""
PLANS_MAX = 1024
PLANNED_HEAD_MAX = 4096
"""Request heads longer than this are planned each time, not remembered."""
_PREFIX = b"/sparql?"
_DECLINE_HEADERS = frozenset({b"origin", b"content-length", b"transfer-encoding", b"expect", b"upgrade"})


class Plans(dict[bytes, "FrontPlan | None"]):
    """What to do with request heads (each one's
    :class:`~boostkg.api.routes.sparql_shortcuts.FrontPlan`, or ``None`` to decline it), remembered
    for the last :data:`PLANS_MAX` distinct heads of up to :data:`PLANNED_HEAD_MAX` bytes; never an
    answer. Clients send the same requests again and again (linked-data pages, dashboards, named
    queries), and reading a query string, tokenizing and checking the query cost more than relaying
    it to a remote store. One per server (and per relay process): the plans are ``app``'s."""

    def __init__(self, app: Any) -> None:
        super().__init__()
        self.app = app

    def of(self, head: bytes, scheme: str = "http") -> FrontPlan | None:
        """The plan for ``head`` (a request head without its blank line)."""
        try:
            return self[head]
        except KeyError:
            pass
        from boostkg.api.routes.sparql_shortcuts import front_plan  # imports this module

        parsed = parse_lookup_head(head)
        plan = None
        if parsed is not None:
            query_string, accept, host = parsed
            plan = front_plan(self.app, query_string, accept, f"{scheme}://{host}/sparql")
        if len(head) <= PLANNED_HEAD_MAX:
            if len(self) >= PLANS_MAX:  # forget the oldest
                del self[next(iter(self))]
            self[head] = plan
        return plan


def report_proxied(response: FrontResponse, seconds: float, transport: asyncio.BaseTransport | None) -> None:
    """Log a proxied answer as the application's middleware logs its answers: a cut-off after the
    status went out (one warning line), a 5xx (an ERROR line)."""
    if response.error is not None:
        log_cut_off("GET", "/sparql", response.error)
    if response.status >= 500:
        peer = transport.get_extra_info("peername") if transport is not None else None
        log_request("GET", "/sparql", "/sparql", response.status, seconds, peer[0] if peer else None)


class FrontProtocol(H11Protocol):
    """h11 with lookups answered ahead of it (see the module docstring); ``app`` is the FastAPI
    application whose store, settings and write lock answer them."""

    app_for_lookups: Any = None
    answer: Callable[[Any, FrontPlan, list[tuple[bytes, bytes]]], bytes | FrontResponse]
    """:func:`~boostkg.api.routes.sparql_shortcuts.front_answer` (set by :func:`front_protocol`)."""
    plans: Plans
    """The plans of the last heads answered here (each server's class has its own, see
    :func:`front_protocol`)."""

    def __init__(self, *args: Any, handed_over: bytes = b"", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head = b""
        self._handed_over = handed_over
        """Bytes another process read from this connection before handing it over: they come first."""
        self._proxying: FrontResponse | None = None
        """The answer being proxied, while it is written."""
        self._proxy_started = 0.0
        self._held = b""
        """Bytes received after the proxied request's head: handled once its answer is written."""
        self._closing = False
        """Shutdown was asked while an answer was being proxied: close the connection after it."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # A deadline for the first request head: uvicorn arms its keep-alive timer only after a
        # response, so a client that connects and sends nothing, or trickles a head, would hold
        # the connection for ever (slowloris). Armed here, the timer is cancelled as uvicorn cancels
        # it once a whole head reaches h11, or by the lookup path once it answers; a head this
        # protocol is still buffering does not cancel it, so heads must arrive within the
        # keep-alive time (BOOSTKG_KEEP_ALIVE_S), after connecting as after each response.
        self.timeout_keep_alive_task = self.loop.call_later(self.timeout_keep_alive, self._head_overdue)
        if self._handed_over:
            data, self._handed_over = self._handed_over, b""
            self.data_received(data)

    def _head_overdue(self) -> None:
        """The head deadline passed: close, unless bytes are waiting in the socket that the event
        loop has not read yet (a loop held up by other work, not a slow client): then look again
        in a second. A trickling client is cut off: between its bytes the socket is empty."""
        self.timeout_keep_alive_task = None
        waiting = False
        transport_socket = self.transport.get_extra_info("socket")
        if transport_socket is not None:  # uvloop's stands in for the socket: peek through a copy
            try:
                with socket.fromfd(transport_socket.fileno(), socket.AF_INET, socket.SOCK_STREAM) as peek:
                    waiting = bool(peek.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT))
            except OSError:  # nothing waiting (EAGAIN), or reset or closed meanwhile
                waiting = False
        if waiting and not self.transport.is_closing():
            self.timeout_keep_alive_task = self.loop.call_later(_GRACE_S, self._head_overdue)
            return
        self.timeout_keep_alive_handler()

    def _idle(self) -> bool:
        """Whether h11 has no request in flight and nothing buffered (a new request may be ours)."""
        conn = self.conn
        return (
            (self.cycle is None or self.cycle.response_complete)
            and conn.our_state is h11.IDLE
            and conn.their_state is h11.IDLE
            and not conn.trailing_data[0]
        )

    def data_received(self, data: bytes) -> None:
        if self._proxying is not None:  # what comes behind a proxied request waits its turn
            self._held += data
            if len(self._held) > HEAD_LIMIT:  # a client piling requests up: stop reading for now
                self.flow.pause_reading()
            return
        if not self._idle():
            super().data_received(data)
            return
        buffer = self._head + data if self._head else data
        self._head = b""
        while buffer:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) <= HEAD_LIMIT:
                    self._head = buffer
                    return
                break
            answer = self._front(buffer[:end])
            if answer is None:
                break
            if not isinstance(answer, bytes):  # the workers' (or the remote store's) answer
                self._start_proxy(answer, buffer[end + 4 :])
                return
            self._unset_keepalive_if_required()
            self.transport.write(answer)
            self.server_state.total_requests += 1
            buffer = buffer[end + 4 :]
            if not buffer:
                self.timeout_keep_alive_task = self.loop.call_later(
                    self.timeout_keep_alive, self.timeout_keep_alive_handler
                )
        if buffer:
            super().data_received(buffer)

    def _front(self, head: bytes) -> bytes | FrontResponse | None:
        """The response to a request head answered here (see the module docstring), else ``None``
        (its plan, :class:`Plans`, declines it)."""
        plan = self.plans.of(head, self.scheme or "http")
        if plan is None:
            return None
        started = time.perf_counter()
        app = self.app_for_lookups
        answer = self.answer(app, plan, self.server_state.default_headers)
        if isinstance(answer, bytes):
            metrics = getattr(app.state, "metrics", None)
            if metrics is not None:  # the middleware that counts the app's answers never sees this one
                metrics.observe("GET", "/sparql", 200, time.perf_counter() - started)
        return answer

    def _start_proxy(self, response: FrontResponse, rest: bytes) -> None:
        """Have ``response`` written; what arrives meanwhile is held (``rest``: bytes after its head),
        reading pausing once more than a request head's worth is (the client's buffer and the
        kernel's then hold the rest)."""
        self._unset_keepalive_if_required()
        self._held = rest
        self._proxying = response
        self._proxy_started = time.perf_counter()
        response.start(self)

    def proxy_write(self, data: bytes) -> bool:
        """Write part of the proxied response; whether the client's buffer is full."""
        if self.transport.is_closing():  # the client went away: connection_lost stops the answer
            return False
        self.transport.write(data)
        return bool(self.flow.write_paused)

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._proxying is not None:
            self._proxying.resume()

    def proxy_done(self, complete: bool) -> None:
        """The proxied response is written (``complete``) or was cut off: count it, then read what
        came next, or close."""
        response = self._proxying
        if response is None:
            return
        self._proxying = None
        self.server_state.total_requests += 1
        seconds = time.perf_counter() - self._proxy_started
        report_proxied(response, seconds, self.transport)
        metrics = getattr(self.app_for_lookups.state, "metrics", None)
        if metrics is not None:
            if response.status:
                metrics.observe("GET", "/sparql", response.status, seconds)
            if response.timed_out:
                metrics.timeouts.labels("/sparql").inc()
        if not complete or self._closing:
            self.transport.close()
        elif not self.transport.is_closing():
            self.flow.resume_reading()
            self.timeout_keep_alive_task = self.loop.call_later(
                self.timeout_keep_alive, self.timeout_keep_alive_handler
            )  # the head deadline for what comes next; cancelled once a head is handled
            held, self._held = self._held, b""
            if held:
                self.data_received(held)

    def shutdown(self) -> None:
        if self._proxying is not None:  # graceful: finish the answer, then close
            self._closing = True
            return
        super().shutdown()

    def connection_lost(self, exc: Exception | None) -> None:
        response = self._proxying
        if response is not None:  # stopping its answer gives the server connection back
            response.close()
            self.proxy_done(False)
        super().connection_lost(exc)


def parse_lookup_head(head: bytes) -> tuple[bytes, str, str] | None:
    """(query string, Accept, Host) of a request head (without its blank line) that may be a
    lookup: ``GET /sparql?...`` over HTTP/1.1 with a Host, no body, no ``Origin``, no
    ``Connection: close``; ``None`` for any other request."""
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or parts[0] != b"GET" or parts[2] != b"HTTP/1.1" or not parts[1].startswith(_PREFIX):
        return None
    accept: bytes | None = None
    host: bytes | None = None
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip():
            return None
        name = name.lower()
        if name in _DECLINE_HEADERS:
            return None
        value = value.strip()
        if name == b"accept":
            accept = value if accept is None else accept
        elif name == b"host":
            if host is not None:
                return None
            host = value
        elif name == b"connection" and b"close" in value.lower():
            return None
    target = parts[1]
    if host is None or b"#" in target or not host.isascii():
        return None
    return (
        target[len(_PREFIX) :],
        accept.decode("latin-1") if accept is not None else "",
        host.decode("ascii"),
    )


def lookup_response(default_headers: list[tuple[bytes, bytes]], body: bytes, media: str) -> bytes:
    """A 200 response with ``body``, as the application (Starlette, the security headers) and
    uvicorn would send it."""
    content_type = f"{media}; charset=utf-8" if media.startswith("text/") else media
    out = [b"HTTP/1.1 200 OK\r\n"]
    for name, value in default_headers:
        out += (name, b": ", value, b"\r\n")
    out += (b"content-length: ", str(len(body)).encode(), b"\r\ncontent-type: ", content_type.encode())
    out.append(b"\r\nx-content-type-options: nosniff")  # as the app sends on every answer
    out += (b"\r\n\r\n", body)
    return b"".join(out)


def front_protocol(app: Any) -> type[FrontProtocol]:
    """A :class:`FrontProtocol` class answering lookups from ``app`` (for ``uvicorn.run(http=...)``)."""
    from boostkg.api.routes.sparql_shortcuts import front_answer  # imports this module

    members = {"app_for_lookups": app, "plans": Plans(app), "answer": staticmethod(front_answer)}
    return type("BoostkgFrontProtocol", (FrontProtocol,), members)
