"""A throw-away in-memory graph for running many SPARQL queries over a small dataset quickly.

Validation loads a submission, the context it refers to and the ontology's subclass axioms into one
of these and runs the compiled shape queries over it. Nothing is persisted; no journal, no lock.

pyoxigraph stores numbers, dates and booleans in a canonical binary form, so ``"1.0"^^xsd:decimal``
would come back as ``"1"^^xsd:decimal`` and equal ``"1.00"^^xsd:decimal``. Validation must report
and count the terms exactly as submitted, so every typed literal other than an ``xsd:string`` is
stored with a *lexical* stand-in datatype (:func:`lexical_datatype`) that pyoxigraph keeps as text,
and mapped back on the way out. Queries that test a literal's datatype compare with the stand-in.
"""

from __future__ import annotations

from collections.abc import Iterable

import pyoxigraph as ox
from rdflib import Literal, URIRef
from rdflib.term import Node

from boostkg.errors import QueryError
from boostkg.store.base import Term, Triple
from boostkg.store.parsing import ParsedTriples
from boostkg.store.terms import XSD_STRING, to_oxigraph, to_rdflib

Row = tuple[Term | None, ...]

LEXICAL_PREFIX = "urn:x-boostkg:lexical:"


def lexical_datatype(datatype: str) -> str:
    """The datatype IRI a :class:`MemoryGraph` stores literals of ``datatype`` under."""
    return datatype if datatype == XSD_STRING else LEXICAL_PREFIX + datatype


def _to_ox(term: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    if isinstance(term, Literal) and term.datatype is not None and not term.language:
        return ox.Literal(str(term), datatype=ox.NamedNode(lexical_datatype(str(term.datatype))))
    return to_oxigraph(term)


def _from_ox(term: ox.NamedNode | ox.BlankNode | ox.Literal) -> Term:
    if isinstance(term, ox.Literal) and term.datatype.value.startswith(LEXICAL_PREFIX):
        datatype = URIRef(term.datatype.value.removeprefix(LEXICAL_PREFIX))
        return Literal(term.value, datatype=datatype, normalize=False)  # as written
    return to_rdflib(term)


class MemoryGraph:
    """One default graph in pyoxigraph's in-memory store, queried with SPARQL 1.1.

    Results come back as tuples of rdflib terms (``None`` where a variable is unbound), in the
    order of the query's variables; equal pyoxigraph terms map to the same rdflib object.
    """

    def __init__(self, triples: Iterable[Triple] = (), *, parsed: ParsedTriples | None = None) -> None:
        """A graph of ``parsed`` (a parsed document, taken as pyoxigraph terms without conversion)
        and ``triples`` (rdflib triples, e.g. context fetched from the store)."""
        self._store = ox.Store()
        quads: list[ox.Quad] = []
        if parsed is not None:
            quads.extend(_lexical_quads(parsed))
        quads.extend(_converted_quads(triples))
        self._store.extend(quads)
        self._from_ox: dict[object, Term] = {}

    def add(self, triples: Iterable[Triple]) -> None:
        """Add rdflib triples to the graph."""
        self._store.extend(_converted_quads(triples))

    def __len__(self) -> int:
        return len(self._store)

    def update(self, update: str) -> None:
        """Run a SPARQL 1.1 Update.

        Raises:
            QueryError: the update is malformed or fails.
        """
        try:
            self._store.update(update)
        except (SyntaxError, OSError, ValueError) as exc:
            raise QueryError(f"in-memory update failed: {exc}") from exc

    def select(self, query: str) -> list[Row]:
        """Run a SELECT query; one tuple of rdflib terms per solution.

        Raises:
            QueryError: the query is malformed or fails.
        """
        try:
            result = self._store.query(query)
        except (SyntaxError, OSError, ValueError) as exc:
            raise QueryError(f"in-memory query failed: {exc}") from exc
        if not isinstance(result, ox.QuerySolutions):
            raise QueryError("not a SELECT query")
        width = len(result.variables)
        cache = self._from_ox
        rows: list[Row] = []
        for solution in result:
            row: list[Term | None] = []
            for index in range(width):
                value = solution[index]
                if value is None:
                    row.append(None)
                    continue
                term = cache.get(value)
                if term is None:
                    term = cache[value] = _from_ox(value)
                row.append(term)
            rows.append(tuple(row))
        return rows


def _lexical_quads(parsed: ParsedTriples) -> list[ox.Quad]:
    """The parsed quads, with typed literals under their lexical stand-in datatypes (the quads
    without such a literal are reused as they are)."""
    stand_ins: dict[ox.Literal, ox.Literal] = {}
    quads: list[ox.Quad] = []
    append = quads.append
    literal_type = ox.Literal
    for quad in parsed.quads:
        o = quad.object
        if type(o) is not literal_type or o.language is not None:
            append(quad)
            continue
        datatype = o.datatype.value
        if datatype == XSD_STRING:
            append(quad)
            continue
        stand_in = stand_ins.get(o)
        if stand_in is None:
            stand_in = stand_ins[o] = ox.Literal(o.value, datatype=ox.NamedNode(LEXICAL_PREFIX + datatype))
        append(ox.Quad(quad.subject, quad.predicate, stand_in, quad.graph_name))
    return quads


def _converted_quads(triples: Iterable[Triple]) -> list[ox.Quad]:
    # Keyed by identity: rdflib's term hashing is slow and context triples share their terms. The
    # term itself is kept in the value so that its id stays unique.
    to_ox: dict[int, tuple[Node, ox.NamedNode | ox.BlankNode | ox.Literal]] = {}

    def convert(term: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
        known = to_ox[id(term)] = (term, _to_ox(term))
        return known[1]

    get = to_ox.get
    quad = ox.Quad
    default = ox.DefaultGraph()
    quads: list[ox.Quad] = []
    append = quads.append
    for s, p, o in triples:
        ks, kp, ko = get(id(s)), get(id(p)), get(id(o))
        append(
            quad(
                ks[1] if ks is not None else convert(s),  # type: ignore[arg-type]
                kp[1] if kp is not None else convert(p),  # type: ignore[arg-type]
                ko[1] if ko is not None else convert(o),
                default,
            )
        )
    return quads
