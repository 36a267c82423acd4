"""The results of validating a submission: issues and the report, in text, JSON and Turtle."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, SH, XSD, NamespaceManager
from rdflib.term import Node
from rdflib.util import from_n3

from boostkg.namespaces import REPORT, prefixes


class Severity(enum.Enum):
    """The severity of a SHACL result; only violations reject a submission."""

    VIOLATION = "Violation"
    WARNING = "Warning"
    INFO = "Info"

    @property
    def iri(self) -> URIRef:
        """The SHACL severity IRI (``sh:Violation`` ...)."""
        return SH[self.value]

    @classmethod
    def from_iri(cls, iri: object) -> Severity:
        """The severity named by a SHACL severity IRI (unknown severities count as violations)."""
        for severity in cls:
            if iri == severity.iri:
                return severity
        return cls.VIOLATION


@dataclass(frozen=True)
class Issue:
    """One SHACL result, with where the focus node is written in the submitted file.

    ``focus`` is an IRI (or a ``_:`` blank-node label); ``value`` is an IRI, a ``_:`` label or a
    literal in Turtle form (``"abc"^^xsd:date``); ``path`` is the property path in prefixed form
    (``icf:pic``); ``shape`` is the IRI of the shape that failed and ``constraint`` the SHACL
    constraint component's local name (``MinCountConstraintComponent``).
    """

    severity: Severity
    focus: str
    path: str | None
    value: str | None
    shape: str
    shape_name: str | None
    constraint: str
    message: str
    line: int | None
    column: int | None

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict (severity as its SHACL local name)."""
        return {
            "severity": self.severity.value,
            "focus": self.focus,
            "path": self.path,
            "value": self.value,
            "shape": self.shape,
            "shapeName": self.shape_name,
            "constraint": self.constraint,
            "message": self.message,
            "line": self.line,
            "column": self.column,
        }


@dataclass(frozen=True)
class ValidationReport:
    """The outcome of validating one submission against the shapes."""

    conforms: bool
    """No violation (warnings and infos are allowed)."""
    issues: tuple[Issue, ...]
    shapes_version: str
    """The shapes' ``owl:versionInfo`` plus a SHA-256 prefix of the shape files."""
    triples: int
    """Triples in the submitted data (without the context fetched for validation)."""

    def violations(self) -> tuple[Issue, ...]:
        """The issues that reject the submission."""
        return tuple(i for i in self.issues if i.severity is Severity.VIOLATION)

    def warnings(self) -> tuple[Issue, ...]:
        """The issues that are reported but do not reject the submission."""
        return tuple(i for i in self.issues if i.severity is Severity.WARNING)

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict: conforms, counts, shapes version and every issue."""
        return {
            "conforms": self.conforms,
            "violations": len(self.violations()),
            "warnings": len(self.warnings()),
            "triples": self.triples,
            "shapesVersion": self.shapes_version,
            "issues": [issue.to_json() for issue in self.issues],
        }

    def to_graph(self) -> Graph:
        """The report as a ``sh:ValidationReport`` graph."""
        graph = Graph()
        for prefix, namespace in PREFIXES.items():
            graph.bind(prefix, namespace)
        report = BNode()
        graph.add((report, RDF.type, SH.ValidationReport))
        graph.add((report, SH.conforms, Literal(self.conforms)))
        for issue in self.issues:
            result = BNode()
            graph.add((report, SH.result, result))
            graph.add((result, RDF.type, SH.ValidationResult))
            graph.add((result, SH.resultSeverity, issue.severity.iri))
            graph.add((result, SH.focusNode, _term(issue.focus, graph)))
            if issue.path is not None:
                graph.add((result, SH.resultPath, _path(issue.path, graph)))
            if issue.value is not None:
                graph.add((result, SH.value, _term(issue.value, graph)))
            graph.add((result, SH.sourceShape, _term(issue.shape, graph)))
            graph.add((result, SH.sourceConstraintComponent, SH[issue.constraint]))
            graph.add((result, SH.resultMessage, Literal(issue.message)))
            if issue.line is not None:
                graph.add((result, _LINE, Literal(issue.line, datatype=XSD.positiveInteger)))
        return graph

    def to_turtle(self) -> str:
        """The report as Turtle (a ``sh:ValidationReport``).

        A path that is not a single property is given as its SPARQL text; the line of the focus
        node in the submitted file is given as ``report:line``.
        """
        return self.to_graph().serialize(format="turtle")

    def to_text(self, source_name: str) -> str:
        """What a person acts on: one block per issue, ``file:line:column``, then the details."""
        lines: list[str] = []
        for issue in self.issues:
            where = source_name
            if issue.line is not None:
                where += f":{issue.line}"
                if issue.column is not None:
                    where += f":{issue.column}"
            lines.append(f"{where}: {issue.severity.value.lower()}: {issue.message}")
            lines.append(f"    focus node: {issue.focus}")
            if issue.path is not None:
                lines.append(f"    path:       {issue.path}")
            if issue.value is not None:
                lines.append(f"    value:      {issue.value}")
            shape = issue.shape if issue.shape_name is None else f"{issue.shape_name} ({issue.shape})"
            lines.append(f"    shape:      {shape} [{issue.constraint}]")
        verdict = "conforms" if self.conforms else "does not conform"
        lines.append(
            f"{source_name}: {verdict}: {len(self.violations())} violation(s), "
            f"{len(self.warnings())} warning(s), {self.triples} triples, shapes {self.shapes_version}"
        )
        return "\n".join(lines) + "\n"


_LINE = REPORT.line
"""``report:line`` (see :data:`boostkg.namespaces.REPORT`): where the focus node is written."""

PREFIXES: dict[str, str] = prefixes(
    "icf", "rdf", "rdfs", "xsd", "sh", "skos", "org", "dcterms", "foaf", "schema", "prov", "owl", "report"
)
"""Prefixes used to write paths and values in issues (and bound in the Turtle report)."""


def namespace_manager() -> NamespaceManager:
    """A namespace manager with exactly :data:`PREFIXES` bound."""
    manager = NamespaceManager(Graph(), bind_namespaces="none")
    for prefix, namespace in PREFIXES.items():
        manager.bind(prefix, namespace)
    return manager


def show_term(term: Node, manager: NamespaceManager) -> str:
    """How an issue writes a term: IRIs in full, blank nodes as ``_:id``, literals in Turtle form."""
    if isinstance(term, URIRef):
        return str(term)
    if isinstance(term, BNode):
        return f"_:{term}"
    if isinstance(term, Literal):
        return term.n3(manager)
    return str(term)


def show_path(graph: Graph, path: Node | None, manager: NamespaceManager) -> str:
    """A SHACL property path in SPARQL property-path syntax with prefixed names."""
    if path is None:
        return ""
    if isinstance(path, URIRef):
        return path.n3(manager)
    if graph.value(path, RDF.first) is not None:
        return "/".join(show_path(graph, step, manager) for step in Collection(graph, path))
    for predicate, template in _PATH_FORMS:
        inner = graph.value(path, predicate)
        if inner is None:
            continue
        if predicate == SH.alternativePath:
            return "(" + "|".join(show_path(graph, p, manager) for p in Collection(graph, inner)) + ")"
        return template.format(show_path(graph, inner, manager))
    return str(path)


_PATH_FORMS = (
    (SH.inversePath, "^{}"),
    (SH.alternativePath, "{}"),
    (SH.oneOrMorePath, "{}+"),
    (SH.zeroOrMorePath, "{}*"),
    (SH.zeroOrOnePath, "{}?"),
)


def _term(text: str, graph: Graph) -> Node:
    if text.startswith("_:"):
        return BNode(text[2:])
    if text.startswith('"'):
        literal = from_n3(text, nsm=graph.namespace_manager)
        return literal if isinstance(literal, Literal) else Literal(text)
    return URIRef(text)


def _path(text: str, graph: Graph) -> Node:
    try:
        path = from_n3(text, nsm=graph.namespace_manager)
    except (KeyError, ValueError):
        return Literal(text)
    return path if isinstance(path, URIRef) and " " not in text else Literal(text)
