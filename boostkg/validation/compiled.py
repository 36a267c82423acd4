"""The shapes compiled to SPARQL: the fast validation engine, with pySHACL as its reference.

Each (targeted node shape, property shape, constraint) becomes one SELECT query that returns the
constraint's violations -- focus node, and value where SHACL reports one -- over an in-memory
graph holding the submission, its context and the subclass axioms. A few constraints compare
literal values (``sh:pattern``, ``sh:maxLength``, ``sh:minInclusive`` ..., ``sh:lessThanOrEquals``):
their query returns the candidate values and Python decides, with the same rules (and for ranges,
the same comparison function) as pySHACL, so that regular-expression dialects and numeric
promotion cannot make the two engines disagree.

Only what the shapes use is compiled. A node shape that uses anything else (another component,
``sh:flags``, a property shape without exactly one ``sh:message``, a target other than
``sh:targetClass`` ...) stays with pySHACL: :func:`compile_shapes` returns it in
:attr:`CompiledShapes.leftover`, a copy of the shapes graph whose only targets are those shapes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from pyshacl.rdfutil.compare import compare_literal
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, RDFS, SH, XSD
from rdflib.term import Node

from boostkg.store.memory import MemoryGraph, Row, lexical_datatype
from boostkg.validation.model import Severity

INSTANCE_OF = URIRef("urn:x-boostkg:validation:instanceOf")
"""Added to the in-memory graph before the checks run: ``?x INSTANCE_OF ?c`` for every SHACL
instance (``rdf:type/rdfs:subClassOf*``) of every class the shapes target or test with
``sh:class``, so that each check looks instances up instead of walking the hierarchy again."""

_TARGETS = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf)
_DOCUMENTATION = frozenset(
    {
        RDF.type,
        SH.name,
        SH.description,
        SH.message,
        SH.severity,
        SH.order,
        SH.group,
        SH.defaultValue,
        RDFS.label,
        RDFS.comment,
    }
)
"""Predicates of a shape that do not constrain anything."""


class UnsupportedShapeError(Exception):
    """A shape uses something this engine does not compile; pySHACL validates it instead."""


@dataclass(frozen=True)
class Check:
    """One constraint of one property shape, as seen from one targeted node shape."""

    shape: URIRef
    """The property shape (``sh:sourceShape`` of its results)."""
    severity: Severity
    message: str
    constraint: str
    """The constraint component's local name, e.g. ``MinCountConstraintComponent``."""
    path: Node
    """The SHACL path node (shown with :func:`boostkg.validation.model.show_path`)."""
    query: str
    """SELECT ?f [?v [?w]]: violations, or candidates when :attr:`keep` is set."""
    keep: Callable[[Row], bool] | None = field(default=None, compare=False)
    """For candidate queries: whether a row is a violation (raises :class:`UnsupportedShapeError` when
    pySHACL would stop with an error instead)."""
    has_value: bool = True
    """Whether results name a value (``sh:value``)."""


@dataclass(frozen=True)
class CompiledShapes:
    """The compiled checks, and the shapes left to pySHACL (``None`` when there are none)."""

    checks: tuple[Check, ...]
    preparation: str
    """The SPARQL update that adds the :data:`INSTANCE_OF` triples the checks use."""
    compiled: tuple[URIRef, ...]
    """The targeted node shapes the checks cover."""
    leftover: Graph | None


@dataclass(frozen=True)
class Violation:
    """One result of a compiled check, before it is turned into an Issue."""

    check: Check
    focus: Node
    value: Node | None


# --- compiling -------------------------------------------------------------------------------------


def compile_shapes(shapes_graph: Graph) -> CompiledShapes:
    """Compile every node shape whose only target is ``sh:targetClass`` and whose constraints are
    all supported; the rest is returned as :attr:`CompiledShapes.leftover` for pySHACL."""
    checks: list[Check] = []
    compiled: list[URIRef] = []
    classes: set[URIRef] = set()
    targeted = {s for t in _TARGETS for s in shapes_graph.subjects(t, None)}
    targeted |= {s for s in shapes_graph.subjects(RDF.type, RDFS.Class) if _is_shape(shapes_graph, s)}
    for node_shape in sorted(targeted, key=str):
        used: set[URIRef] = set()
        try:
            found = list(_node_shape_checks(shapes_graph, node_shape, used))
        except UnsupportedShapeError:
            continue
        classes |= used
        assert isinstance(node_shape, URIRef)
        checks.extend(found)
        compiled.append(node_shape)
    leftover: Graph | None = None
    if len(compiled) < len(targeted):
        leftover = Graph()
        leftover += shapes_graph
        for node_shape in compiled:
            leftover.remove((node_shape, SH.targetClass, None))
    values = " ".join(c.n3() for c in sorted(classes))
    preparation = (
        f"INSERT {{ ?x {INSTANCE_OF.n3()} ?c }} "
        f"WHERE {{ VALUES ?c {{ {values} }} ?x {_RDF_TYPE}/{_SUBCLASS}* ?c }}"
    )
    return CompiledShapes(tuple(checks), preparation, tuple(compiled), leftover)


def _is_shape(graph: Graph, node: Node) -> bool:
    return (node, RDF.type, SH.NodeShape) in graph or (node, RDF.type, SH.PropertyShape) in graph


def _node_shape_checks(graph: Graph, node_shape: Node, classes: set[URIRef]) -> Iterator[Check]:
    if not isinstance(node_shape, URIRef):
        raise UnsupportedShapeError("blank node shape")
    targets = list(graph.objects(node_shape, SH.targetClass))
    if (
        any((node_shape, t, None) in graph for t in _TARGETS[1:])
        or (node_shape, RDF.type, RDFS.Class) in graph
    ):
        raise UnsupportedShapeError("target other than sh:targetClass")
    if (node_shape, SH.path, None) in graph or (node_shape, SH.deactivated, None) in graph:
        raise UnsupportedShapeError("targeted property shape or deactivated shape")
    for predicate in set(graph.predicates(node_shape, None)):
        if predicate not in _DOCUMENTATION and predicate not in (SH.targetClass, SH.property):
            raise UnsupportedShapeError(f"node shape constraint {predicate}")
    for target in targets:
        if not isinstance(target, URIRef):
            raise UnsupportedShapeError("target class is not an IRI")
        classes.add(target)
        focus = f"?f {INSTANCE_OF.n3()} {target.n3()} ."
        for property_shape in sorted(graph.objects(node_shape, SH.property), key=str):
            yield from _property_checks(graph, property_shape, focus, classes)


_RDF_TYPE = RDF.type.n3()
_SUBCLASS = RDFS.subClassOf.n3()
_SUPPORTED_PROPERTY_PARAMETERS = frozenset(
    {
        SH.path,
        SH.minCount,
        SH.maxCount,
        SH["class"],
        SH.datatype,
        SH.nodeKind,
        SH.pattern,
        SH.minLength,
        SH.maxLength,
        SH.minInclusive,
        SH.maxInclusive,
        SH.minExclusive,
        SH.maxExclusive,
        SH["in"],
        SH.hasValue,
        SH.lessThanOrEquals,
        SH.node,
        SH.languageIn,
        SH.qualifiedValueShape,
        SH.qualifiedMinCount,
        SH.qualifiedMaxCount,
    }
)


def _property_checks(graph: Graph, shape: Node, focus: str, classes: set[URIRef]) -> Iterator[Check]:
    if not isinstance(shape, URIRef):
        raise UnsupportedShapeError("blank node property shape")
    predicates = set(graph.predicates(shape, None))
    extra = predicates - _SUPPORTED_PROPERTY_PARAMETERS - _DOCUMENTATION
    if extra or (shape, SH.deactivated, None) in graph:
        raise UnsupportedShapeError(f"property shape parameters {extra}")
    messages = list(graph.objects(shape, SH.message))
    if len(messages) != 1:
        raise UnsupportedShapeError("a property shape needs exactly one sh:message to be compiled")
    severity = _severity(graph.value(shape, SH.severity))
    path_node = _single(graph, shape, SH.path)
    path = _sparql_path(graph, path_node)
    # The focus pattern is one triple pattern of a set-semantics graph, and so is a plain predicate
    # path: their solutions are already distinct, and DISTINCT would only cost a hash table per
    # query. Other paths (sequences, alternatives, repetitions) can repeat a pair.
    if isinstance(path_node, URIRef):
        values = f"{{ {focus} ?f {path} ?v . }}"
    else:
        values = f"{{ SELECT DISTINCT ?f ?v WHERE {{ {focus} ?f {path} ?v . }} }}"
    focused = f"{{ {focus} }}"

    def check(
        component: str, query: str, keep: Callable[[Row], bool] | None = None, has_value: bool = True
    ) -> Check:
        return Check(shape, severity, str(messages[0]), component, path_node, query, keep, has_value)

    def failing(expression: str) -> str:
        return f"SELECT ?f ?v WHERE {{ {values} FILTER(!({expression})) }}"

    def candidates(certainly_fine: str | None = None) -> str:
        """The values Python judges; ``certainly_fine``, when given, is a SPARQL expression true
        only for values Python would accept too, so those never leave the store (an expression
        that errors keeps the row)."""
        if certainly_fine is None:
            return f"SELECT ?f ?v WHERE {values}"
        return f"SELECT ?f ?v WHERE {{ {values} FILTER(!COALESCE({certainly_fine}, false)) }}"

    for predicate in sorted(predicates - _DOCUMENTATION - {SH.path}, key=str):
        objects = list(graph.objects(shape, predicate))
        if predicate in (SH.qualifiedMinCount, SH.qualifiedMaxCount):
            continue  # with sh:qualifiedValueShape below
        if len(objects) != 1:
            raise UnsupportedShapeError(f"{predicate} given {len(objects)} times")
        value = objects[0]
        if predicate == SH.minCount:
            count = _count(value)
            if count == 0:
                continue
            if count == 1:
                query = f"SELECT ?f WHERE {{ {focused} FILTER NOT EXISTS {{ ?f {path} ?any }} }}"
            else:
                query = (
                    f"SELECT ?f WHERE {{ {focused} OPTIONAL {{ ?f {path} ?v }} }} "
                    f"GROUP BY ?f HAVING (COUNT(DISTINCT ?v) < {count})"
                )
            yield check("MinCountConstraintComponent", query, has_value=False)
        elif predicate == SH.maxCount:
            query = f"SELECT ?f WHERE {{ {values} }} GROUP BY ?f HAVING (COUNT(?v) > {_count(value)})"
            yield check("MaxCountConstraintComponent", query, has_value=False)
        elif predicate == SH.hasValue:
            query = f"SELECT ?f WHERE {{ {focused} FILTER NOT EXISTS {{ ?f {path} {_term(value)} }} }}"
            yield check("HasValueConstraintComponent", query, has_value=False)
        elif predicate == SH.pattern:
            if (shape, SH.flags, None) in graph or not isinstance(value, Literal):
                raise UnsupportedShapeError("sh:flags")
            fine = _pattern_fine(str(value))
            yield check("PatternConstraintComponent", candidates(fine), _pattern(str(value)))
        elif predicate in (SH.minLength, SH.maxLength):
            limit = _count(value)
            longest = predicate == SH.maxLength
            name = "MaxLengthConstraintComponent" if longest else "MinLengthConstraintComponent"
            fine = f"!isBlank(?v) && STRLEN(STR(?v)) {'<=' if longest else '>='} {limit}"
            yield check(name, candidates(fine), _length(limit, longest))
        elif predicate in _RANGES:
            if not isinstance(value, Literal):
                raise UnsupportedShapeError("range bound is not a literal")
            name, accept = _RANGES[predicate]
            yield check(name, candidates(_range_fine(predicate, value)), _range(value, accept))
        elif predicate == SH.lessThanOrEquals:
            if not isinstance(value, URIRef):
                raise UnsupportedShapeError("sh:lessThanOrEquals with a path")
            query = (
                f"SELECT DISTINCT ?f ?v ?w WHERE {{ {values} ?f {value.n3()} ?w . "
                f"FILTER(!COALESCE({_DATES_IN_ORDER}, false)) }}"
            )
            yield check("LessThanOrEqualsConstraintComponent", query, _less_than_or_equals)
        elif predicate == SH.qualifiedValueShape:
            if (shape, SH.qualifiedValueShapesDisjoint, None) in graph:
                raise UnsupportedShapeError("sh:qualifiedValueShapesDisjoint")
            expression = _conforms(graph, value, "?v", 0, classes)
            qualified = f"{{ SELECT DISTINCT ?f ?v WHERE {{ {focus} ?f {path} ?v . FILTER({expression}) }} }}"
            low = graph.value(shape, SH.qualifiedMinCount)
            high = graph.value(shape, SH.qualifiedMaxCount)
            if low is not None and _count(low) > 0:
                query = (
                    f"SELECT ?f WHERE {{ {focused} OPTIONAL {qualified} }} "
                    f"GROUP BY ?f HAVING (COUNT(?v) < {_count(low)})"
                )
                yield check("QualifiedMinCountConstraintComponent", query, has_value=False)
            if high is not None:
                query = f"SELECT ?f WHERE {qualified} GROUP BY ?f HAVING (COUNT(?v) > {_count(high)})"
                yield check("QualifiedMaxCountConstraintComponent", query, has_value=False)
        else:
            component, expression = _value_test(graph, predicate, value, "?v", 0, classes)
            yield check(component, failing(expression))


def _severity(node: Node | None) -> Severity:
    if node is None:
        return Severity.VIOLATION
    for severity in Severity:
        if node == severity.iri:
            return severity
    raise UnsupportedShapeError(f"severity {node}")


def _single(graph: Graph, subject: Node, predicate: URIRef) -> Node:
    values = list(graph.objects(subject, predicate))
    if len(values) != 1:
        raise UnsupportedShapeError(f"{predicate} given {len(values)} times")
    return values[0]


def _count(node: Node) -> int:
    if not isinstance(node, Literal) or not isinstance(node.value, int) or isinstance(node.value, bool):
        raise UnsupportedShapeError("a count that is not an integer")
    return node.value


def _term(node: Node) -> str:
    """A term as written in a query over a :class:`MemoryGraph` (typed literals by their stand-in)."""
    if isinstance(node, URIRef):
        return node.n3()
    if isinstance(node, Literal):
        if node.language or node.datatype is None:
            return node.n3()
        lexical = Literal(str(node)).n3()
        return f"{lexical}^^<{lexical_datatype(str(node.datatype))}>"
    raise UnsupportedShapeError("a blank node in a constraint")


def _sparql_path(graph: Graph, node: Node) -> str:
    if isinstance(node, URIRef):
        return node.n3()
    if not isinstance(node, BNode):
        raise UnsupportedShapeError("a literal path")
    if graph.value(node, RDF.first) is not None:
        steps = list(Collection(graph, node))
        if len(steps) < 2:
            raise UnsupportedShapeError("a sequence path of fewer than two steps")
        return "(" + "/".join(_sparql_path(graph, step) for step in steps) + ")"
    forms = {
        SH.inversePath: "^({})",
        SH.zeroOrMorePath: "({})*",
        SH.oneOrMorePath: "({})+",
        SH.zeroOrOnePath: "({})?",
    }
    for predicate, template in forms.items():
        inner = graph.value(node, predicate)
        if inner is not None:
            return template.format(_sparql_path(graph, inner))
    alternatives = graph.value(node, SH.alternativePath)
    if alternatives is not None:
        return "(" + "|".join(_sparql_path(graph, p) for p in Collection(graph, alternatives)) + ")"
    raise UnsupportedShapeError("an unknown path form")


_NODE_KINDS: dict[Node, str] = {
    SH.IRI: "isIRI({v})",
    SH.BlankNode: "isBlank({v})",
    SH.Literal: "isLiteral({v})",
    SH.BlankNodeOrIRI: "(isBlank({v}) || isIRI({v}))",
    SH.BlankNodeOrLiteral: "(isBlank({v}) || isLiteral({v}))",
    SH.IRIOrLiteral: "(isIRI({v}) || isLiteral({v}))",
}


def _value_test(
    graph: Graph, predicate: Node, value: Node, v: str, depth: int, classes: set[URIRef]
) -> tuple[str, str]:
    """(component name, SPARQL expression true when ``v`` satisfies the constraint)."""
    if predicate == SH["class"]:
        if not isinstance(value, URIRef):
            raise UnsupportedShapeError("sh:class of a blank node")
        classes.add(value)
        return "ClassConstraintComponent", f"EXISTS {{ {v} {INSTANCE_OF.n3()} {value.n3()} }}"
    if predicate == SH.datatype:
        if not isinstance(value, URIRef):
            raise UnsupportedShapeError("sh:datatype of a blank node")
        if value == RDFS.Literal:
            test = f"isLiteral({v})"
        elif value == RDFS.Datatype:
            raise UnsupportedShapeError("sh:datatype rdfs:Datatype")
        elif value == RDF.langString:
            test = f'(isLiteral({v}) && lang({v}) != "")'
        else:
            test = f"(isLiteral({v}) && sameTerm(datatype({v}), <{lexical_datatype(str(value))}>))"
        return "DatatypeConstraintComponent", test
    if predicate == SH.nodeKind:
        if value not in _NODE_KINDS:
            raise UnsupportedShapeError(f"sh:nodeKind {value}")
        return "NodeKindConstraintComponent", _NODE_KINDS[value].format(v=v)
    if predicate == SH["in"]:
        members = list(Collection(graph, value)) if isinstance(value, BNode) else []
        if not members:
            return "InConstraintComponent", "false"
        return "InConstraintComponent", "(" + " || ".join(f"sameTerm({v}, {_term(m)})" for m in members) + ")"
    if predicate == SH.languageIn:
        tags = list(Collection(graph, value)) if isinstance(value, BNode) else []
        if any(not isinstance(t, Literal) or "-" in str(t) or "*" in str(t) for t in tags):
            raise UnsupportedShapeError("sh:languageIn with ranges or wildcards")
        if not tags:
            return "LanguageInConstraintComponent", "false"
        matches = " || ".join(f"langMatches(lang({v}), {Literal(str(t).lower()).n3()})" for t in tags)
        return "LanguageInConstraintComponent", f"(isLiteral({v}) && ({matches}))"
    if predicate == SH.node:
        return "NodeConstraintComponent", _conforms(graph, value, v, depth + 1, classes)
    raise UnsupportedShapeError(f"value constraint {predicate}")


def _conforms(graph: Graph, shape: Node, v: str, depth: int, classes: set[URIRef]) -> str:
    """A SPARQL expression true when ``v`` conforms to the node shape ``shape`` (value tests,
    ``sh:or``, ``sh:and``, ``sh:not`` only)."""
    if depth > 8:
        raise UnsupportedShapeError("shapes nested too deeply")
    tests: list[str] = []
    for predicate, value in graph.predicate_objects(shape):
        if predicate in _DOCUMENTATION or predicate in _TARGETS:
            continue
        if predicate in (SH["or"], SH["and"]):
            members = list(Collection(graph, value)) if isinstance(value, BNode) else []
            inner = [_conforms(graph, m, v, depth + 1, classes) for m in members]
            joiner = " || " if predicate == SH["or"] else " && "
            empty = "false" if predicate == SH["or"] else "true"
            tests.append("(" + joiner.join(inner) + ")" if inner else empty)
        elif predicate == SH["not"]:
            tests.append(f"!({_conforms(graph, value, v, depth + 1, classes)})")
        else:
            tests.append(_value_test(graph, predicate, value, v, depth, classes)[1])
    return "(" + " && ".join(tests) + ")" if tests else "true"


# --- what the store may rule out before Python judges ---------------------------------------------
# Candidate queries return every value for Python to judge with pySHACL's rules. Most values pass,
# and turning 100k of them into rdflib terms costs more than the queries. These expressions are
# true only for values that Python would accept as well, so the store drops them early; anything
# they cannot decide (or that errors) still goes to Python.

_LEX_DATE = f"<{lexical_datatype(str(XSD.date))}>"
_PLAIN_DATE = '"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"'
_DATES_IN_ORDER = (
    f"sameTerm(datatype(?v), {_LEX_DATE}) && sameTerm(datatype(?w), {_LEX_DATE}) "
    f"&& REGEX(STR(?v), {_PLAIN_DATE}) && REGEX(STR(?w), {_PLAIN_DATE}) && STR(?v) <= STR(?w)"
)
"""Two xsd:dates written YYYY-MM-DD (no time zone): their text order is their time order."""

_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ,:/_@#%='\"!<>;")
_ESCAPED = frozenset(".-/+?()[]{}*^$|\\")
_QUANTIFIER = re.compile(r"\{[0-9]+(?:,[0-9]*)?\}")
_PYTHON_SPACE = "".join(c for c in map(chr, range(0x3001)) if c.isspace())
r"""What ``\s`` matches in Python (all below U+3001), written out for the store's dialect."""


def _store_pattern(pattern: str) -> str | None:
    r"""``pattern`` rewritten so that whatever the store's REGEX matches, Python's ``re`` matches
    too, or ``None`` when that cannot be promised.

    Accepted: plain characters, escaped punctuation, ``.``, anchors, groups without ``(?``,
    alternation, the quantifiers ``? * + {n} {n,} {n,m}``, and classes of plain characters and
    ranges. ``\s`` becomes the characters Python counts as white space and ``\d`` becomes
    ``0-9`` (narrower than Python's Unicode digits: safe). Refused: nested classes, POSIX names and
    set operations (one dialect reads them, the other does not), ``\w``, ``\b`` and the like.
    """
    out: list[str] = []
    index, in_class = 0, False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            escaped = pattern[index + 1 : index + 2]
            if escaped == "d":
                out.append("0-9" if in_class else "[0-9]")
            elif escaped == "s":
                out.append(_PYTHON_SPACE if in_class else f"[{_PYTHON_SPACE}]")
            elif escaped == "S" and not in_class:
                out.append(f"[^{_PYTHON_SPACE}]")
            elif escaped and escaped in _ESCAPED:
                out.append(char + escaped)
            else:
                return None
            index += 2
            continue
        if in_class:
            if char == "[" or pattern.startswith(("&&", "--", "~~"), index):
                return None
            if char == "]":
                in_class = False
            elif char not in _PLAIN and char not in "-^.$|(){}?*+":
                return None
        elif char == "[":
            if pattern.startswith(("[]", "[^]"), index):
                return None
            in_class = True
        elif char == "{":
            quantifier = _QUANTIFIER.match(pattern, index)
            if quantifier is None or not out:
                return None
            out.append(quantifier.group())
            index = quantifier.end()
            continue
        elif pattern.startswith("(?", index) or (char not in _PLAIN and char not in "^$.|()?*+"):
            return None
        out.append(char)
        index += 1
    return None if in_class else "".join(out)


def _pattern_fine(pattern: str) -> str | None:
    rewritten = _store_pattern(pattern)
    if rewritten is None:
        return None
    return f"!isBlank(?v) && REGEX(STR(?v), {Literal(rewritten).n3()})"


_EXACT_NUMBERS = (XSD.integer, XSD.decimal)
_RANGE_OPERATORS: dict[Node, str] = {
    SH.minInclusive: ">=",
    SH.minExclusive: ">",
    SH.maxInclusive: "<=",
    SH.maxExclusive: "<",
}


def _range_fine(predicate: Node, bound: Literal) -> str | None:
    """Integers and decimals (short enough to be exact in the store) compared with an integer or
    decimal bound: the comparison pySHACL makes."""
    if bound.datatype not in _EXACT_NUMBERS or not isinstance(bound.value, int | Decimal):
        return None
    types = " || ".join(f"sameTerm(datatype(?v), <{lexical_datatype(str(t))}>)" for t in _EXACT_NUMBERS)
    return (
        f'({types}) && STRLEN(STR(?v)) <= 15 && REGEX(STR(?v), "^[+-]?[0-9]+(\\\\.[0-9]*)?$") '
        f"&& <{XSD.decimal}>(STR(?v)) {_RANGE_OPERATORS[predicate]} {Decimal(bound.value)}"
    )


# --- value checks done in Python, with pySHACL's rules ---------------------------------------------


def _pattern(pattern: str) -> Callable[[Row], bool]:
    compiled = re.compile(pattern)

    def keep(row: Row) -> bool:
        value = row[1]
        if isinstance(value, BNode):
            return True
        text = str(value)
        return not (compiled.match(text) or compiled.search(text))

    return keep


def _length(limit: int, longest: bool) -> Callable[[Row], bool]:
    def keep(row: Row) -> bool:
        value = row[1]
        if longest:
            return isinstance(value, BNode) or len(str(value)) > limit
        if limit == 0:
            return False
        return isinstance(value, BNode) or len(str(value)) < limit

    return keep


_RANGES: dict[Node, tuple[str, Callable[[int], bool]]] = {
    SH.minInclusive: ("MinInclusiveConstraintComponent", lambda c: c >= 0),
    SH.minExclusive: ("MinExclusiveConstraintComponent", lambda c: c > 0),
    SH.maxInclusive: ("MaxInclusiveConstraintComponent", lambda c: c <= 0),
    SH.maxExclusive: ("MaxExclusiveConstraintComponent", lambda c: c < 0),
}


def _range(bound: Literal, accept: Callable[[int], bool]) -> Callable[[Row], bool]:
    bound_is_string = isinstance(bound.value, str)

    def keep(row: Row) -> bool:
        value = row[1]
        if not isinstance(value, Literal):
            return True
        if isinstance(value.value, str) != bound_is_string:
            return True
        try:
            return not accept(compare_literal(value, bound))  # type: ignore[no-untyped-call]
        except (TypeError, NotImplementedError):
            return True

    return keep


def _less_than_or_equals(row: Row) -> bool:
    value, other = row[1], row[2]
    if (
        isinstance(value, Literal)
        and isinstance(other, Literal)
        and value.datatype == other.datatype == XSD.date
        and type(value.value) is type(other.value) is date
    ):
        return not value.value <= other.value  # what rdflib's Literal.__le__ decides, faster
    if isinstance(value, BNode) or isinstance(other, BNode):
        raise UnsupportedShapeError("sh:lessThanOrEquals over a blank node (pySHACL stops with an error)")
    left, left_is_string = _comparable(value)
    right, right_is_string = _comparable(other)
    if left_is_string != right_is_string:
        return True
    try:
        return not left <= right  # type: ignore[operator]
    except TypeError:
        raise UnsupportedShapeError("incomparable values for sh:lessThanOrEquals") from None


def _comparable(term: Node | None) -> tuple[object, bool]:
    if isinstance(term, URIRef):
        return str(term), True
    if isinstance(term, Literal) and isinstance(term.value, str):
        return term.value, True
    return term, False


# --- running ---------------------------------------------------------------------------------------


def run_checks(graph: MemoryGraph, compiled: CompiledShapes) -> list[Violation]:
    """Every violation of the compiled checks in ``graph`` (which gains the :data:`INSTANCE_OF`
    triples).

    Raises:
        UnsupportedShapeError: a value pySHACL would refuse to compare (validate with pySHACL instead).
    """
    found: list[Violation] = []
    graph.update(compiled.preparation)
    for check in compiled.checks:
        for row in graph.select(check.query):
            if check.keep is not None and not check.keep(row):
                continue
            focus = row[0]
            assert focus is not None
            value = row[1] if check.has_value and len(row) > 1 else None
            found.append(Violation(check, focus, value))
    return found
