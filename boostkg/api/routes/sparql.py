"""A basic SPARQL 1.1 Protocol query endpoint (GET, POST form, POST direct)."""

from __future__ import annotations

import io

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from boostkg.api.deps import StoreDep
from boostkg.errors import InputError
from boostkg.store import RdfFormat, ResultFormat

router = APIRouter()

_RESULT_TYPES = {f.value: f for f in ResultFormat}
_RDF_TYPES = {f.media_type: f for f in RdfFormat}


def _choose(accept: str) -> ResultFormat | RdfFormat | None:
    for part in accept.split(","):
        media = part.split(";")[0].strip().lower()
        if media in _RESULT_TYPES:
            return _RESULT_TYPES[media]
        if media in _RDF_TYPES:
            return _RDF_TYPES[media]
    return None


async def _run(store: StoreDep, query: str | None, accept: str) -> Response:
    if not query:
        raise InputError("missing 'query' parameter")
    chosen = _choose(accept)
    buffer = io.BytesIO()
    fmt = chosen or ResultFormat.JSON
    await run_in_threadpool(store.query_to, query, buffer, result_format=fmt)
    body = buffer.getvalue()
    if isinstance(fmt, ResultFormat) and body.lstrip()[:1] not in (b"{", b"<") and fmt is ResultFormat.JSON:
        media = RdfFormat.TURTLE.media_type  # a CONSTRUCT asked for JSON gets Turtle
    else:
        media = fmt.value if isinstance(fmt, ResultFormat) else fmt.media_type
    return Response(body, media_type=media)


@router.get("/sparql")
async def sparql_get(request: Request, store: StoreDep) -> Response:
    """Run ``?query=`` over the union of all graphs."""
    return await _run(store, request.query_params.get("query"), request.headers.get("accept", ""))


@router.post("/sparql")
async def sparql_post(request: Request, store: StoreDep) -> Response:
    """Run a query sent form-encoded or directly as ``application/sparql-query``."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "application/sparql-query":
        query: str | None = (await request.body()).decode("utf-8")
    elif ctype == "application/x-www-form-urlencoded":
        form = await request.form()
        value = form.get("query")
        query = value if isinstance(value, str) else None
    else:
        raise InputError(f"unsupported content type {ctype!r}")
    return await _run(store, query, request.headers.get("accept", ""))
