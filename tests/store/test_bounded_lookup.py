"""Which queries the endpoint may answer in its own process, and the size-bounded in-process run."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rdflib import Literal, URIRef

from boostkg.store import EmbeddedStore, ResultFormat
from boostkg.store.lexer import is_bounded_lookup, scan, tokens

EX = "http://example.org/"


@pytest.mark.parametrize(
    "query",
    [
        "SELECT ?p ?o WHERE { <http://example.org/a> ?p ?o }",
        "select * { <http://example.org/a> ?p ?o . }",
        "PREFIX ex: <http://example.org/> BASE <http://example.org/> "
        "SELECT ?l WHERE { ex:a a ex:C ; ex:l ?l }",
        "PREFIX ex: <http://example.org/> ASK { ex:a ex:p 'x'@en-GB, \"y\"^^ex:t, _:b, ex:o }",
        "SELECT ?o { <http://example.org/a> ?p ?o } LIMIT 10",
        "# a comment\nSELECT ?o { <http://example.org/a> ?p ?o ; }",
    ],
)
def test_lookups_by_named_subject_are_bounded(query: str) -> None:
    assert is_bounded_lookup(query)


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * { ?s ?p ?o }",
        "SELECT * { _:b ?p ?o }",
        "SELECT * { <http://example.org/a> ?p ?o . ?o ?q ?r }",
        "SELECT DISTINCT ?p { <http://example.org/a> ?p ?o }",
        "SELECT ?o { <http://example.org/a> ?p ?o FILTER(?o != 1) }",
        "SELECT ?o { <http://example.org/a> ?p ?o } ORDER BY ?o",
        "SELECT ?o { <http://example.org/a> ?p ?o } OFFSET 5",
        "SELECT (COUNT(*) AS ?n) { <http://example.org/a> ?p ?o }",
        "SELECT ?o FROM <http://example.org/g> { <http://example.org/a> ?p ?o }",
        "SELECT ?o { GRAPH ?g { <http://example.org/a> ?p ?o } }",
        "SELECT ?o { { <http://example.org/a> ?p ?o } UNION { ?o ?p ?x } }",
        "SELECT ?o { <http://example.org/a> <http://example.org/p>* ?o }",
        "SELECT ?o { <http://example.org/a> ?p [ ?q ?o ] }",
        "SELECT ?o { <http://example.org/a> ?p 1 }",
        "SELECT ?o { SERVICE <http://example.org/s> { <http://example.org/a> ?p ?o } }",
        "CONSTRUCT WHERE { <http://example.org/a> ?p ?o }",
        "SELECT ?o { <http://example.org/a> ?p ?o . <http://example.org/a> ?p ?o . "
        "<http://example.org/a> ?p ?o . <http://example.org/a> ?p ?o . <http://example.org/a> ?p ?o }",
        "INSERT DATA { <http://example.org/a> <http://example.org/p> 1 }",
        "SELECT ?o { <http://example.org/a> ?p ?o",
    ],
)
def test_anything_that_could_scan_or_sort_is_not(query: str) -> None:
    assert not is_bounded_lookup(query)


def _filled(store: EmbeddedStore, objects: int) -> EmbeddedStore:
    a = URIRef(EX + "a")
    store.add_triples(
        URIRef(EX + "g"), [(a, URIRef(EX + f"p{i}"), Literal(f"value {i}")) for i in range(objects)]
    )
    return store


def test_small_results_come_back_serialised(store: EmbeddedStore) -> None:
    body = _filled(store, 3).query_small(
        f"SELECT ?p ?o {{ <{EX}a> ?p ?o }}", result_format=ResultFormat.JSON, base_iri=None, max_bytes=1 << 16
    )
    assert body is not None
    rows = json.loads(body)["results"]["bindings"]
    assert sorted(r["o"]["value"] for r in rows) == ["value 0", "value 1", "value 2"]


def test_results_past_the_budget_and_errors_give_none(store: EmbeddedStore) -> None:
    _filled(store, 2000)
    query = f"SELECT ?p ?o {{ <{EX}a> ?p ?o }}"
    assert store.query_small(query, result_format=ResultFormat.JSON, base_iri=None, max_bytes=4096) is None
    whole = store.query_small(query, result_format=ResultFormat.JSON, base_iri=None, max_bytes=1 << 20)
    assert whole is not None
    assert len(json.loads(whole)["results"]["bindings"]) == 2000
    assert (
        store.query_small("SELECT ?p {", result_format=ResultFormat.JSON, base_iri=None, max_bytes=4096)
        is None
    )


def test_tokens_are_read_once_per_text_and_never_mixed_up() -> None:
    first = "PREFIX ex: <http://example.org/> SELECT ?o WHERE { ex:a ex:p ?o } # note"
    second = "ASK { <http://example.org/a> ?p 'x' }"
    read = tokens(first)
    assert tokens(first) is read  # the scan, the lookup check and the planner share one reading
    assert [kind for kind, _, _ in read][-1] == "end"
    assert "ws" not in {kind for kind, _, _ in read}
    assert "comment" not in {kind for kind, _, _ in read}
    assert read[0] == ("word", "PREFIX", 0)
    assert tokens(second) is not read
    assert tokens(second)[0] == ("word", "ASK", 0)
    assert scan(second).form == "ASK"  # each text's own tokens, whatever was read last
    assert scan(first).form == "SELECT"
    assert is_bounded_lookup(second)
    assert is_bounded_lookup(first)
    assert not is_bounded_lookup(first.replace("ex:a", "?s"))


PIECES = [*"aSELCT{}<>?$:\"'#\n\t .;*^@_1\\\u00a0é", "PREFIX ", "<http://x/>", '"""', "SERVICE "]


def _blank(gap: str) -> bool:
    """Only whitespace and comments."""
    return not re.sub(r"#[^\n]*", "", gap).strip()


@given(st.lists(st.sampled_from(PIECES), max_size=40).map("".join))
def test_tokens_cover_the_text_but_whitespace_and_comments(text: str) -> None:
    found = tokens(text)
    assert found[-1] == ("end", "", len(text))
    at = 0
    for _kind, value, start in found[:-1]:
        assert start >= at
        assert text[start : start + len(value)] == value
        assert value.strip() == value  # never a whitespace token
        assert _blank(text[at:start]), (text[at:start], text)  # what lies between: skipped
        at = start + len(value)
    assert _blank(text[at:]), text
