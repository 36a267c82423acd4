"""A basic SPARQL 1.1 Protocol query endpoint (GET, POST form, POST direct)."""

from __future__ import annotations

import io
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from boostkg.api.deps import StoreDep
from boostkg.errors import InputError
from boostkg.store import RdfFormat, ResultFormat

router = APIRouter()

_RESULT_TYPES = {f.value: f for f in ResultFormat}
_RDF_TYPES = {f.media_type: f for f in RdfFormat}


def _choose(accept: str) -> tuple[ResultFormat, RdfFormat]:
    """The first results type and the first RDF type the client accepts (JSON and Turtle if none);
    which one applies depends on the query form, known only once it runs."""
    result_format, rdf_format = ResultFormat.JSON, RdfFormat.TURTLE
    seen_result = seen_rdf = False
    for part in accept.split(","):
        media = part.split(";")[0].strip().lower()
        if not seen_result and media in _RESULT_TYPES:
            result_format, seen_result = _RESULT_TYPES[media], True
        if not seen_rdf and media in _RDF_TYPES:
            rdf_format, seen_rdf = _RDF_TYPES[media], True
    return result_format, rdf_format


async def _run(store: StoreDep, query: str | None, accept: str) -> Response:
    if not query:
        raise InputError("missing 'query' parameter")
    result_format, rdf_format = _choose(accept)
    buffer = io.BytesIO()
    written = await run_in_threadpool(
        lambda: store.query_to(query, buffer, result_format=result_format, rdf_format=rdf_format)
    )
    media = written.value if isinstance(written, ResultFormat) else written.media_type
    return Response(buffer.getvalue(), media_type=media)


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
        query = parse_qs((await request.body()).decode("utf-8")).get("query", [None])[0]
    else:
        raise InputError(f"unsupported content type {ctype!r}")
    return await _run(store, query, request.headers.get("accept", ""))
