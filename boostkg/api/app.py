"""The application factory: one store per app, opened in the lifespan; routes are thin."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.requests import Request

import boostkg
from boostkg.api import observability, openapi, problems, security
from boostkg.api.admin import committed_snapshots, write_state
from boostkg.api.lookups import PublishWrites
from boostkg.api.planning import keep_degrees
from boostkg.api.routes import (
    backup,
    graphs,
    home,
    matches,
    queries,
    query,
    reports,
    resources,
    sparql,
    sparql_shortcuts,
    submissions,
    void,
)
from boostkg.config import Settings
from boostkg.store import EmbeddedStore, RdfFormat, ResultFormat, open_store, store_location
from boostkg.store.remote_queries import RemoteQueries
from boostkg.store.workers import QueryWorkers


def _no_lookups(query: str, results: ResultFormat, rdf: RdfFormat, base_iri: str, max_bytes: int) -> None:
    """Declines every lookup, so that each query goes to the remote server without blocking."""


def create_app(settings: Settings) -> FastAPI:
    """A FastAPI app serving the store at ``settings.store``, or the server at ``settings.store_url``."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = open_store(store_location(settings))
        app.state.store = store
        app.state.settings = settings
        workers: QueryWorkers | RemoteQueries = (  # a remote server runs the endpoint's queries itself
            QueryWorkers(settings.query_workers, committed_snapshots(app, store))
            if isinstance(store, EmbeddedStore)
            else RemoteQueries(settings.query_workers, store)
        )
        if not isinstance(store, EmbeddedStore):  # lookups are answered on the event loop: not over HTTP
            app.state.lookup_runner = _no_lookups
        await workers.start()
        app.state.query_workers = workers
        planning = (
            asyncio.create_task(
                keep_degrees(store, write_state(Request({"type": "http", "app": app})).write_lock)
            )
            if isinstance(store, EmbeddedStore)
            else None
        )
        try:
            yield
        finally:
            if planning is not None:
                planning.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await planning
            await workers.close()
            store.close()

    app = FastAPI(
        title="boostkg",
        version=boostkg.__version__,
        description="The knowledge graph of the BOOST Interregional Collaboration Framework.",
        lifespan=lifespan,
    )
    problems.install(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "Accept"],
            expose_headers=["Location", "Content-Type"],
        )
    app.add_middleware(security.AuthFailureLimit)  # 429 after too many 401s from one address
    app.add_middleware(security.SecurityHeaders)  # CSP on HTML answers, nosniff on all
    app.add_middleware(PublishWrites)  # with lookup processes: writes published before their response
    if not settings.store_url:  # a remote store declines every lookup: the fast path would only cost
        app.add_middleware(sparql_shortcuts.LookupFastPath)  # outermost of ours: before CORS, which it skips
    observability.install(app, settings)  # request ids, logs, metrics: outermost, sees every answer
    app.include_router(home.router)
    app.include_router(sparql.router)
    app.include_router(graphs.router)
    app.include_router(query.router)
    app.include_router(submissions.router)
    app.include_router(void.router)
    app.include_router(queries.router)
    app.include_router(reports.router)
    app.include_router(matches.router)
    app.include_router(backup.router)
    app.include_router(resources.router)
    openapi.describe(app)
    return app
