"""A matching run written back into the graph, in its own named graph ``graph/matching/<run-id>``.

The graph holds the run (an ``icf:MatchingRun``, a ``prov:Activity`` with start and end times,
parameters and the graphs it used), the corridor it matched (an ``icf:Corridor`` with its
source and target places and themes), and one ``icf:CandidatePartnership`` per candidate
(source, target, rank, score, named score components, explanation, evidence). Dropping the graph
removes the run entirely.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from hashlib import sha256

import pycountry
from rdflib import Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, RDF, RDFS, SKOS, XSD

from boostkg.analysis.corridor import Corridor
from boostkg.analysis.matching import MatchResult
from boostkg.namespaces import COUNTRY, ICF, ID, META_GRAPH, NUTS, graph_iri
from boostkg.store import KnowledgeStore, RdfFormat, Triple

MATCHING_GRAPH_PREFIX = "matching/"
_COUNTRY_ALPHA3 = {"EL": "GRC", "UK": "GBR"}


@dataclass(frozen=True)
class SavedRun:
    """Where a run went: its id, named graph, run IRI and how many triples it wrote."""

    run_id: str
    graph: URIRef
    run: URIRef
    triples: int


def run_id_for(result: MatchResult) -> str:
    """``<UTC time>-<8 hex digits>``: sortable and unique per corridor and parameters.

    >>> from datetime import UTC
    >>> from boostkg.analysis.matching import MatchResult
    >>> r = MatchResult(Corridor(("DK",), ("RO",)), (), {"top": 1}, (2014, 2018), 1, 1,
    ...                 generated=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    >>> run_id_for(r)[:16]
    '20260102T030405Z'
    """
    digest = sha256(
        json.dumps([result.corridor.describe(), result.parameters], sort_keys=True, default=str).encode()
    ).hexdigest()[:8]
    return f"{result.generated:%Y%m%dT%H%M%SZ}-{digest}"


def place_iri(code: str) -> URIRef:
    """The IRI of a side's code: the EU country authority for two-letter codes, else NUTS.

    >>> str(place_iri("EL")), str(place_iri("RO11"))
    ('http://publications.europa.eu/resource/authority/country/GRC', 'http://data.europa.eu/nuts/code/RO11')
    """
    if len(code) == 2:
        alpha3 = _COUNTRY_ALPHA3.get(code)
        if alpha3 is None:
            country = pycountry.countries.get(alpha_2=code)
            alpha3 = country.alpha_3 if country is not None else None
        if alpha3:
            return COUNTRY[alpha3]
    return NUTS[code]


def _decimal(value: float) -> Literal:
    return Literal(f"{value:.4f}", datatype=XSD.decimal)


def run_triples(
    result: MatchResult, run_id: str, *, started: datetime, inputs: list[URIRef]
) -> Iterator[Triple]:
    """The triples of one run (see the module docstring)."""
    run = ID[f"matching-run/{run_id}"]
    corridor = ID[f"corridor/matching-{run_id}"]
    yield run, RDF.type, ICF.MatchingRun
    yield run, RDFS.label, Literal(f"Partner matching {result.corridor.describe()}", lang="en")
    yield run, PROV.startedAtTime, Literal(started.isoformat(), datatype=XSD.dateTime)
    yield run, PROV.endedAtTime, Literal(result.generated.isoformat(), datatype=XSD.dateTime)
    yield run, ICF.matchedCorridor, corridor
    yield run, PROV.used, corridor
    for graph in inputs:
        yield run, PROV.used, graph
    yield from _corridor_triples(result.corridor, corridor)
    parameters: dict[str, object] = {
        **result.parameters,
        "data_years": f"{result.data_years[0]}-{result.data_years[1]}",
        "source_actors": result.source_actors,
        "target_actors": result.target_actors,
    }
    for name, value in parameters.items():
        node = URIRef(f"{run}#parameter-{name}")
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        yield run, ICF.hasRunParameter, node
        yield node, RDF.type, ICF.RunParameter
        yield node, SKOS.notation, Literal(name)
        yield node, ICF.parameterValue, Literal(text)
    for n, cand in enumerate(result.candidates, start=1):
        node = URIRef(f"{run}/candidate-{n}")
        yield node, RDF.type, ICF.CandidatePartnership
        yield node, PROV.wasGeneratedBy, run
        yield node, ICF.candidateSource, URIRef(cand.source)
        yield node, ICF.candidateTarget, URIRef(cand.target)
        yield node, ICF.candidateRank, Literal(str(max(cand.rank, 1)), datatype=XSD.positiveInteger)
        yield node, ICF.matchScore, _decimal(cand.score)
        if cand.explanation:
            yield node, DCTERMS.description, Literal(cand.explanation, lang="en")
        for name, value in cand.components.items():
            comp = URIRef(f"{node}#{name}")
            yield node, ICF.hasScoreComponent, comp
            yield comp, RDF.type, ICF.ScoreComponent
            yield comp, SKOS.notation, Literal(name)
            yield comp, ICF.componentValue, _decimal(value)
        evidence = cand.evidence
        for prop, key in (
            (ICF.sharedPartner, "shared_partners"),
            (ICF.evidenceCollaboration, "projects"),
            (ICF.evidenceTheme, "themes"),
            (ICF.complementaryCapability, "capabilities"),
        ):
            for iri in evidence.get(key, []):
                yield node, prop, URIRef(iri)


def _corridor_triples(corridor: Corridor, node: URIRef) -> Iterator[Triple]:
    yield node, RDF.type, ICF.Corridor
    yield node, RDFS.label, Literal(f"Matched corridor {corridor.describe()}", lang="en")
    for code in corridor.sources:
        yield node, ICF.corridorSource, place_iri(code)
    for code in corridor.targets:
        yield node, ICF.corridorTarget, place_iri(code)
    for theme in corridor.themes:
        yield node, ICF.hasTheme, URIRef(theme)


def save_run(store: KnowledgeStore, result: MatchResult, *, started: datetime | None = None) -> SavedRun:
    """Write ``result`` into its own named graph (all or nothing) and return where it went.

    Raises:
        StoreError: the store cannot be written.
    """
    run_id = run_id_for(result)
    graph = graph_iri(MATCHING_GRAPH_PREFIX + run_id)
    prefix = str(graph_iri(MATCHING_GRAPH_PREFIX))
    inputs = [
        g.graph for g in store.graphs() if not str(g.graph).startswith(prefix) and g.graph != META_GRAPH
    ]
    lines = [
        f"{s.n3()} {p.n3()} {o.n3()} .\n"
        for s, p, o in run_triples(result, run_id, started=started or result.generated, inputs=inputs)
    ]
    count = store.replace_graph(graph, "".join(lines).encode("utf-8"), RdfFormat.NTRIPLES)
    return SavedRun(run_id, graph, ID[f"matching-run/{run_id}"], count)
