"""Parsing RDF text with pyoxigraph's parsers (fast, exact error positions), keeping the triples as
pyoxigraph terms until someone needs rdflib ones.

The store package is the only one that imports pyoxigraph. A submission of 100k triples is parsed,
checked, validated in an in-memory pyoxigraph graph and written to the store without ever being
turned into rdflib objects as a whole: :class:`ParsedTriples` answers the questions the layers above
ask (its subjects, the IRIs it refers to, the triples with a given predicate or about given
subjects) from the pyoxigraph terms, converting only the answers. Iterating it yields rdflib
triples (converted once, on first use).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pyoxigraph as ox
from rdflib import Literal, URIRef
from rdflib.namespace import RDF
from rdflib.term import Node

from boostkg.errors import InputError, Location
from boostkg.store.base import RdfFormat, Term, Triple
from boostkg.store.terms import XSD_STRING, parse_error, to_oxigraph, to_rdflib

_OX_FORMATS = {
    RdfFormat.TURTLE: ox.RdfFormat.TURTLE,
    RdfFormat.NTRIPLES: ox.RdfFormat.N_TRIPLES,
    RdfFormat.JSONLD: ox.RdfFormat.JSON_LD,
    RdfFormat.RDFXML: ox.RdfFormat.RDF_XML,
}
_RDF_TYPE = ox.NamedNode(str(RDF.type))
_PLAIN = frozenset(
    {"http://www.w3.org/2001/XMLSchema#string", "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"}
)
OxTerm = ox.NamedNode | ox.BlankNode | ox.Literal


@contextmanager
def _quiet_rdflib_terms() -> Iterator[None]:
    """rdflib logs a traceback for every ill-typed literal it builds; we report them ourselves."""
    logger = logging.getLogger("rdflib.term")
    previous = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(previous)


@dataclass(eq=False)
class ParsedTriples:
    """The triples of one document (pyoxigraph quads in the default graph), its prefixes, and
    what one pass over them found: distinct subjects, typed subjects, objects and predicates.

    Iterating yields rdflib triples; ``len()`` is the number of distinct triples as parsed (a
    document that states a triple twice counts it twice, as the parser yields it).
    """

    quads: list[ox.Quad] = field(repr=False)
    prefixes: dict[str, str]
    _subjects: set[OxTerm] = field(repr=False)
    _typed: set[OxTerm] = field(repr=False)
    _objects: set[OxTerm] = field(repr=False)
    _predicates: set[ox.NamedNode] = field(repr=False)
    _classes: set[OxTerm] = field(repr=False)
    _rdflib: dict[OxTerm, Term] = field(default_factory=dict, repr=False)
    _triples: list[Triple] | None = field(default=None, repr=False)
    _typed_literals: list[tuple[ox.Literal, Literal]] | None = field(default=None, repr=False)

    @classmethod
    def of_quads(cls, quads: list[ox.Quad], prefixes: dict[str, str]) -> ParsedTriples:
        """Index ``quads`` (default-graph quads of plain terms) in one pass.

        Raises:
            InputError: a quoted triple (RDF-star) is used as a term.
        """
        subjects: set[OxTerm] = set()
        typed: set[OxTerm] = set()
        objects: set[OxTerm] = set()
        predicates: set[ox.NamedNode] = set()
        classes: set[OxTerm] = set()
        rdf_type = _RDF_TYPE
        if len(set(quads)) < len(quads):  # a triple stated twice is one triple
            quads = list(dict.fromkeys(quads))
        for s, p, o, _g in quads:
            subjects.add(s)
            predicates.add(p)
            if p == rdf_type:
                typed.add(s)
                classes.add(o)
            else:
                objects.add(o)
        for term in (*subjects, *objects, *classes):
            if not isinstance(term, ox.NamedNode | ox.BlankNode | ox.Literal):  # a quoted triple
                raise InputError(f"RDF-star triple terms are not accepted: {term}")
        return cls(quads, prefixes, subjects, typed, objects, predicates, classes)

    @classmethod
    def of_triples(cls, triples: Iterable[Triple], prefixes: dict[str, str] | None = None) -> ParsedTriples:
        """The same view of rdflib triples (for data built in code rather than parsed)."""
        default = ox.DefaultGraph()
        quads = [ox.Quad(to_oxigraph(s), to_oxigraph(p), to_oxigraph(o), default) for s, p, o in triples]  # type: ignore[arg-type]
        return cls.of_quads(quads, dict(prefixes or {}))

    # --- the whole, as rdflib ---------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.quads)

    def __iter__(self) -> Iterator[Triple]:
        if self._triples is None:
            term = self.term
            with _quiet_rdflib_terms():
                self._triples = [(term(s), term(p), term(o)) for s, p, o, _g in self.quads]
        return iter(self._triples)

    def term(self, term: OxTerm) -> Term:
        """The rdflib term of a pyoxigraph term (one object per distinct term)."""
        found = self._rdflib.get(term)
        if found is None:
            found = self._rdflib[term] = _as_written(term)
        return found

    # --- questions answered without converting the whole ------------------------------------------

    def subjects(self) -> set[Node]:
        """Every distinct subject."""
        return {self.term(s) for s in self._subjects}

    def iris(self) -> set[str]:
        """Every distinct IRI used as subject, predicate or object (classes included)."""
        return {
            t.value
            for group in (self._subjects, self._predicates, self._objects, self._classes)
            for t in group
            if isinstance(t, ox.NamedNode)
        }

    def referenced(self) -> frozenset[URIRef]:
        """IRIs used (as subject or object, classes aside) that the document does not type."""
        used = {t for t in (*self._subjects, *self._objects) if isinstance(t, ox.NamedNode)}
        return frozenset(URIRef(t.value) for t in used - self._typed)

    def ill_typed(self, also: Callable[[Literal], bool] | None = None) -> list[tuple[Triple, Literal]]:
        """For each distinct literal whose text is not in its datatype's lexical space (or that
        ``also`` refuses), the first triple holding it; in document order."""
        if self._typed_literals is None:
            with _quiet_rdflib_terms():
                self._typed_literals = [
                    (term, literal)
                    for term in self._objects
                    if isinstance(term, ox.Literal) and term.datatype.value not in _PLAIN
                    for literal in (_as_written(term),)
                    if isinstance(literal, Literal)
                ]
            self._rdflib.update(self._typed_literals)  # term() then never builds them (and logs) again
        bad = {t for t, lit in self._typed_literals if lit.ill_typed or (also is not None and also(lit))}
        if not bad:
            return []
        found: dict[ox.Literal, tuple[Triple, Literal]] = {}
        for s, p, o, _g in self.quads:
            if o in bad and o not in found:
                literal = self.term(o)
                assert isinstance(literal, Literal)
                found[o] = ((self.term(s), self.term(p), literal), literal)
        return list(found.values())

    def instances(self, classes: Collection[URIRef]) -> list[tuple[Node, URIRef]]:
        """(subject, class) for every ``rdf:type`` triple whose class is one of ``classes``."""
        wanted = {ox.NamedNode(str(c)) for c in classes} & self._classes
        if not wanted:
            return []
        rdf_type = _RDF_TYPE
        return [
            (self.term(s), URIRef(o.value))
            for s, p, o, _g in self.quads
            if p == rdf_type and o in wanted and isinstance(o, ox.NamedNode)
        ]

    def with_predicates(self, predicates: Collection[URIRef]) -> list[Triple]:
        """The triples whose predicate is one of ``predicates``."""
        wanted = {ox.NamedNode(str(p)) for p in predicates} & self._predicates
        if not wanted:
            return []
        term = self.term
        return [(term(s), term(p), term(o)) for s, p, o, _g in self.quads if p in wanted]

    def about(self, subjects: Collection[Node]) -> list[Triple]:
        """The triples whose subject is one of ``subjects``."""
        wanted = {to_oxigraph(s) for s in subjects} & self._subjects
        if not wanted:
            return []
        term = self.term
        return [(term(s), term(p), term(o)) for s, p, o, _g in self.quads if s in wanted]

    def quads_in(self, graph: URIRef, *, rename_blank_nodes: bool = True) -> list[ox.Quad]:
        """The triples as quads of ``graph``; blank nodes get fresh identifiers (a label such as
        ``_:a`` is local to its document and must not meet another document's ``_:a``)."""
        g = ox.NamedNode(str(graph))
        quad = ox.Quad
        if not rename_blank_nodes or not any(isinstance(s, ox.BlankNode) for s in self._subjects):
            return [quad(s, p, o, g) for s, p, o, _g in self.quads]
        fresh: dict[ox.BlankNode, ox.BlankNode] = {}

        def renamed(term: OxTerm) -> OxTerm:
            if not isinstance(term, ox.BlankNode):
                return term
            new = fresh.get(term)
            if new is None:
                new = fresh[term] = ox.BlankNode()
            return new

        return [quad(renamed(s), p, renamed(o), g) for s, p, o, _g in self.quads]  # type: ignore[arg-type]


def _as_written(term: OxTerm) -> Term:
    """The rdflib term of a parsed term, literals kept as written: rdflib would otherwise
    normalise ``"2020-01-01Z"^^xsd:date`` to ``"2020-01-01"``, merging two distinct literals, and
    reports would show values the steward never wrote."""
    if isinstance(term, ox.Literal) and not term.language and term.datatype.value != XSD_STRING:
        return Literal(term.value, datatype=URIRef(term.datatype.value), normalize=False)
    return to_rdflib(term)


def parse_triples(
    data: bytes, rdf_format: RdfFormat, *, source: str, base_iri: str | None = None
) -> ParsedTriples:
    """Parse a document of one graph (Turtle, N-Triples, JSON-LD or RDF/XML).

    Relative IRIs are an error unless ``base_iri`` is given; JSON-LD remote contexts are never
    fetched (a document that needs one fails).

    Raises:
        EncodingError: the data is not UTF-8 (with line and column).
        ParseError: the data is malformed (with line and column).
        InputError: the format cannot hold a single graph, the document names a graph, or uses
            RDF-star triple terms.
    """
    ox_format = _OX_FORMATS.get(rdf_format)
    if ox_format is None:
        raise InputError(f"{rdf_format.media_type} is not a single-graph format", Location(source))
    parser = ox.parse(data, ox_format, base_iri=base_iri, without_named_graphs=True)
    try:
        quads = list(parser)
    except SyntaxError as exc:
        raise parse_error(exc, source) from exc
    return ParsedTriples.of_quads(quads, dict(parser.prefixes))
