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


# --- dataset profile (VoID statistics) -------------------------------------------------------------
# COUNT ignores error values, so IF(isIRI(?s), ?s, ?unbound) counts the IRI subjects only.
_PER_GRAPH = """SELECT ?g (COUNT(*) AS ?triples) (COUNT(DISTINCT ?s) AS ?subjects)
  (COUNT(DISTINCT ?o) AS ?objects) (COUNT(DISTINCT IF(isIRI(?s), ?s, ?unbound)) AS ?entities)
WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"""
_UNION = """SELECT (COUNT(*) AS ?triples) (COUNT(DISTINCT ?s) AS ?subjects)
  (COUNT(DISTINCT ?o) AS ?objects) (COUNT(DISTINCT IF(isIRI(?s), ?s, ?unbound)) AS ?entities)
WHERE { SELECT DISTINCT ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } } }"""
_CLASSES_PER_GRAPH = (
    "SELECT ?g ?x (COUNT(DISTINCT ?s) AS ?n) WHERE { GRAPH ?g { ?s a ?x } } "
    "GROUP BY ?g ?x ORDER BY ?g DESC(?n) ?x"
)
_PROPERTIES_PER_GRAPH = (
    "SELECT ?g ?x (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?x ?o } } GROUP BY ?g ?x ORDER BY ?g DESC(?n) ?x"
)
_UNION_PROPERTIES = """SELECT ?x (COUNT(*) AS ?n)
WHERE { SELECT DISTINCT ?s ?x ?o WHERE { GRAPH ?g { ?s ?x ?o } } } GROUP BY ?x ORDER BY DESC(?n) ?x"""


@dataclass(frozen=True)
class Profile:
    """VoID statistics of a set of triples (one named graph, or the union of all of them).

    ``entities`` counts the distinct IRI subjects; ``classes`` gives the distinct instances of each
    class and ``properties`` the triples using each property, most frequent first.
    """

    triples: int
    distinct_subjects: int
    distinct_objects: int
    entities: int
    classes: tuple[Count, ...]
    properties: tuple[Count, ...]


@dataclass(frozen=True)
class DatasetProfile:
    """The union's profile (duplicate triples across graphs counted once) and each graph's."""

    union: Profile
    graphs: dict[str, Profile]


def _int(value: object) -> int:
    return int(str(value)) if value is not None else 0


def _per_graph_counts(store: KnowledgeStore, query: str) -> dict[str, tuple[Count, ...]]:
    grouped: dict[str, list[Count]] = {}
    for row in store.select(query):
        if "g" in row and "x" in row:
            grouped.setdefault(str(row["g"]), []).append(Count(str(row["x"]), _int(row.get("n"))))
    return {graph: tuple(counts) for graph, counts in grouped.items()}


def profile_dataset(store: KnowledgeStore) -> DatasetProfile:
    """Count triples, distinct subjects/objects, entities, class and property partitions, for the
    union and per named graph (about 10 s on a million triples: cache the result).

    Raises:
        QueryError: the store cannot run the counting queries.
    """
    classes = _per_graph_counts(store, _CLASSES_PER_GRAPH)
    properties = _per_graph_counts(store, _PROPERTIES_PER_GRAPH)
    graphs: dict[str, Profile] = {}
    for row in store.select(_PER_GRAPH):
        if "g" not in row:
            continue
        name = str(row["g"])
        graphs[name] = Profile(
            triples=_int(row.get("triples")),
            distinct_subjects=_int(row.get("subjects")),
            distinct_objects=_int(row.get("objects")),
            entities=_int(row.get("entities")),
            classes=classes.get(name, ()),
            properties=properties.get(name, ()),
        )
    totals = store.select(_UNION)[0]
    union = Profile(
        triples=_int(totals.get("triples")),
        distinct_subjects=_int(totals.get("subjects")),
        distinct_objects=_int(totals.get("objects")),
        entities=_int(totals.get("entities")),
        classes=class_counts(store),
        properties=_counts(store, _UNION_PROPERTIES),
    )
    return DatasetProfile(union=union, graphs=dict(sorted(graphs.items())))
