"""The served app, end to end: ``boostkg serve`` on a loaded store, asked over real HTTP with httpx,
SPARQLWrapper and rdflib's SPARQLStore (see conftest.py for the server)."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDFS
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from rdflib.query import ResultRow
from SPARQLWrapper import JSON, SPARQLWrapper

if TYPE_CHECKING:
    from tests.api.conftest import Served

pytestmark = pytest.mark.subprocess


@pytest.fixture(scope="module")
def served(served_for_readers: Served) -> Served:
    """This module only reads: the server it shares with the other reading modules."""
    return served_for_readers


ICF = "https://w3id.org/boostkg/icf#"
TIT = URIRef("https://w3id.org/boostkg/id/organisation/tit")
BOOST = URIRef("https://w3id.org/boostkg/id/project/boost")
COORDINATES = URIRef(ICF + "coordinates")
PROBLEM_JSON = "application/problem+json"

# the coordinator (graph/seed), its region's NUTS code (graph/nuts-2024): answered over the union
COORDINATOR_AND_REGION = f"""
PREFIX icf: <{ICF}>
PREFIX rdfs: <{RDFS}>
SELECT ?coordinator ?label ?code WHERE {{
  ?coordinator icf:coordinates <{BOOST}> ; rdfs:label ?label ; icf:inRegion ?region .
  ?region icf:nutsCode ?code .
}}"""

COORDINATOR_GRAPH = f"CONSTRUCT {{ ?c <{COORDINATES}> ?p }} WHERE {{ ?c <{COORDINATES}> ?p }}"


def _wrapper(served: Served, query: str) -> Any:
    sparql = SPARQLWrapper(served.sparql)
    sparql.setQuery(query)
    sparql.setReturnFormat(JSON)
    return sparql.query().convert()


def _assert_problem(response: httpx.Response, status: int, *fragments: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].split(";")[0] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"].startswith("https://w3id.org/boostkg/problems/")
    assert body["instance"] == "/sparql"
    for fragment in fragments:
        assert fragment in body["detail"], body
    return body


# --- landing page and health ------------------------------------------------------------------------------


def test_health_counts_the_quads(served: Served) -> None:
    response = httpx.get(served.url + "/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["quads"] == served.quads > 0


def test_home_lists_the_named_graphs(served: Served) -> None:
    response = httpx.get(served.url + "/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    graphs = [*served.loaded_graphs, "https://w3id.org/boostkg/graph/meta"]
    assert len(graphs) == 8
    for graph in graphs:
        assert f"<code>{graph}</code>" in response.text
    assert f"{served.quads:,} triples in {len(graphs)} named graphs" in response.text


# --- SPARQLWrapper ----------------------------------------------------------------------------------------


def test_select_over_the_union_with_sparqlwrapper(served: Served) -> None:
    doc = _wrapper(served, COORDINATOR_AND_REGION)
    assert doc["head"]["vars"] == ["coordinator", "label", "code"]
    rows = [
        tuple(b[v]["value"] for v in ("coordinator", "label", "code")) for b in doc["results"]["bindings"]
    ]
    assert rows == [(str(TIT), "Transilvania IT Cluster", "RO11")]


def test_ask_with_sparqlwrapper(served: Served) -> None:
    assert _wrapper(served, f"ASK {{ <{TIT}> <{COORDINATES}> <{BOOST}> }}")["boolean"] is True
    assert _wrapper(served, f"ASK {{ <{BOOST}> <{COORDINATES}> <{TIT}> }}")["boolean"] is False


# --- rdflib's SPARQLStore --------------------------------------------------------------------------------


def test_sparqlstore_select_finds_the_coordinator(served: Served) -> None:
    graph = Graph(store=SPARQLStore(served.sparql, returnFormat="json"))
    rows = [tuple(row) for row in graph.query(COORDINATOR_AND_REGION) if isinstance(row, ResultRow)]
    assert rows == [(TIT, Literal("Transilvania IT Cluster", lang="en"), Literal("RO11"))]


def test_sparqlstore_triple_pattern_finds_the_coordinator(served: Served) -> None:
    graph = Graph(store=SPARQLStore(served.sparql, returnFormat="json"))
    assert set(graph.subjects(COORDINATES, BOOST)) == {TIT}
    assert (TIT, COORDINATES, BOOST) in graph


def test_sparqlstore_graph_query_returns_the_coordinator(served: Served) -> None:
    graph = Graph(store=SPARQLStore(served.sparql, returnFormat="turtle"))
    result = graph.query(COORDINATOR_GRAPH)
    assert result.graph is not None
    assert set(result.graph) == {(TIT, COORDINATES, BOOST)}


def test_sparqlstore_with_default_settings(served: Served) -> None:
    """rdflib's default client accepts both SPARQL XML results and RDF/XML, listed in an order that
    changes from process to process (a set); SELECT and CONSTRUCT must both work in either order."""
    graph = Graph(store=SPARQLStore(served.sparql))
    rows = [tuple(row) for row in graph.query(COORDINATOR_AND_REGION) if isinstance(row, ResultRow)]
    assert rows == [(TIT, Literal("Transilvania IT Cluster", lang="en"), Literal("RO11"))]
    result = graph.query(COORDINATOR_GRAPH)
    assert result.graph is not None
    assert set(result.graph) == {(TIT, COORDINATES, BOOST)}


# --- the protocol over raw HTTP ---------------------------------------------------------------------------


def test_post_form_encoded(served: Served) -> None:
    response = httpx.post(
        served.sparql,
        data={"query": COORDINATOR_AND_REGION},
        headers={"Accept": "text/csv"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["coordinator"], r["code"]) for r in rows] == [(str(TIT), "RO11")]


def test_post_sparql_query_body(served: Served) -> None:
    response = httpx.post(
        served.sparql,
        content=COORDINATOR_AND_REGION.encode("utf-8"),
        headers={"Content-Type": "application/sparql-query", "Accept": "application/sparql-results+json"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/sparql-results+json"
    bindings = response.json()["results"]["bindings"]
    assert [b["coordinator"]["value"] for b in bindings] == [str(TIT)]


def test_construct_as_turtle_parses_with_rdflib(served: Served) -> None:
    response = httpx.get(
        served.sparql, params={"query": COORDINATOR_GRAPH}, headers={"Accept": "text/turtle"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == "text/turtle"
    graph = Graph().parse(data=response.text, format="turtle")
    assert set(graph) == {(TIT, COORDINATES, BOOST)}


@pytest.mark.parametrize(
    "accept", ["*/*", "application/sparql-results+json", "application/sparql-results+xml"]
)
def test_construct_is_served_with_an_rdf_media_type(served: Served, accept: str) -> None:
    """A graph result is never labelled as SPARQL results, whatever the client accepts."""
    response = httpx.get(served.sparql, params={"query": COORDINATOR_GRAPH}, headers={"Accept": accept})
    assert response.status_code == 200
    media = response.headers["content-type"].split(";")[0]
    assert media in {"text/turtle", "application/n-triples", "application/rdf+xml", "application/ld+json"}
    graph = Graph().parse(data=response.text, format=media)
    assert set(graph) == {(TIT, COORDINATES, BOOST)}


@pytest.mark.parametrize(
    "accept",
    [
        "application/rdf+xml, application/sparql-results+xml",
        "text/turtle, application/sparql-results+json",
        "text/turtle",
    ],
)
def test_select_is_served_as_sparql_results(served: Served, accept: str) -> None:
    """Solutions are labelled as SPARQL results even when the client lists an RDF type first; with
    only RDF types acceptable, results or 406 Not Acceptable, never results labelled as RDF."""
    response = httpx.get(served.sparql, params={"query": COORDINATOR_AND_REGION}, headers={"Accept": accept})
    if "sparql-results" not in accept and response.status_code == 406:
        return  # refusing is right too when the client accepts no results format
    assert response.status_code == 200
    media = response.headers["content-type"].split(";")[0]
    assert media in {"application/sparql-results+xml", "application/sparql-results+json"}
    if media.endswith("json"):
        assert response.json()["results"]["bindings"][0]["code"]["value"] == "RO11"
    else:
        assert "<sparql" in response.text
        assert "RO11" in response.text


def test_malformed_query_is_a_problem(served: Served) -> None:
    response = httpx.get(served.sparql, params={"query": "SELEC ?s WHERE { ?s ?p ?o }"})
    _assert_problem(response, 400, "malformed")


def test_malformed_query_posted_directly_is_a_problem(served: Served) -> None:
    response = httpx.post(
        served.sparql,
        content=b"SELECT ?s WHERE { ?s ?p",
        headers={"Content-Type": "application/sparql-query"},
    )
    _assert_problem(response, 400, "malformed")


def test_missing_query_is_a_problem(served: Served) -> None:
    """Protocol parameters without a query are a 400 (with no parameters at all, GET /sparql is the
    service description: see test_sparql_protocol.py)."""
    response = httpx.get(served.sparql, params={"default-graph-uri": str(BOOST)})
    _assert_problem(response, 400, "query")


def test_empty_posted_query_is_a_problem(served: Served) -> None:
    response = httpx.post(served.sparql, content=b"", headers={"Content-Type": "application/sparql-query"})
    _assert_problem(response, 400, "query")


def test_unsupported_content_type_is_a_problem(served: Served) -> None:
    response = httpx.post(served.sparql, content=b"ASK {}", headers={"Content-Type": "text/plain"})
    _assert_problem(response, 415, "text/plain")


def test_server_still_answers_after_errors(served: Served) -> None:
    httpx.get(served.sparql, params={"query": "SELEC"})
    response = httpx.get(served.url + "/health")
    assert response.json()["quads"] == served.quads
