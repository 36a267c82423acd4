"""Reading a steward's submission: media type, encoding, safety checks, triples and line numbers."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import XSD
from rdflib.term import Node

from boostkg.errors import EncodingError, InputError, Location, ParseError
from boostkg.store.base import RdfFormat, Triple
from boostkg.store.parsing import ParsedTriples, parse_triples

MAX_NESTING = 64
"""Deepest nesting of ``[ ]`` / ``( )`` (Turtle) or of objects and arrays (JSON-LD) accepted.

Deeper documents are refused with a message naming the line and column where the limit is
passed, before any parser or validator recurses over them."""

_MEDIA_TYPES: dict[str, RdfFormat] = {
    "text/turtle": RdfFormat.TURTLE,
    "application/x-turtle": RdfFormat.TURTLE,
    "application/n-triples": RdfFormat.NTRIPLES,
    "application/ld+json": RdfFormat.JSONLD,
    "application/json": RdfFormat.JSONLD,
    "application/rdf+xml": RdfFormat.RDFXML,
}
"""Media types a submission may have (parameters such as ``; charset=utf-8`` are ignored)."""

SUPPORTED_MEDIA_TYPES = tuple(_MEDIA_TYPES)

_ABSOLUTE_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`]*$")
_GYEAR = re.compile(r"^-?[0-9]{4,}(?:Z|[+-][0-9]{2}:[0-9]{2})?$")
_SUBJECT_TOKEN = re.compile(
    r"[ \t]*(<[^>\s]*>|_:[^\s;,()\[\]]+|[A-Za-z][\w\-.]*:[^\s;,()\[\]\"']*|:[^\s;,()\[\]\"']*)"
)
_TRAILING_COMMENT = re.compile(r"\s#[^\"'<>]*$")
_NESTING_TOKENS = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^\'\\]|\\.|\'(?!\'\'))*\'\'\''
    r'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|<[^>\n]*>|#[^\n]*|[\[\]()]',
    re.DOTALL,
)


def media_type_format(media_type: str) -> RdfFormat:
    """The RDF format of a media type (parameters ignored).

    Raises:
        InputError: the media type is not one a submission may have.
    """
    base = media_type.split(";", 1)[0].strip().lower()
    try:
        return _MEDIA_TYPES[base]
    except KeyError:
        known = ", ".join(SUPPORTED_MEDIA_TYPES)
        raise InputError(f"unsupported media type {base or '(none)'!r}; use one of {known}") from None


@dataclass(eq=False)
class ParsedSubmission:
    """A parsed submission: its triples, and where each subject is first written in the text.

    ``content`` holds the triples as the parser read them (pyoxigraph terms, converted to rdflib
    only on demand); ``graph`` is an rdflib graph of them, built on first use (pySHACL and callers
    that want rdflib). Validation borrows both and leaves them as it found them.
    """

    content: ParsedTriples = field(repr=False)
    source_name: str
    rdf_format: RdfFormat
    data: bytes = field(repr=False)
    prefixes: dict[str, str]

    @classmethod
    def of_graph(
        cls, graph: Graph, *, source_name: str, rdf_format: RdfFormat, data: bytes = b""
    ) -> ParsedSubmission:
        """A submission built in code rather than parsed (its literals are not checked)."""
        prefixes = {prefix: str(namespace) for prefix, namespace in graph.namespaces()}
        content = ParsedTriples.of_triples(graph, prefixes)
        return cls(content, source_name, rdf_format, data, prefixes)

    @property
    def triples(self) -> int:
        """Number of triples submitted."""
        return len(self.content)

    @cached_property
    def graph(self) -> Graph:
        """The submitted triples as an rdflib graph (built on first use)."""
        graph = Graph()
        graph.addN((s, p, o, graph) for s, p, o in self.content)
        for prefix, namespace in self.prefixes.items():
            graph.bind(prefix, namespace, override=True, replace=True)
        return graph

    @cached_property
    def referenced(self) -> frozenset[URIRef]:
        """IRIs the submission uses (as subject or object; classes aside) without typing them:
        things it refers to rather than describes. Validation fetches their context from the graph."""
        return self.content.referenced()

    @cached_property
    def positions(self) -> Mapping[Node, tuple[int, int]]:
        """Each subject -> (line, column) where it is first written as a subject (1-based).

        Found by a scan of the text, only when first asked for: Turtle and N-Triples subjects at
        the start of a statement; JSON-LD and RDF/XML nodes at the first line naming their IRI.
        Anonymous blank nodes (``[ ]``) have no entry.
        """
        if not self.data:
            return {}
        text = self.data.decode("utf-8")
        subjects = self.content.subjects()
        if self.rdf_format in (RdfFormat.TURTLE, RdfFormat.NTRIPLES):
            return _turtle_positions(text, subjects, self.prefixes)
        return _iri_positions(text, subjects)

    def position(self, node: Node) -> tuple[int | None, int | None]:
        """(line, column) of a subject, or (None, None) when it is not written as a subject."""
        found = self.positions.get(node)
        return found if found is not None else (None, None)


def parse_submission(data: bytes, *, media_type: str, source_name: str) -> ParsedSubmission:
    """Parse a submission safely.

    Turtle, N-Triples, JSON-LD (``@context`` must be inline: a remote context is never fetched)
    and RDF/XML (no DOCTYPE, so no external entities). Every IRI must be absolute and free of
    spaces; every literal must be valid for its datatype; nesting is limited to
    :data:`MAX_NESTING`.

    Raises:
        InputError: unsupported media type, empty body, a remote JSON-LD context, a DOCTYPE or
            ENTITY in RDF/XML, a relative or malformed IRI, an ill-typed literal, nesting too
            deep (each message names the term and, when known, the line).
        EncodingError: the body is not UTF-8 (with line and column of the first bad byte).
        ParseError: the body is malformed (with line and column).
    """
    rdf_format = media_type_format(media_type)
    text = _decode(data, source_name)
    if not text.strip():
        raise InputError("the submission is empty", Location(source_name))
    if rdf_format is RdfFormat.JSONLD:
        _check_jsonld(text, source_name)
    elif rdf_format is RdfFormat.RDFXML:
        _check_rdfxml(text, source_name)
    else:
        _check_nesting(text, source_name)
    content = parse_triples(data, rdf_format, source=source_name)
    submission = ParsedSubmission(content, source_name, rdf_format, data, dict(content.prefixes))
    _check_terms(submission)
    return submission


def _decode(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise EncodingError(
            f"not valid UTF-8: byte 0x{data[exc.start]:02x} cannot start or continue a character",
            Location(source, line, column),
        ) from exc


def _line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def _check_nesting(text: str, source: str) -> None:
    """Refuse Turtle nested deeper than MAX_NESTING (only scanned when it could be)."""
    if text.count("[") + text.count("(") <= MAX_NESTING:
        return
    depth = 0
    for match in _NESTING_TOKENS.finditer(text):
        token = match.group()
        if token in ("[", "("):
            depth += 1
            if depth > MAX_NESTING:
                line, column = _line_col(text, match.start())
                raise InputError(
                    f"blank nodes or RDF lists are nested deeper than {MAX_NESTING} levels",
                    Location(source, line, column),
                )
        elif token in ("]", ")"):
            depth = max(depth - 1, 0)


def _check_jsonld(text: str, source: str) -> None:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"malformed JSON: {exc.msg}", Location(source, exc.lineno, exc.colno)) from exc
    except RecursionError as exc:
        raise InputError(f"JSON nested deeper than {MAX_NESTING} levels", Location(source)) from exc
    stack: list[tuple[object, int]] = [(document, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING:
            raise InputError(f"JSON-LD nested deeper than {MAX_NESTING} levels", Location(source))
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("@context", "@import"):
                    _check_context(value, text, source)
                stack.append((value, depth + 1))
        elif isinstance(node, list):
            stack.extend((item, depth + 1) for item in node)


def _check_context(value: object, text: str, source: str) -> None:
    """A JSON-LD context must be inline: a string (a URL) would have to be fetched."""
    items = value if isinstance(value, list) else [value]
    for item in items:
        if isinstance(item, str):
            offset = text.find(json.dumps(item))
            line, column = _line_col(text, offset) if offset >= 0 else (None, None)
            raise InputError(
                f"remote JSON-LD context {item!r} is not fetched; put the context inline",
                Location(source, line, column),
            )
        if isinstance(item, dict) and "@import" in item:
            _check_context(item["@import"], text, source)


def _check_rdfxml(text: str, source: str) -> None:
    for keyword in ("<!DOCTYPE", "<!ENTITY"):
        offset = text.upper().find(keyword)
        if offset >= 0:
            line, column = _line_col(text, offset)
            raise InputError(
                f"RDF/XML with {keyword[2:]} declarations is refused (no DTDs or external entities)",
                Location(source, line, column),
            )


def _check_terms(submission: ParsedSubmission) -> None:
    """Every IRI absolute and well-formed; every literal valid for its datatype."""
    content = submission.content
    for iri in sorted(content.iris()):
        if not _ABSOLUTE_IRI.match(iri):
            term = URIRef(iri)
            about = content.about([term]) or [t for t in content if term in t]
            raise InputError(
                f"IRI <{iri}> is not absolute or has characters not allowed in IRIs (e.g. spaces)",
                _where(submission, about[0]),
            )
    bad_literals = content.ill_typed(also=_bad_gyear)
    if bad_literals:
        triple, literal = bad_literals[0]
        more = f" (and {len(bad_literals) - 1} more)" if len(bad_literals) > 1 else ""
        raise InputError(
            f"literal {literal.n3(submission.graph.namespace_manager)} is not a valid value "
            f"of its datatype{more}",
            _where(submission, triple),
        )


def _bad_gyear(literal: Literal) -> bool:
    """rdflib accepts some years XML Schema does not (e.g. ``"24"``); so does not this check."""
    return literal.datatype == XSD.gYear and not _GYEAR.match(literal)


def _where(submission: ParsedSubmission, triple: Triple) -> Location:
    line, column = submission.position(triple[0])
    return Location(submission.source_name, line, column)


def _turtle_positions(
    text: str, subjects: set[Node], prefixes: dict[str, str]
) -> dict[Node, tuple[int, int]]:
    """Subjects at the start of a statement: the first token of a line that follows a line ending
    a statement (``.``), a directive, or nothing."""
    found: dict[Node, tuple[int, int]] = {}
    at_statement_start = True
    for number, line in enumerate(text.splitlines(), start=1):
        content = _TRAILING_COMMENT.sub("", line).rstrip()
        if not content or content.lstrip().startswith("#"):
            continue
        if at_statement_start:
            match = _SUBJECT_TOKEN.match(line)
            if match is not None:
                node = _resolve(match.group(1), prefixes)
                if node is not None and node in subjects and node not in found:
                    found[node] = (number, match.start(1) + 1)
                    if len(found) == len(subjects):
                        break
        at_statement_start = content.endswith(".") or content.lstrip().lower().startswith(
            ("@prefix", "@base", "prefix", "base")
        )
    return found


def _resolve(token: str, prefixes: dict[str, str]) -> Node | None:
    if token.startswith("<"):
        return URIRef(token[1:-1])
    if token.startswith("_:"):
        return BNode(token[2:].rstrip("."))
    prefix, _, local = token.partition(":")
    namespace = prefixes.get(prefix)
    if namespace is None:
        return None
    return URIRef(namespace + local.rstrip(".").replace("\\", ""))


def _iri_positions(text: str, subjects: set[Node]) -> dict[Node, tuple[int, int]]:
    found: dict[Node, tuple[int, int]] = {}
    lines = text.splitlines()
    for subject in subjects:
        if not isinstance(subject, URIRef):
            continue
        needle = f'"{subject}"'
        for number, line in enumerate(lines, start=1):
            column = line.find(needle)
            if column >= 0:
                found[subject] = (number, column + 1)
                break
    return found
