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

TOKEN = re.compile(
    r"""
    (?P<comment>\#[^\n]*)
  | (?P<string>\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"|'''(?:[^'\\]|\\.|'(?!''))*'''
              |"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<var>[?$]\w+)
  | (?P<word>[A-Za-z_][\w\-.]*(?::[\w\-.:%]*)?|:[\w\-.:%]*)
  | (?P<open>\{)
  | (?P<close>\})
  | (?P<other>\S)
    """,
    re.VERBOSE | re.DOTALL,
)
QUERY_FORMS = frozenset({"SELECT", "ASK", "CONSTRUCT", "DESCRIBE"})
Token = tuple[str, str, int]
"""(kind, text, offset) of one token: a group name of :data:`TOKEN`, or ``end`` after the last."""
_last: tuple[str, list[Token]] = ("", [("end", "", 0)])
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


def tokens(text: str) -> list[Token]:
    """The tokens of ``text`` that matter (no whitespace, no comments), then ``("end", "", len)``.

    The list of the last text tokenized is kept and given again for the same text: one request's
    text is read in turn by :func:`scan`, :func:`is_bounded_lookup` and the planner, and
    tokenizing costs more than each of those reads. Callers must not change the list.
    """
    global _last
    last = _last  # one read: another thread may replace it meanwhile
    if last[0] == text:
        return last[1]
    found = [(m.lastgroup or "", m.group(), m.start()) for m in TOKEN.finditer(text)]
    found = [t for t in found if t[0] != "comment"]
    found.append(("end", "", len(text)))
    _last = (text, found)
    return found


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
    for kind, value, start in tokens(text):
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
                    wheres.append(start)
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


LOOKUP_MAX_PATTERNS = 4
"""Most triple patterns a :func:`is_bounded_lookup` query may have."""


def is_bounded_lookup(text: str) -> bool:
    """Whether a query is a lookup whose cost is bounded by the data around named subjects.

    True only for a ``SELECT`` (``*`` or plain variables) or ``ASK`` whose ``WHERE`` is one flat
    block of at most :data:`LOOKUP_MAX_PATTERNS` triple patterns, each with an IRI (not a
    variable or blank node) as subject, optionally followed by ``LIMIT``; prologue ``PREFIX`` and
    ``BASE`` allowed. Anything else (FILTER, OPTIONAL, UNION, paths, functions, DISTINCT, ORDER,
    GROUP, aggregates, FROM, GRAPH, SERVICE, sub-queries, numbers outside LIMIT ...) is refused.
    Every pattern is then an index lookup over one subject's triples, so the query cannot scan
    the store; the endpoint runs such queries in its own process rather than in a killable worker.

    >>> is_bounded_lookup("SELECT ?p ?o WHERE { <http://example.org/a> ?p ?o }")
    True
    >>> is_bounded_lookup("PREFIX ex: <http://example.org/> ASK { ex:a a ex:C ; ex:p 'x'@en, ?o . }")
    True
    >>> is_bounded_lookup("SELECT * { ?s ?p ?o }"), is_bounded_lookup("SELECT * { _:b ?p ?o }")
    (False, False)
    >>> is_bounded_lookup("SELECT ?o { <http://example.org/a> ?p ?o FILTER(?o > 1) }")
    False
    """
    found = tokens(text)
    at = 0

    def kind() -> str | None:
        return found[at][0]

    def value() -> str:
        return found[at][1]

    def keyword() -> str:
        return value().upper() if kind() == "word" and ":" not in value() else ""

    def constant() -> bool:  # an IRI or a prefixed name (never a blank node)
        return kind() == "iri" or (kind() == "word" and ":" in value() and not value().startswith("_:"))

    while keyword() in ("PREFIX", "BASE"):
        if keyword() == "PREFIX":
            at += 1
            if not (kind() == "word" and value().endswith(":") and value().count(":") == 1):
                return False
        at += 1
        if kind() != "iri":
            return False
        at += 1
    if keyword() == "SELECT":
        at += 1
        if value() == "*":
            at += 1
        elif kind() == "var":
            while kind() == "var":
                at += 1
        else:
            return False
    elif keyword() == "ASK":
        at += 1
    else:
        return False
    if keyword() == "WHERE":
        at += 1
    if kind() != "open":
        return False
    at += 1
    patterns = 0
    while kind() != "close":
        if not constant():  # the subject
            return False
        at += 1
        while True:  # predicate-object list
            if not (constant() or kind() == "var" or (kind() == "word" and value() == "a")):
                return False
            at += 1
            while True:  # object list
                if constant() or kind() == "var" or (kind() == "word" and value().startswith("_:")):
                    at += 1
                elif kind() == "string":
                    at += 1
                    if value() == "@":
                        at += 1
                        if kind() != "word" or ":" in value():
                            return False
                        at += 1
                    elif value() == "^":
                        at += 1
                        if value() != "^":
                            return False
                        at += 1
                        if not constant():
                            return False
                        at += 1
                else:
                    return False
                patterns += 1
                if value() != ",":
                    break
                at += 1
            if value() != ";":
                break
            at += 1
            if value() == "." or kind() == "close":
                break
        if value() == ".":
            at += 1
        elif kind() != "close":
            return False
    at += 1
    if keyword() == "LIMIT":
        at += 1
        digits = 0
        while kind() == "other" and value().isdigit():
            at += 1
            digits += 1
        if not digits:
            return False
    return kind() == "end" and 1 <= patterns <= LOOKUP_MAX_PATTERNS


_GRAPH_NAMING = frozenset({"GRAPH", "INTO", "WITH", "TO", "ADD", "MOVE", "COPY", "SILENT"})


def named_graphs(text: str) -> tuple[str, ...]:
    """The graph IRIs an update names where a graph goes: after ``GRAPH``, ``INTO``, ``WITH``,
    ``TO``, ``ADD``/``MOVE``/``COPY`` (``SILENT`` skipped), prefixed names resolved with the text's
    own prefixes; in order of first appearance. Graphs reached through a variable (``GRAPH ?g``),
    ``DEFAULT``, ``NAMED`` or ``ALL`` are not listed.

    >>> named_graphs("PREFIX g: <http://g/> DROP SILENT GRAPH g:a ; INSERT DATA { GRAPH <http://b> {} }")
    ('http://g/a', 'http://b')
    >>> named_graphs("DELETE WHERE { GRAPH ?g { ?s ?p ?o } }")
    ()
    """
    prefixes: dict[str, str] = {}
    found: list[str] = []
    previous = ""
    pending_prefix = ""
    for match in TOKEN.finditer(text):
        kind = match.lastgroup
        value = match.group()
        if kind == "comment":
            continue
        if previous == "PREFIX" and kind == "word" and value.endswith(":"):
            pending_prefix = value
            previous = ""
            continue
        if pending_prefix and kind == "iri":
            prefixes[pending_prefix] = value[1:-1]
            pending_prefix = ""
            continue
        pending_prefix = ""
        iri: str | None = None
        if kind == "iri":
            iri = value[1:-1]
        elif kind == "word" and ":" in value and not value.startswith("_:"):
            name, _, local = value.partition(":")
            base = prefixes.get(name + ":")
            iri = base + local if base is not None else None
        if iri is not None and previous in _GRAPH_NAMING and iri not in found:
            found.append(iri)
        previous = value.upper() if kind == "word" and ":" not in value else ""
    return tuple(found)
