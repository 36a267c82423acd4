"""Scope rules ("stay in their lane"): which triples a steward may submit.

A steward's token names an organisation and, optionally, a NUTS region. Every triple of a
submission is judged by its subject (blank nodes are local to the submission and always allowed):

1. **Ontology and reference terms are never described.** A subject in the ontology's or the
   reference data's namespaces (``icf:``, ``theme/``, ``vocab/``, ``graph/``, NUTS, countries, the
   records' own ``id/submission/``, ``id/steward/`` ...), or any term described in
   ``graph/ontology``, ``graph/vocab``, ``graph/themes`` (ontology terms), ``graph/nuts-2024``,
   ``graph/eis`` or ``graph/meta`` (reference data, records) is refused. So are vocabulary
   statements: declaring a class or property, or ``rdfs:subClassOf``, ``owl:sameAs`` ... pointing
   at an ontology term (a submission describes instances; the vocabulary changes through
   ``ontology/``).
2. **Existing entities belong to whoever described them.** A subject already described in another
   graph (the seed, a CORDIS import, another organisation's submission) may be described further
   only if it is in the steward's lane: their organisation itself, an entity that organisation
   has (``icf:hasCapability``, ``icf:hasNeed``, ``icf:hasParticipation``, or a participation whose
   ``icf:participant`` it is) and, for a steward with a region, any actor whose ``icf:inRegion`` is
   that region or inside it (``icf:directlyPartOf``, transitively) and what such an actor has.
   Entities described only in the current submissions of the steward's own organisation are
   theirs (colleagues of one organisation share a lane). ``graph/inferred`` is ignored.
3. **New entities** (described nowhere yet) may be created; they then belong to the steward's
   organisation. A steward with a region may not place a new entity outside it (``icf:inRegion``).
4. **Admin tokens** skip rules 2 and 3, never rule 1.

Every refusal names the offending triples and why; the whole submission is refused (403).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rdflib import URIRef
from rdflib.namespace import OWL, RDF, RDFS
from rdflib.term import Node

from boostkg.auth import Steward
from boostkg.errors import ForbiddenError
from boostkg.ingest.submissions import RECORD_NAMESPACES
from boostkg.namespaces import (
    COUNTRY,
    GRAPH,
    ICF,
    INFERRED_GRAPH,
    META_GRAPH,
    NUTS,
    ONTOLOGY_IRI,
    THEME,
    VOCAB,
)
from boostkg.store.base import KnowledgeStore
from boostkg.store.parsing import ParsedTriples

ONTOLOGY_GRAPHS = frozenset({GRAPH["ontology"], GRAPH["vocab"], GRAPH["themes"]})
REFERENCE_GRAPHS = frozenset({GRAPH["nuts-2024"], GRAPH["eis"], META_GRAPH})
RESERVED_NAMESPACES: tuple[str, ...] = (
    str(ICF._NS),
    str(ONTOLOGY_IRI),
    str(THEME),
    str(VOCAB),
    str(GRAPH),
    str(NUTS),
    str(COUNTRY),
    *(str(ns) for ns in RECORD_NAMESPACES),
)
SCHEMA_PREDICATES = frozenset(
    {
        RDFS.subClassOf,
        RDFS.subPropertyOf,
        RDFS.domain,
        RDFS.range,
        OWL.equivalentClass,
        OWL.equivalentProperty,
        OWL.inverseOf,
        OWL.sameAs,
        OWL.disjointWith,
        OWL.propertyDisjointWith,
    }
)
SCHEMA_CLASSES = frozenset(
    {
        OWL.Class,
        RDFS.Class,
        RDF.Property,
        OWL.ObjectProperty,
        OWL.DatatypeProperty,
        OWL.AnnotationProperty,
        OWL.Ontology,
        RDFS.Datatype,
    }
)
OWNED_VIA = (ICF.hasCapability, ICF.hasNeed, ICF.hasParticipation)
MAX_LISTED = 50
_CHUNK = 500


@dataclass(frozen=True)
class Offence:
    """A refused triple and why."""

    triple: tuple[Node, Node, Node]
    reason: str

    def __str__(self) -> str:
        s, p, o = self.triple
        return f"{s.n3()} {p.n3()} {o.n3()} .  # {self.reason}"


def is_reserved(term: Node) -> bool:
    """Whether an IRI lies in a namespace stewards never describe."""
    return isinstance(term, URIRef) and str(term).startswith(RESERVED_NAMESPACES)


def _values(terms: Iterable[URIRef]) -> str:
    return " ".join(f"<{t}>" for t in terms)


def _chunks(terms: Sequence[URIRef]) -> Iterable[Sequence[URIRef]]:
    for start in range(0, len(terms), _CHUNK):
        yield terms[start : start + _CHUNK]


def _graphs_describing(store: KnowledgeStore, subjects: Sequence[URIRef]) -> dict[URIRef, set[URIRef]]:
    """For each subject, the named graphs where it already has triples (cost: one index lookup per
    subject; the store's size does not matter)."""
    found: dict[URIRef, set[URIRef]] = {}
    for chunk in _chunks(subjects):
        rows = store.select(
            f"SELECT DISTINCT ?s ?g WHERE {{ VALUES ?s {{ {_values(chunk)} }} GRAPH ?g {{ ?s ?p ?o }} }}"
        )
        for row in rows:
            found.setdefault(URIRef(str(row["s"])), set()).add(URIRef(str(row["g"])))
    return found


def _actor_condition(steward: Steward, var: str) -> str:
    """SPARQL pattern matching ``?var`` to the actors in the steward's lane."""
    own = f"{{ FILTER(?{var} = <{steward.organisation}>) }}"
    if steward.region is None:
        return own
    region = NUTS[steward.region]
    return f"{own} UNION {{ ?{var} <{ICF.inRegion}>/<{ICF.directlyPartOf}>* <{region}> }}"


def _in_lane(store: KnowledgeStore, steward: Steward, subjects: Sequence[URIRef]) -> set[URIRef]:
    """Those of ``subjects`` in the steward's lane according to the store (see the module doc)."""
    owned = "|".join(f"<{p}>" for p in OWNED_VIA)
    lane: set[URIRef] = set()
    for chunk in _chunks(subjects):
        rows = store.select(
            f"""SELECT DISTINCT ?s WHERE {{
                  VALUES ?s {{ {_values(chunk)} }}
                  {{ {_actor_condition(steward, "s")} }}
                  UNION {{ ?a {owned} ?s . {_actor_condition(steward, "a")} }}
                  UNION {{ ?s <{ICF.participant}> ?a . {_actor_condition(steward, "a")} }}
                }}"""
        )
        lane.update(URIRef(str(row["s"])) for row in rows)
    return lane


def _outside_region(store: KnowledgeStore, steward: Steward, places: set[URIRef]) -> set[URIRef]:
    """Those of ``places`` that are not the steward's region or inside it."""
    if steward.region is None or not places:
        return set()
    region = NUTS[steward.region]
    rows = store.select(
        f"""SELECT DISTINCT ?r WHERE {{ VALUES ?r {{ {_values(sorted(places))} }}
              FILTER NOT EXISTS {{ ?r <{ICF.directlyPartOf}>* <{region}> }} }}"""
    )
    return {URIRef(str(row["r"])) for row in rows}


def find_offences(
    store: KnowledgeStore, steward: Steward, data: ParsedTriples, *, own_graphs: frozenset[URIRef]
) -> list[Offence]:
    """The triples of ``data`` the steward may not submit (empty: all in lane).

    ``own_graphs`` are the graphs of the organisation's current submissions (including one being
    replaced); what is described only there belongs to the steward's organisation. The work
    follows the submission's distinct subjects, never a Python loop over all its triples.
    """
    offences: list[Offence] = []
    all_subjects = data.subjects()
    reserved = {s for s in all_subjects if is_reserved(s)}
    offences += [Offence(t, f"{t[0]} is an ontology or reference term") for t in data.about(reserved)]
    vocabulary: set[Node] = set()
    for s, cls in data.instances(SCHEMA_CLASSES):
        if s not in reserved:
            offences.append(Offence((s, RDF.type, cls), "declares vocabulary; change the ontology instead"))
            vocabulary.add(s)
    for triple in data.with_predicates(SCHEMA_PREDICATES):
        s, _p, o = triple
        if s not in reserved and is_reserved(o):
            offences.append(Offence(triple, f"redefines the ontology term {o}"))
            vocabulary.add(s)
    subjects = {s for s in all_subjects if isinstance(s, URIRef)} - reserved - vocabulary
    if not subjects:
        return offences
    ordered = sorted(subjects, key=str)  # rdflib's own ordering is slow
    described = _graphs_describing(store, ordered)
    foreign: set[URIRef] = set()
    reasons: dict[Node, str] = {}
    for subject, graphs in described.items():
        graphs = graphs - {INFERRED_GRAPH}
        if graphs & ONTOLOGY_GRAPHS:
            reasons[subject] = f"{subject} is an ontology term"
        elif graphs & REFERENCE_GRAPHS:
            reasons[subject] = f"{subject} is reference data"
        elif graphs - own_graphs:
            foreign.add(subject)
    if foreign and not steward.admin:
        lane = _in_lane(store, steward, sorted(foreign, key=str))
        for subject in foreign - lane:
            others = sorted(str(g) for g in described[subject] - own_graphs - {INFERRED_GRAPH})
            reasons[subject] = (
                f"{subject} belongs to another steward or source ({', '.join(others)}), "
                f"outside the lane of {steward.organisation}"
                + (f" and region {steward.region}" if steward.region else "")
            )
    if not steward.admin and steward.region is not None:
        placed = [
            (s, o)
            for s, _p, o in data.with_predicates({ICF.inRegion})
            if isinstance(s, URIRef) and isinstance(o, URIRef) and s in subjects and s not in described
        ]
        outside = _outside_region(store, steward, {o for _s, o in placed})
        for s, place in placed:
            if place in outside:
                reasons.setdefault(s, f"{s} is placed in {place}, outside region {steward.region}")
    offences += [Offence(t, reasons[t[0]]) for t in data.about(reasons)]
    return offences


def check_scope(
    store: KnowledgeStore, steward: Steward, data: ParsedTriples, *, own_graphs: frozenset[URIRef]
) -> None:
    """Refuse a submission with any triple outside the steward's lane.

    Raises:
        ForbiddenError: naming the offending triples (at most 50 listed, all counted).
    """
    offences = find_offences(store, steward, data, own_graphs=own_graphs)
    if not offences:
        return
    offences.sort(key=lambda o: (str(o.triple[0]), str(o.triple[1]), str(o.triple[2])))
    first = offences[0]
    listed = tuple(str(o) for o in offences[:MAX_LISTED])
    more = f" (first {MAX_LISTED} listed)" if len(offences) > MAX_LISTED else ""
    raise ForbiddenError(
        f"{len(offences)} triple(s) outside the lane of steward {steward.name!r} "
        f"({steward.organisation}{', region ' + steward.region if steward.region else ''}){more}; "
        f"first: {first}",
        listed,
    )
