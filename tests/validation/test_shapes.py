"""The shapes themselves: valid SHACL (meta-validation against SHACL-SHACL), documented for
stewards (sh:name, sh:description, sh:message on every shape), split by severity, versioned."""

from __future__ import annotations

from pathlib import Path

import pyshacl
import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, SH

from boostkg.errors import InputNotFoundError
from boostkg.validation import Shapes, load_shapes

CORE = "https://w3id.org/boostkg/shapes/core#"
RECOMMENDED = "https://w3id.org/boostkg/shapes/recommended#"


def _all_shapes(shapes: Shapes) -> set[URIRef]:
    g = shapes.graph
    found = set(g.subjects(RDF.type, SH.NodeShape)) | set(g.subjects(RDF.type, SH.PropertyShape))
    found |= set(g.objects(None, SH.property)) | set(g.objects(None, SH.node))
    found |= set(g.objects(None, SH.qualifiedValueShape))
    return {s for s in found if isinstance(s, URIRef)}


def _shacl_shacl() -> Graph:
    """The SHACL-SHACL shapes graph (W3C SHACL spec, appendix C) as pySHACL ships it."""
    return Graph().parse(Path(pyshacl.__file__).parent / "assets" / "shacl-shacl.ttl", format="turtle")


def test_shapes_pass_meta_validation(shapes: Shapes) -> None:
    conforms, _results, text = pyshacl.validate(shapes.graph, shacl_graph=_shacl_shacl(), inference="none")
    assert conforms, text


def test_meta_validation_catches_a_broken_shape(shapes: Shapes) -> None:
    """The meta-validation above can fail: a property shape with two paths and a bad count."""
    broken = Graph()
    broken += shapes.graph
    shape = URIRef(CORE + "Actor-label")
    broken.add((shape, SH.path, URIRef(CORE + "second-path")))
    broken.set((shape, SH.minCount, Literal("one")))
    conforms, _results, _text = pyshacl.validate(broken, shacl_graph=_shacl_shacl(), inference="none")
    assert not conforms


def test_every_shape_is_named_described_and_has_a_message(shapes: Shapes) -> None:
    missing = []
    for shape in _all_shapes(shapes):
        for prop in (SH.name, SH.description, SH.message):
            if shapes.graph.value(shape, prop) is None:
                missing.append(f"{shape} lacks {prop}")
    assert missing == []
    assert len(_all_shapes(shapes)) > 100


def test_bnode_property_shapes_are_not_used(shapes: Shapes) -> None:
    """Every property shape has an IRI, so that a report names it."""
    assert [p for p in shapes.graph.objects(None, SH.property) if isinstance(p, BNode)] == []


def test_core_shapes_are_violations_and_recommended_are_warnings(shapes: Shapes) -> None:
    g = shapes.graph
    for shape in _all_shapes(shapes):
        severity = g.value(shape, SH.severity)
        if str(shape).startswith(CORE):
            assert severity in (None, SH.Violation), shape
        elif str(shape).startswith(RECOMMENDED) and (
            g.value(shape, SH.targetClass) or g.value(shape, SH.path)
        ):
            assert severity == SH.Warning, shape
    recommended = [s for s in _all_shapes(shapes) if str(s).startswith(RECOMMENDED)]
    assert len(recommended) >= 20


def test_each_shapes_file_has_its_own_metadata(shapes: Shapes) -> None:
    assert [p.name for p in shapes.files] == ["core.ttl", "recommended.ttl"]
    ontologies = set(shapes.graph.subjects(RDF.type, OWL.Ontology))
    assert {URIRef(CORE[:-1]), URIRef(RECOMMENDED[:-1])} <= ontologies
    for ontology in ontologies:
        assert shapes.graph.value(ontology, OWL.versionInfo) is not None


def test_version_names_the_content(shapes: Shapes) -> None:
    assert shapes.version.startswith("0.1.0+sha256.")
    assert len(shapes.version.rsplit(".", 1)[1]) == 12


def test_subclass_axioms_come_from_the_ontology(shapes: Shapes) -> None:
    icf = "https://w3id.org/boostkg/icf#"
    assert (
        URIRef(icf + "SME"),
        URIRef("http://www.w3.org/2000/01/rdf-schema#subClassOf"),
        URIRef(icf + "BusinessActor"),
    ) in shapes.subclass_axioms


def test_load_shapes_from_an_empty_folder_names_it(tmp_path: Path) -> None:
    with pytest.raises(InputNotFoundError, match=str(tmp_path)):
        load_shapes(tmp_path)
