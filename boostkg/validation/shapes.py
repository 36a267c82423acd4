"""The SHACL shapes of submissions, loaded once, with the class hierarchy validation needs."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import Graph, URIRef
from rdflib.exceptions import ParserError
from rdflib.namespace import OWL, RDFS, SH
from rdflib.plugins.parsers.notation3 import BadSyntax

from boostkg.errors import InputError, InputNotFoundError, Location, ParseError
from boostkg.store.base import Triple


@dataclass(frozen=True)
class Shapes:
    """The shapes graph (every file of ``shapes/``), its version, and the subclass axioms.

    ``subclass_axioms`` are the ontology's ``rdfs:subClassOf`` triples between named classes:
    validation adds them to the data so that ``sh:targetClass`` and ``sh:class`` see an
    ``icf:SME`` as an ``icf:Actor`` without running RDFS inference.
    """

    graph: Graph = field(repr=False)
    files: tuple[Path, ...]
    version: str
    subclass_axioms: tuple[Triple, ...] = field(repr=False)


def load_shapes(shapes_dir: Path, *, ontology: Path | None = None) -> Shapes:
    """Parse every ``*.ttl`` in ``shapes_dir`` into one shapes graph, plus the ontology's class
    hierarchy (``ontology`` defaults to ``<shapes_dir>/../ontology/icf.ttl``).

    Raises:
        InputNotFoundError: the folder has no shape files, or the ontology file is missing.
        ParseError: a shape file or the ontology is malformed (names the file).
    """
    files = tuple(sorted(shapes_dir.glob("*.ttl")))
    if not files:
        raise InputNotFoundError(shapes_dir / "*.ttl")
    graph = Graph()
    digest = hashlib.sha256()
    for path in files:
        data = path.read_bytes()
        digest.update(path.name.encode() + b"\0" + data + b"\0")
        _parse_into(graph, data, path)
    versions = sorted({str(v) for v in graph.objects(None, OWL.versionInfo)})
    version = f"{'+'.join(versions) or '0'}+sha256.{digest.hexdigest()[:12]}"
    ontology_path = ontology if ontology is not None else shapes_dir.parent / "ontology" / "icf.ttl"
    if not ontology_path.is_file():
        raise InputNotFoundError(ontology_path)
    ontology_graph = Graph()
    _parse_into(ontology_graph, ontology_path.read_bytes(), ontology_path)
    axioms = tuple(
        (s, RDFS.subClassOf, o)
        for s, o in ontology_graph.subject_objects(RDFS.subClassOf)
        if isinstance(s, URIRef) and isinstance(o, URIRef)
    )
    return Shapes(graph=graph, files=files, version=version, subclass_axioms=axioms)


def _parse_into(graph: Graph, data: bytes, path: Path) -> None:
    try:
        graph.parse(data=data, format="turtle", publicID=path.resolve().as_uri())
    except BadSyntax as exc:
        raise ParseError(exc.message, Location(str(path), exc.lines + 1)) from exc
    except (ParserError, UnicodeDecodeError) as exc:
        raise InputError(str(exc), Location(str(path))) from exc


def shape_names(shapes: Shapes) -> dict[URIRef, str]:
    """sh:name of every named shape."""
    return {s: str(n) for s, n in shapes.graph.subject_objects(SH.name) if isinstance(s, URIRef)}
