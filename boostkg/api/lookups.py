"""Lookup processes: more than one core for ``GET /sparql`` lookups (``boostkg serve --processes N``).

One Python process answers HTTP on one core at most, and for a point lookup the HTTP work costs as
much as the query. With ``N > 1`` the server process (the *primary*: every write, every page, every
query that may run long) shares its listening socket with ``N - 1`` lookup processes. A lookup
process accepts connections like the primary does and answers the requests
:func:`~boostkg.api.front.parse_lookup_head` and :func:`~boostkg.api.routes.sparql_shortcuts.lookup_answer`
accept (bounded lookups) from a read-only checkpoint of the store; at the first request it does not
answer, it hands the connection itself (the socket, by ``SCM_RIGHTS``, with the bytes read so far)
to the primary, which serves it from then on exactly as if it had accepted it.

On a remote store (``BOOSTKG_STORE_URL``) there is nothing to checkpoint: the processes are
*relays*. Each relays every plain ``GET /sparql`` query to the remote server itself, as the primary
does (:func:`~boostkg.api.routes.sparql_shortcuts.front_plan`, a pool of kept-alive connections of its
own), and hands everything else over; every process queries the same server, which has every write
before its response starts, so nothing is published. The store's credentials reach a relay in its
environment, never on its command line. A relay's answers are counted in the primary's
``/metrics`` as the lookup processes' are; its 5xx and cut-offs are logged as the primary's.

Read-your-writes: after every request that may have written (any method but GET/HEAD/OPTIONS), the
primary, before its response starts, takes a checkpoint of the store under the write lock and
publishes its path on a shared page (:class:`Board`); a lookup process looks at the page before
every lookup and opens the newer checkpoint (about 10 ms) when there is one. So the response to a
write is sent only once every process will answer from a state that includes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import mmap
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from email.utils import formatdate
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from prometheus_client.core import CounterMetricFamily, Metric
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from boostkg.config import Settings

_log = logging.getLogger(__name__)
_PAGE = 4096
_SLOTS_AT = 2048
_SLOT = 32
"""Each lookup process's counters on the board: requests answered, nanoseconds spent answering."""
_MAX_PROCESSES = (_PAGE - _SLOTS_AT) // _SLOT
_HEAD_LIMIT = 16 * 1024
_HANDOVER_MAX = 4 * 1024 * 1024
"""Most bytes a lookup process forwards with a connection (a head, and what came with it)."""
_HANDOVER_WAIT_S = 30.0
"""How long a handover waits for room in the channel while the server is too busy to empty it
(the lookup process waits with it; past this the connection is dropped, with a log line)."""
_PIECE = 60 * 1024
"""Bytes per handover message: a message must fit the channel's socket buffer (about 208 KiB), so
the bytes read so far (a head and, for a POST, the start of its body: up to one read, 256 KiB) go
in pieces, the first with the socket, each flagged whether more follow."""
_READ_ONLY = frozenset({"GET", "HEAD", "OPTIONS"})
_COUNTS = struct.Struct("<QQQQ")


class Board:
    """A shared page naming the newest published checkpoint: 8 bytes generation (0 while being
    written), 4 bytes length, the path. One writer (the primary), many readers."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.page = mmap.mmap(fd, _PAGE)

    @classmethod
    def create(cls) -> Board:
        fd, name = tempfile.mkstemp(prefix="boostkg-board-")
        os.unlink(name)
        os.ftruncate(fd, _PAGE)
        return cls(fd)

    def publish(self, generation: int, path: Path) -> None:
        data = str(path).encode("utf-8")
        self.page[0:8] = (0).to_bytes(8, "little")
        self.page[8:12] = len(data).to_bytes(4, "little")
        self.page[12 : 12 + len(data)] = data
        self.page[0:8] = generation.to_bytes(8, "little")

    def generation(self) -> int:
        return int.from_bytes(self.page[0:8], "little")

    def count(self, slot: int, nanoseconds: int, *, error: bool = False, timeout: bool = False) -> None:
        """One request answered by the lookup process owning ``slot`` (only it writes there):
        ``error`` for a 4xx or 5xx answer, ``timeout`` for a query stopped at its deadline."""
        at = _SLOTS_AT + slot * _SLOT
        answered, spent, errors, timeouts = _COUNTS.unpack_from(self.page, at)
        _COUNTS.pack_into(
            self.page, at, answered + 1, spent + nanoseconds, errors + error, timeouts + timeout
        )

    def counts(self, slot: int) -> tuple[int, int, int, int]:
        """(requests answered, nanoseconds spent, of them answered with an error, of them stopped
        at their deadline) by the lookup process owning ``slot``."""
        answered, spent, errors, timeouts = _COUNTS.unpack_from(self.page, _SLOTS_AT + slot * _SLOT)
        return int(answered), int(spent), int(errors), int(timeouts)

    def read(self) -> tuple[int, Path] | None:
        """The published (generation, checkpoint), or ``None`` while none is."""
        for _ in range(1000):
            first = self.generation()
            if first:
                size = int.from_bytes(self.page[8:12], "little")
                path = self.page[12 : 12 + size].decode("utf-8", "replace")
                if self.generation() == first:
                    return first, Path(path)
            time.sleep(0.001)
        return None


# --- the primary's side -----------------------------------------------------------------------------


class LookupProcesses:
    """The lookup processes of one server: started after the app, stopped before it closes."""

    def __init__(self, settings: Settings, listener: socket.socket) -> None:
        self.settings = settings
        self.relay = bool(settings.store_url)
        """A remote store: the processes relay queries to it (nothing to checkpoint and publish)."""
        self.listener = listener
        self.board = Board.create()
        self.published = -1
        self.procs: list[subprocess.Popen[bytes]] = []
        self.channels: list[socket.socket] = []
        self._pending: dict[int, tuple[list[int], list[bytes]]] = {}
        """Per channel: the socket of a handover whose pieces are still coming, and the pieces."""
        self._app: Any = None

    def changed(self) -> bool:
        """Whether the store moved since the last publication (never for relays: every process
        queries the remote server, which has every write once its response starts)."""
        return not self.relay and bool(self._app.state.store.generation != self.published)

    def publish(self) -> None:
        """Checkpoint the store under the write lock and publish it (no-op if nothing changed)."""
        from starlette.requests import Request

        from boostkg.api.admin import write_state  # the routes import the app's modules

        app = self._app
        store = app.state.store
        if store.generation == self.published:
            return
        with write_state(Request({"type": "http", "app": app})).write_lock:
            generation = store.generation
            path = store.reader_snapshot()
            self.board.publish(generation + 1, path)  # +1: 0 means "being written"
            self.published = generation

    def start(self, app: Any, adopt: Callable[[socket.socket, bytes], None]) -> None:
        """Publish the store's state, start the processes, take the connections they hand over."""
        self._app = app
        if not self.relay:
            self.publish()
        loop = asyncio.get_running_loop()
        env = dict(os.environ)
        if self.relay and self.settings.store_user:  # the credentials go in the environment, not on
            env["BOOSTKG_STORE_USER"] = self.settings.store_user  # the command line (`ps` shows it)
            secret = self.settings.store_password
            env["BOOSTKG_STORE_PASSWORD"] = secret.get_secret_value() if secret else ""
        metrics = getattr(app.state, "metrics", None)
        if metrics is not None:
            metrics.registry.register(_Collector(self))
        for slot in range(min(self.settings.http_processes - 1, _MAX_PROCESSES)):
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "boostkg.api.lookups",
                    str(self.listener.fileno()),
                    str(theirs.fileno()),
                    str(self.board.fd),
                    # on the command line (visible in `ps`): never the remote store's credentials
                    self.settings.model_dump_json(exclude={"store_user", "store_password"}),
                    str(slot),
                ],
                pass_fds=(self.listener.fileno(), theirs.fileno(), self.board.fd),
                env=env,
            )
            theirs.close()
            ours.setblocking(False)
            loop.add_reader(ours.fileno(), functools.partial(self._received, ours, adopt))
            self.procs.append(proc)
            self.channels.append(ours)

    def _received(self, channel: socket.socket, adopt: Callable[[socket.socket, bytes], None]) -> None:
        try:
            data, fds, _flags, _addr = socket.recv_fds(channel, _PIECE + 1, 4)
        except BlockingIOError:
            return
        except OSError:
            data, fds = b"", []
        if not data and not fds:  # the lookup process is gone
            asyncio.get_running_loop().remove_reader(channel.fileno())
            return
        for fd in fds:
            # close-on-exec (Python 3.11's recv_fds ignores MSG_CMSG_CLOEXEC): uvloop starts
            # subprocesses (query workers) without closing inheritable descriptors, and a worker
            # holding a client's socket keeps the connection open after the server closes it (a
            # stream cut off at the deadline hung its client instead of ending)
            os.set_inheritable(fd, False)
        pending = self._pending.get(channel.fileno())
        if fds:  # the first piece of a handover
            for stale in pending[0] if pending else ():
                os.close(stale)  # a handover whose last piece never came (cannot happen in order)
            pending = self._pending[channel.fileno()] = (fds, [])
        if pending is None:
            return  # a continuation without its first piece: nothing to attach it to
        pending[1].append(data[1:])
        if data[:1] == b"\x01":
            return  # more pieces follow
        del self._pending[channel.fileno()]
        body = b"".join(pending[1])
        for fd in pending[0]:
            adopt(socket.socket(fileno=fd), body)

    def stop(self) -> None:
        for channel in self.channels:
            with contextlib.suppress(ValueError, RuntimeError):
                asyncio.get_running_loop().remove_reader(channel.fileno())
            channel.close()
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


class _Collector:
    """The lookup processes' counters, for the primary's ``/metrics``."""

    def __init__(self, processes: LookupProcesses) -> None:
        self.processes = processes

    def collect(self) -> Iterator[Metric]:
        answered = CounterMetricFamily(
            "boostkg_lookup_process_requests",
            "Requests answered by lookup processes (BOOSTKG_HTTP_PROCESSES > 1) without the server "
            "process: queries that cannot run long, over GET /sparql (on a remote store, every "
            "plain GET /sparql query the relay processes relayed).",
            labels=["process"],
        )
        spent = CounterMetricFamily(
            "boostkg_lookup_process_busy_seconds",
            "Time lookup processes spent answering those requests (request read to response written).",
            labels=["process"],
        )
        errors = CounterMetricFamily(
            "boostkg_lookup_process_errors",
            "Of those requests, the ones answered with a 4xx or 5xx (a relay process relays a "
            "remote store's refusals and failures).",
            labels=["process"],
        )
        timeouts = CounterMetricFamily(
            "boostkg_lookup_process_query_timeouts",
            "Of those requests, the queries stopped at their deadline (relay processes).",
            labels=["process"],
        )
        for slot in range(len(self.processes.procs)):
            count, nanoseconds, failed, late = self.processes.board.counts(slot)
            answered.add_metric([str(slot + 1)], count)
            spent.add_metric([str(slot + 1)], nanoseconds / 1e9)
            errors.add_metric([str(slot + 1)], failed)
            timeouts.add_metric([str(slot + 1)], late)
        yield answered
        yield spent
        yield errors
        yield timeouts


class PublishWrites:
    """ASGI middleware of the primary: before the response to a request that may have written
    starts, publish the store's new state to the lookup processes (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        processes = cast("LookupProcesses | None", getattr(scope["app"].state, "lookup_processes", None))
        if scope["type"] != "http" or scope["method"] in _READ_ONLY or processes is None:
            await self.app(scope, receive, send)
            return

        async def publishing_send(message: Message) -> None:
            if message["type"] == "http.response.start" and processes.changed():
                await run_in_threadpool(processes.publish)
            await send(message)

        await self.app(scope, receive, publishing_send)


# --- a lookup process ---------------------------------------------------------------------------------


class _Lookups:
    """A lookup process's state: settings, the board, the checkpoint it reads."""

    def __init__(self, settings: Settings, board: Board, channel: socket.socket, slot: int) -> None:
        from boostkg.api.routes.sparql_shortcuts import lookup_answer

        self.settings = settings
        self.board = board
        self.slot = slot
        self.channel = channel
        # Handovers go through a copy of the channel that waits for room: the event loop makes the
        # channel non-blocking, and a burst of handovers (say 20 POSTs of 100 KB) fills its buffer
        # while the server is busy; failing then dropped connections without an answer.
        self.sender = channel.dup()
        self.sender.settimeout(_HANDOVER_WAIT_S)
        self.generation = 0
        self.store: Any = None
        self.answer = lookup_answer
        self._date = (0, b"")

    def current(self) -> Any:
        """The store at the newest published checkpoint (reopened when the board moved)."""
        from boostkg.store.snapshot import SnapshotReader

        if self.board.generation() != self.generation:
            found = self.board.read()
            if found is not None:
                generation, path = found
                if self.store is not None:
                    self.store.close()
                self.store = SnapshotReader(path)
                self.generation = generation
        return self.store

    def run(self, query: str, results: Any, rdf: Any, base_iri: str, max_bytes: int) -> bytes | None:
        """The query's results from the newest checkpoint if it cannot run long; ``None`` (the
        server answers) when it may, or when the checkpoint cannot be opened."""
        from boostkg.errors import StoreError

        try:
            store = self.current()
        except StoreError:
            return None
        result = store.query_inline(
            query, result_format=results, rdf_format=rdf, base_iri=base_iri, max_bytes=max_bytes
        )
        return cast("bytes | None", result)

    def base_headers(self) -> list[tuple[bytes, bytes]]:
        """The headers uvicorn puts on every response (``date``, ``server``)."""
        now = int(time.time())
        if self._date[0] != now:
            self._date = (now, formatdate(now, usegmt=True).encode())
        return [(b"date", self._date[1]), (b"server", b"uvicorn")]

    def default_headers(self) -> list[tuple[bytes, bytes]]:
        headers = self.base_headers()
        if self.settings.cors_origins:  # as the server marks an answer to a request without Origin
            headers.append((b"vary", b"Origin"))
        return headers


class _LookupProtocol(asyncio.Protocol):
    def __init__(self, lookups: _Lookups) -> None:
        self.lookups = lookups
        self.buffer = b""
        self.transport: asyncio.Transport | None = None
        self.idle: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self._arm()

    def _arm(self) -> None:
        if self.idle is not None:
            self.idle.cancel()
        assert self.transport is not None
        # idle time after a response, and the deadline for the next request head (or the first)
        keep_alive = self.lookups.settings.keep_alive_s
        self.idle = asyncio.get_running_loop().call_later(keep_alive, self.transport.close)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.idle is not None:
            self.idle.cancel()

    def data_received(self, data: bytes) -> None:
        from boostkg.api.front import lookup_response, parse_lookup_head

        transport = self.transport
        assert transport is not None
        buffer = self.buffer + data
        lookups = self.lookups
        while buffer:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) <= _HEAD_LIMIT:
                    self.buffer = buffer  # the deadline stays: a head must arrive whole in time
                    return
                break
            parsed = parse_lookup_head(buffer[:end])
            if parsed is None:
                break
            started = time.perf_counter_ns()
            query_string, accept, host = parsed
            found = lookups.answer(
                lookups.settings, lookups.run, query_string, accept, f"http://{host}/sparql"
            )
            if found is None:
                break
            transport.write(lookup_response(lookups.default_headers(), *found))
            lookups.board.count(lookups.slot, time.perf_counter_ns() - started)
            buffer = buffer[end + 4 :]
        self.buffer = b""
        if buffer:
            self._hand_over(buffer)
        else:
            self._arm()

    def _hand_over(self, buffer: bytes) -> None:
        """Give the connection (and ``buffer``, read from it) to the primary."""
        transport = self.transport
        assert transport is not None
        if self.idle is not None:
            self.idle.cancel()
        transport.pause_reading()
        if len(buffer) > _HANDOVER_MAX:
            transport.close()  # past every limit of the primary: it would refuse it too
            return
        sock = transport.get_extra_info("socket")
        channel = self.lookups.sender
        pieces = [buffer[at : at + _PIECE] for at in range(0, len(buffer), _PIECE)] or [b""]
        try:
            for index, piece in enumerate(pieces):
                flag = b"\x01" if index < len(pieces) - 1 else b"\x00"
                if index == 0:
                    socket.send_fds(channel, [flag + piece], [sock.fileno()])
                else:
                    channel.sendmsg([flag + piece])
        except OSError as exc:  # the server is gone, or has not read its channel for a long time
            _log.warning(
                "lookup process %d: a connection could not be handed over: %s", self.lookups.slot, exc
            )
            transport.abort()
            return
        transport.abort()  # closes our descriptor only: the primary holds its own


class _Relay:
    """A relay process's state (a remote store): the pool of connections to the server, what
    :func:`~boostkg.api.routes.sparql_shortcuts.front_plan` reads of an app, and its plans."""

    def __init__(self, lookups: _Lookups) -> None:
        from boostkg.api.front import Plans, report_proxied
        from boostkg.api.routes.sparql_shortcuts import front_answer
        from boostkg.store import store_location
        from boostkg.store.remote import RemoteEndpoint
        from boostkg.store.remote_queries import RemoteQueries

        settings = lookups.settings
        location = store_location(settings)
        assert isinstance(location, RemoteEndpoint)
        self.store = location.open(recover=False)  # the server process recovers; this one only reads
        self.pool = RemoteQueries(settings.query_workers, self.store)
        self.state = SimpleNamespace(settings=settings, query_workers=self.pool)
        self.plans = Plans(self)
        self.answer = front_answer
        self.report = report_proxied
        self.answering: set[_RelayProtocol] = set()


class _RelayProtocol(_LookupProtocol):
    """A relay process's connection: plain queries are relayed to the remote store as the server
    process relays them (:class:`~boostkg.api.routes.sparql_shortcuts.FrontResponse`), anything
    else is handed over to it."""

    def __init__(self, lookups: _Lookups, relay: _Relay) -> None:
        super().__init__(lookups)
        self.relay = relay
        self.proxying: Any = None
        self.held = b""
        self.started = 0
        self.write_paused = False

    def data_received(self, data: bytes) -> None:
        if self.proxying is not None:  # what comes behind a relayed request waits its turn
            self.held += data
            if len(self.held) > _HEAD_LIMIT:
                assert self.transport is not None
                self.transport.pause_reading()
            return
        buffer = self.buffer + data
        self.buffer = b""
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(buffer) <= _HEAD_LIMIT:
                self.buffer = buffer  # the deadline stays: a head must arrive whole in time
                return
            self._hand_over(buffer)
            return
        relay = self.relay
        plan = relay.plans.of(buffer[:end])
        if plan is None:
            self._hand_over(buffer)
            return
        if self.idle is not None:
            self.idle.cancel()
            self.idle = None
        self.started = time.perf_counter_ns()
        self.held = buffer[end + 4 :]
        answer = relay.answer(relay, plan, self.lookups.base_headers())
        assert not isinstance(answer, bytes)  # on a remote store every query is relayed, none inline
        self.proxying = answer
        relay.answering.add(self)
        answer.start(self)

    def proxy_write(self, data: bytes) -> bool:
        transport = self.transport
        if transport is None or transport.is_closing():
            return False
        transport.write(data)
        return self.write_paused

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        if self.proxying is not None:
            self.proxying.resume()

    def proxy_done(self, complete: bool) -> None:
        response, self.proxying = self.proxying, None
        if response is None:
            return
        relay, lookups = self.relay, self.lookups
        relay.answering.discard(self)
        spent = time.perf_counter_ns() - self.started
        lookups.board.count(lookups.slot, spent, error=response.status >= 400, timeout=response.timed_out)
        relay.report(response, spent / 1e9, self.transport)
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if not complete:
            transport.close()
            return
        transport.resume_reading()
        held, self.held = self.held, b""
        if held:
            self.data_received(held)
        else:
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        response, self.proxying = self.proxying, None
        if response is not None:
            self.relay.answering.discard(self)
            response.close()
        super().connection_lost(exc)


async def _serve_relay(listener: socket.socket, lookups: _Lookups) -> None:
    """A relay process (a remote store) until the server process stops it or is gone; answers
    being relayed then are finished first (for up to the query deadline)."""
    from boostkg.api.observability import configure_logging

    configure_logging(lookups.settings, server=True)  # its cut-offs and 5xx are logged as the server's
    relay = _Relay(lookups)
    await relay.pool.start()
    try:
        await _serve(listener, lookups, lambda: _RelayProtocol(lookups, relay))
        deadline = time.monotonic() + lookups.settings.query_timeout_s
        while relay.answering and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    finally:
        await relay.pool.close()
        relay.store.close()


async def _serve(
    listener: socket.socket, lookups: _Lookups, protocol: Callable[[], asyncio.Protocol] | None = None
) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(protocol or (lambda: _LookupProtocol(lookups)), sock=listener)
    stopped: asyncio.Future[None] = loop.create_future()

    def stop() -> None:
        if not stopped.done():
            stopped.set_result(None)

    def parent_gone() -> None:
        try:
            if lookups.channel.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b"":
                stop()
        except BlockingIOError:
            return
        except OSError:
            stop()

    loop.add_reader(lookups.channel.fileno(), parent_gone)
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)
    await stopped
    server.close()


def main(argv: list[str]) -> None:
    """``python -m boostkg.api.lookups LISTEN_FD CHANNEL_FD BOARD_FD SETTINGS_JSON SLOT``."""
    listen_fd, channel_fd, board_fd = (int(a) for a in argv[:3])
    values = json.loads(argv[3])
    if os.environ.get("BOOSTKG_STORE_USER"):  # a relay's credentials: from the environment
        values["store_user"] = os.environ["BOOSTKG_STORE_USER"]
        values["store_password"] = os.environ.get("BOOSTKG_STORE_PASSWORD", "")
    settings = Settings.model_validate(values)
    listener = socket.socket(fileno=listen_fd)
    channel = socket.socket(fileno=channel_fd)
    lookups = _Lookups(settings, Board(board_fd), channel, int(argv[4]))
    if not settings.store_url:
        lookups.current()
    try:
        import uvloop

        runner: Callable[..., Any] = uvloop.run
    except ImportError:
        runner = asyncio.run
    runner(_serve_relay(listener, lookups) if settings.store_url else _serve(listener, lookups))


if __name__ == "__main__":
    main(sys.argv[1:])
