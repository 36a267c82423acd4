"""Linked-data pages: every IRI under https://w3id.org/boostkg/ dereferences on this server.

``https://w3id.org/boostkg/<path>`` is served at ``/<path>`` (``/id/...``, ``/theme/...``,
``/vocab/...``, ``/graph/...``); any other IRI the store describes at ``/resource?iri=``. Each
answers 200 directly (no 303: the page describes the resource, and says so with ``Vary: Accept`` and
``Link: rel="alternate"``), as HTML for browsers and as Turtle, JSON-LD, N-Triples, RDF/XML, TriG or
N-Quads (each fact in its named graph) by ``Accept`` or ``?format=``. Unknown IRIs get 404. The
ontology IRI ``/icf`` serves the ontology's documentation or its Turtle; ``/shapes`` the stewards'
shapes page or the shapes themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, Response
from rdflib import Graph
from rdflib.exceptions import ParserError

from boostkg.api.conneg import RDF_QUADS, RDF_TRIPLES, Representation, negotiate
from boostkg.api.deps import SettingsDep, StoreDep
from boostkg.api.pages import TEMPLATES
from boostkg.errors import NotFoundError, ParseError
from boostkg.namespaces import BASE
from boostkg.publishing.resources import Description, checked_iri, describe

router = APIRouter(tags=["Linked data"])

NAMESPACES = ("id", "theme", "vocab", "graph")
"""The folders of https://w3id.org/boostkg/ whose IRIs name resources of the store."""
OFFERS = (Representation.TURTLE, Representation.HTML, *RDF_TRIPLES[1:], *RDF_QUADS)
"""Turtle when the client names no preference (``*/*``); browsers ask for HTML first."""
FormatParam = Annotated[
    str | None,
    Query(alias="format", description="html, turtle, jsonld, nt, rdfxml, trig or nquads (overrides Accept)."),
]


@dataclass(frozen=True)
class Alternate:
    """A link to another representation of the same page."""

    name: str
    media_type: str
    href: str


def _alternates(path: str, offers: tuple[Representation, ...]) -> list[Alternate]:
    sep = "&" if "?" in path else "?"
    return [Alternate(r.names[0], r.media_type, f"{path}{sep}format={r.names[0]}") for r in offers]


def _headers(path: str, offers: tuple[Representation, ...]) -> dict[str, str]:
    links = ", ".join(
        f'<{a.href}>; rel="alternate"; type="{a.media_type}"' for a in _alternates(path, offers)
    )
    return {"Vary": "Accept", "Link": links}


def _render(description: Description, representation: Representation, page_path: str) -> Response:
    headers = _headers(page_path, OFFERS)
    if representation is Representation.HTML:
        html = TEMPLATES.get_template("resource.html.j2").render(
            d=description, alternates=_alternates(page_path, OFFERS)
        )
        return HTMLResponse(html, headers=headers)
    if representation in RDF_QUADS:
        data = description.dataset().serialize(format=representation.rdflib_format, encoding="utf-8")
    else:
        data = description.graph().serialize(format=representation.rdflib_format, encoding="utf-8")
    return Response(data, media_type=representation.media_type, headers=headers)


async def _page(
    request: Request,
    store: StoreDep,
    settings: SettingsDep,
    iri: str,
    page_path: str,
    format_name: str | None,
) -> Response:
    representation = negotiate(OFFERS, accept=request.headers.get("accept"), format_name=format_name)
    checked = checked_iri(iri)
    description = await run_in_threadpool(
        describe,
        store,
        checked,
        incoming_limit=settings.incoming_links_limit,
        facts_limit=settings.resource_facts_limit,
    )
    if not description.exists:
        raise NotFoundError(f"the graph says nothing about {iri}")
    return _render(description, representation, page_path)


def _namespace_route(folder: str) -> Callable[..., Coroutine[Any, Any, Response]]:
    async def page(
        request: Request, store: StoreDep, settings: SettingsDep, path: str, format: FormatParam = None
    ) -> Response:
        # the raw (still percent-encoded) path is the IRI's own spelling
        raw = request.scope.get("raw_path", b"").decode("ascii", errors="replace").split("?")[0]
        return await _page(request, store, settings, BASE + raw.lstrip("/"), raw, format)

    page.__name__ = f"{folder}_page"
    page.__doc__ = (
        f"The resource ``https://w3id.org/boostkg/{folder}/{{path}}``: HTML (label, types, properties "
        "with the graphs stating them, incoming links, who loaded each graph) or RDF by Accept/format."
    )
    return page


for _folder in NAMESPACES:
    router.add_api_route(
        f"/{_folder}/{{path:path}}",
        _namespace_route(_folder),
        methods=["GET"],
        summary=f"Dereference a {_folder}/ IRI",
        response_class=Response,
        responses={404: {"description": "The graph says nothing about this IRI."}},
    )


@router.get(
    "/resource",
    summary="Describe any IRI the graph mentions",
    response_class=Response,
    responses={404: {"description": "The graph says nothing about this IRI."}},
)
async def resource(
    request: Request,
    store: StoreDep,
    settings: SettingsDep,
    iri: Annotated[str, Query(description="The IRI to describe, e.g. a NUTS region.")],
    format: FormatParam = None,
) -> Response:
    """The page of any IRI (NUTS regions, countries, ...), with the same representations as the
    project's own IRIs."""
    return await _page(request, store, settings, iri, "/resource?iri=" + quote(iri, safe=""), format)


ONTOLOGY_OFFERS = (Representation.TURTLE, Representation.HTML, *RDF_TRIPLES[1:])


def _ontology_graph(path: Path) -> Graph:
    graph = Graph()
    try:
        graph.parse(path, format="turtle")
    except (ParserError, SyntaxError, ValueError) as exc:
        raise ParseError(str(exc)) from exc
    return graph


@router.get("/icf", summary="The ICF ontology: documentation or Turtle", response_class=Response)
async def ontology(request: Request, settings: SettingsDep, format: FormatParam = None) -> Response:
    """``https://w3id.org/boostkg/icf``: the HTML documentation for browsers (a term ``icf#X`` is its
    anchor), ``ontology/icf.ttl`` as Turtle, or the same in JSON-LD, N-Triples, RDF/XML."""
    representation = negotiate(ONTOLOGY_OFFERS, accept=request.headers.get("accept"), format_name=format)
    headers = _headers("/icf", ONTOLOGY_OFFERS)
    source = settings.ontology_dir / "icf.ttl"
    if representation is Representation.HTML:
        docs = settings.docs_dir / "ontology" / "index.html"
        if not docs.is_file():
            raise NotFoundError(f"{docs} is missing (run `boostkg docs`)")
        return FileResponse(docs, media_type="text/html; charset=utf-8", headers=headers)
    if representation is Representation.TURTLE:
        return FileResponse(source, media_type="text/turtle; charset=utf-8", headers=headers)
    graph = await run_in_threadpool(_ontology_graph, source)
    data = graph.serialize(format=representation.rdflib_format, encoding="utf-8")
    return Response(data, media_type=representation.media_type, headers=headers)


SHAPES_OFFERS = (Representation.HTML, Representation.TURTLE)


def _shapes_turtle(shapes_dir: Path) -> bytes:
    graph = Graph()
    for path in sorted(shapes_dir.glob("*.ttl")):
        try:
            graph.parse(path, format="turtle")
        except (ParserError, SyntaxError, ValueError) as exc:
            raise ParseError(f"{path}: {exc}") from exc
    return graph.serialize(format="turtle", encoding="utf-8")


@router.get("/shapes", summary="The submission shapes, for stewards", response_class=Response)
async def shapes(request: Request, settings: SettingsDep, format: FormatParam = None) -> Response:
    """The stewards' guide to the SHACL shapes (``docs/shapes.html``), or the shapes as Turtle."""
    representation = negotiate(SHAPES_OFFERS, accept=request.headers.get("accept"), format_name=format)
    headers = _headers("/shapes", SHAPES_OFFERS)
    if representation is Representation.HTML:
        page = settings.docs_dir / "shapes.html"
        if not page.is_file():
            raise NotFoundError(f"{page} is missing")
        return FileResponse(page, media_type="text/html; charset=utf-8", headers=headers)
    data = await run_in_threadpool(_shapes_turtle, settings.shapes_dir)
    return Response(data, media_type="text/turtle", headers=headers)
