"""The generated ontology documentation (pyLODE) names every class and property of icf.ttl."""

from __future__ import annotations

import html
from pathlib import Path

import pytest
from rdflib import OWL, RDF, RDFS, Graph, URIRef

from boostkg.config import PROJECT_ROOT
from boostkg.errors import InputNotFoundError, ParseError
from boostkg.namespaces import ICF
from boostkg.ontology_docs import generate_docs

ICF_TTL = PROJECT_ROOT / "ontology" / "icf.ttl"


def labels_of(kind: URIRef) -> list[str]:
    graph = Graph().parse(ICF_TTL, format="turtle")
    return sorted(
        str(graph.value(term, RDFS.label))
        for term in graph.subjects(RDF.type, kind)
        if str(term).startswith(str(ICF._NS))
    )


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> str:
    out = generate_docs(ICF_TTL, tmp_path_factory.mktemp("docs"))
    assert out.name == "index.html"
    return html.unescape(out.read_text(encoding="utf-8"))


def test_generated_page_names_every_class(page: str) -> None:
    labels = labels_of(OWL.Class)
    assert len(labels) == len([n for n in ICF.__annotations__ if n[0].isupper()])
    assert [label for label in labels if label not in page] == []


def test_generated_page_names_every_property(page: str) -> None:
    labels = labels_of(OWL.ObjectProperty) + labels_of(OWL.DatatypeProperty)
    assert [label for label in labels if label not in page] == []


def test_generated_page_carries_the_title_and_version(page: str) -> None:
    assert "<title>Interregional Collaboration Framework (ICF) ontology</title>" in page
    assert "0.1.0" in page


def test_committed_docs_document_the_current_terms() -> None:
    """pyLODE's output is not byte-stable (blank-node ids, set order), so the committed page is
    compared by content: it must name every current class and property."""
    committed = PROJECT_ROOT / "docs" / "ontology" / "index.html"
    assert committed.is_file(), "run generate_docs(ontology/icf.ttl, docs/ontology) and commit the result"
    text = html.unescape(committed.read_text(encoding="utf-8"))
    labels = labels_of(OWL.Class) + labels_of(OWL.ObjectProperty) + labels_of(OWL.DatatypeProperty)
    assert [label for label in labels if label not in text] == []


def test_missing_ontology_is_reported(tmp_path: Path) -> None:
    with pytest.raises(InputNotFoundError):
        generate_docs(tmp_path / "nope.ttl", tmp_path / "out")


def test_malformed_ontology_is_a_parse_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ttl"
    bad.write_text("@prefix : <https://example.org/> .\n:a :b .\n", encoding="utf-8")
    with pytest.raises(ParseError, match=r"bad\.ttl"):
        generate_docs(bad, tmp_path / "out")
