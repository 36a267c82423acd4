"""Readiness and metrics for load balancers and monitoring (liveness is ``/health``, in home.py)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import cast

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from boostkg.api.deps import SettingsDep
from boostkg.api.observability import METRICS_MEDIA_TYPE, Metrics
from boostkg.errors import BoostKGError, NotFoundError
from boostkg.store import EmbeddedStore
from boostkg.store.workers import QueryJob, QueryWorkers

router = APIRouter()

READY_TIMEOUT_S = 2.0
"""How long each readiness check may take before the server counts as not ready."""
RETRY_AFTER_S = 5


async def _store_answers(store: EmbeddedStore | None) -> str:
    if store is None:
        return "not open"
    try:
        async with asyncio.timeout(READY_TIMEOUT_S):
            await run_in_threadpool(store.ask, "ASK {}")
    except TimeoutError:
        return f"no answer to ASK {{}} within {READY_TIMEOUT_S:g} s"
    except BoostKGError as exc:
        return str(exc)
    return "ok"


async def _workers_answer(workers: QueryWorkers | None) -> str:
    if workers is None:
        return "not started"
    try:
        answer = await workers.run(QueryJob("ASK {}"), timeout_s=READY_TIMEOUT_S)
        async for _ in answer.chunks:
            pass
    except BoostKGError as exc:  # QueryTimeoutError: every worker busy for READY_TIMEOUT_S, or stuck
        return str(exc)
    return "ok"


@router.get("/ready", summary="Readiness: 200 when the store and the query workers answer, else 503")
async def ready(request: Request) -> JSONResponse:
    """Whether this server can answer queries now: the store is open and answers ``ASK {}``, and a
    query worker answers it too (within 2 s each). 503 with ``Retry-After`` otherwise."""
    state = request.app.state
    checks = {
        "store": await _store_answers(cast(EmbeddedStore | None, getattr(state, "store", None))),
        "query_workers": await _workers_answer(
            cast(QueryWorkers | None, getattr(state, "query_workers", None))
        ),
    }
    if all(value == "ok" for value in checks.values()):
        return JSONResponse({"status": "ready", "checks": checks})
    return JSONResponse(
        {"status": "not ready", "checks": checks},
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


@router.get("/metrics", summary="Prometheus metrics (text exposition format)", response_class=Response)
async def metrics(request: Request, settings: SettingsDep) -> Response:
    """Requests by route and status, latencies, query timeouts, submissions, the store's size."""
    if not settings.metrics:
        raise NotFoundError("metrics are off (BOOSTKG_METRICS=false)")
    state = request.app.state
    registry = cast(Metrics, state.metrics)
    store = cast(EmbeddedStore | None, getattr(state, "store", None))
    if store is not None and registry.store_count_due(settings.metrics_store_max_age_s):
        with contextlib.suppress(BoostKGError):  # mid-swap (a rebuild): the last count stays
            registry.set_store_quads(await run_in_threadpool(store.triple_count))
    if isinstance(store, EmbeddedStore):
        registry.planner_ready.set(1 if store.current_degrees() is not None else 0)
    workers = cast(QueryWorkers | None, getattr(state, "query_workers", None))
    if workers is not None:
        registry.workers.set(workers.size)
        registry.workers_busy.set(workers.busy)
    return Response(registry.render(), media_type=METRICS_MEDIA_TYPE)
