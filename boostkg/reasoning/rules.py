"""The inference rules: SPARQL CONSTRUCT files in ``ontology/rules/``, read and checked, never run here.

Each rule file starts with a comment block saying what it derives and which ontology axiom
justifies it; that block becomes the rule's description. Rules are self-contained (each one
reaches its own closure in a single pass), so running them once, in any order, or to a fixpoint
gives the same result. The store runs them (``store.construct``); this module has no store access.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pyparsing import ParseException
from rdflib.plugins.sparql import prepareQuery

from boostkg.errors import InputError, InputNotFoundError, Location, ParseError

RULE_SUFFIX = ".rq"


@dataclass(frozen=True)
class Rule:
    """One inference rule: its file stem, the header comment and the CONSTRUCT query text."""

    name: str
    description: str
    query: str


def parse_rule(path: Path) -> Rule:
    """Read one rule file and check that it is a commented SPARQL CONSTRUCT query.

    Raises ``InputNotFoundError`` if the file is missing, ``ParseError`` (with line and column)
    if the query is not valid SPARQL, and ``InputError`` if it has no header comment or is not
    a CONSTRUCT query.
    """
    if not path.is_file():
        raise InputNotFoundError(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError(f"not valid UTF-8 ({exc.reason})", Location(str(path))) from exc
    header: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith("#"):
            break
        header.append(stripped.lstrip("#").strip())
    description = " ".join(part for part in header if part)
    if not description:
        raise InputError(
            "a rule file must start with a comment saying what it derives and why", Location(str(path), 1)
        )
    try:
        prepared = prepareQuery(text)
    except ParseException as exc:
        raise ParseError(f"invalid SPARQL: {exc.msg}", Location(str(path), exc.lineno, exc.col)) from exc
    if prepared.algebra.name != "ConstructQuery":
        raise InputError(
            f"a rule must be a CONSTRUCT query, not {prepared.algebra.name}", Location(str(path))
        )
    return Rule(name=path.stem, description=description, query=text)


def load_rules(rules_dir: Path) -> list[Rule]:
    """All rules in ``rules_dir`` (``*.rq``), sorted by file name.

    Raises ``InputNotFoundError`` if the directory does not exist, ``InputError`` if it holds no
    rule, and whatever ``parse_rule`` raises for a bad file.
    """
    if not rules_dir.is_dir():
        raise InputNotFoundError(rules_dir)
    paths = sorted(rules_dir.glob(f"*{RULE_SUFFIX}"))
    if not paths:
        raise InputError("no rule files (*.rq)", Location(str(rules_dir)))
    return [parse_rule(path) for path in paths]
