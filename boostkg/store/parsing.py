"""Parsing RDF text into rdflib triples with pyoxigraph's parsers (fast, exact error positions).

The store package is the only one that imports pyoxigraph; submissions are parsed here and
validated above with rdflib terms.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pyoxigraph as ox
from rdflib import Literal

from boostkg.errors import InputError, Location
from boostkg.store.base import RdfFormat, Term, Triple
from boostkg.store.embedded import parse_error, to_rdflib

_OX_FORMATS = {
    RdfFormat.TURTLE: ox.RdfFormat.TURTLE,
    RdfFormat.NTRIPLES: ox.RdfFormat.N_TRIPLES,
    RdfFormat.JSONLD: ox.RdfFormat.JSON_LD,
    RdfFormat.RDFXML: ox.RdfFormat.RDF_XML,
}


@dataclass(frozen=True)
class ParsedTriples:
    """The triples of one document, the prefixes it declares, and its ill-typed literals."""

    triples: list[Triple]
    prefixes: dict[str, str]
    ill_typed: list[tuple[Triple, Literal]]
    """Triples whose object is a literal whose text is not in its datatype's lexical space."""


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


def parse_triples(
    data: bytes, rdf_format: RdfFormat, *, source: str, base_iri: str | None = None
) -> ParsedTriples:
    """Parse a document of one graph (Turtle, N-Triples, JSON-LD or RDF/XML) into rdflib triples.

    Relative IRIs are an error unless ``base_iri`` is given; JSON-LD remote contexts are never
    fetched (a document that needs one fails).

    Raises:
        EncodingError: the data is not UTF-8 (with line and column).
        ParseError: the data is malformed (with line and column).
        InputError: the format cannot hold a single graph, or the document names a graph.
    """
    ox_format = _OX_FORMATS.get(rdf_format)
    if ox_format is None:
        raise InputError(f"{rdf_format.media_type} is not a single-graph format", Location(source))
    cache: dict[object, Term] = {}
    triples: list[Triple] = []
    ill_typed: list[tuple[Triple, Literal]] = []
    parser = ox.parse(data, ox_format, base_iri=base_iri, without_named_graphs=True)
    try:
        with _quiet_rdflib_terms():
            for quad in parser:
                s = cache.get(quad.subject)
                if s is None:
                    s = cache[quad.subject] = _term(quad.subject)
                p = cache.get(quad.predicate)
                if p is None:
                    p = cache[quad.predicate] = _term(quad.predicate)
                o = cache.get(quad.object)
                if o is None:
                    o = cache[quad.object] = _term(quad.object)
                triple = (s, p, o)
                triples.append(triple)
                if isinstance(o, Literal) and o.ill_typed:
                    ill_typed.append((triple, o))
    except SyntaxError as exc:
        raise parse_error(exc, source) from exc
    return ParsedTriples(triples, dict(parser.prefixes), ill_typed)


def _term(term: object) -> Term:
    if not isinstance(term, ox.NamedNode | ox.BlankNode | ox.Literal):
        raise InputError(f"RDF-star triple terms are not accepted: {term}")
    return to_rdflib(term)
