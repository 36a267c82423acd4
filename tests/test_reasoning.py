"""HermiT over the ICF ontology and data, and the SPARQL rules that materialise the same inferences."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import owlready2
import pytest
from rdflib import RDF, Dataset, URIRef

from boostkg.config import PROJECT_ROOT
from boostkg.errors import InputError, ParseError, ReasoningError
from boostkg.namespaces import COUNTRY, ICF, ID, NUTS, THEME, graph_iri
from boostkg.reasoning.owl import ReasoningResult, check_consistency
from boostkg.reasoning.rules import Rule, load_rules, parse_rule

ONTOLOGY_DIR = PROJECT_ROOT / "ontology"
RULES_DIR = ONTOLOGY_DIR / "rules"
DATA_DIR = PROJECT_ROOT / "data"
FIXTURES = PROJECT_ROOT / "tests" / "data" / "reasoning"
VOCABULARIES = [ONTOLOGY_DIR / "icf.ttl", ONTOLOGY_DIR / "themes.ttl", ONTOLOGY_DIR / "vocab.ttl"]
CONSISTENT = FIXTURES / "consistent.ttl"
INCONSISTENT = FIXTURES / "inconsistent-sme-large-enterprise.ttl"

CLUSTER = str(ID["organisation/fixture-cluster"])
UNIVERSITY = str(ID["organisation/fixture-university"])
AGENCY = str(ID["organisation/fixture-agency"])
BYSTANDER = str(ID["organisation/fixture-bystander"])
ROMANIA = str(COUNTRY.ROU)

# (subject, property, object) facts the ontology is designed to entail from the fixture.
DESIGNED_FACTS = [
    (CLUSTER, str(ICF.locatedIn), ROMANIA),  # inRegion RO11, RO11 inCountry ROU
    (CLUSTER, str(ICF.locatedIn), str(NUTS.RO)),  # RO11 directlyPartOf RO1 directlyPartOf RO
    (UNIVERSITY, str(ICF.locatedIn), ROMANIA),  # basedInCity Cluj-Napoca, inRegion RO11, ...
    (AGENCY, str(ICF.locatedIn), str(NUTS.RO11)),  # org:hasSite o locatedIn
    (AGENCY, str(ICF.locatedIn), ROMANIA),
    (str(NUTS.RO11), str(ICF.partOf), str(NUTS.RO)),  # transitive partOf
    (CLUSTER, str(ICF.hasParticipation), str(ID["participation/fixture-boost-cluster"])),
    (CLUSTER, str(ICF.participatesIn), str(ID["project/fixture-boost"])),
    (AGENCY, str(ICF.participatesIn), str(ID["corridor/fixture"])),
    (str(ID["project/fixture-boost"]), str(ICF.hasTheme), str(THEME["health-wellbeing"])),  # SC1
    (UNIVERSITY, str(ICF.hasTheme), str(THEME["health-wellbeing"])),  # via its project
    (BYSTANDER, str(ICF.hasTheme), str(THEME["industry-cleantech-green"])),  # robotics, broader
]
DESIGNED_TYPES = [
    (CLUSTER, str(ICF.CorridorActor)),
    (UNIVERSITY, str(ICF.CorridorActor)),
    (AGENCY, str(ICF.CorridorActor)),
    (UNIVERSITY, str(ICF.AcademicActor)),
    (UNIVERSITY, str(ICF.Actor)),
    (AGENCY, str(ICF.PublicAuthority)),
]
COMPARED_PROPERTIES = frozenset(
    str(p)
    for p in (
        ICF.locatedIn,
        ICF.partOf,
        ICF.participant,
        ICF.hasParticipation,
        ICF.participatesIn,
        ICF.hasTheme,
        ICF.inRegion,
        ICF.inCountry,
    )
)


def materialise(paths: Sequence[Path], rules: Iterable[Rule], *, one_pass: bool = False) -> Dataset:
    """Load ``paths`` into named graphs and run the rules into graph/inferred (rdflib), as the store
    does: to a fixpoint, or only once with ``one_pass``."""
    dataset = Dataset(default_union=True)
    for path in paths:
        dataset.graph(graph_iri(path.stem)).parse(path, format="turtle")
    inferred = dataset.graph(graph_iri("inferred"))
    rule_list = list(rules)
    rounds = 1 if one_pass else 10
    for _ in range(rounds):
        before = len(inferred)
        for rule in rule_list:
            result = dataset.query(rule.query).graph
            assert result is not None, rule.name
            for triple in result:
                inferred.add(triple)
        if one_pass or len(inferred) == before:
            return dataset
    pytest.fail(f"the rules did not reach a fixpoint in {rounds} rounds")


def rule_facts(dataset: Dataset) -> tuple[set[tuple[str, str, str]], set[tuple[str, str]]]:
    """(property assertions on COMPARED_PROPERTIES, class assertions to icf classes) in the union."""
    props: set[tuple[str, str, str]] = set()
    types: set[tuple[str, str]] = set()
    for s, p, o, _ in dataset.quads((None, None, None, None)):
        if str(p) in COMPARED_PROPERTIES:
            props.add((str(s), str(p), str(o)))
        elif p == RDF.type and str(o).startswith(str(ICF._NS)):
            types.add((str(s), str(o)))
    return props, types


def hermit_facts(result: ReasoningResult) -> tuple[set[tuple[str, str, str]], set[tuple[str, str]]]:
    """The same two sets out of HermiT's entailments."""
    props = {t for t in result.property_assertions if t[1] in COMPARED_PROPERTIES}
    types = {(i, c) for i, c in result.class_assertions if c.startswith(str(ICF._NS))}
    return props, types


@dataclass(frozen=True)
class HermitRuns:
    """The module's HermiT runs (a Java start each, ~1.3 s), made once with tempfile's directory
    pointed at an empty scratch folder: what each gave, and what the folder held afterwards."""

    consistent: ReasoningResult
    inconsistent_error: ReasoningError
    inconsistent: ReasoningResult
    left_in_scratch: list[Path]
    tempdir_after: str | None
    scratch: Path


@pytest.fixture(scope="module")
def hermit_runs(tmp_path_factory: pytest.TempPathFactory) -> HermitRuns:
    scratch = tmp_path_factory.mktemp("hermit-tmp")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(tempfile, "tempdir", str(scratch))
        consistent = check_consistency([*VOCABULARIES, CONSISTENT])
        with pytest.raises(ReasoningError) as raised:
            check_consistency([*VOCABULARIES, INCONSISTENT])
        inconsistent = check_consistency([*VOCABULARIES, INCONSISTENT], raise_if_inconsistent=False)
        left, tempdir_after = sorted(scratch.iterdir()), tempfile.tempdir
    return HermitRuns(consistent, raised.value, inconsistent, left, tempdir_after, scratch)


@pytest.fixture(scope="module")
def fixture_result(hermit_runs: HermitRuns) -> ReasoningResult:
    return hermit_runs.consistent


@pytest.fixture(scope="module")
def fixture_rules_dataset() -> Dataset:
    return materialise([*VOCABULARIES, CONSISTENT], load_rules(RULES_DIR))


# --- HermiT -------------------------------------------------------------------------


def test_ontology_alone_is_consistent_and_every_class_satisfiable() -> None:
    result = check_consistency(VOCABULARIES)
    assert result.consistent
    assert result.unsatisfiable_classes == frozenset()


def test_fixture_is_consistent(fixture_result: ReasoningResult) -> None:
    assert fixture_result.consistent
    assert fixture_result.unsatisfiable_classes == frozenset()


@pytest.mark.parametrize(("subject", "prop", "obj"), DESIGNED_FACTS)
def test_hermit_entails_designed_fact(
    fixture_result: ReasoningResult, subject: str, prop: str, obj: str
) -> None:
    assert obj in fixture_result.values_of(subject, prop)


@pytest.mark.parametrize(("individual", "cls"), DESIGNED_TYPES)
def test_hermit_entails_designed_type(fixture_result: ReasoningResult, individual: str, cls: str) -> None:
    assert cls in fixture_result.types_of(individual)


def test_actor_outside_corridor_is_not_corridor_actor(fixture_result: ReasoningResult) -> None:
    assert str(ICF.Actor) in fixture_result.types_of(BYSTANDER)
    assert str(ICF.CorridorActor) not in fixture_result.types_of(BYSTANDER)


def test_sme_that_is_also_large_enterprise_is_inconsistent(hermit_runs: HermitRuns) -> None:
    assert "inconsistent" in str(hermit_runs.inconsistent_error)
    result = hermit_runs.inconsistent
    assert not result.consistent
    assert result.class_assertions == frozenset()


def test_missing_java_is_a_reasoning_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(owlready2, "JAVA_EXE", "no-such-java-binary-for-boostkg")
    with pytest.raises(ReasoningError, match="Java"):
        check_consistency([*VOCABULARIES, CONSISTENT])


def test_hermit_leaves_no_temporary_files(hermit_runs: HermitRuns) -> None:
    """After a consistent run, a raising inconsistent one and a reporting one: nothing left in the
    temporary folder, and tempfile's setting untouched."""
    assert hermit_runs.left_in_scratch == []
    assert hermit_runs.tempdir_after == str(hermit_runs.scratch)


def test_bad_turtle_is_a_parse_error_with_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ttl"
    bad.write_text(
        "@prefix icf: <https://w3id.org/boostkg/icf#> .\n\nicf:x a icf:Actor icf:y .\n", encoding="utf-8"
    )
    with pytest.raises(ParseError, match=r"bad\.ttl, line 3"):
        check_consistency([bad])


@pytest.mark.slow
def test_seed_and_reference_data_are_consistent() -> None:
    data = [DATA_DIR / name for name in ("seed.ttl", "nuts-2024.ttl", "eis.ttl")]
    missing = [str(p) for p in data if not p.is_file()]
    assert not missing, f"data files missing: {missing}"
    result = check_consistency([*VOCABULARIES, *data])
    assert result.consistent
    assert result.unsatisfiable_classes == frozenset()
    tit = str(ID["organisation/tit"])
    assert ROMANIA in result.values_of(tit, str(ICF.locatedIn))
    assert str(ICF.CorridorActor) in result.types_of(tit)


# --- SPARQL rules --------------------------------------------------------------------


def test_every_rule_file_loads_with_its_justification() -> None:
    rules = load_rules(RULES_DIR)
    assert len(rules) >= 10
    assert len({rule.name for rule in rules}) == len(rules)
    for rule in rules:
        assert "Derives:" in rule.description, rule.name
        assert "Justified by:" in rule.description, rule.name


@pytest.mark.parametrize(("subject", "prop", "obj"), DESIGNED_FACTS)
def test_rules_derive_designed_fact(
    fixture_rules_dataset: Dataset, subject: str, prop: str, obj: str
) -> None:
    assert (URIRef(subject), URIRef(prop), URIRef(obj)) in fixture_rules_dataset


@pytest.mark.parametrize(("individual", "cls"), DESIGNED_TYPES)
def test_rules_derive_designed_type(fixture_rules_dataset: Dataset, individual: str, cls: str) -> None:
    assert (URIRef(individual), RDF.type, URIRef(cls)) in fixture_rules_dataset


def test_rules_derive_exactly_what_hermit_entails(
    fixture_result: ReasoningResult, fixture_rules_dataset: Dataset
) -> None:
    rule_props, rule_types = rule_facts(fixture_rules_dataset)
    owl_props, owl_types = hermit_facts(fixture_result)
    assert sorted(owl_props - rule_props) == [], "HermiT entails these, the rules miss them"
    assert sorted(rule_props - owl_props) == [], "the rules derive these, HermiT does not entail them"
    assert sorted(owl_types - rule_types) == []
    assert sorted(rule_types - owl_types) == []


def test_rules_derive_coordinates_from_the_coordinator_role(fixture_rules_dataset: Dataset) -> None:
    coordinators = set(fixture_rules_dataset.subjects(ICF.coordinates, None))
    assert coordinators == {URIRef(CLUSTER), URIRef(BYSTANDER)}


def test_one_pass_of_the_rules_reaches_the_fixpoint(fixture_rules_dataset: Dataset) -> None:
    one_pass = materialise([*VOCABULARIES, CONSISTENT], load_rules(RULES_DIR), one_pass=True)
    inferred = graph_iri("inferred")
    assert set(one_pass.graph(inferred)) == set(fixture_rules_dataset.graph(inferred))


def test_rule_that_is_not_construct_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "select.rq"
    path.write_text("# Derives: nothing\nSELECT * WHERE { ?s ?p ?o }\n", encoding="utf-8")
    with pytest.raises(InputError, match="CONSTRUCT"):
        parse_rule(path)


def test_rule_without_header_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "bare.rq"
    path.write_text("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }\n", encoding="utf-8")
    with pytest.raises(InputError, match="comment"):
        parse_rule(path)


def test_invalid_rule_is_a_parse_error_with_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.rq"
    path.write_text("# Derives: nothing\nCONSTRUCT { ?s ?p ?o }\nWHERE { ?s ?p }\n", encoding="utf-8")
    with pytest.raises(ParseError, match=r"broken\.rq, line 3"):
        parse_rule(path)
