"""namespaces.ICF lists exactly the terms ontology/icf.ttl defines, and the IRI helpers mint the
IRIs the design fixes."""

from __future__ import annotations

import pytest
from rdflib import OWL, RDF, Graph, URIRef

from boostkg.config import PROJECT_ROOT
from boostkg.namespaces import ICF, ONTOLOGY_IRI, actor_iri, country_iri, graph_iri, nuts_iri

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
