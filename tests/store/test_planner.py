"""The work bound that lets the endpoint answer cheap joins without a worker (boostkg.store.planner)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rdflib import URIRef

from boostkg.store import EmbeddedStore, RdfFormat, ResultFormat
from boostkg.store.embedded import COUNT_BY_READING, READERS_DIR, measure_degrees
from boostkg.store.planner import Degrees, Pattern, shape, work_bound
from boostkg.store.snapshot import SnapshotReader

EX = "http://example.org/"
P = f"PREFIX ex: <{EX}> "
G = URIRef(EX + "g")


def _fill(store: EmbeddedStore, triples: list[tuple[str, str, str]], graph: URIRef = G) -> None:
    store.add_triples(graph, [(URIRef(EX + s), URIRef(EX + p), URIRef(EX + o)) for s, p, o in triples])


@pytest.fixture
def store(tmp_path: Path) -> EmbeddedStore:
    opened = EmbeddedStore(tmp_path / "store")
    # a hub with many members, each member with two facts
    _fill(opened, [("hub", "has", f"m{i}") for i in range(50)])
    _fill(opened, [(f"m{i}", "in", "hub") for i in range(50)])
    _fill(opened, [(f"m{i}", "colour", f"c{i % 3}") for i in range(50)])
    _fill(opened, [("solo", "has", "m1")])
    return opened


@pytest.mark.parametrize(
    "query",
    [
        P + "SELECT ?o { ex:a ex:p ?x . ?x ex:q ?o }",
        P + "SELECT DISTINCT ?y WHERE { ex:a ex:p ?x . ?y ex:p ?x } ORDER BY ?y LIMIT 5 OFFSET 2",
        P + "ASK { ex:a a ex:C ; ex:l 'x'@en, \"y\"^^ex:t }",
        P + "CONSTRUCT { ex:a ?p ?o . ?x ?q ?r } WHERE { { ex:a ?p ?o } UNION { ?x ex:in ex:a ; ?q ?r } }",
        "select * where { <http://example.org/a> ?p ?o . } order by desc(?o) asc(?p)",
    ],
)
def test_queries_of_the_class_are_read(query: str) -> None:
    assert shape(query) is not None


@pytest.mark.parametrize(
    "query",
    [
        P + "SELECT ?o { ex:a ex:p ?o FILTER(?o != ex:b) }",
        P + "SELECT ?o { ex:a ex:p ?o OPTIONAL { ?o ex:q ?r } }",
        P + "SELECT ?o { ex:a ex:p/ex:q ?o }",
        P + "SELECT ?o { ex:a ex:p [ ex:q ?o ] }",
        P + "SELECT ?o { ex:a ex:p _:b }",
        P + "SELECT ?o { ex:a ex:p 1 }",
        P + "SELECT ?o { ex:a ex:p true }",
        P + "SELECT (COUNT(*) AS ?n) { ex:a ex:p ?o }",
        P + "SELECT ?o FROM ex:g { ex:a ex:p ?o }",
        P + "SELECT ?o { GRAPH ?g { ex:a ex:p ?o } }",
        P + "SELECT ?o { SERVICE <http://example.org/s> { ex:a ex:p ?o } }",
        P + "SELECT ?o { { SELECT ?o { ex:a ex:p ?o } } }",
        P + "SELECT ?o { ex:a ex:p ?o } ORDER BY STR(?o)",
        P + "SELECT ?o { ex:a ex:p ?o } GROUP BY ?o",
        P + "SELECT ?o { ex:a ex:p ?o . }  LIMIT",
        "BASE <http://example.org/> SELECT ?o { <a> <p> ?o }",
        "SELECT ?o { <a> <p> ?o }",
        "SELECT ?o { undeclared:a <http://example.org/p> ?o }",
        P + "SELECT ?o { ex:a ex:p ex:b.}",
        P + "DESCRIBE ex:a",
        P + "CONSTRUCT WHERE { ex:a ?p ?o }",
        P + "INSERT DATA { ex:a ex:p ex:b }",
        P + "SELECT ?o { ex:a ex:p ?o",
    ],
)
def test_anything_else_is_out_of_the_class(query: str) -> None:
    assert shape(query) is None


def test_prefixed_names_and_a_are_resolved() -> None:
    found = shape(P + "SELECT * { ex:a a ?t ; ex:p ?o , ex:b }")
    assert found is not None
    blocks, template = found
    assert template == []
    assert blocks == [
        [
            Pattern("<http://example.org/a>", "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>", "?t"),
            Pattern("<http://example.org/a>", "<http://example.org/p>", "?o"),
            Pattern("<http://example.org/a>", "<http://example.org/p>", "<http://example.org/b>"),
        ]
    ]


def test_degrees_are_the_true_maxima(store: EmbeddedStore) -> None:
    # the same triple in a second graph counts twice: a bound may only be above the truth
    _fill(store, [("hub", "has", "m0")], URIRef(EX + "g2"))
    assert store.refresh_degrees()
    degrees = store.current_degrees()
    assert degrees is not None
    quads = [
        (s.value, p.value, o.value) for s, p, o, _ in store._db.quads_for_pattern(None, None, None, None)
    ]
    out: Counter[tuple[str, str]] = Counter((s, p) for s, p, _ in quads)
    into: Counter[tuple[str, str]] = Counter((p, o) for _, p, o in quads)
    per_subject: Counter[str] = Counter(s for s, _, _ in quads)
    assert degrees.out == {p: max(n for (_, q), n in out.items() if q == p) for _, p in out}
    assert degrees.into == {p: max(n for (q, _), n in into.items() if q == p) for p, _ in into}
    assert degrees.out_any == max(per_subject.values()) == 51
    assert degrees.out[EX + "has"] == 51
    assert degrees.into[EX + "in"] == 50
    assert degrees.out_any_of[EX + "colour"] == 2  # members: "in" and "colour"
    assert degrees.count[EX + "colour"] == 50
    assert degrees.total == len(quads)


def test_bounds_follow_the_data(store: EmbeddedStore) -> None:
    assert store.refresh_degrees()
    degrees = store.current_degrees()
    assert degrees is not None
    # from the hub to its members (50 at most) and one colour each: 50 + 50
    assert work_bound(P + "SELECT ?c { ex:hub ex:has ?m . ?m ex:colour ?c }", degrees) == 100
    # members' own triples are at most 2 each, known from "colour": the refinement
    query = P + "CONSTRUCT { ?m ?p ?o } WHERE { ?m ex:in ex:hub ; ex:colour ?c ; ?p ?o }"
    assert work_bound(query, degrees) == 50 + 50 + 100
    # a scan of a predicate is its count; of everything, the whole store
    assert work_bound(P + "SELECT * { ?m ex:colour ?c }", degrees) == 50
    assert work_bound(P + "SELECT * { ?s ?p ?o }", degrees, budget=100) is None
    # every member's partners through the hub: 50 x 51 rows, past a budget of 1,000 ...
    partners = P + "SELECT ?x { ex:solo ex:has ?m . ?h ex:has ?m . ?h ex:has ?x }"
    assert work_bound(partners, degrees, budget=1000) is None
    # ... unless the first step is counted: solo has one member, whose holders (2) have 50 each
    assert work_bound(partners, degrees, store.count_capped, budget=1000) == 1 + 2 + 100


def test_stale_degrees_send_joins_to_the_workers(store: EmbeddedStore) -> None:
    join = P + "SELECT ?c { ex:hub ex:has ?m . ?m ex:colour ?c }"
    formats = {"result_format": ResultFormat.JSON, "rdf_format": RdfFormat.TURTLE, "base_iri": None}
    assert store.query_inline(join, max_bytes=1 << 20, **formats) is None  # never measured
    assert store.refresh_degrees()
    answered = store.query_inline(join, max_bytes=1 << 20, **formats)
    assert answered is not None
    assert len(json.loads(answered)["results"]["bindings"]) == 50
    _fill(store, [("hub", "has", f"n{i}") for i in range(100)])  # the hub's fan-out is now 150
    assert store.current_degrees() is None
    assert store.query_inline(join, max_bytes=1 << 20, **formats) is None
    assert store.refresh_degrees()
    measured = store.current_degrees()
    assert measured is not None
    assert measured.out[EX + "has"] == 150
    # a bounded lookup needs no degrees: its work is capped by its result size
    _fill(store, [("hub", "has", "late")])
    assert store.query_inline(P + "SELECT ?m { ex:hub ex:has ?m }", max_bytes=1 << 20, **formats) is not None


def test_construct_is_answered_in_the_chosen_rdf_format(store: EmbeddedStore) -> None:
    assert store.refresh_degrees()
    query = P + "CONSTRUCT { ?m ex:colour ?c } WHERE { ex:hub ex:has ?m . ?m ex:colour ?c }"
    body = store.query_inline(
        query,
        result_format=ResultFormat.JSON,
        rdf_format=RdfFormat.NTRIPLES,
        base_iri=None,
        max_bytes=1 << 20,
    )
    assert body is not None
    assert len(body.decode().strip().splitlines()) == 50
    too_small = store.query_inline(
        query, result_format=ResultFormat.JSON, rdf_format=RdfFormat.NTRIPLES, base_iri=None, max_bytes=100
    )
    assert too_small is None  # past the byte budget: a worker streams it


def test_checkpoint_readers_use_the_writers_degrees(store: EmbeddedStore) -> None:
    join = P + "SELECT ?c { ex:hub ex:has ?m . ?m ex:colour ?c }"
    checkpoint = store.reader_snapshot()
    reader = SnapshotReader(checkpoint)
    formats = {"result_format": ResultFormat.JSON, "rdf_format": RdfFormat.TURTLE, "base_iri": None}
    assert reader.query_inline(join, max_bytes=1 << 20, **formats) is None
    assert store.refresh_degrees()
    assert (store.path / READERS_DIR / f"degrees-g{store.generation}.json").is_file()
    reader._degrees_checked = 0.0  # the reader looks again at most every half second
    answered = reader.query_inline(join, max_bytes=1 << 20, **formats)
    assert answered is not None
    assert len(json.loads(answered)["results"]["bindings"]) == 50
    reader.close()


NODES = [f"n{i}" for i in range(6)]
PREDICATES = ["p", "q", "r"]
TERMS = st.sampled_from([f"ex:{n}" for n in NODES] + ["?a", "?b", "?c"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    triples=st.lists(
        st.tuples(*(st.sampled_from(NODES), st.sampled_from(PREDICATES), st.sampled_from(NODES))), max_size=40
    ),
    patterns=st.lists(
        st.tuples(TERMS, st.sampled_from([f"ex:{p}" for p in PREDICATES] + ["?p"]), TERMS),
        min_size=1,
        max_size=3,
    ),
)
def test_a_bound_is_never_below_the_rows(
    tmp_path_factory: pytest.TempPathFactory,
    triples: list[tuple[str, str, str]],
    patterns: list[tuple[str, str, str]],
) -> None:
    store = EmbeddedStore(tmp_path_factory.mktemp("prop") / "store")
    try:
        _fill(store, triples)
        assert store.refresh_degrees()
        degrees = store.current_degrees()
        assert isinstance(degrees, Degrees)
        query = P + "SELECT * { " + " . ".join(" ".join(p) for p in patterns) + " }"
        bound = work_bound(query, degrees, store.count_capped, budget=10**9)
        assert bound is not None  # everything is in the class at this budget
        rows = len(store.select(query).rows)
        assert rows <= bound
    finally:
        store.close()


def test_measuring_never_holds_the_live_database(store: EmbeddedStore) -> None:
    """The bounds are measured on a private checkpoint: an update that swaps the database in
    between (update_isolated) neither fails nor is seen, and bounds of the older state are dropped."""
    generation, checkpoint = store.degrees_checkpoint()
    with store.atomic("update"):
        store.update_isolated(
            f"INSERT DATA {{ GRAPH <{G}> {{ <{EX}hub> <{EX}has> <{EX}new> }} }}", timeout_s=60
        )
    measured = measure_degrees(checkpoint, generation)
    assert not checkpoint.exists()
    assert measured.out[EX + "has"] == 50  # the state before the update
    assert not store.keep_degrees(measured)
    assert store.current_degrees() is None
    assert store.refresh_degrees()
    fresh = store.current_degrees()
    assert fresh is not None
    assert fresh.out[EX + "has"] == 51


def test_the_exact_first_step_counts_up_to_its_cap_by_reading_or_by_query(tmp_path: Path) -> None:
    many = COUNT_BY_READING + 100
    with EmbeddedStore(tmp_path / "counted") as counted:
        rows = "".join(f"<{EX}big> <{EX}p> {i} .\n" for i in range(many))
        rows += f"<{EX}big> <{EX}q> 1 .\n<{EX}small> <{EX}p> 1 .\n<{EX}small> <{EX}p> 2 .\n"
        counted.replace_graph(URIRef(f"{EX}g1"), rows.encode(), RdfFormat.TURTLE)
        # the same triple in a second graph: counted twice, still a bound on distinct triples
        counted.replace_graph(URIRef(f"{EX}g2"), f"<{EX}small> <{EX}p> 1 .\n".encode(), RdfFormat.TURTLE)
        assert counted.count_capped(f"{EX}small", f"{EX}p", 1000) == 3  # read quad by quad
        assert counted.count_capped(f"{EX}small", None, 2) == 2  # the cap
        assert counted.count_capped(f"{EX}nobody", None, 1000) == 0
        assert counted.count_capped(f"{EX}big", f"{EX}p", 10**6) == many  # past the reading: a query
        assert counted.count_capped(f"{EX}big", None, 10**6) == many + 1
        assert counted.count_capped(f"{EX}big", None, 300) == 300
        assert counted.count_capped("not an IRI", None, 77) == 77  # unreadable: the cap, never fewer
