"""The description of one resource: its facts with the named graphs that state them, the
anonymous nodes it points to, a bounded sample of incoming links, labels of everything shown, and
where each graph came from (the load or submission recorded in ``graph/meta``).

Every query is bounded (``LIMIT``) except the incoming-link count, a single index scan, so a page
for a theme with a hundred thousand projects costs about as much as one for a small actor.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, FOAF, PROV, RDF, RDFS, SKOS, VOID

from boostkg.errors import InputError
from boostkg.namespaces import BASE, INFERRED_GRAPH, META_GRAPH, SCHEMA, SD, bind_prefixes
from boostkg.store.base import KnowledgeStore, Term

EXACT_COUNT_UP_TO = 20_000
"""Incoming statements up to which links are counted exactly (distinct subject and predicate)."""
BLANK_DEPTH = 4
"""How many levels of anonymous nodes (OWL restrictions, lists) a description follows."""
LABEL_BATCH = 400
"""IRIs per labels query."""
_IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^<>\"{}|^`\\\s]*")
_LABELS = (RDFS.label, SKOS.prefLabel, FOAF.name, DCTERMS.title, SCHEMA.name)


def checked_iri(text: str) -> URIRef:
    """``text`` as an IRI safe to write between ``<>`` in a query.

    >>> checked_iri("https://w3id.org/boostkg/id/organisation/tit")
    rdflib.term.URIRef('https://w3id.org/boostkg/id/organisation/tit')

    Raises:
        InputError: ``text`` is not an absolute IRI (or contains characters IRIs may not).
    """
    if not _IRI.fullmatch(text):
        raise InputError(f"{text!r} is not an absolute IRI")
    return URIRef(text)


@dataclass(frozen=True)
class Fact:
    """A property and value of the described node, with the graphs stating it (sorted)."""

    predicate: URIRef
    value: Term
    graphs: tuple[URIRef, ...]


@dataclass(frozen=True)
class Link:
    """An incoming link: ``subject predicate <described>``, with the graphs stating it."""

    subject: Term
    predicate: URIRef
    graphs: tuple[URIRef, ...]


@dataclass(frozen=True)
class GraphSource:
    """Where a named graph came from, per ``graph/meta`` (all ``None`` when it has no record)."""

    graph: URIRef
    activity: URIRef | None = None
    label: str | None = None
    ended: str | None = None
    source: str | None = None
    agents: tuple[str, ...] = ()
    organisation: URIRef | None = None
    invalidated: str | None = None
    inferred: bool = False


@dataclass(frozen=True)
class Description:
    """Everything a page about ``iri`` shows."""

    iri: URIRef
    facts: tuple[Fact, ...]
    facts_truncated: bool
    blank: dict[str, tuple[Fact, ...]]
    """The facts of each anonymous node reached from the described one, by blank node id."""
    incoming: tuple[Link, ...]
    incoming_total: int
    labels: dict[str, str]
    described: frozenset[str]
    """The IRIs shown that have facts of their own (worth linking to)."""
    sources: tuple[GraphSource, ...]
    incoming_exact: bool = True
    """Whether ``incoming_total`` counts distinct links (else statements across graphs)."""
    is_graph: bool = False
    """Whether ``iri`` names a (non-empty) graph of the store."""
    graph_triples: int | None = None
    """For a graph: its size as its load record in graph/meta states it."""
    types: tuple[URIRef, ...] = field(default=())

    @property
    def exists(self) -> bool:
        return bool(self.facts or self.incoming_total or self.is_graph)

    @property
    def label(self) -> str | None:
        return self.labels.get(str(self.iri))

    def label_of(self, term: object) -> str | None:
        """The label of a term shown on the page (``None`` if it has none)."""
        return self.labels.get(str(term))

    def blank_facts(self, term: object) -> tuple[Fact, ...]:
        """The facts of an anonymous node shown on the page."""
        return self.blank.get(str(term), ())

    def triples(self) -> list[tuple[Term, URIRef, Term, URIRef]]:
        """The description as quads (subject, predicate, object, graph): the facts, the anonymous
        nodes' facts and the incoming links shown."""
        quads: list[tuple[Term, URIRef, Term, URIRef]] = []
        for fact in self.facts:
            quads += [(self.iri, fact.predicate, fact.value, g) for g in fact.graphs]
        for node, facts in self.blank.items():
            for fact in facts:
                quads += [(BNode(node), fact.predicate, fact.value, g) for g in fact.graphs]
        for link in self.incoming:
            quads += [(link.subject, link.predicate, self.iri, g) for g in link.graphs]
        return quads

    def server_statements(self) -> list[tuple[URIRef, URIRef, Literal | URIRef]]:
        """What the server itself states (in no graph of the store): that a graph's IRI names a
        graph of the store."""
        return [(self.iri, RDF.type, SD.NamedGraph)] if self.is_graph else []

    def dataset(self) -> Dataset:
        """The description as an rdflib Dataset (for TriG and N-Quads: each fact in its graph, the
        server's own statements in the default graph)."""
        ds = Dataset()
        _bind(ds)
        for s, p, o, g in self.triples():
            ds.graph(g).add((s, p, o))
        for triple in self.server_statements():
            ds.default_graph.add(triple)
        return ds

    def graph(self) -> Graph:
        """The description as one rdflib Graph (for Turtle, JSON-LD, N-Triples, RDF/XML)."""
        graph = Graph(bind_namespaces="none")
        _bind(graph)
        for s, p, o, _ in self.triples():
            graph.add((s, p, o))
        for triple in self.server_statements():
            graph.add(triple)
        return graph


def _bind(graph: Graph) -> None:
    bind_prefixes(
        graph, ("rdf", "rdfs", "owl", "xsd", "skos", "dcterms", "prov", "foaf", "schema", "sd", "void", "icf")
    )


def _graphs(text: object) -> tuple[URIRef, ...]:
    return tuple(sorted(URIRef(g) for g in str(text).split(" ") if g))


def _facts(store: KnowledgeStore, pattern: str, limit: int | None) -> list[tuple[str, Fact]]:
    """(subject, fact) for ``pattern``, which binds ?s ?p ?o and the graph ?g."""
    query = (
        "SELECT ?s ?p ?o (GROUP_CONCAT(STR(?g); separator=' ') AS ?gs) WHERE { "
        f"{pattern} }} GROUP BY ?s ?p ?o ORDER BY ?s ?p ?o" + (f" LIMIT {limit}" if limit is not None else "")
    )
    out = []
    for row in store.select(query):
        predicate = row.get("p")
        value = row.get("o")
        if isinstance(predicate, URIRef) and value is not None:
            out.append((str(row.get("s")), Fact(predicate, value, _graphs(row.get("gs", "")))))
    return out


def _own_facts(store: KnowledgeStore, iri: URIRef, limit: int) -> list[Fact]:
    rows = store.select(
        "SELECT ?p ?o (GROUP_CONCAT(STR(?g); separator=' ') AS ?gs) WHERE { "
        f"GRAPH ?g {{ <{iri}> ?p ?o }} }} GROUP BY ?p ?o ORDER BY ?p ?o LIMIT {limit}"
    )
    facts = []
    for row in rows:
        predicate = row.get("p")
        value = row.get("o")
        if isinstance(predicate, URIRef) and value is not None:
            facts.append(Fact(predicate, value, _graphs(row.get("gs", ""))))
    return facts


def _blank_facts(store: KnowledgeStore, iri: URIRef) -> dict[str, tuple[Fact, ...]]:
    """Facts of the anonymous nodes reachable from ``iri`` through anonymous nodes only."""
    branches = []
    for depth in range(1, BLANK_DEPTH + 1):
        nodes = [f"?b{i}" for i in range(depth - 1)] + ["?s"]
        hops = " ".join(
            f"{previous} ?h{i} {node} ."
            for i, (previous, node) in enumerate(zip([f"<{iri}>", *nodes[:-1]], nodes, strict=True))
        )
        blanks = " && ".join(f"isBlank({node})" for node in nodes)
        branches.append(f"{{ {hops} FILTER({blanks}) GRAPH ?g {{ ?s ?p ?o }} }}")
    grouped: dict[str, list[Fact]] = {}
    for subject, fact in _facts(store, " UNION ".join(branches), None):
        grouped.setdefault(subject, []).append(fact)
    return {node: tuple(dict.fromkeys(facts)) for node, facts in grouped.items()}


def _count_incoming(store: KnowledgeStore, iri: URIRef) -> tuple[int, bool]:
    """The number of incoming links and whether it is exact: distinct (subject, predicate) pairs
    when there are at most :data:`EXACT_COUNT_UP_TO` statements, else the statements across all
    graphs (an index scan, five times cheaper; a link stated in two graphs counts twice)."""
    quads = store.select(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH ?g {{ ?s ?p <{iri}> }} }}")
    statements = int(str(quads[0].get("n", 0))) if len(quads) else 0
    if statements > EXACT_COUNT_UP_TO:
        return statements, False
    pairs = store.select(
        f"SELECT (COUNT(*) AS ?n) WHERE {{ SELECT DISTINCT ?s ?p WHERE {{ ?s ?p <{iri}> }} }}"
    )
    return (int(str(pairs[0].get("n", 0))) if len(pairs) else 0), True


def _incoming(store: KnowledgeStore, iri: URIRef, limit: int) -> tuple[list[Link], int, bool]:
    total, exact = _count_incoming(store, iri)
    if not total:
        return [], 0, True
    pairs = store.select(f"SELECT DISTINCT ?s ?p WHERE {{ ?s ?p <{iri}> }} LIMIT {limit}")
    wanted = [(row["s"], row["p"]) for row in pairs if "s" in row and isinstance(row.get("p"), URIRef)]
    links: list[Link] = []
    iris = [(s, p) for s, p in wanted if isinstance(s, URIRef)]
    if iris:
        values = " ".join(f"({s.n3()} {p.n3()})" for s, p in iris)
        rows = store.select(
            "SELECT ?s ?p (GROUP_CONCAT(STR(?g); separator=' ') AS ?gs) WHERE { "
            f"VALUES (?s ?p) {{ {values} }} GRAPH ?g {{ ?s ?p <{iri}> }} }} GROUP BY ?s ?p ORDER BY ?p ?s"
        )
        for row in rows:
            predicate = row.get("p")
            subject = row.get("s")
            if isinstance(predicate, URIRef) and subject is not None:
                links.append(Link(subject, predicate, _graphs(row.get("gs", ""))))
    # anonymous subjects cannot be named in VALUES: their graphs are looked up by pattern
    for subject, predicate in wanted:
        if isinstance(subject, BNode):
            links.append(Link(subject, URIRef(str(predicate)), ()))
    return links, total, exact


def _labels(store: KnowledgeStore, iris: Iterable[str]) -> tuple[dict[str, str], frozenset[str]]:
    """Best label of each IRI (English or untagged first) and which IRIs have facts of their own."""
    labels: dict[str, tuple[int, str]] = {}
    described: set[str] = set()
    ordered = sorted(set(iris))
    properties = " ".join(p.n3() for p in _LABELS)
    for start in range(0, len(ordered), LABEL_BATCH):
        batch = ordered[start : start + LABEL_BATCH]
        values = " ".join(f"<{iri}>" for iri in batch)
        for row in store.select(
            f"SELECT ?x ?l WHERE {{ VALUES ?x {{ {values} }} VALUES ?lp {{ {properties} }} ?x ?lp ?l }}"
        ):
            label = row.get("l")
            if not isinstance(label, Literal):
                continue
            rank = 0 if label.language in (None, "en") else 1
            key = str(row["x"])
            if key not in labels or (rank, str(label)) < labels[key]:
                labels[key] = (rank, str(label))
        for row in store.select(
            f"SELECT ?x WHERE {{ VALUES ?x {{ {values} }} FILTER EXISTS {{ ?x ?p ?o }} }}"
        ):
            described.add(str(row["x"]))
    return {iri: text for iri, (_, text) in labels.items()}, frozenset(described)


def _sources(store: KnowledgeStore, graphs: Sequence[URIRef]) -> tuple[GraphSource, ...]:
    if not graphs:
        return ()
    values = " ".join(f"<{g}>" for g in graphs)
    rows = store.select(
        f"""SELECT ?g ?act ?label ?ended ?file ?agentName ?org ?invalidated WHERE {{
          VALUES ?g {{ {values} }}
          OPTIONAL {{ GRAPH <{META_GRAPH}> {{
            ?g <{PROV.wasGeneratedBy}> ?act .
            OPTIONAL {{ ?act <{RDFS.label}> ?label }}
            OPTIONAL {{ ?act <{PROV.endedAtTime}> ?ended }}
            OPTIONAL {{ ?act <{PROV.used}>/<{DCTERMS.source}> ?file }}
            OPTIONAL {{ ?act <{PROV.wasAssociatedWith}> ?agent .
                       ?agent <{FOAF.name}>|<{RDFS.label}> ?agentName
                       OPTIONAL {{ ?agent <{PROV.actedOnBehalfOf}> ?org }} }}
            OPTIONAL {{ ?g <{PROV.invalidatedAtTime}> ?invalidated }}
          }} }}
        }}"""
    )
    merged: dict[str, dict[str, object]] = {str(g): {"agents": []} for g in graphs}
    for row in rows:
        entry = merged[str(row["g"])]
        for key in ("act", "label", "ended", "file", "org", "invalidated"):
            if key in row and key not in entry:
                entry[key] = row[key]
        agent = row.get("agentName")
        agents = entry["agents"]
        assert isinstance(agents, list)
        if agent is not None and str(agent) not in agents:
            agents.append(str(agent))
    out = []
    for g in graphs:
        entry = merged[str(g)]
        act, org = entry.get("act"), entry.get("org")
        agents = entry["agents"]
        assert isinstance(agents, list)
        out.append(
            GraphSource(
                graph=g,
                activity=act if isinstance(act, URIRef) else None,
                label=str(entry["label"]) if "label" in entry else None,
                ended=str(entry["ended"]) if "ended" in entry else None,
                source=str(entry["file"]) if "file" in entry else None,
                agents=tuple(sorted(agents)),
                organisation=org if isinstance(org, URIRef) else None,
                invalidated=str(entry["invalidated"]) if "invalidated" in entry else None,
                inferred=g == INFERRED_GRAPH,
            )
        )
    return tuple(out)


def describe(store: KnowledgeStore, iri: URIRef, *, incoming_limit: int, facts_limit: int) -> Description:
    """What the store says about ``iri`` (check ``.exists`` for unknown IRIs).

    At most ``facts_limit`` facts and ``incoming_limit`` incoming links are read; the total number
    of incoming links is counted.

    Raises:
        InputError: ``iri`` is not an absolute IRI.
        QueryError: the store cannot answer.
    """
    iri = checked_iri(str(iri))
    rows = _own_facts(store, iri, facts_limit + 1)
    facts = rows[:facts_limit]
    blank = _blank_facts(store, iri) if any(isinstance(f.value, BNode) for f in facts) else {}
    incoming, incoming_total, incoming_exact = _incoming(store, iri, incoming_limit)
    is_graph = store.ask(f"ASK {{ GRAPH <{iri}> {{ ?s ?p ?o }} }}")
    recorded = [f.value for f in facts if f.predicate == VOID.triples and META_GRAPH in f.graphs]
    graph_triples = int(recorded[0]) if is_graph and recorded and isinstance(recorded[0], Literal) else None
    shown: set[str] = {str(iri)}
    graphs: set[URIRef] = set()
    for fact in [*facts, *(f for fs in blank.values() for f in fs)]:
        shown.add(str(fact.predicate))
        if isinstance(fact.value, URIRef):
            shown.add(str(fact.value))
        if isinstance(fact.value, Literal) and fact.value.datatype:
            shown.add(str(fact.value.datatype))
        graphs.update(fact.graphs)
    for link in incoming:
        shown.add(str(link.predicate))
        if isinstance(link.subject, URIRef):
            shown.add(str(link.subject))
        graphs.update(link.graphs)
    labels, described = _labels(store, shown)
    return Description(
        iri=iri,
        facts=tuple(facts),
        facts_truncated=len(rows) > facts_limit,
        blank=blank,
        incoming=tuple(incoming),
        incoming_total=incoming_total,
        incoming_exact=incoming_exact,
        is_graph=is_graph,
        labels=labels,
        described=described,
        sources=_sources(store, sorted(graphs)),
        graph_triples=graph_triples,
        types=tuple(f.value for f in facts if f.predicate == RDF.type and isinstance(f.value, URIRef)),
    )


def local_path(iri: str) -> str | None:
    """The server path of an IRI in the project's namespace (``None`` for any other IRI).

    >>> local_path("https://w3id.org/boostkg/id/organisation/tit")
    '/id/organisation/tit'
    >>> local_path("https://w3id.org/boostkg/icf#Actor")
    '/icf#Actor'
    """
    return "/" + iri[len(BASE) :] if iri.startswith(BASE) and len(iri) > len(BASE) else None
