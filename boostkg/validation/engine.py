"""Validating a parsed submission against the shapes, in the context of the knowledge graph."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence

import pyshacl
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, SH, SKOS
from rdflib.term import Node

from boostkg.namespaces import ICF
from boostkg.store.base import KnowledgeStore, Triple
from boostkg.store.memory import MemoryGraph
from boostkg.validation.compiled import (
    CompiledShapes,
    UnsupportedShapeError,
    Violation,
    compile_shapes,
    run_checks,
)
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


def context_query(iris: Sequence[URIRef]) -> str:
    """One CONSTRUCT that fetches :data:`CONTEXT_PROPERTIES` of the given IRIs (VALUES, not text
    splicing of user strings: every IRI was parsed and checked as an absolute IRI).

    The subjects are bound first and their properties filtered, so that the store reads each
    subject's own triples from its subject index: the cost follows the number of IRIs, not the
    size of the store. (Binding the properties with a second VALUES made pyoxigraph 0.5 plan a
    join that was some 50 times slower on the bootstrapped store.)
    """
    subjects = " ".join(iri.n3() for iri in iris)
    properties = ", ".join(p.n3() for p in CONTEXT_PROPERTIES)
    return (
        "CONSTRUCT { ?s ?p ?o } WHERE { "
        f"VALUES ?s {{ {subjects} }} ?s ?p ?o FILTER(?p IN ({properties})) }}"
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


class Engine(enum.Enum):
    """How :func:`validate` evaluates the shapes."""

    AUTO = "auto"
    """The shapes compiled to SPARQL over an in-memory graph (:mod:`boostkg.validation.compiled`);
    pySHACL for any shape the compiler does not cover, or for the whole submission when a value
    needs it. The default."""
    PYSHACL = "pyshacl"
    """pySHACL alone: the reference the compiled engine is tested against."""


def validate(
    parsed: ParsedSubmission,
    shapes: Shapes,
    *,
    store: KnowledgeStore | None = None,
    reference: Graph | None = None,
    engine: Engine = Engine.AUTO,
) -> ValidationReport:
    """Validate a submission against the shapes (no inference), in context.

    The submission is validated together with what ``store`` (and/or an in-memory ``reference``
    graph, e.g. the shipped reference data) says about the IRIs it refers to but does not
    describe (:data:`CONTEXT_PROPERTIES`, fetched in batches), plus the ontology's subclass axioms,
    so that ``sh:class`` works across both; only nodes the submission describes are reported on.
    The cost grows with the submission, not with the store. ``parsed.graph`` is borrowed and left
    unchanged. Both engines give the same issues (tests/validation/test_engines.py).
    """
    context = fetch_context(parsed.referenced, store=store, reference=reference)
    added = [*context, *shapes.subclass_axioms]
    issues: list[Issue] = []
    compiled = _compiled(shapes) if engine is Engine.AUTO and _well_typed(parsed) else None
    if compiled is not None:
        memory = MemoryGraph(added, parsed=parsed.content)
        try:
            violations = run_checks(memory, compiled)
        except UnsupportedShapeError:
            issues.extend(_issues(_pyshacl_results(parsed.graph, added, shapes.graph), shapes, parsed))
        else:
            issues.extend(_compiled_issues(violations, shapes, parsed))
            if compiled.leftover is not None:
                results = _pyshacl_results(parsed.graph, added, compiled.leftover)
                issues.extend(_issues(results, shapes, parsed))
    else:
        issues.extend(_issues(_pyshacl_results(parsed.graph, added, shapes.graph), shapes, parsed))
    issues.sort(key=_issue_order)
    conforms = not any(i.severity is Severity.VIOLATION for i in issues)
    return ValidationReport(
        conforms=conforms, issues=tuple(issues), shapes_version=shapes.version, triples=parsed.triples
    )


_COMPILED: dict[int, tuple[Graph, CompiledShapes]] = {}


def _compiled(shapes: Shapes) -> CompiledShapes:
    """The shapes compiled once per shapes graph."""
    cached = _COMPILED.get(id(shapes.graph))
    if cached is not None and cached[0] is shapes.graph:
        return cached[1]
    compiled = compile_shapes(shapes.graph)
    _COMPILED[id(shapes.graph)] = (shapes.graph, compiled)
    return compiled


def _well_typed(parsed: ParsedSubmission) -> bool:
    """Whether every literal is valid for its datatype. pySHACL treats ill-typed literals
    specially; :func:`parse_submission` refuses them, but a submission built otherwise may hold
    some, and is then validated by pySHACL alone."""
    return not parsed.content.ill_typed()


def _pyshacl_results(graph: Graph, added: list[Triple], shapes_graph: Graph) -> Graph:
    """pySHACL's results graph for ``graph`` plus ``added`` (added in place, then removed)."""
    added = [t for t in added if t not in graph]  # the graph's own triples must stay
    for triple in added:
        graph.add(triple)
    try:
        _conforms, results, _text = pyshacl.validate(
            graph,
            shacl_graph=shapes_graph,
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
    return results


def _issue_order(issue: Issue) -> tuple[bool, int, str, str, str, str, str, str]:
    return (
        issue.severity is not Severity.VIOLATION,
        issue.line or 0,
        issue.focus,
        issue.path or "",
        issue.shape,
        issue.constraint,
        issue.value or "",
        issue.message,
    )


def _compiled_issues(violations: list[Violation], shapes: Shapes, parsed: ParsedSubmission) -> list[Issue]:
    manager = namespace_manager()
    outside = parsed.referenced
    paths: dict[Node, str] = {}
    names: dict[Node, str | None] = {}
    issues: list[Issue] = []
    for found in violations:
        if found.focus in outside:
            continue  # a node of the context, not of the submission
        check = found.check
        path = paths.get(check.path)
        if path is None:
            path = paths[check.path] = show_path(shapes.graph, check.path, manager)
        if check.shape not in names:
            name = shapes.graph.value(check.shape, SH.name)
            names[check.shape] = str(name) if name is not None else None
        line, column = parsed.position(found.focus)
        issues.append(
            Issue(
                severity=check.severity,
                focus=show_term(found.focus, manager),
                path=path,
                value=show_term(found.value, manager) if found.value is not None else None,
                shape=str(check.shape),
                shape_name=names[check.shape],
                constraint=check.constraint,
                message=check.message,
                line=line,
                column=column,
            )
        )
    return issues


def _issues(results: Graph, shapes: Shapes, parsed: ParsedSubmission) -> list[Issue]:
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
    return issues


def _default_message(component: Node | None) -> str:
    if isinstance(component, URIRef | Literal):
        return f"fails {str(component).removeprefix(str(SH))}"
    return "fails a shape"
