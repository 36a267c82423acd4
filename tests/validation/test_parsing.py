"""parse_submission: formats, bad input refused with file/line/column and the term, line numbers."""

from __future__ import annotations

import json
import re

import pytest
from rdflib import BNode, URIRef

from boostkg.errors import EncodingError, InputError, ParseError
from boostkg.validation import MAX_NESTING, parse_submission

ORG = "https://w3id.org/boostkg/id/organisation/"
HEAD = (
    b"@prefix icf: <https://w3id.org/boostkg/icf#> .\n"
    b"@prefix o: <https://w3id.org/boostkg/id/organisation/> .\n"
)


def _parse(data: bytes, media_type: str = "text/turtle"):  # type: ignore[no-untyped-def]
    return parse_submission(data, media_type=media_type, source_name="s.ttl")


def test_positions_of_statement_subjects() -> None:
    data = HEAD + (
        b"# a comment\n"
        b"o:a a icf:SME ;\n"  # line 4
        b'    icf:acronym "A" .\n'
        b"\n"
        b"  <https://w3id.org/boostkg/id/organisation/b> a icf:SME ;\n"  # line 7, column 3
        b"    icf:hasNeed o:c ,\n"
        b"        o:d .\n"  # o:d at a line start but inside a statement: not a subject line
        b"o:d a icf:Need .\n"  # line 10
    )
    parsed = _parse(data)
    assert parsed.position(URIRef(ORG + "a")) == (4, 1)
    assert parsed.position(URIRef(ORG + "b")) == (7, 3)
    assert parsed.position(URIRef(ORG + "d")) == (10, 1)
    assert parsed.position(URIRef(ORG + "c")) == (None, None)  # never a subject
    assert parsed.triples == 6


def test_ntriples_positions() -> None:
    data = (
        b'<http://example.org/a> <http://example.org/p> "x" .\n'
        b'<http://example.org/b> <http://example.org/p> "y" .\n'
    )
    parsed = _parse(data, "application/n-triples")
    assert parsed.position(URIRef("http://example.org/b")) == (2, 1)


def test_referenced_iris_are_the_untyped_ones() -> None:
    data = (
        HEAD
        + b"o:a a icf:SME ; icf:inRegion <http://data.europa.eu/nuts/code/RO11> ; icf:hasNeed o:n .\n"
        + b"o:n a icf:Need .\n"
    )
    parsed = _parse(data)
    assert parsed.referenced == frozenset({URIRef("http://data.europa.eu/nuts/code/RO11")})


def test_malformed_turtle_names_line_and_column() -> None:
    with pytest.raises(ParseError) as caught:
        _parse(HEAD + b'o:a a icf:SME ;\n    icf:acronym "A" \n o:b a icf:SME .\n')
    assert caught.value.location is not None
    assert caught.value.location.source == "s.ttl"
    assert caught.value.location.line == 5
    assert caught.value.location.column is not None


def test_non_utf8_names_line_and_column() -> None:
    with pytest.raises(EncodingError) as caught:
        _parse(HEAD + b'o:a icf:acronym "caf\xe9" .\n')
    assert caught.value.location is not None
    assert (caught.value.location.line, caught.value.location.column) == (3, 21)
    assert "0xe9" in str(caught.value)


def test_empty_body_is_refused() -> None:
    with pytest.raises(InputError, match="empty"):
        _parse(b"  \n")


def test_unknown_media_type_is_refused() -> None:
    with pytest.raises(InputError, match="unsupported media type 'text/csv'"):
        _parse(b"a,b\n", "text/csv")


def test_relative_iri_is_refused_with_its_line() -> None:
    with pytest.raises(InputError) as caught:
        _parse(HEAD + b"<relative/thing> a icf:SME .\n")
    assert caught.value.location is not None
    assert caught.value.location.line == 3
    assert "absolute" in str(caught.value)


def test_iri_with_a_space_is_refused() -> None:
    with pytest.raises(InputError) as caught:
        _parse(HEAD + b"<https://example.org/a b> a icf:SME .\n")
    assert caught.value.location is not None
    assert caught.value.location.line == 3
    assert "' '" in str(caught.value) or "space" in str(caught.value)


def test_ill_typed_literal_is_refused_naming_it_and_its_line() -> None:
    data = (
        HEAD
        + b"@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n"
        + b'o:a a icf:SME ;\n    icf:startDate "abc"^^xsd:date .\n'
    )
    with pytest.raises(InputError) as caught:
        _parse(data)
    assert '"abc"^^xsd:date' in str(caught.value)
    assert caught.value.location is not None
    assert caught.value.location.line == 4


def test_ill_typed_gyear_is_refused() -> None:
    with pytest.raises(InputError, match="nineteen"):
        _parse(HEAD + b'o:a icf:edition "nineteen"^^<http://www.w3.org/2001/XMLSchema#gYear> .\n')


def test_deeply_nested_list_is_refused_not_crashing() -> None:
    depth = 100_000
    data = HEAD + b"o:a icf:acronym " + b"(" * depth + b")" * depth + b" .\n"
    with pytest.raises(InputError, match=f"deeper than {MAX_NESTING}") as caught:
        _parse(data)
    assert caught.value.location is not None
    assert caught.value.location.line == 3


def test_nesting_up_to_the_limit_is_accepted() -> None:
    data = (
        HEAD
        + b"o:a icf:acronym "
        + b"[ icf:acronym " * (MAX_NESTING - 1)
        + b'"x"'
        + b" ]" * (MAX_NESTING - 1)
        + b" .\n"
    )
    assert _parse(data).triples == MAX_NESTING


def test_brackets_inside_strings_do_not_count() -> None:
    data = HEAD + b'o:a icf:acronym "' + b"(" * 500 + b'" .\n'
    assert _parse(data).triples == 1


def test_jsonld_with_inline_context() -> None:
    doc = {
        "@context": {"icf": "https://w3id.org/boostkg/icf#"},
        "@id": ORG + "j",
        "@type": "icf:SME",
        "icf:acronym": "J",
    }
    parsed = _parse(json.dumps(doc, indent=1).encode(), "application/ld+json")
    assert parsed.triples == 2
    assert parsed.position(URIRef(ORG + "j")) == (5, 9)


def test_jsonld_remote_context_is_refused_naming_it() -> None:
    doc = {"@context": "https://schema.org/", "@id": ORG + "j", "name": "J"}
    with pytest.raises(InputError, match=re.escape("https://schema.org/")):
        _parse(json.dumps(doc).encode(), "application/ld+json")


def test_jsonld_nested_remote_context_is_refused() -> None:
    doc = {
        "@context": {"s": "https://schema.org/"},
        "@graph": [{"@context": ["https://example.org/ctx.jsonld"]}],
    }
    with pytest.raises(InputError, match=re.escape("ctx.jsonld")):
        _parse(json.dumps(doc).encode(), "application/ld+json")


def test_malformed_json_names_line_and_column() -> None:
    with pytest.raises(ParseError) as caught:
        _parse(b'{\n  "@id": \n}', "application/ld+json")
    assert caught.value.location is not None
    assert caught.value.location.line == 3


def test_rdfxml_with_external_entity_is_refused() -> None:
    data = b"""<?xml version="1.0"?>
<!DOCTYPE rdf:RDF [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="https://example.org/a"><rdf:value>&xxe;</rdf:value></rdf:Description>
</rdf:RDF>"""
    with pytest.raises(InputError, match="DOCTYPE") as caught:
        _parse(data, "application/rdf+xml")
    assert caught.value.location is not None
    assert caught.value.location.line == 2


def test_rdfxml_is_parsed() -> None:
    data = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:icf="https://w3id.org/boostkg/icf#">
  <icf:SME rdf:about="https://example.org/a"><icf:acronym>A</icf:acronym></icf:SME>
</rdf:RDF>"""
    parsed = _parse(data, "application/rdf+xml")
    assert parsed.triples == 2
    assert parsed.position(URIRef("https://example.org/a")) == (3, 22)


def test_blank_node_labels_keep_their_position() -> None:
    parsed = _parse(HEAD + b"_:x a icf:SME .\n")
    subject = next(iter(parsed.graph.subjects()))
    assert isinstance(subject, BNode)
    assert parsed.position(subject) == (3, 1)
