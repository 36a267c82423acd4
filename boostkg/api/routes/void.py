"""The VoID description of the dataset at ``/void`` and ``/.well-known/void`` (RFC 8615 / VoID
section 7.2): Turtle, JSON-LD, N-Triples, RDF/XML or an HTML summary, by ``Accept`` or ``?format=``.

The statistics are computed once per store state (see :mod:`boostkg.publishing.void`) and the
serialisations cached with them, so a request costs two small queries on ``graph/meta``.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Annotated, cast

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from boostkg.api.conneg import RDF_TRIPLES, Representation, negotiate
from boostkg.api.deps import SettingsDep, StoreDep
from boostkg.api.pages import TEMPLATES
from boostkg.publishing.void import DATASET, VoidCache, void_graph

router = APIRouter(tags=["Dataset description"])

OFFERS = (Representation.TURTLE, Representation.HTML, *RDF_TRIPLES[1:])
_CACHE_LOCK = threading.Lock()


def get_void_cache(request: Request, settings: SettingsDep) -> VoidCache:
    """The app's VoID cache, created with the first request that needs it."""
    with _CACHE_LOCK:
        if not hasattr(request.app.state, "void_cache"):
            request.app.state.void_cache = VoidCache(settings.void_max_age_s)
    return cast(VoidCache, request.app.state.void_cache)


CacheDep = Annotated[VoidCache, Depends(get_void_cache)]


async def _void(request: Request, store: StoreDep, cache: CacheDep, format_name: str | None) -> Response:
    representation = negotiate(OFFERS, accept=request.headers.get("accept"), format_name=format_name)
    snapshot = await run_in_threadpool(cache.snapshot, store)
    headers = {
        "Vary": "Accept",
        "Link": ", ".join(
            f'</void?format={r.names[0]}>; rel="alternate"; type="{r.media_type}"' for r in OFFERS
        ),
        "X-Statistics-Seconds": f"{snapshot.seconds:.3f}",
        "X-Statistics-Taken-At": datetime.fromtimestamp(snapshot.taken_at, UTC).isoformat(),
    }
    endpoint = str(request.base_url).rstrip("/") + "/sparql"
    if representation is Representation.HTML:
        html = TEMPLATES.get_template("void.html.j2").render(
            snapshot=snapshot, profile=snapshot.profile, dataset=DATASET, endpoint=endpoint, offers=OFFERS
        )
        return HTMLResponse(html, headers=headers)
    key = (representation.name, endpoint)
    data = cache.rendered(snapshot, key)
    if data is None:
        graph = void_graph(snapshot, endpoint=endpoint)
        data = await run_in_threadpool(graph.serialize, format=representation.rdflib_format, encoding="utf-8")
        cache.remember(snapshot, key, data)
    return Response(data, media_type=representation.media_type, headers=headers)


FormatParam = Annotated[
    str | None, Query(alias="format", description="turtle, html, jsonld, nt or rdfxml (overrides Accept).")
]
_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "description": "The VoID description.",
        "content": {r.media_type: {} for r in OFFERS},
    }
}


@router.get(
    "/void", summary="VoID description with statistics", response_class=Response, responses=_RESPONSES
)
async def void(request: Request, store: StoreDep, cache: CacheDep, format: FormatParam = None) -> Response:
    """The dataset (the union of all named graphs) and each named graph as a ``void:subset``, with
    triples, entities (distinct IRI subjects), distinct subjects and objects, and class and property
    partitions with their counts."""
    return await _void(request, store, cache, format)


@router.get(
    "/.well-known/void",
    summary="VoID description (well-known location)",
    response_class=Response,
    responses=_RESPONSES,
)
async def well_known_void(
    request: Request, store: StoreDep, cache: CacheDep, format: FormatParam = None
) -> Response:
    """The same document as ``/void``, where VoID-aware crawlers look for it."""
    return await _void(request, store, cache, format)
