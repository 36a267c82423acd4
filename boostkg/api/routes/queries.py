"""Named queries: every file of ``queries/`` listed at ``/queries`` and runnable at
``/queries/{name}``.

Parameters come from the query string, typed by the file's header (``# param: NAME TYPE DEFAULT
DESCRIPTION``) and bound by a ``VALUES`` block of RDF terms (:meth:`NamedQuery.bound`), never
spliced into the text: a string is matched literally whatever it contains, an IRI or number that
does not fit its type is a 400, as is a parameter the query does not declare. An empty value means
the declared default (so that HTML forms can leave a field blank).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.query import Result, ResultRow

from boostkg.api.conneg import Representation, negotiate
from boostkg.api.deps import SettingsDep, StoreDep
from boostkg.api.pages import TEMPLATES
from boostkg.errors import InputError, NotFoundError, QueryError
from boostkg.queries.catalog import NamedQuery, find_query, list_queries, parse_header, read_query_text
from boostkg.store import EmbeddedStore, RdfFormat, ResultFormat, Term, Triple
from boostkg.store.workers import QueryJob, QueryWorkers

router = APIRouter(tags=["Named queries"])

HTML_ROWS = 1000
"""Rows (or triples) an HTML page shows; the other formats carry every result."""
RESERVED = frozenset({"format"})
_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")
_FORM = re.compile(r"^\s*(SELECT|CONSTRUCT|ASK|DESCRIBE)\b", re.IGNORECASE | re.MULTILINE)

TABLE_OFFERS = (
    Representation.SPARQL_JSON,
    Representation.HTML,
    Representation.SPARQL_XML,
    Representation.CSV,
    Representation.TSV,
    Representation.JSON,
    Representation.SPARQL_QUERY,
)
GRAPH_OFFERS = (
    Representation.TURTLE,
    Representation.HTML,
    Representation.JSONLD,
    Representation.NTRIPLES,
    Representation.RDFXML,
    Representation.SPARQL_QUERY,
)
LIST_OFFERS = (Representation.JSON, Representation.HTML)
_RESULT_FORMATS = {
    Representation.SPARQL_JSON: ResultFormat.JSON,
    Representation.JSON: ResultFormat.JSON,
    Representation.SPARQL_XML: ResultFormat.XML,
    Representation.CSV: ResultFormat.CSV,
    Representation.TSV: ResultFormat.TSV,
}
_RDF_FORMATS = {
    Representation.TURTLE: RdfFormat.TURTLE,
    Representation.JSONLD: RdfFormat.JSONLD,
    Representation.NTRIPLES: RdfFormat.NTRIPLES,
    Representation.RDFXML: RdfFormat.RDFXML,
}
FormatParam = Annotated[
    str | None,
    Query(
        alias="format",
        description="html, srj (SPARQL JSON), srx, csv, tsv, json; for CONSTRUCT turtle, jsonld, nt, "
        "rdfxml; rq for the bound query text. Overrides Accept.",
    ),
]


def form_of(query: NamedQuery) -> str:
    """``SELECT``, ``CONSTRUCT``, ``ASK`` or ``DESCRIBE``: the query's form, from its text."""
    match = _FORM.search(query.text)
    return match.group(1).upper() if match else "SELECT"


def _summary(query: NamedQuery) -> dict[str, object]:
    return {
        "name": query.name,
        "title": query.title,
        "question": query.question,
        "audience": query.audience,
        "form": form_of(query),
        "url": f"/queries/{query.name}",
        "parameters": [
            {"name": p.name, "type": p.type.value, "default": p.default, "description": p.description}
            for p in query.params
        ],
    }


@router.get(
    "/queries",
    summary="List the named queries",
    response_class=Response,
    responses={200: {"content": {"application/json": {}, "text/html": {}}}},
)
async def named_queries(request: Request, settings: SettingsDep, format: FormatParam = None) -> Response:
    """Every query of ``queries/``: name, title, the question it answers, its audience, its form and
    its typed parameters with their defaults. JSON, or HTML for browsers."""
    representation = negotiate(LIST_OFFERS, accept=request.headers.get("accept"), format_name=format)
    queries = await run_in_threadpool(list_queries, settings.queries_dir)
    if representation is Representation.HTML:
        html = TEMPLATES.get_template("named-queries.html.j2").render(queries=[_summary(q) for q in queries])
        return HTMLResponse(html, headers={"Vary": "Accept"})
    return JSONResponse({"queries": [_summary(q) for q in queries]}, headers={"Vary": "Accept"})


def _load(queries_dir: Path, name: str) -> NamedQuery:
    if not _NAME.fullmatch(name):
        raise NotFoundError(f"no named query {name!r}")
    try:
        path = find_query(queries_dir, name)
    except InputError:
        raise NotFoundError(f"no named query {name!r}; see /queries") from None
    return parse_header(path, read_query_text(path))


def _given(request: Request) -> dict[str, str]:
    given: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        if key in RESERVED:
            continue
        if key in given:
            raise InputError(f"parameter {key} is given more than once")
        if value != "":
            given[key] = value
    return given


@dataclass(frozen=True)
class HtmlResults:
    """What the HTML page of a run shows."""

    variables: tuple[str, ...] = ()
    rows: tuple[dict[str, Term], ...] = ()
    triples: tuple[Triple, ...] = ()
    boolean: bool | None = None
    total: int = 0


def _run_to_bytes(
    store: EmbeddedStore, text: str, result_format: ResultFormat, rdf_format: RdfFormat
) -> bytes:
    buffer = io.BytesIO()
    store.query_to(text, buffer, result_format=result_format, rdf_format=rdf_format)
    return buffer.getvalue()


async def _execute(
    request: Request,
    store: EmbeddedStore,
    timeout_s: float,
    text: str,
    result_format: ResultFormat,
    rdf_format: RdfFormat,
) -> bytes:
    """The serialised results: from the endpoint's query workers (killed at the timeout) when the
    app has them, else from the store in a thread."""
    workers = getattr(request.app.state, "query_workers", None)
    if isinstance(workers, QueryWorkers):
        answer = await workers.run(QueryJob(text, results=result_format, rdf=rdf_format), timeout_s=timeout_s)
        return b"".join([chunk async for chunk in answer.chunks])
    return await run_in_threadpool(_run_to_bytes, store, text, result_format, rdf_format)


def _html_results(form: str, data: bytes) -> HtmlResults:
    """Parse SPARQL JSON results (or N-Triples, for graph queries) for the HTML table.

    Raises:
        QueryError: the results cannot be read back.
    """
    try:
        if form in ("CONSTRUCT", "DESCRIBE"):
            graph = Graph().parse(data=data, format="nt")
            triples = sorted(graph, key=lambda t: (str(t[0]), str(t[1]), str(t[2])))
            return HtmlResults(triples=tuple(triples[:HTML_ROWS]), total=len(triples))
        result = Result.parse(io.BytesIO(data), format="json")
    except (SyntaxError, ValueError, KeyError) as exc:
        raise QueryError(f"could not read the query's results back: {exc}") from exc
    if result.type == "ASK":
        return HtmlResults(boolean=bool(result.askAnswer), total=1)
    variables = tuple(str(v) for v in result.vars or ())
    rows = [
        {str(k): v for k, v in row.asdict().items() if isinstance(v, (URIRef, BNode, Literal))}
        for row in result
        if isinstance(row, ResultRow)
    ]
    return HtmlResults(variables=variables, rows=tuple(rows[:HTML_ROWS]), total=len(rows))


@router.get(
    "/queries/{name}",
    summary="Run a named query",
    response_class=Response,
    responses={
        200: {
            "description": "The results, in the format Accept or format= asks for.",
            "content": {r.media_type: {} for r in (*TABLE_OFFERS, *GRAPH_OFFERS)},
        },
        400: {"description": "An undeclared parameter, or a value that does not fit its type."},
        404: {"description": "No such named query."},
    },
)
async def run_named_query(
    request: Request, name: str, store: StoreDep, settings: SettingsDep, format: FormatParam = None
) -> Response:
    """Run ``queries/{name}.rq`` with its parameters taken from the query string (``?edition=2023``),
    each typed and bound safely; undeclared ones give 400. SELECT/ASK results as SPARQL JSON, XML,
    CSV or TSV; CONSTRUCT as Turtle, JSON-LD, N-Triples or RDF/XML; HTML for browsers (a form with
    the parameters and a results table)."""
    query = await run_in_threadpool(_load, settings.queries_dir, name)
    form = form_of(query)
    offers = TABLE_OFFERS if form in ("SELECT", "ASK") else GRAPH_OFFERS
    representation = negotiate(offers, accept=request.headers.get("accept"), format_name=format)
    given = _given(request)
    text = query.bound(given)
    headers = {"Vary": "Accept"}
    if representation is Representation.SPARQL_QUERY:
        return Response(text, media_type="application/sparql-query; charset=utf-8", headers=headers)
    if representation is Representation.HTML:
        data = await _execute(
            request, store, settings.query_timeout_s, text, ResultFormat.JSON, RdfFormat.NTRIPLES
        )
        results = await run_in_threadpool(_html_results, form, data)
        html = TEMPLATES.get_template("named-query.html.j2").render(
            q=_summary(query), form=form, given=given, text=text, results=results, limit=HTML_ROWS
        )
        return HTMLResponse(html, headers=headers)
    result_format = _RESULT_FORMATS.get(representation, ResultFormat.JSON)
    rdf_format = _RDF_FORMATS.get(representation, RdfFormat.TURTLE)
    data = await _execute(request, store, settings.query_timeout_s, text, result_format, rdf_format)
    return Response(data, media_type=representation.media_type, headers=headers)
