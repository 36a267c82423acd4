"""The ICF ontology and its SKOS schemes: header, labels and definitions, domains and ranges,
disjointness, OWL 2 DL hygiene (declared terms, no property punning)."""

from __future__ import annotations

import csv
import gzip
from datetime import date
from pathlib import Path

import pytest
from rdflib import OWL, RDF, RDFS, SKOS, XSD, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import DCTERMS
from rdflib.term import Node

from boostkg.config import PROJECT_ROOT
from boostkg.namespaces import ICF, ONTOLOGY_IRI, ONTOLOGY_VERSION, THEME, VANN, VOCAB

ONTOLOGY_DIR = PROJECT_ROOT / "ontology"
ICF_NS = str(ICF._NS)
LANGUAGE_NAMESPACES = (
    str(RDF),
    str(RDFS),
    str(OWL),
    str(XSD),
)
DECLARATION_TYPES = (
    OWL.Class,
    OWL.ObjectProperty,
    OWL.DatatypeProperty,
    OWL.AnnotationProperty,
    RDFS.Datatype,
)
HELIX = (ICF.AcademicActor, ICF.BusinessActor, ICF.PublicAuthority, ICF.CivilSocietyOrganisation)


@pytest.fixture(scope="module")
def icf() -> Graph:
    return Graph().parse(ONTOLOGY_DIR / "icf.ttl", format="turtle")


@pytest.fixture(scope="module")
def themes() -> Graph:
    return Graph().parse(ONTOLOGY_DIR / "themes.ttl", format="turtle")


@pytest.fixture(scope="module")
def vocab() -> Graph:
    return Graph().parse(ONTOLOGY_DIR / "vocab.ttl", format="turtle")


def icf_terms(graph: Graph, kind: URIRef) -> list[URIRef]:
    return sorted(
        t for t in graph.subjects(RDF.type, kind) if isinstance(t, URIRef) and str(t).startswith(ICF_NS)
    )


def english(graph: Graph, subject: URIRef, predicate: URIRef) -> list[str]:
    return [
        str(o)
        for o in graph.objects(subject, predicate)
        if isinstance(o, Literal) and o.language == "en" and str(o).strip()
    ]


def declared(graph: Graph) -> set[URIRef]:
    return {t for kind in DECLARATION_TYPES for t in graph.subjects(RDF.type, kind) if isinstance(t, URIRef)}


def disjoint_sets(graph: Graph) -> list[set[Node]]:
    """Every disjointness axiom as a set of classes (pairwise disjointWith and AllDisjointClasses)."""
    sets: list[set[Node]] = [
        {s, o} for s, o in graph.subject_objects(OWL.disjointWith) if isinstance(o, URIRef)
    ]
    for axiom in graph.subjects(RDF.type, OWL.AllDisjointClasses):
        members = graph.value(axiom, OWL.members)
        assert isinstance(members, BNode)
        sets.append({m for m in Collection(graph, members) if isinstance(m, URIRef)})
    return sets


# --- header ------------------------------------------------------------------------------


def test_header_is_complete(icf: Graph) -> None:
    onto = ONTOLOGY_IRI
    assert (onto, RDF.type, OWL.Ontology) in icf
    assert icf.value(onto, OWL.versionIRI) == URIRef(f"{onto}/{ONTOLOGY_VERSION}")
    assert str(icf.value(onto, OWL.versionInfo)) == ONTOLOGY_VERSION
    assert icf.value(onto, DCTERMS.license) == URIRef("https://creativecommons.org/licenses/by/4.0/")
    assert english(icf, onto, DCTERMS.title)
    assert english(icf, onto, DCTERMS.description)
    assert icf.value(onto, DCTERMS.creator) is not None
    for prop in (DCTERMS.created, DCTERMS.modified):
        value = icf.value(onto, prop)
        assert isinstance(value, Literal)
        assert value.datatype == XSD.date
        assert value.toPython() == date(2026, 11, 25)
    assert str(icf.value(onto, VANN.preferredNamespacePrefix)) == "icf"
    assert str(icf.value(onto, VANN.preferredNamespaceUri)) == ICF_NS


# --- labels, definitions, domains and ranges -----------------------------------------------


def test_every_icf_term_has_an_english_label_and_definition(icf: Graph) -> None:
    terms = {t for kind in DECLARATION_TYPES for t in icf_terms(icf, kind)}
    assert len(terms) == len(ICF.__annotations__)
    unlabelled = sorted(t for t in terms if not english(icf, t, RDFS.label))
    undefined = sorted(t for t in terms if not english(icf, t, SKOS.definition))
    assert unlabelled == []
    assert undefined == []


def test_object_properties_have_domain_and_range(icf: Graph) -> None:
    props = icf_terms(icf, OWL.ObjectProperty)
    assert len(props) >= 30
    assert [p for p in props if icf.value(p, RDFS.domain) is None] == []
    assert [p for p in props if icf.value(p, RDFS.range) is None] == []


def test_datatype_properties_have_ranges(icf: Graph) -> None:
    props = icf_terms(icf, OWL.DatatypeProperty)
    assert len(props) >= 20
    assert [p for p in props if icf.value(p, RDFS.range) is None] == []


def test_dates_money_and_editions_have_the_fixed_datatypes(icf: Graph) -> None:
    assert icf.value(ICF.startDate, RDFS.range) == XSD.date
    assert icf.value(ICF.endDate, RDFS.range) == XSD.date
    for money in (ICF.contribution, ICF.totalCost, ICF.maxContribution, ICF.amount):
        assert icf.value(money, RDFS.range) == XSD.decimal, money
    assert icf.value(ICF.edition, RDFS.range) == XSD.gYear
    for code in (ICF.pic, ICF.nutsCode, ICF.countryCode, ICF.grantAgreementNumber, ICF.rcn):
        assert icf.value(code, RDFS.range) == XSD.string, code


# --- axioms ------------------------------------------------------------------------------


def test_the_four_helices_are_pairwise_disjoint(icf: Graph) -> None:
    assert set(HELIX) in disjoint_sets(icf)


def test_other_true_disjointness_axioms_are_stated(icf: Graph) -> None:
    sets = disjoint_sets(icf)
    assert any({ICF.SME, ICF.LargeEnterprise} <= s for s in sets)
    assert any({ICF.University, ICF.ResearchOrganisation} <= s for s in sets)
    assert any({ICF.Capability, ICF.Need} <= s for s in sets)


def test_intermediaries_are_not_disjoint_from_the_helices(icf: Graph) -> None:
    intermediaries = {ICF.Intermediary, ICF.Cluster, ICF.SciencePark, ICF.InnovationAgency}
    for axiom in disjoint_sets(icf):
        assert not (axiom & intermediaries and axiom & set(HELIX)), axiom


def test_actor_specialises_w3c_org_organization(icf: Graph) -> None:
    assert (ICF.Actor, RDFS.subClassOf, URIRef("http://www.w3.org/ns/org#Organization")) in icf
    assert (ICF.Load, RDFS.subClassOf, URIRef("http://www.w3.org/ns/prov#Activity")) in icf
    assert (ICF.Theme, RDFS.subClassOf, SKOS.Concept) in icf
    assert (ICF.Corridor, RDFS.subClassOf, ICF.Partnership) in icf


def test_corridor_actor_is_defined_not_just_named(icf: Graph) -> None:
    definition = icf.value(ICF.CorridorActor, OWL.equivalentClass)
    assert isinstance(definition, BNode)
    assert icf.value(definition, OWL.intersectionOf) is not None


def test_place_hierarchy_axioms(icf: Graph) -> None:
    assert (ICF.partOf, RDF.type, OWL.TransitiveProperty) in icf
    assert (ICF.directlyPartOf, RDFS.subPropertyOf, ICF.partOf) in icf
    for sub in (ICF.inRegion, ICF.basedInCity, ICF.inCountry):
        assert (sub, RDFS.subPropertyOf, ICF.locatedIn) in icf
    chains = [list(Collection(icf, c)) for c in icf.objects(ICF.locatedIn, OWL.propertyChainAxiom)]
    assert [ICF.locatedIn, ICF.partOf] in chains
    assert (ICF.hasParticipation, OWL.inverseOf, ICF.participant) in icf


def test_group_is_never_a_direct_property_of_a_place(icf: Graph) -> None:
    for prop in (ICF.performanceGroup, ICF.performanceSubgroup, ICF.score, ICF.edition):
        assert icf.value(prop, RDFS.domain) == ICF.PerformanceClassification


# --- OWL 2 DL hygiene ---------------------------------------------------------------------


def test_no_term_is_both_object_and_datatype_or_annotation_property(
    icf: Graph, themes: Graph, vocab: Graph
) -> None:
    union = icf + themes + vocab
    objects = set(union.subjects(RDF.type, OWL.ObjectProperty))
    datatypes = set(union.subjects(RDF.type, OWL.DatatypeProperty))
    annotations = set(union.subjects(RDF.type, OWL.AnnotationProperty))
    assert objects & datatypes == set()
    assert objects & annotations == set()
    assert datatypes & annotations == set()


def test_no_undeclared_icf_term_is_used(icf: Graph, themes: Graph, vocab: Graph) -> None:
    known = declared(icf)
    for graph in (icf, themes, vocab):
        used = {
            t
            for triple in graph
            for t in triple
            if isinstance(t, URIRef) and str(t).startswith(ICF_NS) and t != URIRef(ICF_NS)
        }
        assert sorted(used - known) == []


def test_every_external_term_the_ontology_uses_is_declared_and_attributed(icf: Graph) -> None:
    structural = (RDFS.subClassOf, RDFS.subPropertyOf, RDFS.domain, RDFS.range, OWL.onProperty)
    used: set[URIRef] = {p for p in icf.predicates() if isinstance(p, URIRef)}
    used |= {o for p in structural for o in icf.objects(None, p) if isinstance(o, URIRef)}
    for head in list(icf.objects(None, OWL.unionOf)) + list(icf.objects(None, OWL.propertyChainAxiom)):
        used |= {m for m in Collection(icf, head) if isinstance(m, URIRef)}
    external = {t for t in used if not str(t).startswith((ICF_NS, *LANGUAGE_NAMESPACES))}
    assert len(external) > 10
    assert sorted(external - declared(icf)) == []
    unattributed = sorted(
        t
        for t in declared(icf)
        if not str(t).startswith((ICF_NS, *LANGUAGE_NAMESPACES)) and icf.value(t, RDFS.isDefinedBy) is None
    )
    assert unattributed == []


def test_every_class_expression_names_only_declared_classes(icf: Graph) -> None:
    classes = set(icf.subjects(RDF.type, OWL.Class))
    named: set[URIRef] = set()
    for head in icf.objects(None, OWL.unionOf):
        named |= {m for m in Collection(icf, head) if isinstance(m, URIRef)}
    for prop in (RDFS.subClassOf, OWL.someValuesFrom, OWL.disjointWith):
        named |= {o for o in icf.objects(None, prop) if isinstance(o, URIRef)}
    assert sorted(named - classes) == []


# --- the SKOS schemes --------------------------------------------------------------------


def test_theme_scheme_has_the_three_boost_top_concepts(themes: Graph) -> None:
    tops = set(themes.objects(THEME.scheme, SKOS.hasTopConcept))
    assert tops == {THEME["industry-cleantech-green"], THEME["health-wellbeing"], THEME["ict-digital"]}
    narrower = [c for c in themes.subjects(SKOS.inScheme, THEME.scheme) if c not in tops]
    assert len(narrower) >= 12
    for concept in narrower:
        assert themes.value(concept, SKOS.broader) in tops, concept


def test_every_concept_is_labelled_defined_and_in_a_scheme(themes: Graph, vocab: Graph) -> None:
    for graph in (themes, vocab):
        concepts = {c for c in graph.subjects(RDF.type, SKOS.Concept) if isinstance(c, URIRef)}
        assert concepts
        for concept in concepts:
            assert english(graph, concept, SKOS.prefLabel), concept
            assert english(graph, concept, SKOS.definition), concept
            assert graph.value(concept, SKOS.inScheme) is not None, concept


def test_programme_part_mapping_follows_the_design(themes: Graph) -> None:
    h2020 = THEME["h2020/"]

    def targets(code: str) -> set[URIRef]:
        part = URIRef(f"{h2020}{code}")
        return {
            t
            for p in (SKOS.broadMatch, SKOS.closeMatch)
            for t in themes.objects(part, p)
            if isinstance(t, URIRef) and (t, SKOS.topConceptOf, THEME.scheme) in themes
        }

    assert targets("SC1") == {THEME["health-wellbeing"]}
    for code in ("SC3", "SC4", "SC5"):
        assert targets(code) == {THEME["industry-cleantech-green"]}, code
    assert targets("LEIT") == {THEME["ict-digital"], THEME["industry-cleantech-green"]}
    for code in ("ERC", "MSCA", "SC6", "Innovation-in-SMEs"):
        assert not list(themes.objects(URIRef(f"{h2020}{code}"), SKOS.broadMatch)), code
    parts = set(themes.subjects(RDF.type, ICF.ProgrammePart))
    assert {(p, SKOS.inScheme, THEME.h2020) in themes for p in parts} == {True}


@pytest.mark.shared_data
def test_programme_part_notations_are_the_cordis_codes(themes: Graph, shared_data: Path) -> None:
    with gzip.open(shared_data / "cordis-h2020" / "programme-parts-2014-2018.csv.gz", "rt") as handle:
        codes = {row["programme_part"] for row in csv.DictReader(handle)}
    notations = {
        str(n) for p in themes.subjects(RDF.type, ICF.ProgrammePart) for n in themes.objects(p, SKOS.notation)
    }
    assert notations == codes
    for code in codes:
        assert (URIRef(f"{THEME['h2020/']}{code.replace(' ', '-')}"), SKOS.notation, Literal(code)) in themes


def test_performance_groups_state_their_thresholds(vocab: Graph) -> None:
    group = VOCAB["performance-group/"]
    expected = {
        "Leader": "above 125 %",
        "Strong": "between 100 % and 125 %",
        "Moderate": "between 70 % and 100 %",
    }
    expected["Emerging"] = "below 70 %"
    for name, threshold in expected.items():
        concept = URIRef(f"{group}{name}")
        assert (concept, RDF.type, ICF.PerformanceGroup) in vocab
        assert threshold in english(vocab, concept, SKOS.definition)[0], name
        for sub in ("plus", "middle", "minus"):
            assert (URIRef(f"{group}{name}-{sub}"), SKOS.broader, concept) in vocab


def test_roles_and_scoreboards_are_typed(vocab: Graph) -> None:
    for role in ("coordinator", "participant", "partner"):
        assert (VOCAB[f"role/{role}"], RDF.type, ICF.ParticipationRole) in vocab
        assert (VOCAB[f"role/{role}"], SKOS.inScheme, VOCAB.role) in vocab
    for board in ("EIS", "RIS"):
        assert (VOCAB[f"scoreboard/{board}"], RDF.type, ICF.Scoreboard) in vocab
