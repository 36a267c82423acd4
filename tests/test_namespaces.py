"""namespaces.ICF lists exactly the terms ontology/icf.ttl defines, and the IRI helpers mint the
IRIs the design fixes."""

from __future__ import annotations

import pytest
from rdflib import OWL, RDF, Graph, URIRef

from boostkg.config import PROJECT_ROOT
from boostkg.namespaces import (
    ICF,
    ONTOLOGY_IRI,
    PREFIXES,
    actor_iri,
    bind_prefixes,
    country_iri,
    graph_iri,
    nuts_iri,
    prefixes,
    sparql_prologue,
)

ICF_TTL = PROJECT_ROOT / "ontology" / "icf.ttl"
DECLARATION_TYPES = (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty)


def defined_in_ontology() -> set[str]:
    graph = Graph().parse(ICF_TTL, format="turtle")
    prefix = str(ICF._NS)
    return {
        str(term)[len(prefix) :]
        for kind in DECLARATION_TYPES
        for term in graph.subjects(RDF.type, kind)
        if isinstance(term, URIRef) and str(term).startswith(prefix)
    }


def test_icf_namespace_lists_exactly_the_terms_the_ontology_defines() -> None:
    listed = set(ICF.__annotations__)
    defined = defined_in_ontology()
    assert sorted(listed - defined) == [], "in namespaces.ICF but not defined by icf.ttl"
    assert sorted(defined - listed) == [], "defined by icf.ttl but missing from namespaces.ICF"


def test_icf_namespace_is_closed() -> None:
    with pytest.raises(AttributeError):
        _ = ICF.partof  # a typo of partOf


def test_ontology_iri_and_namespace_agree() -> None:
    assert str(ICF._NS) == str(ONTOLOGY_IRI) + "#"


def test_iri_helpers_follow_the_fixed_design() -> None:
    assert actor_iri("999999999") == URIRef("https://w3id.org/boostkg/id/organisation/pic-999999999")
    assert nuts_iri("RO11") == URIRef("http://data.europa.eu/nuts/code/RO11")
    assert country_iri("ROU") == URIRef("http://publications.europa.eu/resource/authority/country/ROU")
    assert graph_iri("ontology") == URIRef("https://w3id.org/boostkg/graph/ontology")


def test_prefix_table_gives_each_namespace_one_prefix() -> None:
    namespaces = list(PREFIXES.values())
    assert len(set(namespaces)) == len(namespaces), "two prefixes for one namespace"
    assert PREFIXES["icf"] == str(ICF._NS)
    assert PREFIXES["organisation"] == str(actor_iri("1"))[: -len("pic-1")]


def test_prefixes_keeps_the_order_asked_for_and_rejects_unknown_names() -> None:
    assert list(prefixes("skos", "icf")) == ["skos", "icf"]
    with pytest.raises(KeyError, match="ex"):
        prefixes("icf", "ex")


def test_bound_prefixes_shorten_iris_in_turtle() -> None:
    graph = Graph(bind_namespaces="none")
    bind_prefixes(graph, ("icf", "nuts"))
    graph.add((nuts_iri("RO11"), RDF.type, ICF.NUTSRegion))
    text = graph.serialize(format="turtle")
    assert "@prefix icf: <https://w3id.org/boostkg/icf#> ." in text
    assert "nuts:RO11 a icf:NUTSRegion" in text


def test_sparql_prologue_parses_as_a_query_prologue() -> None:
    query = sparql_prologue(PREFIXES) + "ASK { nuts:RO11 a icf:NUTSRegion }"
    graph = Graph()
    graph.add((nuts_iri("RO11"), RDF.type, ICF.NUTSRegion))
    assert graph.query(query).askAnswer is True
