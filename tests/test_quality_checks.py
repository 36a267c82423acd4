"""The SPARQL quality checks in queries/checks/: each returns zero rows on the project's graphs,
and each can fail (returns rows on a small graph made to break it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from rdflib import Dataset, URIRef

from boostkg.config import PROJECT_ROOT
from boostkg.namespaces import graph_iri
from boostkg.queries.catalog import read_query_text
from boostkg.queries.checks import run_checks
from boostkg.store import EmbeddedStore, RdfFormat, open_store

CHECKS_DIR = PROJECT_ROOT / "queries" / "checks"
ONTOLOGY_DIR = PROJECT_ROOT / "ontology"
DATA_DIR = PROJECT_ROOT / "data"
SHAPES_DIR = PROJECT_ROOT / "shapes"
GRAPH_OF_ONTOLOGY_FILE = {"icf": "ontology", "themes": "themes", "vocab": "vocab"}
CHECKS = sorted(CHECKS_DIR.glob("*-violation.rq"))

PREFIXES = """
@prefix icf:  <https://w3id.org/boostkg/icf#> .
@prefix owl:  <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix sh:   <http://www.w3.org/ns/shacl#> .
@prefix nuts: <http://data.europa.eu/nuts/code/> .
@prefix ex:   <https://example.org/> .
"""
GOOD_ONTOLOGY = """
icf:Actor a owl:Class ; rdfs:label "actor"@en ; skos:definition "An organisation."@en .
icf:inRegion a owl:ObjectProperty ; rdfs:label "in region"@en ; skos:definition "Where."@en ;
    rdfs:domain icf:Actor ; rdfs:range icf:NUTSRegion .
icf:NUTSRegion a owl:Class ; rdfs:label "NUTS region"@en ; skos:definition "A region."@en .
icf:nutsCode a owl:DatatypeProperty ; rdfs:label "NUTS code"@en ; skos:definition "A code."@en .
"""
GOOD_NUTS = 'nuts:RO11 a icf:NUTSRegion ; icf:nutsCode "RO11" .'

# For each check (file stem), graphs that break it: {graph name: Turtle}. Each case keeps the
# other checks' preconditions so that only the named check fails.
BREAKING_CASES: dict[str, dict[str, str]] = {
    "icf-term-without-label-or-definition-violation": {
        "ontology": GOOD_ONTOLOGY + 'icf:Cluster a owl:Class ; rdfs:label "cluster"@de .',
    },
    "object-property-without-domain-or-range-violation": {
        "ontology": GOOD_ONTOLOGY
        + 'icf:partOf a owl:ObjectProperty ; rdfs:label "part of"@en ; skos:definition "In."@en ;'
        + " rdfs:domain icf:NUTSRegion .",
    },
    "undefined-term-violation": {
        "ontology": GOOD_ONTOLOGY,
        "nuts-2024": GOOD_NUTS,
        "seed": "ex:a a ex:UndeclaredClass ; icf:inRegion nuts:RO11 ; ex:undeclaredProperty 1 .",
        "shapes": "ex:Shape a sh:NodeShape ; sh:targetClass ex:AnotherUndeclaredClass .",
    },
    "icf-term-undeclared-violation": {
        "ontology": GOOD_ONTOLOGY,
        "nuts-2024": GOOD_NUTS,
        "seed": "ex:a a icf:Actor ; icf:inRegion nuts:RO11 ; rdfs:seeAlso icf:partof .",
    },
    "unknown-nuts-code-violation": {
        "ontology": GOOD_ONTOLOGY,
        "nuts-2024": GOOD_NUTS,
        "seed": "ex:a a icf:Actor ; icf:inRegion nuts:RO1l .",
    },
}


def project_store(path: Path) -> EmbeddedStore:
    """The project's graphs in an on-disk store, as the main job names them: ontology/*.ttl,
    data/*.ttl, and (beyond what the main job loads) shapes/*.ttl in graph/shapes, so that the
    terms the shapes target must be declared too. Without graph/inferred: the rules only write
    declared terms (tests/test_reasoning.py)."""
    kg = open_store(path)
    for ttl in sorted(ONTOLOGY_DIR.glob("*.ttl")):
        kg.replace_graph(graph_iri(GRAPH_OF_ONTOLOGY_FILE[ttl.stem]), ttl, RdfFormat.TURTLE)
    for ttl in sorted(DATA_DIR.glob("*.ttl")):
        kg.replace_graph(graph_iri(ttl.stem), ttl, RdfFormat.TURTLE)
    for ttl in sorted(SHAPES_DIR.glob("*.ttl")):
        kg.load_into(graph_iri("shapes"), ttl.read_bytes(), RdfFormat.TURTLE, replace=False)
    return kg


def run_check(dataset: Dataset, check: Path) -> list[tuple[str, ...]]:
    result = dataset.query(check.read_text(encoding="utf-8"))
    return [tuple(str(value) for value in row) for row in result]  # type: ignore[union-attr]


def graphs_from(turtle_by_graph: dict[str, str]) -> Dataset:
    dataset = Dataset(default_union=True)
    for name, turtle in turtle_by_graph.items():
        dataset.graph(URIRef(graph_iri(name))).parse(data=PREFIXES + turtle, format="turtle")
    return dataset


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedStore]:
    """The project's graphs, queried by the store's engine (rdflib's takes ~10 s over NUTS for
    these checks; the small breaking cases below still run on rdflib)."""
    kg = project_store(tmp_path_factory.mktemp("project") / "store")
    yield kg
    kg.close()


def test_every_check_has_a_header_and_a_breaking_case() -> None:
    assert CHECKS, f"no checks in {CHECKS_DIR}"
    for check in CHECKS:
        assert check.read_text(encoding="utf-8").startswith("# Quality check:"), check.name
    assert {c.stem for c in CHECKS} == set(BREAKING_CASES)


@pytest.mark.parametrize("check", CHECKS, ids=lambda p: p.stem)
def test_check_passes_on_the_project_graphs(project: EmbeddedStore, check: Path) -> None:
    assert project.triple_count(graph_iri("shapes")) > 0
    rows = [tuple(str(value) for value in row.values()) for row in project.select(read_query_text(check))]
    assert rows == [], f"{check.name} returned {len(rows)} rows:\n" + "\n".join(map(str, rows))


@pytest.mark.parametrize("check", CHECKS, ids=lambda p: p.stem)
def test_check_passes_on_a_clean_small_graph(check: Path) -> None:
    clean = {
        "ontology": GOOD_ONTOLOGY,
        "nuts-2024": GOOD_NUTS,
        "seed": "ex:a a icf:Actor ; icf:inRegion nuts:RO11 .",
    }
    assert run_check(graphs_from(clean), check) == []


@pytest.mark.parametrize("check", CHECKS, ids=lambda p: p.stem)
def test_check_can_fail(check: Path) -> None:
    rows = run_check(graphs_from(BREAKING_CASES[check.stem]), check)
    assert rows, f"{check.name} found nothing in a graph made to break it"


def test_undefined_term_check_names_each_undefined_term() -> None:
    check = CHECKS_DIR / "undefined-term-violation.rq"
    terms = {row[0] for row in run_check(graphs_from(BREAKING_CASES[check.stem]), check)}
    assert terms == {
        "https://example.org/UndeclaredClass",
        "https://example.org/undeclaredProperty",
        "https://example.org/AnotherUndeclaredClass",
    }


def test_unknown_nuts_check_names_the_misspelt_code() -> None:
    check = CHECKS_DIR / "unknown-nuts-code-violation.rq"
    rows = run_check(graphs_from(BREAKING_CASES[check.stem]), check)
    assert rows == [("http://data.europa.eu/nuts/code/RO1l", str(graph_iri("seed")))]


def test_every_check_returns_no_rows_on_the_real_store(loaded_store: EmbeddedStore) -> None:
    """The same checks on the real on-disk store the main job builds: ontology, vocabularies,
    reference data, seed, the inferred graph and the PROV-O metadata graph of every load."""
    results = run_checks(loaded_store, CHECKS_DIR)
    assert [r.name for r in results] == [path.stem for path in CHECKS]
    failing = {r.name: [dict(row) for row in r.rows][:5] for r in results if not r.passed}
    assert failing == {}
