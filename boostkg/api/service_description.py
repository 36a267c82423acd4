"""The SPARQL 1.1 Service Description served at the endpoint URL (``GET /sparql`` without a query).

It says what the endpoint speaks (SPARQL 1.1 Query and Update, result and input formats, the union
default graph, federation only when allowed) and its default dataset: the named graphs with their
triple counts (computed once per store generation).
"""

from __future__ import annotations

from typing import cast

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, VOID, XSD

import boostkg
from boostkg.api.deps import get_app_settings, get_store
from boostkg.api.negotiation import choose
from boostkg.errors import NotAcceptableError
from boostkg.namespaces import SD, bind_prefixes
from boostkg.store import GraphStats

FORMATS = "http://www.w3.org/ns/formats/"
_RESULT_FORMATS = ("SPARQL_Results_JSON", "SPARQL_Results_XML", "SPARQL_Results_CSV", "SPARQL_Results_TSV")
_RDF_FORMATS = ("Turtle", "N-Triples", "RDF_XML", "JSON-LD", "TriG", "N-Quads")
_OFFERS = {
    "text/turtle": "turtle",
    "application/rdf+xml": "xml",
    "application/n-triples": "nt",
    "application/ld+json": "json-ld",
    "application/xml": "xml",
    "text/plain": "nt",
    "text/html": "turtle",  # a browser gets the Turtle, readable as text
}


def build(endpoint: str, graphs: list[GraphStats], *, federation: bool) -> Graph:
    """The description of the endpoint at ``endpoint`` over ``graphs``."""
    g = Graph()
    bind_prefixes(g, ("sd", "void", "dcterms"))
    service = URIRef(endpoint + "#service")
    g.add((service, RDF.type, SD.Service))
    g.add((service, SD.endpoint, URIRef(endpoint)))
    g.add((service, DCTERMS.title, Literal("BOOST knowledge graph (boostkg)", lang="en")))
    g.add((service, DCTERMS.hasVersion, Literal(boostkg.__version__)))
    g.add((service, SD.supportedLanguage, SD.SPARQL11Query))
    g.add((service, SD.supportedLanguage, SD.SPARQL11Update))
    g.add((service, SD.feature, SD.UnionDefaultGraph))
    g.add((service, SD.feature, SD.EmptyGraphs))
    if federation:
        g.add((service, SD.feature, SD.BasicFederatedQuery))
    g.add((service, SD.defaultEntailmentRegime, URIRef("http://www.w3.org/ns/entailment/Simple")))
    for name in (*_RESULT_FORMATS, *_RDF_FORMATS):
        g.add((service, SD.resultFormat, URIRef(FORMATS + name)))
    for name in ("Turtle", "N-Triples", "RDF_XML", "JSON-LD"):
        g.add((service, SD.inputFormat, URIRef(FORMATS + name)))
    dataset = BNode("dataset")
    g.add((service, SD.defaultDataset, dataset))
    g.add((dataset, RDF.type, SD.Dataset))
    default = BNode("default")
    g.add((dataset, SD.defaultGraph, default))
    g.add((default, RDF.type, SD.Graph))
    g.add((default, VOID.triples, Literal(sum(s.triples for s in graphs), datatype=XSD.integer)))
    for index, stats in enumerate(graphs):
        named, graph = BNode(f"named{index}"), BNode(f"graph{index}")
        g.add((dataset, SD.namedGraph, named))
        g.add((named, RDF.type, SD.NamedGraph))
        g.add((named, SD.name, stats.graph))
        g.add((named, SD.graph, graph))
        g.add((graph, RDF.type, SD.Graph))
        g.add((graph, VOID.triples, Literal(stats.triples, datatype=XSD.integer)))
    return g


async def describe(request: Request, endpoint: str) -> Response:
    """The description in the format the client accepts (Turtle by default).

    Raises:
        NotAcceptableError: the client accepts none of Turtle, RDF/XML, N-Triples, JSON-LD.
    """
    accept = request.headers.get("accept", "")
    media = choose(accept, list(_OFFERS))
    if media is None:
        raise NotAcceptableError(f"the service description is available as {', '.join(list(_OFFERS)[:4])}")
    store = get_store(request)
    state = request.app.state
    cached = cast(tuple[int, list[GraphStats]] | None, getattr(state, "service_graphs", None))
    if cached is None or cached[0] != store.generation:
        cached = (store.generation, await run_in_threadpool(store.graphs))
        state.service_graphs = cached
    federation = bool(get_app_settings(request).service_allow)
    graph = build(endpoint, cached[1], federation=federation)
    served = "text/turtle" if media in ("text/html", "text/plain") and _OFFERS[media] == "turtle" else media
    if media == "text/plain":
        served = "application/n-triples"
    if media == "application/xml":
        served = "application/rdf+xml"
    data = graph.serialize(format=_OFFERS[media], encoding="utf-8")
    return Response(data, media_type=served)
