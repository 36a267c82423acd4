"""Conversions between pyoxigraph and rdflib terms, and pyoxigraph's errors as boostkg's.

Shared by the store's modules (embedded, remote, parsing, memory); only boostkg/store/ imports
pyoxigraph.
"""

from __future__ import annotations

import re

import pyoxigraph as ox
from rdflib import BNode, Literal, URIRef
from rdflib.term import Node

from boostkg.errors import EncodingError, Location, ParseError, StoreError
from boostkg.store.base import Term

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def to_rdflib(term: ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple) -> Term:
    """Convert a pyoxigraph term to its rdflib equivalent."""
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        if term.datatype.value == XSD_STRING:
            return Literal(term.value)  # RDF 1.1: a simple literal is an xsd:string
        return Literal(term.value, datatype=URIRef(term.datatype.value))
    raise StoreError(f"RDF-star triple terms are not supported here: {term}")


def to_oxigraph(term: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """Convert an rdflib term to its pyoxigraph equivalent."""
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise StoreError(f"cannot store term {term!r}")


_PARSER_PREFIX = re.compile(r"^Parser error at line \d+ (?:column \d+|between columns \d+ and \d+): ")


def one_line(exc: BaseException) -> str:
    """An engine message on one line (pyoxigraph's query errors span several)."""
    return " ".join(str(exc).split())


def parse_error(exc: SyntaxError, source: str) -> ParseError:
    """Our ParseError (EncodingError for bad UTF-8), with pyoxigraph's line and column."""
    message = _PARSER_PREFIX.sub("", str(exc.msg if exc.msg else exc))
    location = Location(source, exc.lineno, exc.offset)
    if "UTF-8" in message:
        return EncodingError(f"not valid UTF-8 ({message})", location)
    return ParseError(message, location)
