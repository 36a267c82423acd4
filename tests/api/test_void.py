"""The VoID description through the real server: statistics for the union and per named graph that
agree with what SPARQL counts, every RDF format and HTML, cached until graph/meta records a change."""

from __future__ import annotations

import re

import httpx
import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, VOID, XSD

from boostkg.auth import TokenStore, token_store_path
from boostkg.config import PROJECT_ROOT
from boostkg.namespaces import BASE, ICF, SD
from tests.api.conftest import Served

pytestmark = pytest.mark.subprocess

DATASET = URIRef(BASE + "void#dataset")
SEED = URIRef(BASE + "graph/seed")


def _void(served: Served, path: str = "/void", accept: str = "text/turtle") -> tuple[Graph, httpx.Response]:
    response = httpx.get(served.url + path, headers={"Accept": accept}, timeout=120)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(accept)
    fmt = {"text/turtle": "turtle", "application/ld+json": "json-ld", "application/n-triples": "nt"}
    return Graph().parse(data=response.text, format=fmt.get(accept, "xml")), response


def _count(served: Served, query: str) -> int:
    response = httpx.get(
        served.sparql,
        params={"query": query},
        headers={"Accept": "application/sparql-results+json"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return int(response.json()["results"]["bindings"][0]["n"]["value"])


def _int(graph: Graph, node: URIRef, prop: URIRef) -> int:
    value = graph.value(node, prop)
    assert isinstance(value, Literal), (node, prop)
    assert value.datatype == XSD.integer
    return int(value)


def _partition(
    graph: Graph, node: URIRef, link: URIRef, kind: URIRef, member: URIRef, measure: URIRef
) -> int:
    for part in graph.objects(node, link):
        if (part, kind, member) in graph:
            return _int(graph, part, measure)  # type: ignore[arg-type]
    raise AssertionError(f"no partition for {member} under {node}")


def test_dataset_statistics_agree_with_sparql(served: Served) -> None:
    void, _ = _void(served)
    assert (DATASET, RDF.type, VOID.Dataset) in void
    assert void.value(DATASET, VOID.sparqlEndpoint) == URIRef(served.sparql)
    assert void.value(DATASET, VOID.uriSpace) == Literal(BASE)
    distinct = "SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } } }"
    assert _int(void, DATASET, VOID.triples) == _count(served, distinct)
    assert _int(void, DATASET, VOID.distinctSubjects) == _count(
        served, "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
    )
    assert _int(void, DATASET, VOID.entities) == _count(
        served, "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } FILTER isIRI(?s) }"
    )
    assert _int(void, DATASET, VOID.classes) == _count(
        served, "SELECT (COUNT(DISTINCT ?c) AS ?n) WHERE { ?s a ?c }"
    )
    actors = _count(served, f"SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ ?s a <{ICF.Actor}> }}")
    assert actors >= 5
    assert _partition(void, DATASET, VOID.classPartition, VOID["class"], ICF.Actor, VOID.entities) == actors
    labels = _count(
        served, f"SELECT (COUNT(*) AS ?n) WHERE {{ SELECT DISTINCT ?s ?o WHERE {{ ?s <{RDFS.label}> ?o }} }}"
    )
    assert (
        _partition(void, DATASET, VOID.propertyPartition, VOID.property, RDFS.label, VOID.triples) == labels
    )
    assert URIRef(str(ICF)) in set(void.objects(DATASET, VOID.vocabulary))
    assert (DATASET, VOID.exampleResource, URIRef(BASE + "id/organisation/tit")) in void


def test_each_named_graph_is_a_subset_with_its_own_statistics(served: Served) -> None:
    void, _ = _void(served)
    subsets = set(void.objects(DATASET, VOID.subset))
    assert {URIRef(g) for g in served.loaded_graphs} <= subsets
    total = 0
    for subset in subsets:
        assert isinstance(subset, URIRef)
        assert (subset, RDF.type, SD.NamedGraph) in void
        triples = _int(void, subset, VOID.triples)
        assert triples == _count(
            served, f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{subset}> {{ ?s ?p ?o }} }}"
        )
        total += triples
    assert total == served.quads
    clusters = _count(
        served, f"SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ GRAPH <{SEED}> {{ ?s a <{ICF.Cluster}> }} }}"
    )
    assert clusters >= 1
    assert _partition(void, SEED, VOID.classPartition, VOID["class"], ICF.Cluster, VOID.entities) == clusters
    assert _int(void, SEED, VOID.properties) == _count(
        served, f"SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE {{ GRAPH <{SEED}> {{ ?s ?p ?o }} }}"
    )


def test_every_format_and_the_well_known_location(served: Served) -> None:
    turtle, _ = _void(served)
    for accept in ("application/ld+json", "application/n-triples", "application/rdf+xml"):
        graph, _ = _void(served, accept=accept)
        assert len(graph) == len(turtle), accept
    well_known, _ = _void(served, "/.well-known/void")
    assert len(well_known) == len(turtle)
    assert _int(well_known, DATASET, VOID.triples) == _int(turtle, DATASET, VOID.triples)
    page = httpx.get(served.url + "/void", headers={"Accept": "text/html"}, timeout=60)
    assert page.headers["content-type"].startswith("text/html")
    for name in served.loaded_graphs:
        assert f'<a href="/{name[len(BASE) :]}">graph:{name[len(BASE) + 6 :]}</a>' in page.text
    assert (
        httpx.get(served.url + "/void?format=jsonld", timeout=60)
        .headers["content-type"]
        .startswith("application/ld+json")
    )
    assert httpx.get(served.url + "/void", headers={"Accept": "image/png"}, timeout=60).status_code == 406


def test_statistics_are_cached_until_a_submission_changes_the_store(served: Served) -> None:
    void, first = _void(served)
    _, second = _void(served, accept="application/n-triples")
    taken = first.headers["x-statistics-taken-at"]
    assert second.headers["x-statistics-taken-at"] == taken
    token, _ = TokenStore(token_store_path(served.store)).create(
        steward="Void Steward", organisation=BASE + "id/organisation/nwrda", region="RO11"
    )
    example = PROJECT_ROOT / "data" / "examples" / "ro11-ecosystem.ttl"
    posted = httpx.post(
        served.url + "/submissions",
        content=example.read_bytes(),
        headers={"Content-Type": "text/turtle", "Authorization": f"Bearer {token}"},
        timeout=120,
    )
    assert posted.status_code == 201, posted.text
    after, third = _void(served)
    assert third.headers["x-statistics-taken-at"] != taken
    submission = URIRef(posted.json()["graph"])
    assert submission not in set(void.objects(DATASET, VOID.subset))
    assert submission in set(after.objects(DATASET, VOID.subset))
    assert _int(after, submission, VOID.triples) == posted.json()["triples"]
    assert re.fullmatch(r"\d+\.\d{3}", third.headers["x-statistics-seconds"])
