"""What a store holds: triples per graph, instances per class, uses per property."""

from __future__ import annotations

from dataclasses import dataclass

from boostkg.store.base import GraphStats, KnowledgeStore


@dataclass(frozen=True)
class Count:
    """An IRI (class or property) and how often it occurs."""

    iri: str
    count: int


@dataclass(frozen=True)
class Inventory:
    """A store's contents in numbers."""

    quads: int
    graphs: tuple[GraphStats, ...]
    classes: tuple[Count, ...]
    properties: tuple[Count, ...]


def _counts(store: KnowledgeStore, query: str) -> tuple[Count, ...]:
    rows = store.select(query)
    return tuple(Count(str(row["x"]), int(str(row["n"]))) for row in rows if "x" in row)


def class_counts(store: KnowledgeStore) -> tuple[Count, ...]:
    """Distinct instances per class over the union of graphs, most populous first."""
    return _counts(
        store,
        "SELECT ?x (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a ?x } GROUP BY ?x ORDER BY DESC(?n) ?x",
    )


def property_counts(store: KnowledgeStore) -> tuple[Count, ...]:
    """Triples per property over all graphs, most used first."""
    return _counts(
        store,
        "SELECT ?x (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?x ?o } } GROUP BY ?x ORDER BY DESC(?n) ?x",
    )


def take_inventory(store: KnowledgeStore) -> Inventory:
    """Count everything (a few seconds on a million triples)."""
    return Inventory(
        quads=store.triple_count(),
        graphs=tuple(store.graphs()),
        classes=class_counts(store),
        properties=property_counts(store),
    )
