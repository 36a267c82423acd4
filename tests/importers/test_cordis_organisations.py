"""The importer of CORDIS's official organization.csv: the real sample and small faulty files."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, XSD

from boostkg.errors import InputNotFoundError, SchemaError
from boostkg.importers.base import ImportReport
from boostkg.importers.cordis_organisations import CordisOrganisationsImporter, detect_delimiter
from boostkg.namespaces import (
    GEO,
    ICF,
    ID,
    LOCN,
    SCHEMA,
    VOCAB,
    actor_iri,
    country_iri,
    nuts_iri,
    participation_iri,
    project_iri,
)

FIXTURES = Path(__file__).parent.parent / "data" / "importers" / "cordis"
BAD_VALUES = FIXTURES / "organization-bad-values.csv"


def convert(source: Path) -> tuple[ImportReport, Graph]:
    out = io.StringIO()
    report = CordisOrganisationsImporter().convert(source, out)
    graph = Graph()
    graph.parse(data=out.getvalue(), format="nt")
    return report, graph


def problems_at(report: ImportReport, line: int) -> list[tuple[str, str]]:
    return [(p.column, p.reason) for p in report.problems if p.row == line]


def wkt_of(graph: Graph, organisation: URIRef) -> list[str]:
    return [
        str(wkt)
        for geometry in graph.objects(organisation, GEO.hasGeometry)
        for wkt in graph.objects(geometry, GEO.asWKT)
    ]


# --- the real sample of the official export -----------------------------------------------------


@pytest.fixture(scope="module")
def sample(shared_data: Path) -> Path:
    return shared_data / "cordis-official-sample" / "organization-sample.csv"


@pytest.fixture(scope="module")
def sample_import(sample: Path) -> tuple[ImportReport, Graph]:
    return convert(sample)


def test_sample_counts_organisations_projects_participations(
    sample: Path, sample_import: tuple[ImportReport, Graph]
) -> None:
    with sample.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    report, graph = sample_import
    assert report.rows_read == len(rows) == 2722
    organisations = set(graph.subjects(ICF.pic, None))
    assert len(organisations) == len({r["organisationID"] for r in rows}) == 1819
    assert len(set(graph.subjects(RDF.type, ICF.Project))) == len({r["projectID"] for r in rows})
    pairs = {(r["projectID"], r["organisationID"]) for r in rows}
    assert len(set(graph.subjects(RDF.type, ICF.Participation))) == len(pairs)
    assert report.rows_imported == len(pairs)


def test_sample_known_organisation_name_city_and_point(sample_import: tuple[ImportReport, Graph]) -> None:
    _, graph = sample_import
    taltech = actor_iri("999842536")
    assert (taltech, RDFS.label, Literal("TALLINNA TEHNIKAÜLIKOOL")) in graph
    assert (taltech, RDF.type, ICF.University) in graph
    assert (taltech, ICF.inCountry, country_iri("EST")) in graph
    city = ID["city/EE-tallinn"]
    assert (taltech, ICF.basedInCity, city) in graph
    assert (city, RDFS.label, Literal("Tallinn")) in graph
    assert (city, ICF.inCountry, country_iri("EST")) in graph
    assert wkt_of(graph, taltech) == ["POINT(24.6717935 59.3948992)"]


def test_sample_decimal_comma_is_read_and_reported(sample_import: tuple[ImportReport, Graph]) -> None:
    report, graph = sample_import
    participation = participation_iri("cordis-883204", "999627875")
    assert (participation, ICF.totalCost, Literal("771225.1", datatype=XSD.decimal)) in graph
    assert report.problems_by_reason["decimal comma; read as a decimal point"] > 1000


# --- small files --------------------------------------------------------------------------------


def test_semicolon_and_comma_delimiters_give_the_same_triples() -> None:
    semicolon, comma = FIXTURES / "organization-semicolon.csv", FIXTURES / "organization-comma.csv"
    assert (detect_delimiter(semicolon), detect_delimiter(comma)) == (";", ",")
    _, from_semicolon = convert(semicolon)
    _, from_comma = convert(comma)
    assert len(from_semicolon) > 40
    assert set(from_semicolon) == set(from_comma)


def test_quoted_name_with_delimiters_and_quotes_is_one_value() -> None:
    _, graph = convert(FIXTURES / "organization-semicolon.csv")
    sdu = actor_iri("999000002")
    assert list(graph.objects(sdu, RDFS.label)) == [Literal('SYDDANSK UNIVERSITET; "SDU", Odense')]


def test_organisation_address_region_project_and_participation() -> None:
    report, graph = convert(FIXTURES / "organization-semicolon.csv")
    ubb = actor_iri("999000001")
    project = project_iri("cordis", "101000001")
    participation = participation_iri("cordis-101000001", "999000001")
    assert (ubb, ICF.inRegion, nuts_iri("RO113")) in graph
    assert (ubb, SCHEMA.vatID, Literal("RO12345678")) in graph
    assert (ubb, ICF.acronym, Literal("UBB")) in graph
    assert (ubb, SCHEMA.url, URIRef("https://www.ubbcluj.ro")) in graph
    address = next(graph.objects(ubb, LOCN.address))
    assert (address, LOCN.postCode, Literal("400084")) in graph
    assert (address, LOCN.postName, Literal("Cluj-Napoca")) in graph
    assert (ubb, ICF.basedInCity, ID["city/RO-cluj-napoca"]) in graph
    assert wkt_of(graph, ubb) == ["POINT(23.5913 46.7674)"]
    assert (project, ICF.grantAgreementNumber, Literal("101000001")) in graph
    assert (project, ICF.acronym, Literal("GREENLINK")) in graph
    assert (participation, ICF.participationRole, VOCAB["role/coordinator"]) in graph
    assert (participation, ICF.contribution, Literal("500000.0", datatype=XSD.decimal)) in graph
    # a long shortName is a label, not an acronym; no VAT for NOTAPPLICABLE; SME flag as a class
    assert list(graph.objects(actor_iri("999000002"), ICF.acronym)) == []
    assert list(graph.objects(actor_iri("999000003"), SCHEMA.vatID)) == []
    assert (actor_iri("999000003"), RDF.type, ICF.SME) in graph
    assert (actor_iri("999000002"), SCHEMA.url, URIRef("http://www.sdu.dk")) in graph
    assert [p.reason for p in report.problems] == [
        "URL without scheme; http:// assumed",
        "decimal comma; read as a decimal point",
    ]


def test_bad_geolocation_is_a_problem_and_left_out() -> None:
    report, graph = convert(BAD_VALUES)
    assert problems_at(report, 3) == [("geolocation", "not a 'lat,lon' position; left out")]
    assert problems_at(report, 4) == [("geolocation", "not a 'lat,lon' position; left out")]
    assert wkt_of(graph, actor_iri("999000011")) == []
    assert wkt_of(graph, actor_iri("999000012")) == []


def test_decimal_comma_is_read_as_decimal_point() -> None:
    report, graph = convert(BAD_VALUES)
    assert problems_at(report, 5) == [("totalCost", "decimal comma; read as a decimal point")]
    participation = participation_iri("cordis-101000001", "999000013")
    assert list(graph.objects(participation, ICF.totalCost)) == [Literal("771225.1", datatype=XSD.decimal)]


def test_bad_number_is_a_problem_and_left_out() -> None:
    report, graph = convert(BAD_VALUES)
    assert problems_at(report, 6) == [("ecContribution", "not a decimal number; left out")]
    assert list(graph.objects(participation_iri("cordis-101000001", "999000014"), ICF.contribution)) == []


def test_bad_url_is_a_problem_and_left_out() -> None:
    report, graph = convert(BAD_VALUES)
    assert problems_at(report, 7) == [("organizationURL", "not a web address; left out")]
    assert list(graph.objects(actor_iri("999000015"), SCHEMA.url)) == []


def test_malformed_and_foreign_nuts_codes_are_problems() -> None:
    report, graph = convert(BAD_VALUES)
    assert problems_at(report, 8) == [("nutsCode", "not a well-formed NUTS code; left out")]
    assert problems_at(report, 9) == [("nutsCode", "NUTS code outside the organisation's country; left out")]
    assert list(graph.objects(actor_iri("999000016"), ICF.inRegion)) == []
    assert list(graph.objects(actor_iri("999000017"), ICF.inRegion)) == []


def test_role_outside_vocabulary_keeps_participation_without_role() -> None:
    report, graph = convert(BAD_VALUES)
    assert problems_at(report, 10) == [("role", "role not in the role vocabulary; left out")]
    participation = participation_iri("cordis-101000001", "999000018")
    assert (participation, RDF.type, ICF.Participation) in graph
    assert list(graph.objects(participation, ICF.participationRole)) == []


def test_bad_sme_flag_is_a_problem() -> None:
    report, graph = convert(BAD_VALUES)
    assert problems_at(report, 11) == [("SME", "not True or False; left out")]
    assert (actor_iri("999000019"), RDF.type, ICF.SME) not in graph


def test_empty_pic_and_duplicate_participation_skip_the_row() -> None:
    report, graph = convert(BAD_VALUES)
    assert problems_at(report, 12) == [("organisationID", "empty or non-numeric PIC; row skipped")]
    assert problems_at(report, 13) == [("organisationID", "second row for this project and PIC; row skipped")]
    assert list(graph.subjects(RDFS.label, Literal("NO PIC"))) == []
    participation = participation_iri("cordis-101000001", "999000001")
    assert list(graph.objects(participation, ICF.participationRole)) == [VOCAB["role/coordinator"]]
    assert report.rows_read == 14
    assert report.rows_imported == 12


def test_unknown_type_and_country() -> None:
    report, graph = convert(BAD_VALUES)
    assert problems_at(report, 14) == [
        ("activityType", "unknown CORDIS activity type; typed icf:Actor"),
        ("country", "unknown country code; icf:inCountry left out"),
    ]
    assert list(graph.objects(actor_iri("999000020"), RDF.type)) == [ICF.Actor]
    assert list(graph.objects(actor_iri("999000020"), ICF.inCountry)) == []


def test_conflicting_organisation_name_keeps_the_first() -> None:
    report, graph = convert(BAD_VALUES)
    assert problems_at(report, 15) == [
        ("name", "differs from an earlier row of this organisation; first kept")
    ]
    assert list(graph.objects(actor_iri("999000001"), RDFS.label)) == [Literal("UNIVERSITATEA BABES-BOLYAI")]
    assert (
        participation_iri("cordis-101000003", "999000001"),
        ICF.participant,
        actor_iri("999000001"),
    ) in graph


def test_unknown_column_raises_schema_error_naming_it() -> None:
    with pytest.raises(SchemaError, match=r"unknown column.*projectTitle"):
        convert(FIXTURES / "organization-unknown-column.csv")


def test_missing_file_raises_input_not_found(tmp_path: Path) -> None:
    with pytest.raises(InputNotFoundError, match=r"organization\.csv"):
        convert(tmp_path / "organization.csv")
