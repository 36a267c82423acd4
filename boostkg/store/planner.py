"""A work bound for simple queries, so that the endpoint can answer cheap ones without a worker.

A query worker (:mod:`boostkg.store.workers`) costs a process round trip of a millisecond or two,
more than a join around one named resource takes. It exists for queries that may run long: it can
be killed at the deadline. A query whose work has a small proven upper bound cannot run long, so it
needs no worker. This module proves such bounds.

The class of queries: ``SELECT [DISTINCT|REDUCED] (* | ?v ...)``, ``ASK`` or ``CONSTRUCT
{ template }`` over a ``WHERE`` that is one block of triple patterns or a ``UNION`` of such blocks,
with optional ``ORDER BY`` of variables, ``LIMIT`` and ``OFFSET``; terms are variables, IRIs,
prefixed names, ``a`` and string literals (with a language tag or datatype). Anything else — FILTER,
OPTIONAL, paths, blank nodes, numbers, sub-queries, GRAPH, FROM, SERVICE — is out of the class.

The bound: the store's :class:`Degrees` give, for each predicate, the most objects one subject has
for it and the most subjects one object has; with them the planner orders each block's patterns
greedily (most bound first) and multiplies the fan-outs: the rows after each pattern are at most
the product so far, and the work is at most the sum of those products (each row is one index probe
that extends it). A pattern whose first term is a named resource may be counted exactly instead
(``exact``: the store counts its matches, capped). A block whose bound exceeds the budget, or any
pattern that is a scan (no bound term), puts the query out of the class. Degrees count quads, so a
triple stated in two graphs counts twice: a bound is never below the truth.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from boostkg.store.lexer import tokens

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
WORK_BUDGET = 20_000
"""Rows a query answered without a worker may touch at most (pyoxigraph: about 1–3 µs per row)."""


@dataclass(frozen=True)
class Degrees:
    """Upper bounds on fan-out in one state of a store (``generation``): for each predicate IRI the
    most objects any subject has for it (``out``) and the most subjects any object has (``into``),
    the most triples of any subject (``out_any``) and of any object (``into_any``), the most
    triples of a subject that has a given predicate (``out_any_of``), and triples per predicate."""

    generation: int
    out: dict[str, int] = field(default_factory=dict)
    into: dict[str, int] = field(default_factory=dict)
    out_any_of: dict[str, int] = field(default_factory=dict)
    count: dict[str, int] = field(default_factory=dict)
    out_any: int = 0
    into_any: int = 0
    total: int = 0

    def to_json(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Degrees:
        def table(name: str) -> dict[str, int]:
            found = data.get(name)
            return {str(k): int(v) for k, v in found.items()} if isinstance(found, dict) else {}

        def number(name: str) -> int:
            found = data.get(name, 0)
            return int(found) if isinstance(found, int | str) else 0

        return cls(
            generation=number("generation"),
            out=table("out"),
            into=table("into"),
            out_any_of=table("out_any_of"),
            count=table("count"),
            out_any=number("out_any"),
            into_any=number("into_any"),
            total=number("total"),
        )


ALL_QUADS = "{ ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } }"
DEGREE_QUERIES = {
    "out": f"SELECT ?p (MAX(?n) AS ?m) (SUM(?n) AS ?t) {{ SELECT ?p ?s (COUNT(*) AS ?n) "
    f"{{ {ALL_QUADS} }} GROUP BY ?p ?s }} GROUP BY ?p",
    "into": f"SELECT ?p (MAX(?n) AS ?m) {{ SELECT ?p ?o (COUNT(*) AS ?n) {{ {ALL_QUADS} }} GROUP BY ?p ?o }} "
    "GROUP BY ?p",
    "out_any_of": f"SELECT ?p (MAX(?n) AS ?m) {{ "
    f"{{ SELECT ?s (COUNT(*) AS ?n) {{ {ALL_QUADS} }} GROUP BY ?s }} "
    "{ SELECT DISTINCT ?s ?p { { ?s ?p ?x } UNION { GRAPH ?h { ?s ?p ?x } } } } } GROUP BY ?p",
    "into_any": f"SELECT (MAX(?n) AS ?m) {{ SELECT ?o (COUNT(*) AS ?n) {{ {ALL_QUADS} }} GROUP BY ?o }}",
}
"""What :class:`Degrees` are measured with (run without a union default graph: every quad counts)."""


Rows = list[dict[str, str]]
ExactCount = Callable[[str, str | None, int], int]
"""The triples of a subject IRI (with one predicate IRI, or any: ``None``) counted up to a cap: the
count, or the cap when there are at least that many."""


def degrees_from_rows(generation: int, rows: dict[str, Rows]) -> Degrees:
    """:class:`Degrees` from the results of :data:`DEGREE_QUERIES` (values as plain strings)."""
    out = {r["p"]: int(r["m"]) for r in rows["out"] if "p" in r}
    count = {r["p"]: int(r["t"]) for r in rows["out"] if "p" in r}
    into = {r["p"]: int(r["m"]) for r in rows["into"] if "p" in r}
    out_any_of = {r["p"]: int(r["m"]) for r in rows["out_any_of"] if "p" in r}
    into_any = max((int(r["m"]) for r in rows["into_any"] if "m" in r), default=0)
    return Degrees(
        generation=generation,
        out=out,
        into=into,
        out_any_of=out_any_of,
        count=count,
        out_any=max(out_any_of.values(), default=0),
        into_any=into_any,
        total=sum(count.values()),
    )


# --- the query's shape ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pattern:
    """A triple pattern: each term a variable (``?name``), an IRI (``<...>``) or a literal in
    N-Triples (``"..."``, with its tag or datatype)."""

    s: str
    p: str
    o: str


class _OutOfClassError(Exception):
    """The query is not of the shape the planner bounds."""


class _Reader:
    """A recursive-descent reader of the query shapes in the module docstring."""

    def __init__(self, text: str) -> None:
        self.tokens = tokens(text)
        self.at = 0
        self.prefixes: dict[str, str] = {}
        self.base: str | None = None

    # tokens
    def kind(self) -> str:
        return self.tokens[self.at][0]

    def value(self) -> str:
        return self.tokens[self.at][1]

    def keyword(self) -> str:
        return self.value().upper() if self.kind() == "word" and ":" not in self.value() else ""

    def take(self, expected: str) -> None:
        if self.value() != expected and self.keyword() != expected:
            raise _OutOfClassError(expected)
        self.at += 1

    # terms
    def iri(self) -> str | None:
        """The token as an IRI in angle brackets, or ``None`` if it is not one."""
        kind, value = self.kind(), self.value()
        if kind == "iri":
            if self.base is not None or ":" not in value:
                raise _OutOfClassError("relative IRI")  # leave resolution to the engine's worker path
            return value
        if kind == "word" and ":" in value and not value.startswith("_:"):
            if value.endswith("."):
                raise _OutOfClassError("a name running into '.'")
            name, _, local = value.partition(":")
            base = self.prefixes.get(name)
            if base is None or any(c in local for c in "\\%"):
                raise _OutOfClassError("unknown prefix or escaped name")
            return f"<{base}{local}>"
        return None

    def term(self, *, predicate: bool = False) -> str:
        kind, value = self.kind(), self.value()
        if kind == "var":
            self.at += 1
            return "?" + value[1:]
        if predicate and kind == "word" and value == "a":
            self.at += 1
            return f"<{RDF_TYPE}>"
        found = self.iri()
        if found is not None:
            self.at += 1
            return found
        if kind == "string" and not predicate:
            self.at += 1
            if self.value() == "@":
                self.at += 1
                if self.kind() != "word" or ":" in self.value():
                    raise _OutOfClassError("language tag")
                tag = self.value()
                self.at += 1
                return f"{value}@{tag}"
            if self.value() == "^":
                self.at += 1
                self.take("^")
                datatype = self.iri()
                if datatype is None:
                    raise _OutOfClassError("datatype")
                self.at += 1
                return f"{value}^^{datatype}"
            return value
        raise _OutOfClassError(f"term {value!r}")

    # structure
    def prologue(self) -> None:
        while self.keyword() in ("PREFIX", "BASE"):
            if self.keyword() == "BASE":
                self.at += 1
                if self.kind() != "iri":
                    raise _OutOfClassError("BASE")
                self.base = self.value()
                self.at += 1
                continue
            self.at += 1
            name = self.value()
            if not (self.kind() == "word" and name.endswith(":") and name.count(":") == 1):
                raise _OutOfClassError("PREFIX")
            self.at += 1
            if self.kind() != "iri":
                raise _OutOfClassError("PREFIX")
            self.prefixes[name[:-1]] = self.value()[1:-1]
            self.at += 1

    def triples(self, stop: str) -> list[Pattern]:
        """Triple patterns up to the closing brace (not taken), with ``;`` and ``,`` lists."""
        found: list[Pattern] = []
        while self.value() != stop:
            subject = self.term()
            while True:
                predicate = self.term(predicate=True)
                while True:
                    found.append(Pattern(subject, predicate, self.term()))
                    if self.value() != ",":
                        break
                    self.at += 1
                if self.value() != ";":
                    break
                self.at += 1
                if self.value() in (".", stop):
                    break
            if self.value() == ".":
                self.at += 1
            elif self.value() != stop:
                raise _OutOfClassError("triples")
        return found

    def group(self) -> list[list[Pattern]]:
        """A ``{ }`` group as its alternative blocks (one unless it is a UNION of blocks)."""
        self.take("{")
        if self.kind() != "open":
            block = self.triples("}")
            self.take("}")
            if not block:
                raise _OutOfClassError("empty group")
            return [block]
        branches: list[list[Pattern]] = []
        while True:
            branches += self.group()
            if self.keyword() != "UNION":
                break
            self.at += 1
        self.take("}")
        return branches

    def modifiers(self) -> None:
        if self.keyword() == "ORDER":
            self.at += 1
            self.take("BY")
            orders = 0
            while True:
                if self.kind() == "var":
                    self.at += 1
                elif self.keyword() in ("ASC", "DESC"):
                    self.at += 1
                    self.take("(")
                    if self.kind() != "var":
                        raise _OutOfClassError("ORDER BY expression")
                    self.at += 1
                    self.take(")")
                else:
                    break
                orders += 1
            if not orders:
                raise _OutOfClassError("ORDER BY")
        seen: set[str] = set()
        while self.keyword() in ("LIMIT", "OFFSET") and self.keyword() not in seen:
            seen.add(self.keyword())
            self.at += 1
            digits = 0
            while self.kind() == "other" and self.value().isdigit():
                self.at += 1
                digits += 1
            if not digits:
                raise _OutOfClassError("LIMIT/OFFSET")

    def query(self) -> tuple[list[list[Pattern]], list[Pattern]]:
        """(alternative blocks of the WHERE, CONSTRUCT template) of the whole text."""
        self.prologue()
        template: list[Pattern] = []
        form = self.keyword()
        self.at += 1
        if form == "SELECT":
            if self.keyword() in ("DISTINCT", "REDUCED"):
                self.at += 1
            if self.value() == "*":
                self.at += 1
            elif self.kind() == "var":
                while self.kind() == "var":
                    self.at += 1
            else:
                raise _OutOfClassError("projection")
        elif form == "CONSTRUCT":
            self.take("{")
            template = self.triples("}")
            self.take("}")
            self.take("WHERE")
        elif form != "ASK":
            raise _OutOfClassError(f"query form {form}")
        if self.keyword() == "WHERE":
            self.at += 1
        branches = self.group()
        self.modifiers()
        if self.kind() != "end":
            raise _OutOfClassError(f"trailing {self.value()!r}")
        return branches, template


def shape(text: str) -> tuple[list[list[Pattern]], list[Pattern]] | None:
    """The query's alternative blocks of triple patterns and its CONSTRUCT template, or ``None`` if
    the query is not of the class in the module docstring.

    >>> blocks, _ = shape("PREFIX ex: <http://e/> SELECT ?o { ex:a ex:p ?x . ?x ex:q ?o }")
    >>> [(p.s, p.p, p.o) for p in blocks[0]]
    [('<http://e/a>', '<http://e/p>', '?x'), ('?x', '<http://e/q>', '?o')]
    >>> shape("SELECT * { ?s ?p ?o FILTER(?o > 1) }") is None
    True
    """
    try:
        return _Reader(text).query()
    except _OutOfClassError:
        return None


# --- the bound --------------------------------------------------------------------------------------


def _is_var(term: str) -> bool:
    return term.startswith("?")


def _fan_out(pattern: Pattern, bound: set[str], degrees: Degrees, subject_of: dict[str, set[str]]) -> int:
    """At most how many matches the pattern has for one row binding ``bound``."""
    s_bound = not _is_var(pattern.s) or pattern.s in bound
    o_bound = not _is_var(pattern.o) or pattern.o in bound
    predicate = None if _is_var(pattern.p) else pattern.p[1:-1]
    p_free = predicate is None and pattern.p not in bound
    if s_bound:
        # the subject's triples: refined by any predicate the subject is known to have in this block
        out_any = degrees.out_any
        for known in subject_of.get(pattern.s, ()):
            out_any = min(out_any, degrees.out_any_of.get(known, 0))
        if o_bound:
            return 1 if not p_free else out_any
        if predicate is not None:
            return min(degrees.out.get(predicate, 0), out_any)
        return out_any
    if o_bound:
        if predicate is not None:
            return degrees.into.get(predicate, 0)
        return degrees.into_any
    if predicate is not None:
        return degrees.count.get(predicate, 0)
    return degrees.total


def block_work(
    block: list[Pattern], degrees: Degrees, exact: ExactCount | None = None, budget: int = WORK_BUDGET
) -> int | None:
    """The work bound of one block (rows touched), or ``None`` if it passes ``budget``. The degrees
    alone are tried first; only if they do not prove the bound is the first step counted exactly
    (a query of its own: about as costly as a small lookup)."""
    found = _block_work(block, degrees, None, budget)
    if found is None and exact is not None:
        found = _block_work(block, degrees, exact, budget)
    return found


def _block_work(block: list[Pattern], degrees: Degrees, exact: ExactCount | None, budget: int) -> int | None:
    subject_of: dict[str, set[str]] = {}
    for pattern in block:
        if _is_var(pattern.s) and not _is_var(pattern.p):
            subject_of.setdefault(pattern.s, set()).add(pattern.p[1:-1])
    bound: set[str] = set()
    left = list(block)
    rows = 1
    work = 0
    while left:
        fans = [(_fan_out(p, bound, degrees, subject_of), i) for i, p in enumerate(left)]
        fan, index = min(fans)
        pattern = left.pop(index)
        if rows == 1 and exact is not None and not _is_var(pattern.s) and fan > 1:
            # the first step from a named subject: count it (capped) rather than take the worst case
            predicate = None if _is_var(pattern.p) else pattern.p[1:-1]
            fan = min(fan, exact(pattern.s[1:-1], predicate, budget + 1))  # the object may only lower it
        rows *= max(fan, 0)
        work += rows
        if work > budget:
            return None
        bound |= {t for t in (pattern.s, pattern.p, pattern.o) if _is_var(t)}
        if rows == 0:
            break
    return work


def work_bound(
    text: str, degrees: Degrees, exact: ExactCount | None = None, budget: int = WORK_BUDGET
) -> int | None:
    """The work bound of a query in the class of the module docstring, or ``None`` if it is out of
    the class or its bound passes ``budget`` (the query then needs a worker)."""
    found = shape(text)
    if found is None:
        return None
    branches, _ = found
    total = 0
    for block in branches:
        work = block_work(block, degrees, exact, budget - total)
        if work is None:
            return None
        total += work
    return total
