"""PROV-O records of loads, written to the metadata graph alongside the data they describe."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rdflib import Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, RDF, RDFS, VOID, XSD

import boostkg
from boostkg.namespaces import ICF, ID, SD
from boostkg.store.base import Triple

SOFTWARE_AGENT = ID[f"agent/boostkg-{boostkg.__version__}"]


@dataclass(frozen=True)
class LoadRecord:
    """What one load did: which source went into which graph, when, and how many triples."""

    graph: URIRef
    source: str
    sha256: str
    started: datetime
    ended: datetime
    triples: int
    activity: URIRef

    @property
    def seconds(self) -> float:
        return (self.ended - self.started).total_seconds()


def sha256_of(source: Path | bytes) -> str:
    """Hex SHA-256 of a file (streamed) or of bytes."""
    digest = hashlib.sha256()
    if isinstance(source, bytes):
        digest.update(source)
    else:
        with source.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def new_record(graph: URIRef, source: str, sha256: str, started: datetime, triples: int) -> LoadRecord:
    """A record for a load that has just finished."""
    return LoadRecord(
        graph=graph,
        source=source,
        sha256=sha256,
        started=started,
        ended=datetime.now(UTC),
        triples=triples,
        activity=ID[f"load/{uuid.uuid4()}"],
    )


def now() -> datetime:
    """The current time, timezone-aware (UTC)."""
    return datetime.now(UTC)


def record_triples(record: LoadRecord) -> list[Triple]:
    """The PROV-O description of a load (activity, source entity, generated graph)."""
    act = record.activity
    src = ID[f"source/sha256-{record.sha256}"]
    when = Literal(record.ended.isoformat(), datatype=XSD.dateTime)
    return [
        (act, RDF.type, ICF.Load),
        (act, RDF.type, PROV.Activity),
        (act, RDFS.label, Literal(f"Load of {Path(record.source).name} into {record.graph}")),
        (act, PROV.startedAtTime, Literal(record.started.isoformat(), datatype=XSD.dateTime)),
        (act, PROV.endedAtTime, when),
        (act, PROV.used, src),
        (act, PROV.generated, record.graph),
        (act, PROV.wasAssociatedWith, SOFTWARE_AGENT),
        (act, ICF.tripleCount, Literal(record.triples, datatype=XSD.integer)),
        (src, RDF.type, PROV.Entity),
        (src, DCTERMS.source, Literal(record.source)),
        (src, ICF.sha256, Literal(record.sha256)),
        (SOFTWARE_AGENT, RDF.type, PROV.SoftwareAgent),
        (SOFTWARE_AGENT, RDFS.label, Literal(f"boostkg {boostkg.__version__}")),
        (record.graph, RDF.type, SD.NamedGraph),
        (record.graph, PROV.wasGeneratedBy, act),
        (record.graph, DCTERMS.modified, when),
        (record.graph, VOID.triples, Literal(record.triples, datatype=XSD.integer)),
    ]


def forget_current_update(graph: URIRef, meta_graph: URIRef) -> str:
    """SPARQL Update that unlinks a graph from its previous load (the load records stay as history)."""
    return (
        f"DELETE {{ GRAPH <{meta_graph}> {{ <{graph}> ?p ?o }} }} "
        f"WHERE {{ GRAPH <{meta_graph}> {{ <{graph}> ?p ?o "
        f"FILTER(?p IN (<{PROV.wasGeneratedBy}>, <{DCTERMS.modified}>, <{VOID.triples}>)) }} }}"
    )
