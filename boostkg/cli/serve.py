"""``boostkg serve``: the HTTP server (landing page, SPARQL endpoint, linked-data pages, submissions)."""

from __future__ import annotations

from typing import Annotated

import typer

from boostkg.cli.session import StoreOption, out, settings_for
from boostkg.config import Settings


def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
    store: StoreOption = None,
) -> None:
    """Serve the store over HTTP (landing page, SPARQL endpoint)."""
    start_server(with_overrides(settings_for(store), host, port))


def with_overrides(settings: Settings, host: str | None, port: int | None) -> Settings:
    """``settings`` with ``--host`` and ``--port`` applied when given."""
    updates: dict[str, object] = {}
    if host is not None:
        updates["host"] = host
    if port is not None:
        updates["port"] = port
    return settings.model_copy(update=updates)


def start_server(settings: Settings) -> None:
    """Serve the app over HTTP until interrupted (the API's modules load only here)."""
    from boostkg.api import server
    from boostkg.api.app import create_app

    out.print(f"serving {settings.store} on http://{settings.host}:{settings.port}/  (Ctrl-C stops)")
    server.run(create_app(settings), settings)
