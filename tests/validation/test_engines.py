"""The compiled engine (SPARQL over an in-memory graph) gives exactly pySHACL's issues.

pySHACL is the reference: every example submission (valid and invalid, with no context, offline
context and the loaded store) and a synthetic submission full of edge cases are validated by both
engines, and the reports must be identical, issue for issue and in the same order.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import SH, XSD

from boostkg.config import PROJECT_ROOT
from boostkg.store import EmbeddedStore
from boostkg.validation import Engine, ParsedSubmission, Shapes, parse_submission, validate
from boostkg.validation.compiled import compile_shapes
from boostkg.validation.engine import _compiled

EXAMPLES = sorted((PROJECT_ROOT / "data" / "examples").rglob("*.ttl"))
CORE = "https://w3id.org/boostkg/shapes/core#"

HEAD = """@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
@prefix schema: <https://schema.org/> .
@prefix org: <http://www.w3.org/ns/org#> .
@prefix icf: <https://w3id.org/boostkg/icf#> .
@prefix theme: <https://w3id.org/boostkg/theme/> .
@prefix role: <https://w3id.org/boostkg/vocab/role/> .
@prefix sb: <https://w3id.org/boostkg/vocab/scoreboard/> .
@prefix pg: <https://w3id.org/boostkg/vocab/performance-group/> .
@prefix nuts: <http://data.europa.eu/nuts/code/> .
@prefix country: <http://publications.europa.eu/resource/authority/country/> .
@prefix o: <https://w3id.org/boostkg/id/organisation/> .
@prefix x: <https://w3id.org/boostkg/id/engine-test/> .
"""

# Values chosen to hit the corners where two SHACL implementations could disagree: lexical forms
# of numbers ("1.0" and "1.00" are two values), a PIC with a trailing newline (Python's "$" matches
# before it), language tags in other cases or with regions, strings against numeric bounds, IRIs
# where literals are expected and the reverse, blank nodes as values, several end dates; and for the
# values the store rules out before Python judges them: digits of other scripts, white space Python
# and the store's regular expressions see differently, non-ASCII text at a length limit, decimals
# too long to be exact, dates with time zones.
PICS = ['"123456789"', '"12345678"', '"123456789\\n"', '"abc"', "123456789", '"123456789"@en', '"١٢٣٤٥٦٧٨٩"']
LABELS = ['"Name"@en', '"Name"@EN', '"Name"@en-GB', '"Nombre"@es', '"Plain"', "<https://example.org/l>"]
EMAILS = [
    '"a@b.org"',
    '"no-at-sign"',
    '"a b@c.org"',
    "<mailto:a@b.org>",
    '"a\\u00a0b@c.org"',
    '"a\\u001cb@c.org"',
]
HOMEPAGES = [
    "<https://example.org/>",
    '"https://example.org/"',
    "<ftp://example.org/>",
    "[]",
    '"https://e.org/\\u001c"',
]
AMOUNTS = ["1.0", "1.00", "-0.5", "0.0", '"12"', "12", '"12"^^xsd:integer', "1e3", '"abc"@en', "-0.0", "+5.0"]
AMOUNTS += [
    "0.00000000000000000001",
    "-0.0000000000000000001",
    '"99999999999999999999999"^^xsd:integer',
    ".5",
]
SCORES = ["105.9", "300.0", "300.5", "-1.0", '"high"', "200"]
DATES = ['"2020-01-01"^^xsd:date', '"2024-06-30"^^xsd:date', '"2019-12-31"^^xsd:date', '"2020"', "2020"]
DATES += ['"2020-01-01Z"^^xsd:date', '"2019-12-31-05:00"^^xsd:date', '"2020-01-01"^^xsd:dateTime']
HELIX = ["icf:SME", "icf:University", "icf:Actor", "icf:NGO", "icf:Cluster"]
THEMES = ["theme:robotics", "theme:ict-digital", "theme:nowhere", "<https://example.org/theme>", '"robotics"']
REGIONS = ["nuts:RO11", "nuts:RO113", "nuts:XX99", "country:ROU", '"RO11"']
ROLES = ["role:coordinator", "role:partner", "role:boss", '"coordinator"']
GROUPS = ["pg:Leader", "pg:Strong-plus", "pg:Nowhere", "sb:EIS"]
NUMBERS = ["40", "12.5", '"forty"', "4.0e1", '"40"^^xsd:integer', "true"]


def synthetic(actors: int, seed: int = 3) -> bytes:
    """A submission of about 35 triples per actor, many of them broken in different ways."""
    rng = random.Random(seed)
    parts = [HEAD]
    for i in range(actors):
        c = rng.choice
        pics = " , ".join(rng.sample(PICS, rng.choice([0, 1, 1, 2])))
        labels = " , ".join(rng.sample(LABELS, rng.choice([0, 1, 1, 2])))
        ends = " , ".join(rng.sample(DATES, rng.choice([0, 1, 2])))
        parts.append(f"""
o:t-{i} a {c(HELIX)} ; {"rdfs:label " + labels + " ;" if labels else ""}
    {"icf:pic " + pics + " ;" if pics else ""}
    schema:email {c(EMAILS)} ; foaf:homepage {c(HOMEPAGES)} ;
    icf:acronym "{c("AÉ") * c([3, 32, 33])}" ;
    icf:inRegion {c(REGIONS)} ; icf:hasTheme {c(THEMES)} , {c(THEMES)} ;
    icf:hasCapability x:cap-{i} ; icf:hasNeed x:cap-{i} .
x:cap-{i} a icf:Capability ; rdfs:label {c(LABELS)} ; icf:hasTheme {c(THEMES)} .
x:m-{i} a org:Membership ; org:member o:t-{i} , o:{c(["tit", "tsp", "nobody"])} ;
    icf:startDate {c(DATES)} ; {"icf:endDate " + ends + " ;" if ends else ""}
    org:organization {c(["o:tit", "x:cap-" + str(i), "o:t-" + str(i)])} .
x:p-{i} a icf:Partnership ; rdfs:label {c(LABELS)} ; icf:amount {c(AMOUNTS)} , {c(AMOUNTS)} ;
    icf:startDate {c(DATES)} ; icf:endDate {c(DATES)} ; icf:hasTheme {c(THEMES)} ;
    icf:fundedBy {c(["x:g-" + str(i), "x:cap-" + str(i), "o:tit"])} ;
    icf:grantAgreementNumber {c(['"101070737"', '"12"', "101070737"])} ;
    icf:partOfCorridor {c(["<https://w3id.org/boostkg/id/corridor/boost>", "x:p-" + str(i)])} .
x:pa-{i} a icf:Participation ; icf:participant {c(["o:t-" + str(i), "x:cap-" + str(i), '"me"'])} ;
    icf:inCollaboration x:p-{i} ; icf:participationRole {c(ROLES)} ; icf:contribution {c(AMOUNTS)} ;
    icf:startDate {c(DATES)} ; icf:endDate {c(DATES)} .
x:g-{i} a icf:Grant ; rdfs:label {c(LABELS)} ; icf:amount {c(AMOUNTS)} ; icf:beneficiary o:t-{i} .
x:c-{i} a icf:PerformanceClassification ; icf:classifiedPlace {c(REGIONS)} ; icf:scoreboard sb:EIS ;
    icf:edition {c(['"2023"^^xsd:gYear', '"2023"', "2023"])} ; icf:performanceGroup {c(GROUPS)} ;
    icf:score {c(SCORES)} .
x:i-{i} a icf:Indicator ; rdfs:label {c(LABELS)} ; icf:unit {c(['"companies"', '"firms"@en'])} ;
    icf:targetValue {c(NUMBERS)} ; icf:baselineValue {c(NUMBERS)} , {c(NUMBERS)} .
""")
    return "".join(parts).encode()


def _parsed(path: Path) -> ParsedSubmission:
    return parse_submission(path.read_bytes(), media_type="text/turtle", source_name=path.name)


def _same(parsed: ParsedSubmission, shapes: Shapes, **context: object) -> int:
    """Assert both engines agree; return how many issues they found."""
    fast = validate(parsed, shapes, engine=Engine.AUTO, **context)  # type: ignore[arg-type]
    reference = validate(parsed, shapes, engine=Engine.PYSHACL, **context)  # type: ignore[arg-type]
    assert fast.issues == reference.issues
    assert fast.conforms == reference.conforms
    return len(fast.issues)


def test_every_shape_is_compiled(shapes: Shapes) -> None:
    """So that the comparisons below compare two engines, not pySHACL with itself."""
    compiled = _compiled(shapes)
    assert compiled.leftover is None
    targeted = set(shapes.graph.subjects(SH.targetClass, None))
    assert set(compiled.compiled) == targeted
    assert len(compiled.checks) > 150


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_examples_agree(path: Path, shapes: Shapes, reference: Graph, loaded_store: EmbeddedStore) -> None:
    parsed = _parsed(path)
    found = _same(parsed, shapes) + _same(parsed, shapes, reference=reference)
    found += _same(parsed, shapes, store=loaded_store)
    assert found > 0  # without context every example breaks the reference rules


def test_synthetic_submission_agrees(shapes: Shapes, reference: Graph) -> None:
    parsed = parse_submission(synthetic(60), media_type="text/turtle", source_name="synthetic.ttl")
    assert len(parsed.graph) > 2000
    fast = validate(parsed, shapes, reference=reference)
    assert fast.issues == validate(parsed, shapes, reference=reference, engine=Engine.PYSHACL).issues
    components = Counter(issue.constraint for issue in fast.issues)
    assert set(components) >= {
        "ClassConstraintComponent",
        "DatatypeConstraintComponent",
        "HasValueConstraintComponent",
        "InConstraintComponent",
        "LessThanOrEqualsConstraintComponent",
        "MaxCountConstraintComponent",
        "MaxInclusiveConstraintComponent",
        "MaxLengthConstraintComponent",
        "MinCountConstraintComponent",
        "MinInclusiveConstraintComponent",
        "NodeConstraintComponent",
        "NodeKindConstraintComponent",
        "PatternConstraintComponent",
        "QualifiedMinCountConstraintComponent",
    }
    assert len(fast.warnings()) > 0
    assert len(fast.violations()) > 200


def test_numbers_keep_their_lexical_form(shapes: Shapes, reference: Graph) -> None:
    """1.0 and 1.00 are two values (maxCount) and are reported as written, not as 1."""
    data = (
        HEAD.encode()
        + b"""
x:p a icf:Partnership ; rdfs:label "P"@en ; icf:amount 1.0 , 1.00 .
"""
    )
    parsed = parse_submission(data, media_type="text/turtle", source_name="n.ttl")
    report = validate(parsed, shapes, reference=reference)
    assert ("MaxCountConstraintComponent", CORE + "Collaboration-amount") in {
        (i.constraint, i.shape) for i in report.violations()
    }
    _same(parsed, shapes, reference=reference)


def test_a_shape_the_compiler_does_not_know_goes_to_pyshacl(shapes: Shapes, reference: Graph) -> None:
    graph = Graph()
    graph += shapes.graph
    shape = URIRef(CORE + "Test-uniqueLang")
    graph.add((URIRef(CORE + "Actor"), SH.property, shape))
    graph.add((shape, SH.path, URIRef("http://www.w3.org/2000/01/rdf-schema#label")))
    graph.add((shape, SH.uniqueLang, Literal(True)))
    graph.add((shape, SH.message, Literal("one name per language")))
    extended = Shapes(graph=graph, files=shapes.files, version="test", subclass_axioms=shapes.subclass_axioms)
    compiled = compile_shapes(graph)
    assert compiled.leftover is not None
    assert URIRef(CORE + "Actor") not in compiled.compiled
    data = (
        HEAD.encode()
        + b"""
o:u a icf:SME ; rdfs:label "One"@en , "Two"@en ; icf:inCountry country:ROU .
"""
    )
    parsed = parse_submission(data, media_type="text/turtle", source_name="u.ttl")
    report = validate(parsed, extended, reference=reference)
    assert "UniqueLangConstraintComponent" in {i.constraint for i in report.violations()}
    _same(parsed, extended, reference=reference)


def test_literal_stand_ins_do_not_leak(shapes: Shapes, reference: Graph) -> None:
    """Values come back with their real datatype, equal to the submitted terms."""
    data = (
        HEAD.encode()
        + b"""
x:c a icf:PerformanceClassification ; icf:classifiedPlace nuts:RO11 ; icf:scoreboard sb:EIS ;
    icf:edition "2023"^^xsd:gYear ; icf:score 300.50 .
"""
    )
    parsed = parse_submission(data, media_type="text/turtle", source_name="s.ttl")
    report = validate(parsed, shapes, reference=reference)
    values = {i.value for i in report.violations()}
    assert values == {'"300.50"^^xsd:decimal'}
    assert Literal("300.50", datatype=XSD.decimal) in set(parsed.graph.objects())


def test_a_graph_with_an_ill_typed_literal_is_left_to_pyshacl(shapes: Shapes, reference: Graph) -> None:
    """parse_submission refuses ill-typed literals; a submission built otherwise is still
    validated, by pySHACL alone (it treats such literals as not of their datatype)."""
    data = (
        HEAD.encode()
        + b"""
x:p a icf:Partnership ; rdfs:label "P"@en ; icf:startDate "2024-01-01"^^xsd:date .
"""
    )
    parsed = parse_submission(data, media_type="text/turtle", source_name="d.ttl")
    graph = Graph()
    graph += parsed.graph
    partnership = URIRef("https://w3id.org/boostkg/id/engine-test/p")
    graph.add(
        (partnership, URIRef("https://w3id.org/boostkg/icf#endDate"), Literal("soon", datatype=XSD.date))
    )
    built = ParsedSubmission.of_graph(
        graph, source_name="d.ttl", rdf_format=parsed.rdf_format, data=parsed.data
    )
    report = validate(built, shapes, reference=reference)
    assert (CORE + "Collaboration-end", "DatatypeConstraintComponent") in {
        (i.shape, i.constraint) for i in report.violations()
    }
    _same(built, shapes, reference=reference)
