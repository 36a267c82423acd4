"""Running the app: uvicorn with boostkg's protocol, and the lookup processes when asked for."""

from __future__ import annotations

import asyncio
import functools
import socket
from collections.abc import Callable
from typing import Any

import uvicorn

from boostkg.api.front import front_protocol
from boostkg.api.lookups import LookupProcesses
from boostkg.config import Settings


def run(app: Any, settings: Settings) -> None:
    """Serve ``app`` on ``settings.host:port`` until stopped (Ctrl-C, SIGTERM)."""
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level="info",
        access_log=settings.access_log,
        # uvloop (uvicorn[standard]) when installed: less Python per request. The parser stays h11:
        # httptools answers a bare 400 to a URL longer than its fixed limit, h11's limit is set below.
        # Bounded lookups are answered ahead of h11 (api/front.py), unless every request is logged.
        loop="auto",
        http="h11" if settings.access_log else front_protocol(app),
        # room for a GET whose percent-encoded query is as long as the endpoint accepts (413/414 then
        # come from the endpoint, with a reason, rather than a bare 400 from the HTTP parser)
        h11_max_incomplete_event_size=settings.max_query_bytes * 3 + 65536,
        timeout_keep_alive=settings.keep_alive_s,
    )
    if settings.http_processes <= 1 or settings.access_log:
        uvicorn.Server(config).run()
        return
    listener = socket.create_server((settings.host, settings.port), backlog=2048)
    _Server(config, settings, listener).run(sockets=[listener])


class _Server(uvicorn.Server):
    """uvicorn's server plus the lookup processes (:mod:`boostkg.api.lookups`) sharing its socket."""

    def __init__(self, config: uvicorn.Config, settings: Settings, listener: socket.socket) -> None:
        super().__init__(config)
        self.app: Any = config.app
        self.processes = LookupProcesses(settings, listener)
        self._adopting: set[asyncio.Task[None]] = set()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.should_exit:
            return
        create_protocol = functools.partial(
            self.config.http_protocol_class,  # type: ignore[call-arg]
            config=self.config,
            server_state=self.server_state,
            app_state=self.lifespan.state,
        )
        loop = asyncio.get_running_loop()

        def adopt(sock: socket.socket, data: bytes) -> None:
            task = loop.create_task(self._adopt(sock, data, create_protocol))
            self._adopting.add(task)
            task.add_done_callback(self._adopting.discard)

        self.app.state.lookup_processes = self.processes
        self.processes.start(self.app, adopt)

    async def _adopt(self, sock: socket.socket, data: bytes, create_protocol: Callable[..., Any]) -> None:
        """Serve a connection a lookup process handed over, starting with the bytes it had read (given
        to the protocol as it is made, before anything the socket still holds)."""
        sock.setblocking(False)
        try:
            await asyncio.get_running_loop().connect_accepted_socket(
                functools.partial(create_protocol, handed_over=data), sock
            )
        except OSError:
            sock.close()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.processes.stop()
        await super().shutdown(sockets)
