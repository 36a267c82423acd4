"""The stewards' shapes page: generated from the shapes, complete, and committed up to date."""

from __future__ import annotations

from pathlib import Path

from rdflib.namespace import SH

from boostkg.config import PROJECT_ROOT
from boostkg.validation import Shapes
from boostkg.validation.docs import describe_shapes, render_html, render_markdown, write_docs

EXAMPLES = PROJECT_ROOT / "data" / "examples"
DOCS = PROJECT_ROOT / "docs"


def test_every_targeted_shape_and_rule_is_on_the_page(shapes: Shapes) -> None:
    docs = describe_shapes(shapes, EXAMPLES)
    targeted = set(shapes.graph.subjects(SH.targetClass, None))
    assert {d.iri for d in docs} == {str(s) for s in targeted}
    page = render_markdown(shapes, EXAMPLES)
    for doc in docs:
        assert f"## {doc.name} — `{doc.target}`" in page
        for prop in doc.properties:
            assert prop.message
            assert prop.message.replace("|", "\\|") in page


def test_core_shapes_of_submitted_kinds_have_an_example(shapes: Shapes) -> None:
    docs = {d.iri.rsplit("#", 1)[1]: d for d in describe_shapes(shapes, EXAMPLES) if "/core#" in d.iri}
    for name in ("Actor", "CapabilityStatement", "Membership", "Collaboration", "Participation"):
        example = docs[name].example
        assert example is not None, name
        assert example.rstrip().endswith(".")
        assert docs[name].example_source is not None
        assert docs[name].example_source.startswith("data/examples/")  # type: ignore[union-attr]


def test_counter_examples_link_to_existing_files(shapes: Shapes) -> None:
    links = [
        p.counter_example
        for d in describe_shapes(shapes, EXAMPLES)
        for p in d.properties
        if p.counter_example
    ]
    assert len(links) >= 20
    assert all((PROJECT_ROOT / link).is_file() for link in links)


def test_committed_pages_are_up_to_date(shapes: Shapes, tmp_path: Path) -> None:
    md, page = write_docs(shapes, EXAMPLES, tmp_path)
    assert (DOCS / "shapes.md").read_text(encoding="utf-8") == md.read_text(encoding="utf-8"), (
        "regenerate: python -c 'from boostkg.validation.docs import main; main()'"
    )
    assert (DOCS / "shapes.html").read_text(encoding="utf-8") == page.read_text(encoding="utf-8")


def test_html_is_escaped(shapes: Shapes) -> None:
    page = render_html(shapes, EXAMPLES)
    assert page.startswith("<!DOCTYPE html>")
    assert "&lt;https://w3id.org/boostkg/id/organisation/" in page
