"""Reading the competency-question files: their header, their parameters, binding the defaults.

A query file starts with ``# key: value`` comment lines (title, question, audience, and any number
of ``param`` lines: ``# param: NAME TYPE DEFAULT DESCRIPTION``). A parameter is bound by a
``VALUES`` block inserted at the start of the outermost ``WHERE`` group, so the binding reaches
every pattern and filter of the query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from rdflib.namespace import XSD
from rdflib.term import Node

from boostkg.errors import InputError
from boostkg.queries.catalog import ParamType, QueryParam, bind

QUERIES_DIR = Path(__file__).resolve().parents[1] / "queries"
AUDIENCES = frozenset({"steward", "researcher", "coordinator"})
PARAM_TYPES = frozenset({"iri", "string", "integer", "decimal", "date", "year"})
REQUIRED_KEYS = ("title", "question", "audience")
GYEAR = XSD.gYear
"""The datatype of ``year`` parameters (scoreboard editions)."""

_HEADER_LINE = re.compile(r"^#\s*(?P<key>[a-z]+):\s*(?P<value>.+?)\s*$")
_PARAM = re.compile(
    r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s+(?P<type>[a-z]+)\s+"
    r"(?P<default><[^>\s]+>|\"[^\"]*\"|\S+)\s+(?P<description>\S.*)$"
)


@dataclass(frozen=True)
class Parameter:
    """One ``# param:`` line."""

    name: str
    type: str
    default: str
    description: str

    def default_term(self) -> Node:
        """The default value as an RDF term of the declared type (the package's own parser).

        Raises:
            ValueError: the type is unknown or the default does not fit it.
        """
        try:
            return QueryParam(self.name, ParamType(self.type), self.default, self.description).term()
        except (InputError, ValueError) as exc:
            raise ValueError(str(exc)) from exc


@dataclass(frozen=True)
class CompetencyQuery:
    """A query file: its header and its text."""

    path: Path
    header: dict[str, str]
    parameters: tuple[Parameter, ...]
    text: str

    @property
    def name(self) -> str:
        return self.path.name

    def bound(self) -> str:
        """The query text with every parameter bound to its default."""
        return bind(self.text, {p.name: p.default_term() for p in self.parameters})


def read_query(path: Path) -> CompetencyQuery:
    """Read a query file's header (up to its first non-comment line) and text.

    Raises:
        ValueError: a header line or a ``param`` line is malformed.
    """
    text = path.read_text(encoding="utf-8")
    header: dict[str, str] = {}
    parameters: list[Parameter] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.startswith("#"):
            break
        match = _HEADER_LINE.match(line)
        if match is None:
            raise ValueError(f"{path.name}, line {number}: not a '# key: value' header line")
        key, value = match["key"], match["value"]
        if key == "param":
            param = _PARAM.match(value)
            if param is None:
                raise ValueError(f"{path.name}, line {number}: param must be NAME TYPE DEFAULT DESCRIPTION")
            parameters.append(Parameter(param["name"], param["type"], param["default"], param["description"]))
        elif key in header:
            raise ValueError(f"{path.name}, line {number}: header key {key!r} repeated")
        else:
            header[key] = value
    return CompetencyQuery(path, header, tuple(parameters), text)


def all_queries() -> list[Path]:
    """The competency-question files (``queries/*.rq``; the checks live in ``queries/checks/``)."""
    return sorted(QUERIES_DIR.glob("*.rq"))
