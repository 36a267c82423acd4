"""Every KnowledgeStore method behaves the same on the embedded store and on remote SPARQL servers."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import BNode, Literal, URIRef
from rdflib.namespace import XSD

from boostkg.errors import ParseError, QueryError, StoreError, StoreUnavailableError
from boostkg.store import EmbeddedStore, KnowledgeStore, RdfFormat, ResultFormat
from boostkg.store.remote import JOURNAL, RemoteStore
from tests.store.servers import Server, free_port

EX = "https://example.org/"
G1 = URIRef("https://w3id.org/boostkg/graph/contract-one")
G2 = URIRef("https://w3id.org/boostkg/graph/contract-two")
G3 = URIRef("https://w3id.org/boostkg/graph/contract-three")
TTL = b"""@prefix ex: <https://example.org/> .
ex:a ex:p ex:b ; ex:label "A"@en ; ex:size 3 .
ex:b ex:p ex:c .
"""
BACKENDS = ["embedded", "oxigraph", "virtuoso"]


@pytest.fixture(params=BACKENDS)
def kg(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KnowledgeStore]:
    """An empty store of each backend."""
    if request.param == "embedded":
        embedded = EmbeddedStore(tmp_path / "store")
        yield embedded
        embedded.close()
        return
    server: Server = request.getfixturevalue(request.param)
    server.wipe()
    remote = server.open()
    yield remote
    remote.close()


def dataset(kg: KnowledgeStore) -> list[bytes]:
    """The whole dataset as sorted N-Quads lines, for before/after comparisons."""
    out = io.BytesIO()
    kg.dump(out, RdfFormat.NQUADS)
    return sorted(line for line in out.getvalue().splitlines() if line.strip())


def test_replace_graph_loads_a_named_graph_and_counts_it(kg: KnowledgeStore) -> None:
    assert kg.replace_graph(G1, TTL, RdfFormat.TURTLE) == 4
    assert kg.replace_graph(G2, b"<https://example.org/x> <https://example.org/p> 1 .", RdfFormat.TURTLE) == 1
    assert [(str(g.graph), g.triples) for g in kg.graphs()] == [(str(G1), 4), (str(G2), 1)]
    assert kg.triple_count(G1) == 4
    assert kg.triple_count() == 5
    assert kg.triple_count(G3) == 0


def test_replace_graph_replaces_only_that_graph(kg: KnowledgeStore, tmp_path: Path) -> None:
    kg.replace_graph(G1, TTL, RdfFormat.TURTLE)
    kg.replace_graph(G2, TTL, RdfFormat.TURTLE)
    source = tmp_path / "z.ttl"
    source.write_bytes(b"<https://example.org/z> <https://example.org/p> 2 .\n")
    assert kg.replace_graph(G1, source, RdfFormat.TURTLE) == 1
    assert kg.triple_count(G1) == 1
    assert kg.triple_count(G2) == 4


def test_malformed_source_names_line_and_column_and_changes_nothing(kg: KnowledgeStore) -> None:
    kg.replace_graph(G1, TTL, RdfFormat.TURTLE)
    before = dataset(kg)
    with pytest.raises(ParseError) as caught:
        kg.replace_graph(G1, b"<https://example.org/a> <https://example.org/p> .\n", RdfFormat.TURTLE)
    assert caught.value.location is not None
    assert caught.value.location.line == 1
    assert dataset(kg) == before


def test_select_returns_rdflib_terms_over_the_union_of_graphs(kg: KnowledgeStore) -> None:
    kg.replace_graph(G1, TTL, RdfFormat.TURTLE)
    kg.replace_graph(
        G2, b"<https://example.org/c> <https://example.org/p> <https://example.org/d> .", RdfFormat.NTRIPLES
    )
    rows = kg.select(f"SELECT ?label ?size WHERE {{ <{EX}a> <{EX}label> ?label ; <{EX}size> ?size }}")
    assert rows.variables == ("label", "size")
    assert rows.column("label") == [Literal("A", lang="en")]
    assert rows.column("size") == [Literal("3", datatype=XSD.integer)]
    chain = kg.select(f"SELECT ?d WHERE {{ <{EX}b> <{EX}p> ?c . ?c <{EX}p> ?d }}")
    assert chain.column("d") == [URIRef(f"{EX}d")]  # the path crosses the two graphs


def test_select_leaves_unbound_variables_out(kg: KnowledgeStore) -> None:
    kg.replace_graph(G1, TTL, RdfFormat.TURTLE)
    rows = kg.select(
        f"SELECT ?s ?label WHERE {{ ?s <{EX}p> ?o OPTIONAL {{ ?s <{EX}label> ?label }} }} ORDER BY ?s"
    )
    assert [sorted(row) for row in rows] == [["label", "s"], ["s"]]


def test_ask_answers_true_and_false(kg: KnowledgeStore) -> None:
    kg.replace_graph(G1, TTL, RdfFormat.TURTLE)
    assert kg.ask(f"ASK {{ <{EX}a> <{EX}p> <{EX}b> }}") is True
    assert kg.ask(f"ASK {{ <{EX}b> <{EX}p> <{EX}a> }}") is False


def test_construct_returns_triples(kg: KnowledgeStore) -> None:
    kg.replace_graph(G1, TTL, RdfFormat.TURTLE)
    triples = kg.construct(f"CONSTRUCT {{ ?o <{EX}inverse> ?s }} WHERE {{ ?s <{EX}p> ?o }}")
    assert sorted(triples) == sorted(
        [
            (URIRef(f"{EX}b"), URIRef(f"{EX}inverse"), URIRef(f"{EX}a")),
            (URIRef(f"{EX}c"), URIRef(f"{EX}inverse"), URIRef(f"{EX}b")),
        ]
    )


def test_malformed_query_is_a_query_error(kg: KnowledgeStore) -> None:
    with pytest.raises(QueryError):
        kg.select("SELECT ?s WHERE { ?s ?p }")
    with pytest.raises(QueryError):
        kg.update("INSERT DATA { GRAPH <https://example.org/g> { <https://example.org/a> } }")


def test_update_writes_and_deletes_in_named_graphs(kg: KnowledgeStore) -> None:
    kg.update(f"INSERT DATA {{ GRAPH <{G1}> {{ <{EX}a> <{EX}p> <{EX}b>, <{EX}c> }} }}")
    assert kg.triple_count(G1) == 2
    kg.update(f"DELETE WHERE {{ GRAPH <{G1}> {{ <{EX}a> <{EX}p> <{EX}c> }} }}")
    assert kg.select(f"SELECT ?o WHERE {{ <{EX}a> <{EX}p> ?o }}").column("o") == [URIRef(f"{EX}b")]


def test_add_triples_keeps_every_kind_of_term(kg: KnowledgeStore) -> None:
    terms = [
        (URIRef(f"{EX}a"), URIRef(f"{EX}name"), Literal("Syddanmark", lang="da")),
        (URIRef(f"{EX}a"), URIRef(f"{EX}since"), Literal("2024-01-31", datatype=XSD.date)),
        (URIRef(f"{EX}a"), URIRef(f"{EX}code"), Literal("DK03")),
        (URIRef(f"{EX}a"), URIRef(f"{EX}amount"), Literal("12.5", datatype=XSD.decimal)),
    ]
    kg.add_triples(G1, terms)
    kg.add_triples(G1, [(URIRef(f"{EX}b"), URIRef(f"{EX}code"), Literal('quote " and \n newline'))])
    assert kg.triple_count(G1) == 5
    rows = kg.select(f"SELECT ?p ?o WHERE {{ <{EX}a> ?p ?o }}")
    assert sorted((row["p"], row["o"]) for row in rows) == sorted((p, o) for _, p, o in terms)
    assert kg.select(f"SELECT ?o WHERE {{ <{EX}b> ?p ?o }}").column("o") == [
        Literal('quote " and \n newline')
    ]


def test_blank_nodes_keep_their_identity_within_one_write(kg: KnowledgeStore) -> None:
    node = BNode()
    kg.add_triples(
        G1, [(URIRef(f"{EX}a"), URIRef(f"{EX}has"), node), (node, URIRef(f"{EX}label"), Literal("x"))]
    )
    rows = kg.select(f"SELECT ?label WHERE {{ <{EX}a> <{EX}has> ?n . ?n <{EX}label> ?label }}")
    assert rows.column("label") == [Literal("x")]
    assert isinstance(kg.select(f"SELECT ?n WHERE {{ <{EX}a> <{EX}has> ?n }}")[0]["n"], BNode)


def test_drop_graph_removes_it_and_tolerates_absent_graphs(kg: KnowledgeStore) -> None:
    kg.replace_graph(G1, TTL, RdfFormat.TURTLE)
    kg.replace_graph(G2, TTL, RdfFormat.TURTLE)
    kg.drop_graph(G1)
    kg.drop_graph(G3)
    assert [g.graph for g in kg.graphs()] == [G2]


def test_replace_graph_by_queries_derives_from_the_other_graphs_only(kg: KnowledgeStore) -> None:
    kg.replace_graph(G1, TTL, RdfFormat.TURTLE)
    kg.add_triples(G2, [(URIRef(f"{EX}stale"), URIRef(f"{EX}p"), URIRef(f"{EX}stale"))])
    rule = f"CONSTRUCT {{ ?s <{EX}q> ?o }} WHERE {{ ?s <{EX}p> ?o }}"
    counts = kg.replace_graph_by_queries(
        G2, [rule, f"CONSTRUCT {{ ?s a <{EX}Labelled> }} WHERE {{ ?s <{EX}label> ?l }}"]
    )
    assert counts == [2, 1]
    assert kg.triple_count(G2) == 3
    assert not kg.ask(f"ASK {{ <{EX}stale> ?p ?o }}")  # its old content fed nothing
    assert kg.replace_graph_by_queries(G2, [rule]) == [2]  # a second pass: the same, not more


def test_dump_writes_one_graph_the_dataset_and_the_union(kg: KnowledgeStore) -> None:
    kg.replace_graph(G1, TTL, RdfFormat.TURTLE)
    kg.replace_graph(
        G2, b"<https://example.org/a> <https://example.org/p> <https://example.org/b> .", RdfFormat.NTRIPLES
    )
    one = io.BytesIO()
    kg.dump(one, RdfFormat.NTRIPLES, graph=G2)
    assert one.getvalue().strip() == f"<{EX}a> <{EX}p> <{EX}b> .".encode()
    quads = {
        (str(q.graph_name.value)) for q in ox.parse(b"\n".join(dataset(kg)), format=ox.RdfFormat.N_QUADS)
    }
    assert quads == {str(G1), str(G2)}
    assert len(dataset(kg)) == 5
    union = io.BytesIO()
    kg.dump(union, RdfFormat.TURTLE)
    assert (
        len(list(ox.parse(union.getvalue(), format=ox.RdfFormat.TURTLE))) == 4
    )  # a triple in both graphs, once
    trig = io.BytesIO()
    kg.dump(trig, RdfFormat.TRIG)
    assert len(list(ox.parse(trig.getvalue(), format=ox.RdfFormat.TRIG))) == 5


def test_query_to_writes_results_and_graphs_in_the_formats_asked(kg: KnowledgeStore) -> None:
    kg.replace_graph(G1, TTL, RdfFormat.TURTLE)
    out = io.BytesIO()
    written = kg.query_to(
        f"SELECT ?o WHERE {{ <{EX}a> <{EX}p> ?o }}",
        out,
        result_format=ResultFormat.JSON,
        rdf_format=RdfFormat.NTRIPLES,
    )
    assert written is ResultFormat.JSON
    assert f"{EX}b" in out.getvalue().decode()
    out = io.BytesIO()
    written = kg.query_to(
        f"CONSTRUCT WHERE {{ <{EX}a> <{EX}p> ?o }}",
        out,
        result_format=ResultFormat.JSON,
        rdf_format=RdfFormat.NTRIPLES,
    )
    assert written is RdfFormat.NTRIPLES
    assert [str(t) for t in ox.parse(out.getvalue(), format=ox.RdfFormat.N_TRIPLES)] == [
        f"<{EX}a> <{EX}p> <{EX}b>"
    ]  # Virtuoso separates the terms with tabs


def test_query_small_answers_small_results_and_declines_the_rest(kg: KnowledgeStore) -> None:
    kg.replace_graph(G1, TTL, RdfFormat.TURTLE)
    query = f"SELECT ?o WHERE {{ <{EX}a> <{EX}p> ?o }}"
    body = kg.query_small(query, result_format=ResultFormat.CSV, base_iri=None, max_bytes=1000)
    assert body is not None
    assert list(csv.reader(io.StringIO(body.decode()))) == [["o"], [f"{EX}b"]]  # Virtuoso quotes every field
    assert kg.query_small(query, result_format=ResultFormat.CSV, base_iri=None, max_bytes=5) is None
    assert (
        kg.query_small("SELECT nonsense", result_format=ResultFormat.CSV, base_iri=None, max_bytes=1000)
        is None
    )


def test_atomic_keeps_every_write_when_the_block_ends(kg: KnowledgeStore) -> None:
    kg.replace_graph(G1, TTL, RdfFormat.TURTLE)
    with kg.atomic():
        kg.replace_graph(G2, TTL, RdfFormat.TURTLE)
        kg.update(f"INSERT DATA {{ GRAPH <{G3}> {{ <{EX}x> <{EX}p> <{EX}y> }} }}")
        kg.drop_graph(G1)
    assert [(g.graph, g.triples) for g in kg.graphs()] == [(G3, 1), (G2, 4)]


def write_everything_then_fail(kg: KnowledgeStore) -> None:
    """Every kind of write inside one unit, then an exception."""
    with kg.atomic():
        kg.replace_graph(G1, b"<https://example.org/new> <https://example.org/p> 2 .", RdfFormat.TURTLE)
        kg.add_triples(G2, [(URIRef(f"{EX}y"), URIRef(f"{EX}p"), Literal(3))])
        kg.update(f"INSERT DATA {{ GRAPH <{G3}> {{ <{EX}x> <{EX}p> <{EX}y> }} }}")
        kg.update(f"DELETE WHERE {{ GRAPH ?g {{ <{EX}a> ?p ?o }} }}")
        with kg.atomic():  # nested: part of the same unit
            kg.drop_graph(G2)
        kg.replace_graph_by_queries(G3, [f"CONSTRUCT {{ ?s <{EX}q> ?o }} WHERE {{ ?s <{EX}p> ?o }}"])
        assert kg.triple_count(G1) == 1  # the unit sees its own writes
        assert kg.triple_count(G2) == 0
        raise RuntimeError("the caller failed after writing")


def test_atomic_rolls_back_every_kind_of_write_when_the_block_raises(kg: KnowledgeStore) -> None:
    kg.replace_graph(G1, TTL, RdfFormat.TURTLE)
    kg.replace_graph(G2, b"<https://example.org/x> <https://example.org/p> 1 .", RdfFormat.TURTLE)
    before = dataset(kg)
    with pytest.raises(RuntimeError, match="the caller failed"):
        write_everything_then_fail(kg)
    assert dataset(kg) == before
    assert [g.graph for g in kg.graphs()] == [G1, G2]


def test_queries_inside_a_unit_do_not_see_its_backups(kg: KnowledgeStore) -> None:
    kg.replace_graph(G1, TTL, RdfFormat.TURTLE)
    with kg.atomic():
        kg.add_triples(G1, [(URIRef(f"{EX}x"), URIRef(f"{EX}p"), URIRef(f"{EX}y"))])
        rows = kg.select("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
        assert rows.column("n") == [Literal("5", datatype=XSD.integer)]
        assert [g.graph for g in kg.graphs()] == [G1]


# --- remote only ------------------------------------------------------------------------------------


def test_an_unreachable_server_is_store_unavailable_naming_its_url() -> None:
    url = f"http://127.0.0.1:{free_port()}/query"
    with pytest.raises(StoreUnavailableError, match=url.replace("/query", "")):
        RemoteStore(url)


@pytest.mark.parametrize("backend", ["oxigraph", "virtuoso"])
def test_a_unit_that_died_with_its_process_is_rolled_back_at_the_next_open(
    backend: str, request: pytest.FixtureRequest
) -> None:
    server: Server = request.getfixturevalue(backend)
    server.wipe()
    with server.open() as first:
        first.replace_graph(G1, TTL, RdfFormat.TURTLE)
        before = dataset(first)
        unit = first.atomic()
        unit.__enter__()  # the process "dies" inside the unit: it never exits it
        first.replace_graph(G1, b"<https://example.org/new> <https://example.org/p> 2 .", RdfFormat.TURTLE)
        first.add_triples(G2, [(URIRef(f"{EX}y"), URIRef(f"{EX}p"), Literal(3))])
    with server.open() as second:
        assert second.recovered is not None
        assert "2 graph(s)" in second.recovered
        assert dataset(second) == before
        assert not second.ask(f"ASK {{ GRAPH <{JOURNAL}> {{ ?s ?p ?o }} }}")


def test_virtuoso_refuses_anonymous_updates_with_a_clear_error(virtuoso: Server) -> None:
    with (
        RemoteStore(virtuoso.query_url) as anonymous,
        pytest.raises(StoreError, match="refused an update for lack of permission") as caught,
    ):
        anonymous.update(f"INSERT DATA {{ GRAPH <{G1}> {{ <{EX}a> <{EX}p> <{EX}b> }} }}")
    assert not isinstance(caught.value, StoreUnavailableError)  # the server is up: no 503


def test_wrong_credentials_are_a_clear_error(virtuoso: Server) -> None:
    with (
        RemoteStore(
            virtuoso.query_url, update_url=virtuoso.update_url, user="dba", password="wrong"
        ) as store,
        pytest.raises(StoreError, match=r"refused the credentials for an update \(401\)"),
    ):
        store.update(f"INSERT DATA {{ GRAPH <{G1}> {{ <{EX}a> <{EX}p> <{EX}b> }} }}")


@pytest.mark.parametrize("backend", ["oxigraph", "virtuoso"])
def test_graph_store_operations_of_the_endpoint(backend: str, request: pytest.FixtureRequest) -> None:
    server: Server = request.getfixturevalue(backend)
    server.wipe()
    with server.open() as store:
        assert store.has_graph(None)
        assert not store.has_graph(G1)
        store.load_into(G1, TTL, RdfFormat.TURTLE, replace=True)
        store.load_into(
            G1, b"<https://example.org/x> <https://example.org/p> 1 .", RdfFormat.TURTLE, replace=False
        )
        assert store.has_graph(G1)
        assert store.triple_count(G1) == 5
        before = store.fingerprint(G1)
        store.load_into(G1, TTL, RdfFormat.TURTLE, replace=True)
        assert store.triple_count(G1) == 4
        assert store.fingerprint(G1) != before
        default_data = b"<https://example.org/d> <https://example.org/p> 2 ."
        if backend == "virtuoso":  # Virtuoso has no unnamed default graph to write to
            with pytest.raises(QueryError, match="plain default graph"):
                store.load_into(None, default_data, RdfFormat.TURTLE, replace=True)
            return
        store.load_into(None, default_data, RdfFormat.TURTLE, replace=True)
        assert store.ask(f"ASK {{ <{EX}d> <{EX}p> 2 }}")  # the union default graph includes it
        store.clear_default_graph()
        assert not store.ask(f"ASK {{ <{EX}d> <{EX}p> 2 }}")
        assert store.triple_count(G1) == 4


def journal_graphs(store: KnowledgeStore) -> int:
    """Graphs under the journal's prefix that hold triples (the records' graph included)."""
    rows = store.select(
        "SELECT (COUNT(DISTINCT ?g) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } "
        f'FILTER(STRSTARTS(STR(?g), "{JOURNAL}")) }}'
    )
    return int(str(rows[0]["n"]))


def journal_the_big_way(store: RemoteStore) -> None:
    """Every graph of two triples or more is 'big': backed up by a client copy, emptied and
    uploaded two triples per request (the path CORDIS takes with the default thresholds)."""
    store.big_graph_triples = store.delete_chunk = store.upload_chunk = 2


@pytest.mark.parametrize("backend", ["oxigraph", "virtuoso"])
def test_big_graphs_roll_back_every_kind_of_write(backend: str, request: pytest.FixtureRequest) -> None:
    server: Server = request.getfixturevalue(backend)
    server.wipe()
    with server.open() as store:
        store.replace_graph(G1, TTL, RdfFormat.TURTLE)
        store.replace_graph(G2, b"<https://example.org/x> <https://example.org/p> 1 .", RdfFormat.TURTLE)
        before = dataset(store)
        journal_the_big_way(store)
        with pytest.raises(RuntimeError, match="the caller failed"):
            write_everything_then_fail(store)  # G3 is created, and big once the rules fill it
        assert dataset(store) == before
        assert journal_graphs(store) == 0


@pytest.mark.parametrize("backend", ["oxigraph", "virtuoso"])
def test_big_graphs_keep_every_write_when_the_unit_ends(backend: str, request: pytest.FixtureRequest) -> None:
    server: Server = request.getfixturevalue(backend)
    server.wipe()
    with server.open() as store:
        store.replace_graph(G1, TTL, RdfFormat.TURTLE)
        store.replace_graph(G2, TTL, RdfFormat.TURTLE)
        journal_the_big_way(store)
        with store.atomic():
            assert store.replace_graph(G1, b"_:n <https://example.org/p> _:n , 7 .", RdfFormat.TURTLE) == 2
            store.add_triples(G1, [(URIRef(f"{EX}x"), URIRef(f"{EX}p"), URIRef(f"{EX}y"))])
            store.drop_graph(G2)
        assert [(g.graph, g.triples) for g in store.graphs()] == [(G1, 3)]
        assert store.ask(f"ASK {{ GRAPH <{G1}> {{ ?n <{EX}p> ?n , 7 FILTER(isBlank(?n)) }} }}")
        assert journal_graphs(store) == 0
