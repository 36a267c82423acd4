"""The embedded store on disk: named graphs, persistence, all-or-nothing writes, clear errors."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rdflib import Literal, URIRef

from boostkg.errors import EncodingError, ParseError, QueryError, StoreLockedError
from boostkg.store import EmbeddedStore, RdfFormat, embedded, open_store

G1 = URIRef("https://w3id.org/boostkg/graph/test-one")
G2 = URIRef("https://w3id.org/boostkg/graph/test-two")
TTL = b"""@prefix ex: <https://example.org/> .
ex:a ex:p ex:b ; ex:label "A" .
ex:b ex:p ex:c .
"""


def snapshot(kg: EmbeddedStore) -> bytes:
    """The whole dataset, canonically ordered, for before/after comparisons."""
    buffer = io.BytesIO()
    kg.dump(buffer, RdfFormat.NQUADS)
    return b"\n".join(sorted(buffer.getvalue().splitlines()))


def test_replace_graph_puts_triples_in_their_named_graph(store: EmbeddedStore) -> None:
    assert store.replace_graph(G1, TTL, RdfFormat.TURTLE) == 3
    assert (
        store.replace_graph(G2, b"<https://example.org/x> <https://example.org/p> 1 .", RdfFormat.TURTLE) == 1
    )
    assert [(str(g.graph), g.triples) for g in store.graphs()] == [(str(G1), 3), (str(G2), 1)]
    rows = store.select("SELECT ?o WHERE { <https://example.org/a> <https://example.org/label> ?o }")
    assert rows.column("o") == [Literal("A")]


def test_replacing_a_graph_leaves_the_others(store: EmbeddedStore) -> None:
    store.replace_graph(G1, TTL, RdfFormat.TURTLE)
    store.replace_graph(G2, TTL, RdfFormat.TURTLE)
    store.replace_graph(G1, b"<https://example.org/z> <https://example.org/p> 2 .", RdfFormat.TURTLE)
    assert store.triple_count(G1) == 1
    assert store.triple_count(G2) == 3


def test_default_graph_is_the_union_of_named_graphs(store: EmbeddedStore) -> None:
    store.replace_graph(G1, TTL, RdfFormat.TURTLE)
    store.replace_graph(
        G2, b"<https://example.org/c> <https://example.org/p> <https://example.org/d> .", RdfFormat.TURTLE
    )
    assert store.ask(
        "ASK { <https://example.org/b> <https://example.org/p> ?c . ?c <https://example.org/p> ?d }"
    )


def test_data_survives_a_restart(settings_store_path: Path) -> None:
    kg = open_store(settings_store_path)
    kg.replace_graph(G1, TTL, RdfFormat.TURTLE)
    kg.close()
    again = open_store(settings_store_path)
    assert again.triple_count(G1) == 3
    again.close()


@pytest.fixture
def settings_store_path(tmp_path: Path) -> Path:
    return tmp_path / "kg"


def test_malformed_turtle_names_line_and_column_and_changes_nothing(store: EmbeddedStore) -> None:
    store.replace_graph(G1, TTL, RdfFormat.TURTLE)
    before = snapshot(store)
    bad = b'@prefix ex: <https://example.org/> .\nex:a ex:p ex:b .\nex:a ex:p "x"@@ .\n'
    with pytest.raises(ParseError) as caught:
        store.replace_graph(G1, bad, RdfFormat.TURTLE)
    assert caught.value.location is not None
    assert (caught.value.location.line, caught.value.location.column) == (3, 15)
    assert snapshot(store) == before


def test_non_utf8_input_is_an_encoding_error_and_changes_nothing(store: EmbeddedStore) -> None:
    store.replace_graph(G1, TTL, RdfFormat.TURTLE)
    before = snapshot(store)
    with pytest.raises(EncodingError, match="UTF-8") as caught:
        store.replace_graph(G1, b'<https://e.org/a> <https://e.org/p> "caf\xe9" .\n', RdfFormat.NTRIPLES)
    assert caught.value.location is not None
    assert caught.value.location.line == 1
    assert snapshot(store) == before


def test_an_error_inside_an_atomic_block_rolls_everything_back(store: EmbeddedStore) -> None:
    store.replace_graph(G1, TTL, RdfFormat.TURTLE)
    before = snapshot(store)
    seen_inside: list[int] = []

    def write_then_fail() -> None:
        with store.atomic():
            store.replace_graph(G2, TTL, RdfFormat.TURTLE)
            store.drop_graph(G1)
            seen_inside.append(store.triple_count(G1))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        write_then_fail()
    assert seen_inside == [0]
    assert snapshot(store) == before
    # and the store is usable afterwards
    store.replace_graph(G2, TTL, RdfFormat.TURTLE)
    assert store.triple_count(G2) == 3


def test_malformed_query_is_a_query_error(store: EmbeddedStore) -> None:
    with pytest.raises(QueryError, match="malformed SPARQL"):
        store.select("SELECT * WHERE { ?s ?p }")


def test_a_second_process_gets_a_clear_lock_error(store: EmbeddedStore) -> None:
    code = (
        "import sys\nfrom pathlib import Path\nfrom boostkg.store import open_store\n"
        "from boostkg.errors import StoreLockedError\n"
        "try:\n    open_store(Path(sys.argv[1]))\nexcept StoreLockedError as e:\n    print(e); sys.exit(3)\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(store.path)], capture_output=True, text=True)
    assert done.returncode == 3, done.stderr
    assert "in use by another process" in done.stdout


def test_same_process_second_open_is_refused_too(store: EmbeddedStore) -> None:
    with pytest.raises(StoreLockedError):
        open_store(store.path)


def test_export_formats_round_trip(store: EmbeddedStore) -> None:
    store.replace_graph(G1, TTL, RdfFormat.TURTLE)
    for fmt in (RdfFormat.TURTLE, RdfFormat.NTRIPLES, RdfFormat.JSONLD, RdfFormat.RDFXML):
        buffer = io.BytesIO()
        store.dump(buffer, fmt, graph=G1)
        store.replace_graph(G2, buffer.getvalue(), fmt)
        assert store.triple_count(G2) == 3, fmt
    buffer = io.BytesIO()
    store.dump(buffer, RdfFormat.TRIG)
    assert str(G1).encode() in buffer.getvalue()


@pytest.fixture
def rebuild_small_graphs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the rebuild strategy kick in for test-sized graphs."""
    monkeypatch.setattr(embedded, "REBUILD_MIN_TRIPLES", 2)


def _many(n: int, tag: str) -> bytes:
    return "".join(
        f'<https://example.org/{tag}{i}> <https://example.org/p> "{i}" .\n' for i in range(n)
    ).encode()


@pytest.mark.usefixtures("rebuild_small_graphs")
def test_replacing_a_big_graph_by_rebuild_keeps_everything_else(store: EmbeddedStore) -> None:
    store.replace_graph(
        G2, TTL + b"_:b <https://example.org/p> _:c . _:c <https://example.org/p> 7 .", RdfFormat.TURTLE
    )
    empty = URIRef("https://w3id.org/boostkg/graph/empty")
    store.replace_graph(empty, b"", RdfFormat.TURTLE)
    store.replace_graph(G1, _many(50, "old"), RdfFormat.NTRIPLES)

    def others() -> list[bytes]:  # everything outside G1; blank-node labels are not kept by a copy
        lines = [re.sub(rb"_:[0-9a-z]+", b"_:b", line) for line in snapshot(store).splitlines()]
        return sorted(line for line in lines if str(G1).encode() not in line)

    before = others()
    assert store.replace_graph(G1, _many(20, "new"), RdfFormat.NTRIPLES) == 20
    assert others() == before
    assert store.triple_count(empty) == 0
    assert empty in {g.graph for g in store.graphs()}
    # the blank-node chain in G2 survived the copy as a chain
    assert store.ask("ASK { GRAPH ?g { ?b <https://example.org/p> ?c . ?c <https://example.org/p> 7 } }")
    assert not store.ask("ASK { <https://example.org/old1> ?p ?o }")


@pytest.mark.usefixtures("rebuild_small_graphs")
def test_a_failed_rebuild_rolls_back(store: EmbeddedStore) -> None:
    store.replace_graph(G1, _many(50, "old"), RdfFormat.NTRIPLES)
    store.replace_graph(G2, TTL, RdfFormat.TURTLE)
    before = snapshot(store)
    with pytest.raises(ParseError):
        store.replace_graph(
            G1,
            _many(5, "new") + b"<https://example.org/x> <https://example.org/p> oops .\n",
            RdfFormat.NTRIPLES,
        )
    assert snapshot(store) == before
    assert not (store.path / embedded.REBUILD_RETIRED).exists()
