"""A lexical scan of SPARQL text: what the endpoint must know before the engine runs a request.

The engine (pyoxigraph) parses queries itself; this scan only finds keywords outside strings, IRIs
and comments, and at which brace depth they stand, so that the endpoint can choose a result format
before running a query (its form), refuse what it never runs (``LOAD``, ``SERVICE`` outside the
allow-list) and apply the protocol's ``using-graph-uri`` parameters to an update (``USING``
clauses before each ``DELETE``/``INSERT`` operation's ``WHERE``). It never has to accept or reject
a whole request: anything it misreads is still parsed, and refused if malformed, by the engine.

>>> scan_text = scan("PREFIX ex: <http://example.org/> SELECT * { ?s ex:p 'SERVICE' }")
>>> scan_text.form, scan_text.services
('SELECT', ())
>>> scan("ASK { SERVICE <http://example.org/sparql> { ?s ?p ?o } }").services
('http://example.org/sparql',)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<comment>\#[^\n]*)
  | (?P<string>\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"|'''(?:[^'\\]|\\.|'(?!''))*'''
              |"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<var>[?$]\w+)
  | (?P<word>[A-Za-z_][\w\-.]*(?::[\w\-.:%]*)?|:[\w\-.:%]*)
  | (?P<open>\{)
  | (?P<close>\})
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
QUERY_FORMS = frozenset({"SELECT", "ASK", "CONSTRUCT", "DESCRIBE"})
_VARIABLE_SERVICE = "?"
"""What :attr:`Scan.services` lists for ``SERVICE ?var`` (an endpoint chosen by the data)."""


@dataclass(frozen=True)
class Scan:
    """What a scan found in one request's text.

    ``form`` is the query form (SELECT, ASK, CONSTRUCT, DESCRIBE) or ``None`` for an update;
    ``services`` the endpoints named by ``SERVICE`` (``"?"`` for a variable, prefixed names
    resolved with the text's own prefixes); ``keywords`` every keyword at brace depth 0, upper-case;
    ``modify_wheres`` the offsets of the ``WHERE`` keywords that end an update's DELETE/INSERT
    templates (where ``USING`` clauses go).
    """

    form: str | None
    services: tuple[str, ...]
    keywords: frozenset[str]
    modify_wheres: tuple[int, ...]

    @property
    def has_dataset_clause(self) -> bool:
        """Whether the text names its own dataset (``FROM``, ``USING`` or ``WITH`` at depth 0)."""
        return bool(self.keywords & {"FROM", "USING", "WITH"})


def scan(text: str) -> Scan:
    """Scan SPARQL query or update text (never raises: unknown characters are skipped)."""
    depth = 0
    form: str | None = None
    prefixes: dict[str, str] = {}
    services: list[str] = []
    keywords: set[str] = set()
    wheres: list[int] = []
    previous = ""
    pending: str | None = None  # "SERVICE" while waiting for its endpoint, "PREFIX" for a name
    prefix_name = ""
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        value = match.group()
        if kind in ("ws", "comment"):
            continue
        if kind == "open":
            depth += 1
        elif kind == "close":
            depth = max(0, depth - 1)
        upper = value.upper() if kind == "word" else ""
        if pending == "PREFIX":
            if kind == "word" and value.endswith(":"):
                prefix_name = value
                continue
            if kind == "iri" and prefix_name:
                prefixes[prefix_name] = value[1:-1]
            pending, prefix_name = None, ""
        elif pending == "SERVICE":
            if upper == "SILENT":
                continue
            if kind == "iri":
                services.append(value[1:-1])
            elif kind == "word" and ":" in value:
                name, _, local = value.partition(":")
                base = prefixes.get(name + ":")
                services.append(base + local if base is not None else value)
            else:
                services.append(_VARIABLE_SERVICE)
            pending = None
        if kind == "word":
            if upper == "SERVICE":
                pending = "SERVICE"
            elif upper == "PREFIX" and depth == 0:
                pending = "PREFIX"
            if depth == 0 and ":" not in value:
                keywords.add(upper)
                if form is None and upper in QUERY_FORMS:
                    form = upper
                if upper == "WHERE" and previous != "DELETE":
                    wheres.append(match.start())
            previous = upper
        else:
            previous = ""
    return Scan(
        form=form,
        services=tuple(services),
        keywords=frozenset(keywords),
        modify_wheres=tuple(wheres) if form is None else (),
    )


def with_using(update: str, found: Scan, default_graphs: list[str], named_graphs: list[str]) -> str:
    """``update`` with ``USING``/``USING NAMED`` clauses for the protocol's ``using-graph-uri`` and
    ``using-named-graph-uri`` put before the ``WHERE`` of every DELETE/INSERT operation.

    >>> with_using("INSERT { ?s a 1 } WHERE { ?s ?p ?o }", scan("INSERT { ?s a 1 } WHERE { ?s ?p ?o }"),
    ...            ["http://g"], [])
    'INSERT { ?s a 1 } USING <http://g> WHERE { ?s ?p ?o }'
    """
    clauses = "".join(f"USING <{g}> " for g in default_graphs)
    clauses += "".join(f"USING NAMED <{g}> " for g in named_graphs)
    if not clauses:
        return update
    parts = []
    last = 0
    for offset in found.modify_wheres:
        parts.append(update[last:offset])
        parts.append(clauses)
        last = offset
    parts.append(update[last:])
    return "".join(parts)
