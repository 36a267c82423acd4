"""The VoID description of the dataset, with statistics for the union and for each named graph.

Counting a million triples takes about ten seconds, so :class:`VoidCache` keeps one profile per
*store state*: the store's write generation (bumped by every write through this process: loads,
submissions, SPARQL Update, the Graph Store Protocol) and, for stores without one, the size of
``graph/meta`` and its latest load, submission or withdrawal time. A profile older than
``max_age_s`` is recomputed even when the state looks unchanged.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, FOAF, PROV, RDF, VOID, XSD

from boostkg.namespaces import BASE, ID, META_GRAPH, SD, bind_prefixes
from boostkg.store.base import KnowledgeStore
from boostkg.store.inventory import Count, DatasetProfile, Profile, profile_dataset

DOCUMENT = URIRef(BASE + "void")
"""The VoID document (served at ``/void`` and ``/.well-known/void``)."""
DATASET = URIRef(BASE + "void#dataset")
"""The dataset it describes: the union of all named graphs."""
FORMATS = "http://www.w3.org/ns/formats/"
"""W3C's identifiers of RDF and SPARQL result formats (for ``void:feature``)."""
_FEATURES = ("Turtle", "N-Triples", "N-Quads", "TriG", "JSON-LD", "RDF_XML", "SPARQL_Results_JSON")
_EXAMPLES = (ID["organisation/tit"], ID["project/boost"], ID["corridor/boost"])


@dataclass(frozen=True)
class StoreState:
    """What identifies the store's contents cheaply: ``graph/meta``'s size and latest record time."""

    meta_triples: int
    latest: str | None
    generation: int | None = None


def store_state(store: KnowledgeStore) -> StoreState:
    """The store's state: its write generation when it keeps one, and what ``graph/meta`` records
    (a few milliseconds on any store size).

    Raises:
        QueryError: the store cannot answer.
    """
    size = store.select(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{META_GRAPH}> {{ ?s ?p ?o }} }}")[0]
    row = store.select(
        f"""SELECT (MAX(STR(?t)) AS ?latest) WHERE {{ GRAPH <{META_GRAPH}> {{ ?s ?p ?t
          FILTER(?p IN (<{PROV.endedAtTime}>, <{PROV.atTime}>, <{PROV.invalidatedAtTime}>)) }} }}"""
    )[0]
    latest = row.get("latest")
    generation = getattr(store, "generation", None)
    return StoreState(
        int(str(size.get("n", 0))),
        str(latest) if latest is not None else None,
        generation if isinstance(generation, int) else None,
    )


@dataclass(frozen=True)
class Snapshot:
    """A profile, the state it was taken in, and when (``time.time()``) and how long it took."""

    profile: DatasetProfile
    state: StoreState
    taken_at: float
    seconds: float
    examples: tuple[URIRef, ...]


class VoidCache:
    """One dataset profile per store state, recomputed at most once at a time (thread-safe)."""

    def __init__(self, max_age_s: float) -> None:
        self.max_age_s = max_age_s
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._rendered: dict[tuple[str, str], bytes] = {}
        self.computations = 0
        """How many times the profile was computed (tests and operators read it)."""

    def snapshot(self, store: KnowledgeStore) -> Snapshot:
        """The current profile: the cached one if the store state is unchanged and it is recent.

        Raises:
            QueryError: the store cannot answer the counting queries.
        """
        with self._lock:
            state = store_state(store)
            cached = self._snapshot
            if (
                cached is not None
                and cached.state == state
                and time.time() - cached.taken_at < self.max_age_s
            ):
                return cached
            started = time.perf_counter()
            profile = profile_dataset(store)
            examples = tuple(iri for iri in _EXAMPLES if store.ask(f"ASK {{ <{iri}> ?p ?o }}"))
            self._snapshot = Snapshot(profile, state, time.time(), time.perf_counter() - started, examples)
            self._rendered = {}
            self.computations += 1
            return self._snapshot

    def rendered(self, snapshot: Snapshot, key: tuple[str, str]) -> bytes | None:
        """A serialisation of ``snapshot`` cached under ``key`` (format, endpoint), if any."""
        with self._lock:
            return self._rendered.get(key) if self._snapshot is snapshot else None

    def remember(self, snapshot: Snapshot, key: tuple[str, str], data: bytes) -> None:
        """Keep a serialisation of ``snapshot`` (dropped when the profile is recomputed)."""
        with self._lock:
            if self._snapshot is snapshot:
                self._rendered[key] = data


def vocabulary_of(iri: str) -> str:
    """The namespace of a class or property IRI (up to the last ``#`` or ``/``).

    >>> vocabulary_of("https://w3id.org/boostkg/icf#Actor")
    'https://w3id.org/boostkg/icf#'
    >>> vocabulary_of("http://purl.org/dc/terms/source")
    'http://purl.org/dc/terms/'
    """
    cut = max(iri.rfind("#"), iri.rfind("/"))
    return iri[: cut + 1]


def _statistics(graph: Graph, node: URIRef, profile: Profile) -> None:
    graph.add((node, RDF.type, VOID.Dataset))
    for prop, value in (
        (VOID.triples, profile.triples),
        (VOID.entities, profile.entities),
        (VOID.distinctSubjects, profile.distinct_subjects),
        (VOID.distinctObjects, profile.distinct_objects),
        (VOID.classes, len(profile.classes)),
        (VOID.properties, len(profile.properties)),
    ):
        graph.add((node, prop, Literal(value, datatype=XSD.integer)))
    _partitions(graph, node, VOID.classPartition, VOID["class"], VOID.entities, profile.classes)
    _partitions(graph, node, VOID.propertyPartition, VOID.property, VOID.triples, profile.properties)


def _partitions(
    graph: Graph, node: URIRef, link: URIRef, kind: URIRef, measure: URIRef, counts: tuple[Count, ...]
) -> None:
    for count in counts:
        part = BNode()
        graph.add((node, link, part))
        graph.add((part, kind, URIRef(count.iri)))
        graph.add((part, measure, Literal(count.count, datatype=XSD.integer)))


def void_graph(snapshot: Snapshot, *, endpoint: str | None) -> Graph:
    """The VoID description of ``snapshot``: the dataset (the union), one ``void:subset`` per named
    graph (the graph's own IRI, also an ``sd:NamedGraph``), each with its class and property
    partitions. ``endpoint`` is the SPARQL endpoint's absolute URL, when known."""
    graph = Graph(bind_namespaces="none")
    bind_prefixes(graph, ("void", "sd", "dcterms", "foaf", "xsd", "icf"))
    graph.add((DOCUMENT, RDF.type, VOID.DatasetDescription))
    graph.add((DOCUMENT, DCTERMS.title, Literal("VoID description of the BOOST knowledge graph", lang="en")))
    graph.add((DOCUMENT, FOAF.primaryTopic, DATASET))
    _statistics(graph, DATASET, snapshot.profile.union)
    graph.add((DATASET, DCTERMS.title, Literal("BOOST knowledge graph", lang="en")))
    graph.add(
        (
            DATASET,
            DCTERMS.description,
            Literal(
                "The knowledge graph of the BOOST Interregional Collaboration Framework: actors, "
                "projects, regions, scoreboards and themes. The union of the named graphs below.",
                lang="en",
            ),
        )
    )
    graph.add((DATASET, VOID.uriSpace, Literal(BASE)))
    if snapshot.state.latest:
        graph.add((DATASET, DCTERMS.modified, Literal(snapshot.state.latest, datatype=XSD.dateTime)))
    if endpoint:
        graph.add((DATASET, VOID.sparqlEndpoint, URIRef(endpoint)))
    for feature in _FEATURES:
        graph.add((DATASET, VOID.feature, URIRef(FORMATS + feature)))
    for example in snapshot.examples:
        graph.add((DATASET, VOID.exampleResource, example))
    union = snapshot.profile.union
    vocabularies = {vocabulary_of(c.iri) for c in (*union.classes, *union.properties)}
    for vocabulary in sorted(vocabularies):
        graph.add((DATASET, VOID.vocabulary, URIRef(vocabulary)))
    for name, profile in snapshot.profile.graphs.items():
        subset = URIRef(name)
        graph.add((DATASET, VOID.subset, subset))
        graph.add((subset, RDF.type, SD.NamedGraph))
        graph.add((subset, SD.name, subset))
        _statistics(graph, subset, profile)
    return graph
