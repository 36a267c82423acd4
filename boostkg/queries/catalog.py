"""Reading the named queries in ``queries/``: header fields, declared parameters, lookup by name.

A query file starts with comment lines of the form ``# key: value``; the keys are ``title``,
``question``, ``audience`` and any number of ``param`` lines::

    # param: NAME TYPE DEFAULT DESCRIPTION

where TYPE is one of iri, string, integer, decimal, date, year.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

from boostkg.errors import EncodingError, InputError, InputNotFoundError, Location


class ParamType(enum.Enum):
    """Types a query parameter may declare."""

    iri = "iri"
    string = "string"
    integer = "integer"
    decimal = "decimal"
    date = "date"
    year = "year"


@dataclass(frozen=True)
class QueryParam:
    """One declared parameter: bound to ``?name`` in the query."""

    name: str
    type: ParamType
    default: str
    description: str


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
