"""Listing a remote store's named graphs without reading every quad.

Oxigraph lists graphs with ``GRAPH ?g { }``. Virtuoso cannot (one row, ``?g`` unbound) and its
``SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }`` reads every quad (20 s at 890,000 quads,
``SR171: Transaction timed out`` beyond), so the store asks for every graph with its count in one
grouped query, which Virtuoso answers from an index; if that fails, it asks about the graphs boostkg
knows of (graph/meta's records, the project's fixed graphs, the graphs it wrote itself). The
failure is forced here with a query the server refuses; Oxigraph is also made to take both ways.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from rdflib import URIRef

from boostkg.namespaces import META_GRAPH, graph_iri
from boostkg.store import RdfFormat
from boostkg.store import remote as remote_module
from boostkg.store.remote import RemoteStore
from tests.store.servers import Server

A = URIRef("https://w3id.org/boostkg/graph/listing-a")
B = URIRef("https://w3id.org/boostkg/graph/submission/listing-b")
RECORDED = URIRef("https://w3id.org/boostkg/graph/listing-recorded")
UNRECORDED = URIRef("https://w3id.org/boostkg/graph/listing-unrecorded")
LATER = URIRef("https://w3id.org/boostkg/graph/listing-later")
RECORD = f"""<{RECORDED}> <http://www.w3.org/ns/prov#wasGeneratedBy> <urn:x:load> .
<urn:x:load> <http://www.w3.org/ns/prov#generated> <{RECORDED}> .
"""


def _triples(n: int, tag: str) -> bytes:
    return b"".join(b'<urn:s:%s:%d> <urn:p> "%d" .\n' % (tag.encode(), i, i) for i in range(n))


@pytest.fixture(params=["oxigraph", "virtuoso"])
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    """A server holding A (3 triples), B (5), a recorded graph (4) with its record in graph/meta, and
    a graph written without any record (2), each written by a store object of its own."""
    server: Server = request.getfixturevalue(request.param)
    server.wipe()
    for graph, n in ((A, 3), (B, 5), (RECORDED, 4), (UNRECORDED, 2)):
        with server.open() as writer:
            writer.replace_graph(graph, _triples(n, str(graph)[-1]), RdfFormat.NTRIPLES)
    with server.open() as writer:
        writer.load_into(META_GRAPH, RECORD.encode(), RdfFormat.NTRIPLES, replace=True)
    yield server
    server.wipe()


def _as_scan_server(store: RemoteStore) -> RemoteStore:
    """Make the store list as on a server without a cheap listing (what it learns on Virtuoso)."""
    store._graphs_by_scan = True
    return store


def test_counted_listing_names_every_graph_with_its_size(server: Server) -> None:
    with _as_scan_server(server.open()) as store:
        assert store.graph_names() == {A, B, RECORDED, UNRECORDED, META_GRAPH}
        assert store.listing == "counted"
        assert {g.graph: g.triples for g in store.graphs()} == {
            A: 3,
            B: 5,
            RECORDED: 4,
            UNRECORDED: 2,
            META_GRAPH: 2,
        }
        assert store.triple_count() == 16


def test_a_failing_listing_falls_back_to_the_graphs_boostkg_knows_of(
    server: Server, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(remote_module, "_GRAPHS_COUNTED", "SELECT ?g WHERE { GRAPH ?g {")
    with _as_scan_server(server.open()) as store, caplog.at_level(logging.WARNING, "boostkg.store.remote"):
        names = store.graph_names()
        assert store.listing == "known"
        assert "asking about the graphs boostkg knows of" in caplog.text
        # A and B exist but no record names them and this object did not write them: only the
        # project's fixed graphs and graph/meta's records are known ...
        assert names == {RECORDED, META_GRAPH}
        # ... and the graphs this object writes.
        store.replace_graph(A, _triples(7, "a"), RdfFormat.NTRIPLES)
        store.replace_graph(LATER, _triples(1, "l"), RdfFormat.NTRIPLES)
        assert store.graph_names() == {A, LATER, RECORDED, META_GRAPH}
        assert {g.graph: g.triples for g in store.graphs()} == {A: 7, LATER: 1, RECORDED: 4, META_GRAPH: 2}
        store.drop_graph(LATER)
        assert store.graph_names() == {A, RECORDED, META_GRAPH}
    monkeypatch.undo()
    with _as_scan_server(server.open()) as fresh:  # a new object tries the grouped listing again
        assert fresh.listing == "counted"
        assert fresh.graph_names() == {A, B, RECORDED, UNRECORDED, META_GRAPH}


def test_virtuoso_learns_that_it_needs_the_counted_listing(virtuoso: Server) -> None:
    virtuoso.wipe()
    with virtuoso.open() as store:
        store.replace_graph(A, _triples(3, "a"), RdfFormat.NTRIPLES)
        assert store.graph_names() == {A}
        assert store._graphs_by_scan is True
        assert store.listing == "counted"
        assert [(g.graph, g.triples) for g in store.graphs()] == [(A, 3)]
    virtuoso.wipe()


def test_the_fallback_asks_about_every_fixed_graph_of_the_project() -> None:
    fixed = remote_module._PROJECT_GRAPHS
    names = [
        "meta", "ontology", "themes", "vocab", "nuts-2024", "eis", "seed", "cordis-h2020",
        "cordis-organisations", "inferred",
    ]  # fmt: skip
    assert fixed == tuple(str(graph_iri(name)) for name in names)
    assert fixed[0] == str(META_GRAPH)
