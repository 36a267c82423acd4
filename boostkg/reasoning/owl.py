"""The OWL 2 DL check: load Turtle into a fresh owlready2 World, run HermiT, report what it entails.

owlready2 does not read Turtle, so the files are parsed with rdflib and handed over as N-Triples
in memory. HermiT runs in Java (``owlready2.JAVA_EXE``); its temporary input file is written into
a private directory that is removed afterwards, whatever happens. xsd:date and xsd:gYear are
outside the OWL 2 datatype map, so HermiT runs with unsupported datatypes ignored.
"""

from __future__ import annotations

import io
import shutil
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import owlready2
from rdflib import Graph
from rdflib.exceptions import ParserError
from rdflib.plugins.parsers.notation3 import BadSyntax

from boostkg.errors import InputNotFoundError, Location, ParseError, ReasoningError
from boostkg.namespaces import ONTOLOGY_IRI

_TEMPDIR_LOCK = threading.Lock()
"""owlready2 writes HermiT's input with ``tempfile``; redirecting it is process-wide state."""

_FORMATS = {".ttl": "turtle", ".nt": "nt", ".rdf": "xml", ".owl": "xml", ".xml": "xml", ".n3": "n3"}


@dataclass(frozen=True)
class ReasoningResult:
    """What HermiT concluded about ontology and data together.

    ``class_assertions`` holds every (individual IRI, named class IRI) entailed, asserted or
    inferred, up the class hierarchy; ``property_assertions`` every (subject, object property,
    object) entailed between named individuals; ``unsatisfiable_classes`` the named classes
    equivalent to owl:Nothing.
    """

    consistent: bool
    class_assertions: frozenset[tuple[str, str]]
    property_assertions: frozenset[tuple[str, str, str]]
    unsatisfiable_classes: frozenset[str]

    def types_of(self, individual: str) -> frozenset[str]:
        """The named classes ``individual`` is entailed to belong to."""
        return frozenset(c for i, c in self.class_assertions if i == individual)

    def values_of(self, individual: str, prop: str) -> frozenset[str]:
        """The objects of ``prop`` entailed for ``individual``."""
        return frozenset(o for s, p, o in self.property_assertions if s == individual and p == prop)


def read_graph(paths: Sequence[Path]) -> Graph:
    """Parse the RDF files into one rdflib graph; raises ``InputNotFoundError`` or ``ParseError``."""
    graph = Graph()
    for path in paths:
        if not path.is_file():
            raise InputNotFoundError(path)
        fmt = _FORMATS.get(path.suffix.lower(), "turtle")
        try:
            graph.parse(path, format=fmt)
        except BadSyntax as exc:
            raise ParseError(f"invalid RDF: {exc.message}", Location(str(path), exc.lines + 1)) from exc
        except (ParserError, SyntaxError, UnicodeDecodeError) as exc:
            raise ParseError(f"invalid RDF: {exc}", Location(str(path))) from exc
    return graph


@contextmanager
def _private_tempdir() -> Iterator[None]:
    """Point ``tempfile`` at a fresh directory for the duration, then delete it and restore."""
    with _TEMPDIR_LOCK, tempfile.TemporaryDirectory(prefix="boostkg-hermit-") as scratch:
        saved = tempfile.tempdir
        tempfile.tempdir = scratch
        try:
            yield
        finally:
            tempfile.tempdir = saved


def check_consistency(paths: Sequence[Path], *, raise_if_inconsistent: bool = True) -> ReasoningResult:
    """Run HermiT over the union of the RDF files ``paths`` and report what it entails.

    Raises ``ReasoningError`` when Java is not installed, when HermiT fails, and (unless
    ``raise_if_inconsistent=False``, which returns ``consistent=False`` instead) when the
    ontology and data are inconsistent; ``InputNotFoundError``/``ParseError`` for bad files.
    """
    java = shutil.which(owlready2.JAVA_EXE)
    if java is None:
        raise ReasoningError(
            f"Java is needed to run HermiT but {owlready2.JAVA_EXE!r} is not on the PATH; install a JRE (17+)"
        )
    ntriples = read_graph(paths).serialize(format="nt", encoding="utf-8")
    names = ", ".join(str(p) for p in paths)
    world = owlready2.World()
    try:
        ontology = world.get_ontology(str(ONTOLOGY_IRI)).load(fileobj=io.BytesIO(ntriples), format="ntriples")
        try:
            with _private_tempdir(), ontology:
                owlready2.sync_reasoner_hermit(
                    world, infer_property_values=True, debug=0, ignore_unsupported_datatypes=True
                )
        except owlready2.OwlReadyInconsistentOntologyError as exc:
            if raise_if_inconsistent:
                raise ReasoningError(f"HermiT found the ontology and data inconsistent: {names}") from exc
            return ReasoningResult(False, frozenset(), frozenset(), frozenset())
        except owlready2.OwlReadyJavaError as exc:
            raise ReasoningError(f"HermiT failed on {names}: {exc}") from exc
        return _entailments(world)
    finally:
        world.close()


def _entailments(world: owlready2.World) -> ReasoningResult:
    """Read the entailed class and property assertions out of a reasoned World.

    HermiT reports a property instance only for the most specific property, so each one is
    also recorded for every super-property; types are closed up the class hierarchy.
    """
    properties: set[tuple[str, str, str]] = set()
    individuals: set[owlready2.Thing] = set()
    for prop in world.object_properties():
        supers = [
            p
            for p in prop.ancestors()
            if isinstance(p, owlready2.ObjectPropertyClass) and p is not owlready2.ObjectProperty
        ]
        for subject, value in prop.get_relations():
            if isinstance(subject, owlready2.Thing) and isinstance(value, owlready2.Thing):
                individuals.update((subject, value))
                properties.update((subject.iri, p.iri, value.iri) for p in supers)
    typed = world.sparql("SELECT DISTINCT ?x WHERE { ?x a ?c . ?c a owl:Class }")
    individuals.update(row[0] for row in typed if isinstance(row[0], owlready2.Thing))
    classes: set[tuple[str, str]] = set()
    for individual in individuals:
        for direct in individual.is_a:
            if isinstance(direct, owlready2.ThingClass):
                classes.update(
                    (individual.iri, c.iri) for c in direct.ancestors() if c is not owlready2.Thing
                )
    unsatisfiable = frozenset(c.iri for c in world.inconsistent_classes() if c is not owlready2.Nothing)
    return ReasoningResult(True, frozenset(classes), frozenset(properties), unsatisfiable)
