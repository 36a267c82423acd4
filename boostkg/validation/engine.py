"""Validating a parsed submission against the shapes, in the context of the knowledge graph."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pyshacl
import pyshacl.shape
from pyshacl.constraints import ALL_CONSTRAINT_PARAMETERS, CONSTRAINT_PARAMETERS_MAP
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, SH, SKOS
from rdflib.term import Node

from boostkg.namespaces import ICF
from boostkg.store.base import KnowledgeStore, Triple
from boostkg.validation.model import (
    Issue,
    Severity,
    ValidationReport,
    namespace_manager,
    show_path,
    show_term,
)
from boostkg.validation.parsing import ParsedSubmission
from boostkg.validation.shapes import Shapes

CONTEXT_PROPERTIES: tuple[URIRef, ...] = (
    RDF.type,
    SKOS.inScheme,
    SKOS.broader,
    RDFS.label,
    SKOS.prefLabel,
    ICF.nutsCode,
    ICF.nutsLevel,
    ICF.countryCode,
)
"""What validation fetches about each IRI a submission refers to but does not describe."""

CONTEXT_BATCH = 500
"""IRIs per CONSTRUCT query when fetching context."""


class _IndexedList(list[object]):
    """A list whose ``in`` test is a hash lookup (pySHACL only tests membership and copies it)."""

    def __init__(self, items: Iterable[object]) -> None:
        super().__init__(items)
        self._members = frozenset(self)

    def __contains__(self, item: object) -> bool:
        return item in self._members


def _index_pyshacl_constraint_parameters() -> None:
    """pySHACL scans a list of ~40 constraint parameters (each an rdflib ``__eq__``) for every
    predicate of a shape, every time a property shape is evaluated for a focus node: about a
    third of validation time. Pre-seeding its module cache with an indexed list of the same
    parameters makes that a hash lookup; what is validated does not change."""
    cached = getattr(pyshacl.shape, "CONSTRAINT_PARAMS", None)
    if cached is None or not isinstance(cached[0], _IndexedList):
        pyshacl.shape.CONSTRAINT_PARAMS = (  # type: ignore[attr-defined]
            _IndexedList(ALL_CONSTRAINT_PARAMETERS),
            CONSTRAINT_PARAMETERS_MAP,
        )


def context_query(iris: Sequence[URIRef]) -> str:
    """One CONSTRUCT that fetches :data:`CONTEXT_PROPERTIES` of the given IRIs (VALUES, not text
    splicing of user strings: every IRI was parsed and checked as an absolute IRI)."""
    subjects = " ".join(iri.n3() for iri in iris)
    properties = " ".join(p.n3() for p in CONTEXT_PROPERTIES)
    return (
        "CONSTRUCT { ?s ?p ?o } WHERE { "
        f"VALUES ?s {{ {subjects} }} VALUES ?p {{ {properties} }} ?s ?p ?o }}"
    )


def fetch_context(
    referenced: Iterable[URIRef], *, store: KnowledgeStore | None, reference: Graph | None
) -> list[Triple]:
    """The part of the knowledge graph (or of a reference graph) a submission refers to."""
    iris = sorted(referenced)
    triples: list[Triple] = []
    if store is not None:
        for start in range(0, len(iris), CONTEXT_BATCH):
            triples.extend(store.construct(context_query(iris[start : start + CONTEXT_BATCH])))
    if reference is not None:
        for iri in iris:
            for prop in CONTEXT_PROPERTIES:
                triples.extend((iri, prop, o) for o in reference.objects(iri, prop))
    return triples


def validate(
    parsed: ParsedSubmission,
    shapes: Shapes,
    *,
    store: KnowledgeStore | None = None,
    reference: Graph | None = None,
) -> ValidationReport:
    """Validate a submission with pySHACL (no inference), in context.

    The submission is validated together with what ``store`` (and/or an in-memory ``reference``
    graph, e.g. the shipped reference data) says about the IRIs it refers to but does not
    describe (:data:`CONTEXT_PROPERTIES`, fetched in batches), plus the ontology's subclass axioms,
    so that ``sh:class`` works across both; only nodes the submission describes are reported on.
    The cost grows with the submission, not with the store. ``parsed.graph`` is borrowed and left
    unchanged.
    """
    graph = parsed.graph
    triples = len(graph)
    context = fetch_context(parsed.referenced, store=store, reference=reference)
    added = [t for t in (*context, *shapes.subclass_axioms) if t not in graph]
    for triple in added:
        graph.add(triple)
    _index_pyshacl_constraint_parameters()
    try:
        _conforms, results, _text = pyshacl.validate(
            graph,
            shacl_graph=shapes.graph,
            inference="none",
            inplace=True,
            allow_warnings=True,
            allow_infos=True,
            advanced=False,
            meta_shacl=False,
        )
    finally:
        for triple in added:
            graph.remove(triple)
    assert isinstance(results, Graph)
    issues = _issues(results, shapes, parsed)
    conforms = not any(i.severity is Severity.VIOLATION for i in issues)
    return ValidationReport(conforms=conforms, issues=issues, shapes_version=shapes.version, triples=triples)


def _issues(results: Graph, shapes: Shapes, parsed: ParsedSubmission) -> tuple[Issue, ...]:
    manager = namespace_manager()
    outside = parsed.referenced
    issues: list[Issue] = []
    for result in results.objects(None, SH.result):  # top-level results, not nested sh:detail ones
        focus = results.value(result, SH.focusNode)
        if focus is None or focus in outside:
            continue  # a node of the context, not of the submission
        shape = results.value(result, SH.sourceShape)
        path = results.value(result, SH.resultPath)
        value = results.value(result, SH.value)
        component = results.value(result, SH.sourceConstraintComponent)
        message = results.value(result, SH.resultMessage)
        name = shapes.graph.value(shape, SH.name) if shape is not None else None
        line, column = parsed.position(focus)
        issues.append(
            Issue(
                severity=Severity.from_iri(results.value(result, SH.resultSeverity)),
                focus=show_term(focus, manager),
                path=show_path(results, path, manager) if path is not None else None,
                value=show_term(value, manager) if value is not None else None,
                shape=show_term(shape, manager) if shape is not None else "",
                shape_name=str(name) if name is not None else None,
                constraint=str(component).removeprefix(str(SH)) if component is not None else "",
                message=str(message) if message is not None else _default_message(component),
                line=line,
                column=column,
            )
        )
    issues.sort(
        key=lambda i: (i.severity is not Severity.VIOLATION, i.line or 0, i.focus, i.path or "", i.shape)
    )
    return tuple(issues)


def _default_message(component: Node | None) -> str:
    if isinstance(component, URIRef | Literal):
        return f"fails {str(component).removeprefix(str(SH))}"
    return "fails a shape"
