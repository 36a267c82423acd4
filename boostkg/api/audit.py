"""PROV-O records of administrators' writes (SPARQL Update, Graph Store PUT/POST/DELETE) in graph/meta.

Each write is an ``icf:StoreWrite`` activity ``id/write/<uuid>``: ``icf:operation`` says which kind,
``prov:wasAssociatedWith`` the administrator (the same ``prov:Agent`` node a steward's submissions
use: name, token id, ``prov:actedOnBehalfOf`` the organisation) and boostkg, ``prov:startedAtTime``
/ ``prov:endedAtTime``, ``prov:used`` the request text or body (a ``prov:Entity`` with its
``icf:sha256`` and ``dcterms:format``), ``icf:targetGraph`` the graphs it names. A graph a PUT or
POST wrote is ``prov:wasGeneratedBy`` the write (with ``dcterms:modified`` and ``void:triples``, as
after a load: the earlier load's record stays, unlinked, as history); a graph a DELETE (or an
update) removed is ``prov:wasInvalidatedBy`` it. The record is written inside the write's own
``atomic()`` unit, after the data, so a write that fails or is refused leaves no record and a
recorded write is always there.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from rdflib import Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, PROV, RDF, RDFS, VOID, XSD

from boostkg.auth import Steward
from boostkg.ingest.provenance import SOFTWARE_AGENT, forget_current_update, sha256_of
from boostkg.ingest.submissions import steward_iri, steward_triples
from boostkg.namespaces import ICF, ID, META_GRAPH, SD
from boostkg.store import EmbeddedStore
from boostkg.store.base import Triple

WRITE = Namespace(ID["write/"])
SOURCE = Namespace(ID["source/"])


@dataclass
class StoreWriteRecord:
    """What one administrator's write did, filled in as it runs and written by :meth:`write`."""

    operation: str
    steward: Steward
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    sha256: str | None = None
    media_type: str | None = None
    targets: list[URIRef] = field(default_factory=list)
    default_graph: bool = False
    """Whether the write's target is the store's unnamed default graph."""
    generated: dict[URIRef, int | None] = field(default_factory=dict)
    """Graphs the write (re)generated, with their size afterwards when it was cheap to count."""
    removed: list[URIRef] = field(default_factory=list)
    triples: int | None = None
    activity: URIRef = field(default_factory=lambda: WRITE[str(uuid.uuid4())])

    def used(self, payload: bytes, media_type: str) -> None:
        """Note the request text or body the write used."""
        self.sha256 = sha256_of(payload)
        self.media_type = media_type

    def note_graph_changes(self, before: Iterable[URIRef], after: Iterable[URIRef]) -> None:
        """Graphs that appeared (generated) or disappeared (removed) between two listings."""
        old, new = set(before), set(after)
        for graph in sorted(new - old):
            self.generated.setdefault(graph, None)
        self.removed += sorted(old - new)

    def triples_of_record(self, ended: datetime) -> list[Triple]:
        act = self.activity
        agent = steward_iri(self.steward)
        when = Literal(ended.isoformat(), datatype=XSD.dateTime)
        where = "the default graph" if self.default_graph else ", ".join(f"<{g}>" for g in self.targets)
        label = f"{self.operation} by {self.steward.name}" + (f" ({where})" if where else "")
        triples: list[Triple] = [
            (act, RDF.type, ICF.StoreWrite),
            (act, RDF.type, PROV.Activity),
            (act, RDFS.label, Literal(label)),
            (act, ICF.operation, Literal(self.operation)),
            (act, PROV.startedAtTime, Literal(self.started.isoformat(), datatype=XSD.dateTime)),
            (act, PROV.endedAtTime, when),
            (act, PROV.wasAssociatedWith, agent),
            (act, PROV.wasAssociatedWith, SOFTWARE_AGENT),
            (SOFTWARE_AGENT, RDF.type, PROV.SoftwareAgent),
            *steward_triples(self.steward),
        ]
        if self.sha256 is not None:
            source = SOURCE[f"sha256-{self.sha256}"]
            triples += [
                (act, PROV.used, source),
                (source, RDF.type, PROV.Entity),
                (source, ICF.sha256, Literal(self.sha256)),
            ]
            if self.media_type:
                triples.append((source, DCTERMS.format, Literal(self.media_type)))
        if self.triples is not None:
            triples.append((act, ICF.tripleCount, Literal(self.triples, datatype=XSD.integer)))
        for graph in self.targets:
            triples.append((act, ICF.targetGraph, graph))
        for graph, size in self.generated.items():
            triples += [
                (act, PROV.generated, graph),
                (graph, RDF.type, SD.NamedGraph),
                (graph, PROV.wasGeneratedBy, act),
                (graph, DCTERMS.modified, when),
            ]
            if size is not None:
                triples.append((graph, VOID.triples, Literal(size, datatype=XSD.integer)))
        for graph in self.removed:
            triples += [(graph, PROV.wasInvalidatedBy, act), (graph, PROV.invalidatedAtTime, when)]
        return triples

    def write(self, store: EmbeddedStore) -> None:
        """Add the record to graph/meta; call inside the write's ``atomic()`` unit, after the data."""
        for graph in [*self.generated, *self.removed]:
            store.update(forget_current_update(graph, META_GRAPH))
        store.add_triples(META_GRAPH, self.triples_of_record(datetime.now(UTC)))
