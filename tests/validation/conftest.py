"""Fixtures of the validation tests: the shapes (parsed once) and the shipped reference graph."""

from __future__ import annotations

import pytest
from rdflib import Graph

from boostkg.config import Settings
from boostkg.validation import Shapes, load_reference_graph, load_shapes


@pytest.fixture(scope="session")
def shapes() -> Shapes:
    """The project's shapes (shapes/*.ttl) with the ontology's class hierarchy."""
    settings = Settings()
    return load_shapes(settings.shapes_dir, ontology=settings.ontology_dir / "icf.ttl")


@pytest.fixture(scope="session")
def reference() -> Graph:
    """The shipped ontology and reference data as an in-memory graph (offline context)."""
    settings = Settings()
    return load_reference_graph(settings.ontology_dir, settings.data_dir)
