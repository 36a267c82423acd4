"""A unit that only adds triples to an existing graph on a remote store is journalled by the triples
it adds, not by a copy of the graph (graph/meta gains a few PROV-O records with every submission;
copying all of it made each commit slower than the last).

Against real servers: on Oxigraph the journal records exactly the added triples, and a unit cut
off at any request, rolled back at the next open, leaves the graph exactly as before (a triple it
held already survives); a completed unit leaves it exactly as after. Blank nodes, a graph the unit
also writes otherwise, and Virtuoso (whose literal matching may disagree with its storage) keep the
copy.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import httpx
import pyoxigraph as ox
import pytest
from rdflib import BNode, Literal, URIRef
from rdflib.namespace import XSD

from boostkg.store import RdfFormat
from boostkg.store.base import Triple
from boostkg.store.remote import JOURNAL, RemoteStore
from boostkg.store.terms import to_oxigraph
from tests.store.servers import Server
from tests.store.test_remote_reimport import CrashError, _CrashErroringStore, journal_graphs

G = URIRef("https://w3id.org/boostkg/graph/journal-meta")
SUB = URIRef("https://w3id.org/boostkg/graph/journal-submission")
EX = "https://example.org/"
KEPT: Triple = (URIRef(f"{EX}steward"), URIRef(f"{EX}name"), Literal("Ana"))
"""In the graph before the unit, and added again by it: a rollback must leave it there."""
ONE: Triple = (URIRef(f"{EX}a"), URIRef(f"{EX}n"), Literal("1", datatype=XSD.integer))
CODE: Triple = (URIRef(f"{EX}a"), URIRef(f"{EX}code"), Literal("ES51", datatype=XSD.string))
"""In the graph before the unit, and added again by it: an ``xsd:string`` literal, which both
servers store as the simple literal ``"ES51"``."""


def before() -> list[Triple]:
    s = URIRef(f"{EX}load/0")
    return [
        KEPT,
        ONE,
        CODE,
        (s, URIRef(f"{EX}ended"), Literal("2024-03-01", datatype=XSD.date)),
        (s, URIRef(f"{EX}label"), Literal("Load zero", lang="en")),
    ]


def added(tag: str) -> list[Triple]:
    """The literals boostkg writes (dates, decimals, gYear, strings, langStrings, booleans, integers),
    some in a non-canonical form, plus :data:`KEPT`, :data:`CODE` and ``"01"^^xsd:integer`` (the same term as
    :data:`ONE` to a server storing literals canonically)."""
    s = URIRef(f"{EX}load/{tag}")
    return [
        KEPT,
        (ONE[0], ONE[1], Literal("01", datatype=XSD.integer)),
        (s, URIRef(f"{EX}ended"), Literal("2024-03-02", datatype=XSD.date)),
        (s, URIRef(f"{EX}when"), Literal("2024-03-02T10:00:00Z", datatype=XSD.dateTime)),
        (s, URIRef(f"{EX}amount"), Literal("2.50", datatype=XSD.decimal)),
        (s, URIRef(f"{EX}edition"), Literal("2023", datatype=XSD.gYear)),
        (s, URIRef(f"{EX}label"), Literal(f'Load "{tag}" — Cataluña\n', lang="es")),
        (s, URIRef(f"{EX}code"), Literal(f"ES51-{tag}", datatype=XSD.string)),
        (s, URIRef(f"{EX}ok"), Literal("1", datatype=XSD.boolean)),
        (s, URIRef(f"{EX}count"), Literal("+0042", datatype=XSD.integer)),
        CODE,
    ]


def submission() -> list[Triple]:
    return [(URIRef(f"{EX}x{i}"), URIRef(f"{EX}p"), Literal(i)) for i in range(20)]


def opened(
    server: Server, *, crash_on: str | None = None, after: int = 1, upload_chunk: int = 100_000
) -> RemoteStore:
    """A store on ``server`` whose writer dies before its ``after``-th request naming ``crash_on``."""
    store = _CrashErroringStore(
        server.query_url,
        update_url=server.update_url,
        gsp_url=server.gsp_url,
        user=server.user,
        password=server.password,
        upload_chunk=upload_chunk,
    )
    store.crash_on, store.after = crash_on, after
    return store


def content(store: RemoteStore, graph: URIRef = G) -> set[str]:
    """The graph's triples as the server holds them (N-Triples statements)."""
    out = io.BytesIO()
    store.dump(out, RdfFormat.NTRIPLES, graph=graph)
    return {str(t) for t in ox.parse(out.getvalue(), format=ox.RdfFormat.N_TRIPLES)}


def records(server: Server) -> dict[str, dict[str, str]]:
    """The journal's records (backup -> field -> value), read without opening a store (which would
    roll them back)."""
    answer = httpx.post(
        server.query_url,
        data={"query": f"SELECT ?b ?p ?o WHERE {{ GRAPH <{JOURNAL}> {{ ?b ?p ?o }} }}"},
        headers={"Accept": "application/sparql-results+json"},
        timeout=30,
    )
    answer.raise_for_status()
    found: dict[str, dict[str, str]] = {}
    for row in answer.json()["results"]["bindings"]:
        found.setdefault(row["b"]["value"], {})[row["p"]["value"].rsplit("#", 1)[-1]] = row["o"]["value"]
    return found


def size(server: Server, graph: str) -> int:
    answer = httpx.post(
        server.query_url,
        data={"query": f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"},
        headers={"Accept": "application/sparql-results+json"},
        timeout=30,
    )
    answer.raise_for_status()
    return int(answer.json()["results"]["bindings"][0]["n"]["value"])


@pytest.fixture
def oxi(oxigraph: Server) -> Server:
    oxigraph.wipe()
    with opened(oxigraph) as store:
        store.add_triples(G, before())
    return oxigraph


def run_unit(store: RemoteStore) -> None:
    """A submission's commit: a new graph, then records added to G twice (the second time some
    already added by the first)."""
    with store.atomic():
        store.add_triples(SUB, submission())
        store.add_triples(G, added("a"))
        store.add_triples(G, added("a")[5:] + added("b"))


def expected_after() -> set[str]:
    """G after the unit, as Oxigraph stores it (the same engine, in memory)."""
    local = ox.Store()
    for s, p, o in [*before(), *added("a"), *added("b")]:
        local.add(ox.Quad(to_oxigraph(s), to_oxigraph(p), to_oxigraph(o)))  # type: ignore[arg-type]
    return {str(ox.Triple(q.subject, q.predicate, q.object)) for q in local}


class LateFailureError(Exception):
    """A unit failing after its writes (as a steward's commit whose archive cannot be written)."""


def fail_after(store: RemoteStore, writes: Callable[[], None], seen: list[set[str]]) -> None:
    """Run ``writes`` in a unit, note G's content, and fail."""
    with store.atomic():
        writes()
        seen.append(content(store))
        raise LateFailureError


def test_an_addition_is_journalled_by_exactly_the_triples_not_there_before(oxi: Server) -> None:
    with opened(oxi) as store:
        old = content(store)
    dying = opened(oxi, crash_on=f"DROP SILENT GRAPH <{JOURNAL}:")  # the commit
    with pytest.raises(CrashError):
        run_unit(dying)
    found = records(oxi)
    by_graph = {fields["of"]: (backup, fields) for backup, fields in found.items()}
    backup, record = by_graph[str(G)]
    assert record.get("added") in ("true", "1")
    # a: 11 triples, KEPT, CODE and "01" already there; b: 11 more, the same three again
    assert size(oxi, backup) == 8 + 8
    assert "added" not in by_graph[str(SUB)][1]  # a new graph: a record saying it did not exist
    assert by_graph[str(SUB)][1]["existed"] in ("false", "0")
    with opened(oxi) as store:
        assert store.recovered is not None
        assert "2 graph(s)" in store.recovered
        assert content(store) == old
        assert not store.has_graph(SUB)
        assert journal_graphs(store) == 0


def test_a_completed_addition_leaves_exactly_the_graph_after(oxi: Server) -> None:
    with opened(oxi) as store:
        run_unit(store)
        assert content(store) == expected_after()
        assert len(content(store, SUB)) == 20
        assert journal_graphs(store) == 0
    with opened(oxi) as store:
        assert store.recovered is None
        assert content(store) == expected_after()


def test_an_addition_rolled_back_in_process_keeps_what_was_there(oxi: Server) -> None:
    with opened(oxi) as store:
        old = content(store)
        seen: list[set[str]] = []
        with pytest.raises(LateFailureError):
            fail_after(store, lambda: store.add_triples(G, added("a")), seen)
        assert seen[0] > old
        assert len(seen[0]) == len(old) + 8
        assert content(store) == old
        assert str(ox.Triple(*(to_oxigraph(t) for t in KEPT))) in content(store)  # type: ignore[arg-type]
        assert journal_graphs(store) == 0


@pytest.mark.parametrize(
    ("crash_on", "after", "batch"),
    [
        (f"{JOURNAL}#added> true", 1, 5_000),  # before the record
        (f"GRAPH <{JOURNAL}:", 2, 3),  # after the record and the first added triples
        (f"'graph': '{G}'", 1, 5_000),  # after the record, before the upload
        (f"'graph': '{G}'", 2, 5_000),  # mid-upload (parts of 3 triples)
        (f"'graph': '{G}'", 5, 5_000),  # after the first addition (4 parts), before the second's upload
        (f"DROP SILENT GRAPH <{JOURNAL}:", 1, 5_000),  # before the commit
    ],
    ids=["record", "journal-triples", "upload-start", "mid-upload", "second-addition", "commit"],
)
def test_a_writer_dying_mid_addition_leaves_the_graph_as_before(
    oxi: Server, monkeypatch: pytest.MonkeyPatch, crash_on: str, after: int, batch: int
) -> None:
    monkeypatch.setattr("boostkg.store.remote._ADDED_BATCH", batch)
    with opened(oxi) as store:
        old = content(store)
    dying = opened(oxi, crash_on=crash_on, after=after, upload_chunk=3)
    with pytest.raises(CrashError):
        run_unit(dying)
    with opened(oxi) as store:
        assert store.recovered is not None
        assert content(store) == old
        assert not store.has_graph(SUB)
        assert journal_graphs(store) == 0


def test_blank_nodes_keep_the_copy(oxi: Server) -> None:
    dying = opened(oxi, crash_on=f"DROP SILENT GRAPH <{JOURNAL}:")
    with pytest.raises(CrashError), dying.atomic():
        dying.add_triples(G, [*added("a"), (URIRef(f"{EX}load/a"), URIRef(f"{EX}by"), BNode())])
    ((backup, record),) = records(oxi).items()
    assert "added" not in record
    assert size(oxi, backup) == len(before())  # a copy of the graph before
    with opened(oxi) as store:
        assert store.recovered is not None
        assert len(content(store)) == len(before())


@pytest.mark.parametrize("crash", [False, True], ids=["in-process", "crash-at-re-upload"])
def test_a_graph_written_otherwise_after_an_addition_is_rolled_back_whole(oxi: Server, crash: bool) -> None:
    with opened(oxi) as store:
        old = content(store)
    kept = " ".join(t.n3() for t in KEPT)

    def both() -> None:
        store.add_triples(G, added("a"))
        store.update(f"DELETE DATA {{ GRAPH <{G}> {{ {kept} }} }}")  # turns the record into a copy

    seen: list[set[str]] = []
    with opened(oxi, crash_on=f"'graph': '{G}'" if crash else None, after=2) as store:
        with pytest.raises(CrashError if crash else LateFailureError):
            fail_after(store, both, seen)
        if not crash:
            assert str(ox.Triple(*(to_oxigraph(t) for t in KEPT))) not in seen[0]  # type: ignore[arg-type]
            assert len(seen[0]) == len(old) - 1 + 8
    with opened(oxi) as store:
        assert content(store) == old
        assert journal_graphs(store) == 0


def test_a_graph_written_otherwise_after_an_addition_commits_both(oxi: Server) -> None:
    kept = " ".join(t.n3() for t in KEPT)
    with opened(oxi) as store:
        with store.atomic():
            store.add_triples(G, added("a"))
            store.update(f"DELETE DATA {{ GRAPH <{G}> {{ {kept} }} }}")
            store.add_triples(G, added("b")[2:])
        assert content(store) == expected_after() - {str(ox.Triple(*(to_oxigraph(t) for t in KEPT)))}  # type: ignore[arg-type]
        assert journal_graphs(store) == 0


def test_virtuoso_keeps_the_copy_and_rolls_an_addition_back_exactly(virtuoso: Server) -> None:
    virtuoso.wipe()
    with opened(virtuoso) as store:
        store.add_triples(G, before())
        old = content(store)
    dying = opened(virtuoso, crash_on=f"DROP SILENT GRAPH <{JOURNAL}:")
    with pytest.raises(CrashError):
        run_unit(dying)
    by_graph = {fields["of"]: (backup, fields) for backup, fields in records(virtuoso).items()}
    backup, record = by_graph[str(G)]
    assert "added" not in record
    assert size(virtuoso, backup) == len(before())
    with opened(virtuoso) as store:
        assert store.recovered is not None
        assert content(store) == old
        assert not store.has_graph(SUB)
        assert journal_graphs(store) == 0


def test_a_graph_store_post_to_an_existing_graph_is_journalled_by_what_it_adds(oxi: Server) -> None:
    with opened(oxi) as store:
        old = content(store)
    # Turtle, not N-Triples: n3() writes the label's newline inside a long string
    body = "".join(f"{' '.join(t.n3() for t in triple)} .\n" for triple in added("a")).encode()
    dying = opened(oxi, crash_on=f"DROP SILENT GRAPH <{JOURNAL}:")
    with pytest.raises(CrashError):
        dying.load_into(G, body, RdfFormat.TURTLE, replace=False)
    ((backup, record),) = records(oxi).items()
    assert record.get("added") in ("true", "1")
    assert size(oxi, backup) == 8
    with opened(oxi) as store:
        assert store.recovered is not None
        assert content(store) == old
        store.load_into(G, body, RdfFormat.TURTLE, replace=False)
        assert len(content(store)) == len(old) + 8
