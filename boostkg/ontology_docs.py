"""Readable HTML documentation of the ICF ontology, generated with pyLODE (``docs/ontology/``)."""

from __future__ import annotations

import sys
import types
from importlib import metadata
from pathlib import Path
from typing import Any

from rdflib import Graph
from rdflib.exceptions import ParserError
from rdflib.plugins.parsers.notation3 import BadSyntax

from boostkg.errors import InputNotFoundError, Location, ParseError

INDEX = "index.html"


def _import_ontpub() -> Any:
    """pyLODE's OntPub profile class.

    pyLODE 3.4's wheel reads its version from a ``pyproject.toml`` that it does not ship, so
    ``import pylode`` fails; its ``pylode.version`` module is supplied from the installed
    distribution's metadata instead, when (and only when) that file is missing.
    """
    if "pylode.version" not in sys.modules:
        pyproject = Path(str(metadata.distribution("pylode").locate_file("pyproject.toml")))
        if not pyproject.is_file():
            stub = types.ModuleType("pylode.version")
            stub.__version__ = metadata.version("pylode")  # type: ignore[attr-defined]
            sys.modules["pylode.version"] = stub
    from pylode import OntPub

    return OntPub


def generate_docs(ontology: Path, out_dir: Path) -> Path:
    """Write the HTML documentation of ``ontology`` (Turtle) to ``out_dir/index.html``; return its path.

    Raises ``InputNotFoundError`` if the ontology file is missing and ``ParseError`` if pyLODE
    cannot read it.
    """
    if not ontology.is_file():
        raise InputNotFoundError(ontology)
    try:
        graph = Graph().parse(ontology, format="turtle")
    except BadSyntax as exc:
        raise ParseError(f"invalid Turtle: {exc.message}", Location(str(ontology), exc.lines + 1)) from exc
    except (ParserError, UnicodeDecodeError) as exc:
        raise ParseError(f"invalid Turtle: {exc}", Location(str(ontology))) from exc
    ontpub = _import_ontpub()
    from pylode import PylodeError

    try:
        # pyLODE is given a parsed graph: on a file with a syntax error it would call exit().
        html = ontpub(graph).make_html()
    except PylodeError as exc:
        raise ParseError(f"pyLODE cannot document it: {exc}", Location(str(ontology))) from exc
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / INDEX
    target.write_text(html, encoding="utf-8")
    return target
