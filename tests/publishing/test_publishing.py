"""The publishing layer in-process over the loaded store: resource descriptions (facts with their
graphs, anonymous nodes, bounded incoming links, sources) and the VoID cache."""

from __future__ import annotations

import pytest
from rdflib import BNode, URIRef
from rdflib.namespace import OWL, RDF, RDFS

from boostkg.errors import InputError
from boostkg.namespaces import BASE, ICF, META_GRAPH
from boostkg.publishing import resources
from boostkg.publishing.resources import checked_iri, describe
from boostkg.publishing.void import VoidCache, store_state, void_graph
from boostkg.store import EmbeddedStore

TIT = URIRef(BASE + "id/organisation/tit")


def test_a_description_carries_facts_graphs_labels_and_sources(loaded_store: EmbeddedStore) -> None:
    d = describe(loaded_store, TIT, incoming_limit=10, facts_limit=500)
    assert d.exists
    assert d.label == "Transilvania IT Cluster"
    assert ICF.Cluster in d.types
    label = next(f for f in d.facts if f.predicate == RDFS.label)
    assert label.graphs == (URIRef(BASE + "graph/seed"),)
    assert d.label_of(URIRef("http://data.europa.eu/nuts/code/RO11")) == "Nord-Vest"
    seed = next(s for s in d.sources if s.graph == URIRef(BASE + "graph/seed"))
    assert seed.source == "data/seed.ttl"
    assert seed.agents
    assert d.incoming_exact
    assert d.incoming_total == len(d.incoming) >= 4


def test_facts_are_bounded_and_anonymous_nodes_followed(loaded_store: EmbeddedStore) -> None:
    cls = ICF.PerformanceClassification
    d = describe(loaded_store, cls, incoming_limit=5, facts_limit=500)
    restrictions = [f.value for f in d.facts if f.predicate == RDFS.subClassOf and isinstance(f.value, BNode)]
    assert restrictions
    for node in restrictions:
        assert any(f.predicate == RDF.type and f.value == OWL.Restriction for f in d.blank_facts(node))
    assert len(d.incoming) == 5 < d.incoming_total
    few = describe(loaded_store, cls, incoming_limit=5, facts_limit=2)
    assert len(few.facts) == 2
    assert few.facts_truncated


def test_large_incoming_counts_switch_to_statements(
    loaded_store: EmbeddedStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    exact = describe(loaded_store, ICF.NUTSRegion, incoming_limit=3, facts_limit=100)
    monkeypatch.setattr(resources, "EXACT_COUNT_UP_TO", 10)
    rough = describe(loaded_store, ICF.NUTSRegion, incoming_limit=3, facts_limit=100)
    assert exact.incoming_exact
    assert not rough.incoming_exact
    assert rough.incoming_total >= exact.incoming_total > 1000
    assert rough.incoming == exact.incoming


def test_graph_iris_unknown_iris_and_bad_iris(loaded_store: EmbeddedStore) -> None:
    meta = describe(loaded_store, META_GRAPH, incoming_limit=5, facts_limit=10)
    assert meta.exists
    assert meta.is_graph
    assert not describe(
        loaded_store, URIRef(BASE + "id/organisation/nobody"), incoming_limit=5, facts_limit=5
    ).exists
    with pytest.raises(InputError, match="not an absolute IRI"):
        checked_iri("http://x/a> } DROP ALL")


def test_the_void_cache_computes_once_per_state(loaded_store: EmbeddedStore) -> None:
    cache = VoidCache(max_age_s=3600)
    first = cache.snapshot(loaded_store)
    assert cache.snapshot(loaded_store) is first
    assert cache.computations == 1
    assert first.state == store_state(loaded_store)
    graph = void_graph(first, endpoint="http://localhost/sparql")
    assert len(graph) > 100
    expired = VoidCache(max_age_s=1e-9)
    expired.snapshot(loaded_store)
    expired.snapshot(loaded_store)
    assert expired.computations == 2
