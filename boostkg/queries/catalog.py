"""Reading the named queries in ``queries/``: header fields, declared parameters, lookup by name.

A query file starts with comment lines of the form ``# key: value``; the keys are ``title``,
``question``, ``audience`` and any number of ``param`` lines::

    # param: NAME TYPE DEFAULT DESCRIPTION

where TYPE is one of iri, string, integer, decimal, date, year.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from pathlib import Path

from rdflib import Literal, URIRef
from rdflib.namespace import XSD

from boostkg.errors import EncodingError, InputError, InputNotFoundError, Location


class ParamType(enum.Enum):
    """Types a query parameter may declare."""

    iri = "iri"
    string = "string"
    integer = "integer"
    decimal = "decimal"
    date = "date"
    year = "year"


_LEXICAL = {
    ParamType.integer: (re.compile(r"[+-]?\d+"), XSD.integer),
    ParamType.decimal: (re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)"), XSD.decimal),
    ParamType.date: (re.compile(r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"), XSD.date),
    ParamType.year: (re.compile(r"\d{4}"), XSD.gYear),
}
_IRI = re.compile(r"[^<>\"{}|^`\\\s]+:[^<>\"{}|^`\\\s]*")
_WHERE = re.compile(r"\bWHERE\s*\{", re.IGNORECASE)


@dataclass(frozen=True)
class QueryParam:
    """One declared parameter: bound to ``?name`` in the query."""

    name: str
    type: ParamType
    default: str
    description: str

    def term(self, text: str | None = None) -> URIRef | Literal:
        """``text`` (or the default) as an RDF term of the declared type; never spliced as text.

        >>> QueryParam("year", ParamType.year, "2023", "").term()
        rdflib.term.Literal('2023', datatype=rdflib.term.URIRef('http://www.w3.org/2001/XMLSchema#gYear'))
        >>> QueryParam("x", ParamType.string, '"a"', "").term('} ; DROP ALL "')
        rdflib.term.Literal('} ; DROP ALL "')

        Raises:
            InputError: the value does not fit the type (e.g. an IRI with spaces, a bad date).
        """
        value = self.default if text is None else text
        if self.type is ParamType.iri:
            if value.startswith("<") and value.endswith(">"):
                value = value[1:-1]
            if not _IRI.fullmatch(value):
                raise InputError(f"parameter {self.name}: {value!r} is not an absolute IRI")
            return URIRef(value)
        if text is None and len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        if self.type is ParamType.string:
            return Literal(value)
        pattern, datatype = _LEXICAL[self.type]
        if not pattern.fullmatch(value):
            raise InputError(f"parameter {self.name}: {value!r} is not a valid {self.type.value}")
        return Literal(value, datatype=datatype)


def bind(query: str, values: dict[str, URIRef | Literal]) -> str:
    """Bind variables by a ``VALUES`` block at the start of the outermost WHERE group.

    Values are RDF terms serialised by rdflib (escaped), so a value can never change the query's
    structure.

    >>> print(bind("SELECT ?x WHERE { ?x ?p ?y }", {"y": Literal('a"b')}))
    SELECT ?x WHERE {
      VALUES (?y) { ("a\\"b") }
     ?x ?p ?y }

    Raises:
        InputError: there are values to bind but the query has no WHERE group.
    """
    if not values:
        return query
    match = _WHERE.search(query)
    if match is None:
        raise InputError("the query has no WHERE group to bind parameters in")
    names = " ".join(f"?{name}" for name in values)
    terms = " ".join(term.n3() for term in values.values())
    return query[: match.end()] + f"\n  VALUES ({names}) {{ ({terms}) }}\n" + query[match.end() :]


@dataclass(frozen=True)
class NamedQuery:
    """A query file and what its header says."""

    name: str
    path: Path
    title: str
    question: str
    audience: str
    params: tuple[QueryParam, ...]
    text: str

    def bound(self, given: dict[str, str] | None = None) -> str:
        """The query with every parameter bound: the given value, else the declared default.

        Raises:
            InputError: an unknown parameter name, or a value that does not fit its type.
        """
        given = dict(given or {})
        unknown = set(given) - {p.name for p in self.params}
        if unknown:
            raise InputError(f"query {self.name} has no parameter {', '.join(sorted(unknown))}")
        return bind(self.text, {p.name: p.term(given.get(p.name)) for p in self.params})


def read_query_text(path: Path) -> str:
    """The text of a query file.

    Raises:
        InputNotFoundError: no such file.
        EncodingError: not UTF-8.
    """
    if not path.is_file():
        raise InputNotFoundError(path)
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise EncodingError("not valid UTF-8", Location(str(path), line, column)) from exc


def parse_header(path: Path, text: str) -> NamedQuery:
    """Parse a query file's header.

    Raises:
        InputError: a header line is malformed (names the line).
    """
    fields: dict[str, str] = {}
    params: list[QueryParam] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped.startswith("#"):
            if stripped:
                break
            continue
        body = stripped.lstrip("#").strip()
        key, sep, value = body.partition(":")
        if not sep or " " in key.strip():
            continue
        key, value = key.strip().lower(), value.strip()
        if key == "param":
            parts = value.split(maxsplit=3)
            if len(parts) < 3:
                raise InputError(
                    "a param line needs NAME TYPE DEFAULT [DESCRIPTION]", Location(str(path), number)
                )
            try:
                ptype = ParamType(parts[1].lower())
            except ValueError:
                known = ", ".join(t.value for t in ParamType)
                raise InputError(
                    f"unknown parameter type {parts[1]!r} (use {known})", Location(str(path), number)
                ) from None
            params.append(
                QueryParam(parts[0].lstrip("?$"), ptype, parts[2], parts[3] if len(parts) > 3 else "")
            )
        else:
            fields[key] = value
    return NamedQuery(
        name=path.stem,
        path=path,
        title=fields.get("title", path.stem),
        question=fields.get("question", ""),
        audience=fields.get("audience", ""),
        params=tuple(params),
        text=text,
    )


def list_queries(queries_dir: Path) -> list[NamedQuery]:
    """Every ``*.rq`` directly in ``queries_dir`` (not the checks), sorted by name."""
    return [parse_header(p, read_query_text(p)) for p in sorted(queries_dir.glob("*.rq"))]


def find_query(queries_dir: Path, name: str) -> Path:
    """The file of a named query (``select-foo`` or ``select-foo.rq``).

    Raises:
        InputNotFoundError: there is no such query (the message lists close names).
    """
    stem = name[:-3] if name.endswith(".rq") else name
    path = queries_dir / f"{stem}.rq"
    if path.is_file() and path.parent == queries_dir:
        return path
    raise InputNotFoundError(path)
