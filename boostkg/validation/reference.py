"""The shipped reference data (ontology, vocabularies, NUTS, EIS, seed) as a validation context.

Offline validation (no store) checks a submission's references against these files instead of
against a loaded knowledge graph.
"""

from __future__ import annotations

from pathlib import Path

from rdflib import Graph

from boostkg.errors import InputNotFoundError
from boostkg.store.base import RdfFormat
from boostkg.store.parsing import parse_triples

REFERENCE_FILES: tuple[str, ...] = (
    "ontology/icf.ttl",
    "ontology/themes.ttl",
    "ontology/vocab.ttl",
    "data/nuts-2024.ttl",
    "data/eis.ttl",
    "data/seed.ttl",
)
"""Relative to the project root; the same files the main job loads."""


def load_reference_graph(ontology_dir: Path, data_dir: Path) -> Graph:
    """Parse the shipped ontology and reference data into one in-memory graph.

    Raises:
        InputNotFoundError: one of the files is missing.
        ParseError: one of the files is malformed.
    """
    graph = Graph()
    for name in REFERENCE_FILES:
        folder, _, filename = name.partition("/")
        path = (ontology_dir if folder == "ontology" else data_dir) / filename
        if not path.is_file():
            raise InputNotFoundError(path)
        parsed = parse_triples(path.read_bytes(), RdfFormat.TURTLE, source=str(path))
        graph.addN((s, p, o, graph) for s, p, o in parsed)
    return graph
