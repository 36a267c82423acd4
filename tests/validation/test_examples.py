"""Data-driven: every example submission in data/examples/.

Valid ones (``<region>-*.ttl``) conform in the context of the real loaded store and offline;
each invalid one (``invalid/<rule>.ttl``, whose second line says ``# breaks: core:<Shape>``) fails
exactly that shape and no other, and conforms to nothing more than that once context is given.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph

from boostkg.config import PROJECT_ROOT
from boostkg.store import EmbeddedStore
from boostkg.validation import Severity, Shapes, parse_submission, validate

EXAMPLES = PROJECT_ROOT / "data" / "examples"
VALID = sorted(EXAMPLES.glob("*.ttl"))
INVALID = sorted((EXAMPLES / "invalid").glob("*.ttl"))
CORE = "https://w3id.org/boostkg/shapes/core#"
REGIONS = ("ro11", "bg33", "es51", "dk03", "ee00")


def _expected_shape(path: Path) -> str:
    for line in path.read_text(encoding="utf-8").splitlines()[:5]:
        if line.startswith("# breaks: core:"):
            return CORE + line.removeprefix("# breaks: core:").strip()
    raise AssertionError(f"{path.name} does not say which shape it breaks ('# breaks: core:<Shape>')")


def _violated(path: Path, shapes: Shapes, **context: object) -> set[str]:
    parsed = parse_submission(path.read_bytes(), media_type="text/turtle", source_name=path.name)
    report = validate(parsed, shapes, **context)  # type: ignore[arg-type]
    return {issue.shape for issue in report.violations()}


def test_every_region_has_a_valid_example() -> None:
    assert {p.name.split("-", 1)[0] for p in VALID} >= set(REGIONS)


def test_there_are_invalid_examples_for_many_shapes() -> None:
    assert len({_expected_shape(p) for p in INVALID}) >= 20


@pytest.mark.parametrize("path", VALID, ids=[p.name for p in VALID])
def test_valid_example_conforms_in_the_loaded_store(
    path: Path, shapes: Shapes, loaded_store: EmbeddedStore
) -> None:
    parsed = parse_submission(path.read_bytes(), media_type="text/turtle", source_name=path.name)
    report = validate(parsed, shapes, store=loaded_store)
    assert report.conforms, report.to_text(path.name)
    assert report.violations() == ()
    assert report.triples == len(parsed.graph) > 40


@pytest.mark.parametrize("path", VALID, ids=[p.name for p in VALID])
def test_valid_example_needs_its_context(path: Path, shapes: Shapes) -> None:
    """Without the graph it refers to, the references (NUTS, themes, seed actors) fail sh:class."""
    violated = _violated(path, shapes)
    assert CORE + "Actor-inRegion" in violated
    assert CORE + "Actor-hasTheme" in violated


@pytest.mark.parametrize("path", VALID, ids=[p.name for p in VALID])
def test_valid_example_conforms_offline(path: Path, shapes: Shapes, reference: Graph) -> None:
    assert _violated(path, shapes, reference=reference) == set()


@pytest.mark.parametrize("path", INVALID, ids=[p.name for p in INVALID])
def test_invalid_example_breaks_exactly_its_rule(
    path: Path, shapes: Shapes, loaded_store: EmbeddedStore
) -> None:
    assert _violated(path, shapes, store=loaded_store) == {_expected_shape(path)}


@pytest.mark.parametrize("path", INVALID, ids=[p.name for p in INVALID])
def test_invalid_example_breaks_exactly_its_rule_offline(
    path: Path, shapes: Shapes, reference: Graph
) -> None:
    assert _violated(path, shapes, reference=reference) == {_expected_shape(path)}


def test_warnings_do_not_reject(shapes: Shapes, reference: Graph) -> None:
    data = b"""@prefix icf: <https://w3id.org/boostkg/icf#> .
<https://w3id.org/boostkg/id/organisation/w> a icf:SME ;
    <http://www.w3.org/2000/01/rdf-schema#label> "Sin nombre en ingles"@es ;
    icf:inCountry <http://publications.europa.eu/resource/authority/country/ESP> .
"""
    parsed = parse_submission(data, media_type="text/turtle", source_name="w.ttl")
    report = validate(parsed, shapes, reference=reference)
    assert report.conforms
    names = {i.shape.rsplit("#", 1)[1] for i in report.warnings()}
    assert {"Actor-englishLabel", "Actor-region", "Actor-homepage", "Actor-description"} <= names
    assert all(i.severity is Severity.WARNING for i in report.issues)
