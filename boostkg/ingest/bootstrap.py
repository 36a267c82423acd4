"""The main job's loading steps: ontology, vocabularies, reference and seed data, inferences."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rdflib import URIRef

from boostkg.ingest.inference import InferenceReport, materialise_from
from boostkg.ingest.loading import load_file
from boostkg.ingest.provenance import LoadRecord
from boostkg.namespaces import graph_iri
from boostkg.store.base import KnowledgeStore

ONTOLOGY_FILES = (("icf.ttl", "ontology"), ("vocab.ttl", "vocab"), ("themes.ttl", "themes"))
"""Ontology files and their graphs, in load order."""
REFERENCE_FIRST = ("nuts-2024.ttl",)
"""Data files other data files refer to (NUTS codes are checked against them)."""


@dataclass(frozen=True)
class BootstrapReport:
    """What the main job loaded and inferred."""

    loads: tuple[LoadRecord, ...]
    inference: InferenceReport


def project_files(ontology_dir: Path, data_dir: Path) -> list[tuple[Path, URIRef]]:
    """The repository's RDF files in load order, each with the graph it goes into.

    Ontology files first, then the NUTS reference graph, then every other ``data/*.ttl`` (sorted),
    each into ``graph/<file stem>``. ``data/examples/`` (submissions) is not loaded.
    """
    files = [(ontology_dir / name, graph_iri(graph)) for name, graph in ONTOLOGY_FILES]
    files = [(p, g) for p, g in files if p.exists()]
    data = sorted(data_dir.glob("*.ttl"), key=lambda p: (p.name not in REFERENCE_FIRST, p.name))
    files += [(path, graph_iri(path.stem)) for path in data]
    return files


def bootstrap(
    store: KnowledgeStore,
    *,
    ontology_dir: Path,
    data_dir: Path,
    on_load: Callable[[LoadRecord], None] | None = None,
) -> BootstrapReport:
    """Load the ontology and the repository's data into their graphs, then materialise inferences.

    Raises:
        ParseError, UnknownTermError, ...: a shipped file is broken (names file and line).
    """
    loads = []
    for path, graph in project_files(ontology_dir, data_dir):
        record = load_file(store, path, graph, source_label=str(path.relative_to(path.parent.parent)))
        loads.append(record)
        if on_load is not None:
            on_load(record)
    inference = materialise_from(store, ontology_dir / "rules")
    return BootstrapReport(tuple(loads), inference)
