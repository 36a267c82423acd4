"""Stewards' submission records: their PROV-O description in graph/meta, and reading them back.

A submission ``<id>`` puts its data in ``graph/submission/<id>`` and, in ``graph/meta``, the
activity ``id/submission/<id>`` (an ``icf:Load``) that generated that graph, used the source file
(name, SHA-256, the shapes version it conforms to) and was associated with the steward (a
``prov:Agent`` acting on behalf of their organisation). Nothing else records a submission: its
status is read from the graph's history — ``prov:wasInvalidatedBy`` a later submission (replaced)
or a withdrawal activity (withdrawn) — so the record and the data always commit together.
"""

from __future__ import annotations

import enum
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from rdflib import Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, FOAF, PROV, RDF, RDFS, VOID, XSD

from boostkg.auth import Steward
from boostkg.errors import NotFoundError
from boostkg.ingest.provenance import SOFTWARE_AGENT
from boostkg.namespaces import ICF, ID, META_GRAPH, SD, graph_iri, sparql_prologue
from boostkg.store.base import KnowledgeStore, Term, Triple

SUBMISSION = Namespace(ID["submission/"])
STEWARD = Namespace(ID["steward/"])
WITHDRAWAL = Namespace(ID["withdrawal/"])
SHAPES = Namespace(ID["shapes/"])
SOURCE = Namespace(ID["source/"])
SUBMISSION_GRAPHS = Namespace(graph_iri("submission/"))
RECORD_NAMESPACES = (SUBMISSION, STEWARD, WITHDRAWAL, SHAPES, SOURCE)
"""Where the records' own nodes live; stewards may not describe them."""


class Status(enum.Enum):
    """Where a submission stands. ``rejected`` ones are never stored; the API reports them."""

    accepted = "accepted"
    replaced = "replaced"
    withdrawn = "withdrawn"
    rejected = "rejected"


@dataclass(frozen=True)
class SubmissionRecord:
    """One submission as recorded in graph/meta."""

    id: str
    graph: URIRef
    steward: str
    steward_token: str
    organisation: URIRef
    submitted: datetime
    source: str
    sha256: str
    shapes_version: str | None
    triples: int
    dataset: URIRef | None
    replaces: str | None
    status: Status
    ended: datetime | None
    """When it was replaced or withdrawn."""
    ended_by: str | None
    """The submission that replaced it, or the withdrawing steward."""

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "status": self.status.value,
            "graph": str(self.graph),
            "steward": self.steward,
            "organisation": str(self.organisation),
            "submitted": self.submitted.isoformat(),
            "source": self.source,
            "sha256": self.sha256,
            "shapes_version": self.shapes_version,
            "triples": self.triples,
            "dataset": str(self.dataset) if self.dataset else None,
            "replaces": self.replaces,
            "ended": self.ended.isoformat() if self.ended else None,
            "ended_by": self.ended_by,
        }


_ID = re.compile(r"^[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$")


def new_submission_id(when: datetime) -> str:
    """A fresh id that sorts by time: ``20250131-142501-3fa9c2``."""
    return f"{when:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def submission_graph(submission_id: str) -> URIRef:
    return SUBMISSION_GRAPHS[submission_id]


def submission_iri(submission_id: str) -> URIRef:
    return SUBMISSION[submission_id]


def steward_iri(steward: Steward) -> URIRef:
    return STEWARD[steward.token_id]


def _dt(value: datetime) -> Literal:
    return Literal(value.isoformat(), datatype=XSD.dateTime)


def _int(value: int) -> Literal:
    return Literal(value, datatype=XSD.integer)


def steward_triples(steward: Steward) -> list[Triple]:
    agent = steward_iri(steward)
    return [
        (agent, RDF.type, PROV.Agent),
        (agent, FOAF.name, Literal(steward.name)),
        (agent, DCTERMS.identifier, Literal(steward.token_id)),
        (agent, PROV.actedOnBehalfOf, steward.organisation),
    ]


@dataclass(frozen=True)
class NewSubmission:
    """What the pipeline knows about an accepted submission when it records it."""

    id: str
    steward: Steward
    source: str
    sha256: str
    shapes_version: str
    triples: int
    started: datetime
    ended: datetime
    dataset: URIRef | None
    replaces: SubmissionRecord | None


def record_triples(new: NewSubmission) -> list[Triple]:
    """The PROV-O record of an accepted submission (and, if it replaces one, of that)."""
    act = submission_iri(new.id)
    graph = submission_graph(new.id)
    agent = steward_iri(new.steward)
    src = SOURCE[f"sha256-{new.sha256}"]
    shapes = SHAPES[quote(new.shapes_version, safe="")]
    when = _dt(new.ended)
    triples: list[Triple] = [
        (act, RDF.type, ICF.Load),
        (act, RDF.type, PROV.Activity),
        (act, RDFS.label, Literal(f"Submission {new.id}: {new.source} by {new.steward.name}")),
        (act, DCTERMS.identifier, Literal(new.id)),
        (act, PROV.startedAtTime, _dt(new.started)),
        (act, PROV.endedAtTime, when),
        (act, PROV.used, src),
        (act, PROV.generated, graph),
        (act, PROV.wasAssociatedWith, agent),
        (act, PROV.wasAssociatedWith, SOFTWARE_AGENT),
        (act, ICF.tripleCount, _int(new.triples)),
        (src, RDF.type, PROV.Entity),
        (src, DCTERMS.source, Literal(new.source)),
        (src, ICF.sha256, Literal(new.sha256)),
        (src, DCTERMS.conformsTo, shapes),
        (shapes, RDF.type, PROV.Entity),
        (shapes, DCTERMS.identifier, Literal(new.shapes_version)),
        (shapes, RDFS.label, Literal(f"boostkg submission shapes, version {new.shapes_version}")),
        (graph, RDF.type, SD.NamedGraph),
        (graph, PROV.wasGeneratedBy, act),
        (graph, PROV.wasAttributedTo, agent),
        (graph, DCTERMS.modified, when),
        (graph, VOID.triples, _int(new.triples)),
        *steward_triples(new.steward),
    ]
    if new.dataset is not None:
        triples.append((graph, DCTERMS.subject, new.dataset))
    if new.replaces is not None:
        triples += [
            (graph, PROV.wasRevisionOf, new.replaces.graph),
            (new.replaces.graph, PROV.wasInvalidatedBy, act),
            (new.replaces.graph, PROV.invalidatedAtTime, when),
        ]
    return triples


def withdrawal_triples(record: SubmissionRecord, steward: Steward, when: datetime) -> list[Triple]:
    """The record of a withdrawal: the graph is gone, its history says who removed it and when."""
    act = WITHDRAWAL[record.id]
    return [
        (act, RDF.type, PROV.Activity),
        (act, RDFS.label, Literal(f"Withdrawal of submission {record.id} by {steward.name}")),
        (act, PROV.atTime, _dt(when)),
        (act, PROV.wasAssociatedWith, steward_iri(steward)),
        (record.graph, PROV.wasInvalidatedBy, act),
        (record.graph, PROV.invalidatedAtTime, _dt(when)),
        *steward_triples(steward),
    ]


_LIST_QUERY = (
    sparql_prologue(("prov", "dcterms", "foaf", "icf"))
    + f"""\
SELECT ?id ?graph ?name ?tid ?org ?ended ?source ?sha ?shapes ?n ?dataset ?prevId
       ?invAt ?invId ?invName
WHERE {{ GRAPH <{META_GRAPH}> {{
  ?sub a icf:Load ; dcterms:identifier ?id ; prov:generated ?graph ; prov:endedAtTime ?ended ;
       icf:tripleCount ?n ; prov:used ?src ; prov:wasAssociatedWith ?agent .
  FILTER(STRSTARTS(STR(?sub), "{SUBMISSION}"))
  ?agent prov:actedOnBehalfOf ?org ; foaf:name ?name ; dcterms:identifier ?tid .
  ?src dcterms:source ?source ; icf:sha256 ?sha .
  OPTIONAL {{ ?src dcterms:conformsTo/dcterms:identifier ?shapes }}
  OPTIONAL {{ ?graph dcterms:subject ?dataset }}
  OPTIONAL {{ ?graph prov:wasRevisionOf ?prev . ?prevSub prov:generated ?prev ; a icf:Load ;
              dcterms:identifier ?prevId }}
  OPTIONAL {{ ?graph prov:invalidatedAtTime ?invAt ; prov:wasInvalidatedBy ?inv .
              OPTIONAL {{ ?inv a icf:Load ; dcterms:identifier ?invId }}
              OPTIONAL {{ ?inv prov:wasAssociatedWith/foaf:name ?invName }} }}
  __FILTER__
}} }}
ORDER BY ?ended ?id
"""
)


def _text(row: dict[str, Term], key: str) -> str | None:
    value = row.get(key)
    return str(value) if value is not None else None


def _record(row: dict[str, Term]) -> SubmissionRecord:
    inv_at = _text(row, "invAt")
    inv_id = _text(row, "invId")
    if inv_at is None:
        status = Status.accepted
    elif inv_id is not None:
        status = Status.replaced
    else:
        status = Status.withdrawn
    dataset = row.get("dataset")
    return SubmissionRecord(
        id=str(row["id"]),
        graph=URIRef(str(row["graph"])),
        steward=str(row["name"]),
        steward_token=str(row["tid"]),
        organisation=URIRef(str(row["org"])),
        submitted=datetime.fromisoformat(str(row["ended"])),
        source=str(row["source"]),
        sha256=str(row["sha"]),
        shapes_version=_text(row, "shapes"),
        triples=int(str(row["n"])),
        dataset=URIRef(str(dataset)) if isinstance(dataset, URIRef) else None,
        replaces=_text(row, "prevId"),
        status=status,
        ended=datetime.fromisoformat(inv_at) if inv_at else None,
        ended_by=inv_id or _text(row, "invName"),
    )


def _unique(records: list[SubmissionRecord]) -> list[SubmissionRecord]:
    seen: dict[str, SubmissionRecord] = {}
    for record in records:  # OPTIONAL paths may repeat a row (e.g. two names for one agent)
        seen.setdefault(record.id, record)
    return list(seen.values())


def list_submissions(
    store: KnowledgeStore,
    *,
    steward: str | None = None,
    organisation: URIRef | None = None,
    status: Status | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[SubmissionRecord]:
    """The recorded submissions, oldest first, filtered by steward name, organisation, status
    and submission time (``since`` inclusive, ``until`` exclusive)."""
    filters = []
    if organisation is not None:
        filters.append(f"FILTER(?org = <{organisation}>)")
    query = _LIST_QUERY.replace("__FILTER__", " ".join(filters))
    records = _unique([_record(row) for row in store.select(query)])
    return [
        r
        for r in records
        if (steward is None or r.steward == steward)
        and (status is None or r.status is status)
        and (since is None or r.submitted >= since)
        and (until is None or r.submitted < until)
    ]


def get_submission(store: KnowledgeStore, submission_id: str) -> SubmissionRecord:
    """One submission by id.

    Raises:
        NotFoundError: no submission has that id.
    """
    if not _ID.match(submission_id):
        raise NotFoundError(f"no submission {submission_id!r}")
    literal = Literal(submission_id).n3()
    query = _LIST_QUERY.replace("__FILTER__", f"FILTER(?id = {literal})")
    records = _unique([_record(row) for row in store.select(query)])
    if not records:
        raise NotFoundError(f"no submission {submission_id!r}")
    return records[0]


def current_of(store: KnowledgeStore, organisation: URIRef) -> list[SubmissionRecord]:
    """The accepted (current) submissions of an organisation."""
    return list_submissions(store, organisation=organisation, status=Status.accepted)
