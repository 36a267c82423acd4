"""The store interface every backend implements, and the plain results it returns.

Callers speak rdflib terms and these dataclasses; only the backends know their engine. The embedded
backend (pyoxigraph on disk) is the default; a remote SPARQL 1.1 server can implement the same
protocol.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from rdflib import BNode, Literal, URIRef
from rdflib.term import Node

from boostkg.errors import InputError

Term = URIRef | BNode | Literal
Triple = tuple[Node, Node, Node]


class RdfFormat(enum.Enum):
    """RDF serialisations the store reads and writes, with their media type and file suffixes."""

    TURTLE = ("text/turtle", (".ttl",))
    NTRIPLES = ("application/n-triples", (".nt",))
    NQUADS = ("application/n-quads", (".nq",))
    TRIG = ("application/trig", (".trig",))
    JSONLD = ("application/ld+json", (".jsonld", ".json"))
    RDFXML = ("application/rdf+xml", (".rdf", ".owl", ".xml"))

    def __init__(self, media_type: str, suffixes: tuple[str, ...]) -> None:
        self.media_type = media_type
        self.suffixes = suffixes

    @property
    def has_graphs(self) -> bool:
        """Whether the format carries graph names (N-Quads, TriG)."""
        return self in (RdfFormat.NQUADS, RdfFormat.TRIG)

    @classmethod
    def from_path(cls, path: Path) -> RdfFormat | None:
        """Guess the format from a file name (``None`` when the suffix is unknown)."""
        suffix = path.suffix.lower()
        for fmt in cls:
            if suffix in fmt.suffixes:
                return fmt
        return None

    @classmethod
    def from_name(cls, name: str) -> RdfFormat:
        """Parse a user-facing name (``turtle``, ``nt``, ``nquads``, ``trig``, ``jsonld``, ``xml``).

        Raises:
            InputError: the name is not a known format.
        """
        aliases = {
            "turtle": cls.TURTLE,
            "ttl": cls.TURTLE,
            "nt": cls.NTRIPLES,
            "ntriples": cls.NTRIPLES,
            "n-triples": cls.NTRIPLES,
            "nq": cls.NQUADS,
            "nquads": cls.NQUADS,
            "n-quads": cls.NQUADS,
            "trig": cls.TRIG,
            "jsonld": cls.JSONLD,
            "json-ld": cls.JSONLD,
            "xml": cls.RDFXML,
            "rdfxml": cls.RDFXML,
            "rdf/xml": cls.RDFXML,
        }
        try:
            return aliases[name.lower()]
        except KeyError:
            known = ", ".join(sorted(aliases))
            raise InputError(f"unknown RDF format {name!r}; use one of {known}") from None


class ResultFormat(enum.Enum):
    """SPARQL result serialisations for SELECT and ASK."""

    JSON = "application/sparql-results+json"
    XML = "application/sparql-results+xml"
    CSV = "text/csv"
    TSV = "text/tab-separated-values"


@dataclass(frozen=True)
class SelectResult:
    """The rows of a SELECT query: variable names in order, each row a dict of bound terms."""

    variables: tuple[str, ...]
    rows: tuple[dict[str, Term], ...]

    def __iter__(self) -> Iterator[dict[str, Term]]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict[str, Term]:
        return self.rows[index]

    def column(self, variable: str) -> list[Term | None]:
        """All values of one variable, ``None`` where unbound."""
        return [row.get(variable) for row in self.rows]


@dataclass(frozen=True)
class GraphStats:
    """A named graph and how many triples it holds."""

    graph: URIRef
    triples: int


class KnowledgeStore(Protocol):
    """What boostkg needs from a quad store. Every write goes to a named graph."""

    def select(self, query: str) -> SelectResult:
        """Run a SELECT query over the union of all graphs.

        Raises:
            QueryError: the query is malformed or fails.
        """
        ...

    def ask(self, query: str) -> bool:
        """Run an ASK query over the union of all graphs."""
        ...

    def construct(self, query: str) -> list[Triple]:
        """Run a CONSTRUCT or DESCRIBE query; return the triples."""
        ...

    def query_to(
        self, query: str, out: BinaryIO, *, result_format: ResultFormat, rdf_format: RdfFormat
    ) -> ResultFormat | RdfFormat:
        """Run any query and write its results to ``out``: SELECT/ASK in ``result_format``,
        CONSTRUCT/DESCRIBE in ``rdf_format``. Returns the format actually written."""
        ...

    def query_small(
        self, query: str, *, result_format: ResultFormat, base_iri: str | None, max_bytes: int
    ) -> bytes | None:
        """Run a SELECT/ASK over the union of all graphs; its serialised results, or ``None`` if it
        fails or they pass ``max_bytes`` (for the caller to run it where it can be stopped)."""
        ...

    def update(self, update: str) -> None:
        """Run a SPARQL 1.1 Update atomically."""
        ...

    def atomic(self) -> AbstractContextManager[None]:
        """Group the writes in the ``with`` block into one all-or-nothing unit.

        If the block raises, or the process dies inside it, the store is left (or, at the next
        open, restored) exactly as it was before the block.
        """
        ...

    def replace_graph(
        self, graph: URIRef, source: Path | bytes, rdf_format: RdfFormat, *, base_iri: str | None = None
    ) -> int:
        """Replace the content of ``graph`` with the triples parsed from ``source``; return their count.

        Raises:
            ParseError: the source is malformed (names line and column); nothing is changed.
        """
        ...

    def add_triples(self, graph: URIRef, triples: Iterable[Triple]) -> None:
        """Add triples to ``graph``."""
        ...

    def replace_graph_by_queries(self, graph: URIRef, queries: Sequence[str]) -> list[int]:
        """Replace ``graph`` with what the CONSTRUCT ``queries`` derive from all other graphs;
        return the number of triples each query produced. All or nothing."""
        ...

    def drop_graph(self, graph: URIRef) -> None:
        """Remove ``graph`` and all its triples (no error when it does not exist)."""
        ...

    def graphs(self) -> list[GraphStats]:
        """The named graphs with their triple counts, sorted by IRI."""
        ...

    def triple_count(self, graph: URIRef | None = None) -> int:
        """Triples in one graph, or quads in the whole store."""
        ...

    def dump(self, out: BinaryIO, rdf_format: RdfFormat, *, graph: URIRef | None = None) -> None:
        """Serialise one graph, or the whole dataset (union for triple formats)."""
        ...

    def close(self) -> None:
        """Release the store (flushes; further calls fail)."""
        ...
