"""The Horizon 2020 importer: on the real CORDIS files, and on small files with each kind of fault."""

from __future__ import annotations

import csv
import gzip
import io
from collections import Counter
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, XSD

from boostkg.errors import EncodingError, InputNotFoundError, ParseError, SchemaError
from boostkg.importers.base import ImportReport
from boostkg.importers.cordis import CordisH2020Importer
from boostkg.namespaces import ICF, THEME, VOCAB, actor_iri, country_iri, participation_iri, project_iri
from boostkg.store import open_store

FIXTURES = Path(__file__).parent.parent / "data" / "importers" / "cordis"
BAD_VALUES = FIXTURES / "participations-bad-values.csv"
PARTS = FIXTURES / "programme-parts-bad-values.csv"


def convert(source: Path, programme_parts: Path | None = PARTS) -> tuple[ImportReport, Graph]:
    out = io.StringIO()
    report = CordisH2020Importer(programme_parts=programme_parts).convert(source, out)
    graph = Graph()
    graph.parse(data=out.getvalue(), format="nt")
    return report, graph


def problems_at(report: ImportReport, line: int) -> list[tuple[str, str]]:
    """Problems at a line of the participations file (those of the programme-parts file name it)."""
    return [
        (p.column, p.reason) for p in report.problems if p.row == line and not p.reason.startswith(PARTS.name)
    ]


# --- the real Horizon 2020 network ---------------------------------------------------------------


@pytest.fixture(scope="module")
def h2020_dir(shared_data: Path) -> Path:
    return shared_data / "cordis-h2020"


@pytest.fixture(scope="module")
def real_import(h2020_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[ImportReport, Path, int]:
    """Convert the real files once; returns the report, the N-Triples file and bytes reported."""
    target = tmp_path_factory.mktemp("cordis") / "cordis-h2020.nt"
    reported: list[int] = []
    with target.open("w", encoding="utf-8") as out:
        report = CordisH2020Importer().convert(h2020_dir, out, progress=reported.append)
    return report, target, sum(reported)


@pytest.fixture(scope="module")
def expected(h2020_dir: Path) -> dict[str, object]:
    """Counts computed straight from the CSV, independently of the importer."""
    with gzip.open(h2020_dir / "participations-2014-2018.csv.gz", "rt", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    with gzip.open(h2020_dir / "programme-parts-2014-2018.csv.gz", "rt", encoding="utf-8", newline="") as f:
        parts = Counter(row["rcn"] for row in csv.DictReader(f))
    return {
        "rows": len(rows),
        "projects": len({r["rcn"] for r in rows}),
        "organisations": len({r["pic"] for r in rows}),
        "participations": len({(r["rcn"], r["pic"]) for r in rows}),
        "coordinators": sum(1 for r in rows if r["role"] == "coordinator"),
        "contributions": sum(1 for r in rows if r["contribution"] != "NA"),
        "na_contribution": next(r for r in rows if r["contribution"] == "NA"),
        "parts_of_207027": parts["207027"],
    }


def _lines(path: Path, predicate: URIRef, obj: str | None = None) -> list[str]:
    needle = f" <{predicate}> " + (obj if obj is not None else "")
    with path.open(encoding="utf-8") as f:
        return [line for line in f if needle in line]


def test_real_import_reads_every_row(
    real_import: tuple[ImportReport, Path, int], expected: dict[str, object]
) -> None:
    report, _, _ = real_import
    assert report.rows_read == expected["rows"] == 91_334
    assert report.rows_imported == 91_334


def test_real_import_writes_one_node_per_distinct_id(
    real_import: tuple[ImportReport, Path, int], expected: dict[str, object]
) -> None:
    _, path, _ = real_import
    typed: Counter[str] = Counter()
    with path.open(encoding="utf-8") as f:
        for line in f:
            if f" <{RDF.type}> " in line:
                typed[line.split(" ")[2]] += 1
    organisations = sum(
        typed[f"<{cls}>"]
        for cls in (
            ICF.University,
            ICF.ResearchOrganisation,
            ICF.BusinessActor,
            ICF.PublicAuthority,
            ICF.Actor,
        )
    )
    assert typed[f"<{ICF.Project}>"] == expected["projects"]
    assert organisations == expected["organisations"]
    assert typed[f"<{ICF.Participation}>"] == expected["participations"]
    assert len(_lines(path, ICF.pic)) == expected["organisations"]


def test_real_import_counts_coordinators(
    real_import: tuple[ImportReport, Path, int], expected: dict[str, object]
) -> None:
    _, path, _ = real_import
    coordinators = _lines(path, ICF.participationRole, f"<{VOCAB['role/coordinator']}>")
    assert len(coordinators) == expected["coordinators"] == 20_095


def test_real_import_programme_part_of_known_project(real_import: tuple[ImportReport, Path, int]) -> None:
    _, path, _ = real_import
    subject = f"<{project_iri('h2020', '207027')}> <{ICF.programmePart}> "
    with path.open(encoding="utf-8") as f:
        parts = [line.split(" ")[2] for line in f if line.startswith(subject)]
    assert parts == [f"<{THEME['h2020/LEIT']}>"]


def test_real_import_na_contribution_writes_no_triple(
    real_import: tuple[ImportReport, Path, int], expected: dict[str, object]
) -> None:
    _, path, _ = real_import
    contributions = _lines(path, ICF.contribution)
    assert len(contributions) == expected["contributions"]
    row = expected["na_contribution"]
    assert isinstance(row, dict)
    participation = f"<{participation_iri('h2020-' + row['rcn'], row['pic'])}>"
    assert not [line for line in contributions if line.startswith(participation + " ")]
    assert _lines(path, ICF.participant, f"<{actor_iri(row['pic'])}>")


def test_real_import_progress_adds_up_to_file_sizes(
    real_import: tuple[ImportReport, Path, int], h2020_dir: Path
) -> None:
    _, _, reported = real_import
    assert reported == CordisH2020Importer().total_bytes(h2020_dir)
    assert reported == sum(p.stat().st_size for p in h2020_dir.glob("*.csv.gz"))


def test_real_import_only_problems_are_country_na(real_import: tuple[ImportReport, Path, int]) -> None:
    report, _, _ = real_import
    assert set(report.problems_by_reason) == {
        "'NA' read as Namibia, marked uncertain (may mean not available)"
    }
    assert all(p.column == "country" and p.value == "NA" for p in report.problems)


def test_real_import_loads_into_store_as_ntriples(
    real_import: tuple[ImportReport, Path, int], cordis_store: Path
) -> None:
    """The session's CORDIS store (tests/conftest.py) got this graph from ``boostkg import cordis``:
    the same conversion bulk-loaded as N-Triples. It parses, and no triple was written twice (the
    graph holds exactly the triples this conversion reports)."""
    report, _, _ = real_import
    graph = CordisH2020Importer.graph
    with open_store(cordis_store) as store:
        assert store.triple_count(graph) == report.triples
        rows = store.select(
            f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?p <{ICF.participationRole}> "
            f"<{VOCAB['role/coordinator']}> }} }}"
        )
        assert int(rows[0]["n"]) == 20_095


# --- small files, one fault each ----------------------------------------------------------------


def test_good_row_gives_organisation_project_and_participation() -> None:
    _, graph = convert(BAD_VALUES)
    organisation = actor_iri("900000001")
    project = project_iri("h2020", "100")
    participation = participation_iri("h2020-100", "900000001")
    assert (organisation, RDF.type, ICF.University) in graph
    assert (organisation, ICF.inCountry, country_iri("DEU")) in graph
    assert (organisation, ICF.pic, Literal("900000001")) in graph
    assert (project, ICF.startDate, Literal("2016-01-01", datatype=XSD.date)) in graph
    assert (project, ICF.maxContribution, Literal("5000", datatype=XSD.decimal)) in graph
    assert set(graph.objects(project, ICF.programmePart)) == {
        THEME["h2020/LEIT"],
        THEME["h2020/Innovation-in-SMEs"],
    }
    assert (participation, ICF.participant, organisation) in graph
    assert (participation, ICF.inCollaboration, project) in graph
    assert (participation, ICF.participationRole, VOCAB["role/coordinator"]) in graph
    assert (participation, ICF.contribution, Literal("1000.5", datatype=XSD.decimal)) in graph


def test_bad_values_counts_rows() -> None:
    report, _ = convert(BAD_VALUES)
    assert report.rows_read == 12
    assert report.rows_imported == 9  # empty PIC, empty rcn and the duplicate are skipped
    assert report.problem_count == len(report.problems) == 13


def test_bad_number_is_a_problem_and_left_out() -> None:
    report, graph = convert(BAD_VALUES)
    assert problems_at(report, 3) == [("contribution", "not a decimal number; left out")]
    participation = participation_iri("h2020-101", "900000002")
    assert (participation, RDF.type, ICF.Participation) in graph
    assert list(graph.objects(participation, ICF.contribution)) == []


def test_bad_date_is_a_problem_and_left_out() -> None:
    report, graph = convert(BAD_VALUES)
    assert problems_at(report, 4) == [("start_date", "not an ISO date (YYYY-MM-DD); left out")]
    project = project_iri("h2020", "102")
    assert list(graph.objects(project, ICF.startDate)) == []
    assert list(graph.objects(project, ICF.endDate)) == [Literal("2019-12-31", datatype=XSD.date)]


def test_unknown_role_keeps_participation_without_role() -> None:
    report, graph = convert(BAD_VALUES)
    assert problems_at(report, 5) == [("role", "unknown participation role; icf:participationRole left out")]
    participation = participation_iri("h2020-103", "900000004")
    assert (participation, RDF.type, ICF.Participation) in graph
    assert list(graph.objects(participation, ICF.participationRole)) == []


def test_unknown_activity_type_types_organisation_as_actor() -> None:
    report, graph = convert(BAD_VALUES)
    assert problems_at(report, 6) == [("type", "unknown CORDIS activity type; typed icf:Actor")]
    assert list(graph.objects(actor_iri("900000005"), RDF.type)) == [ICF.Actor]


def test_unknown_country_leaves_country_out() -> None:
    report, graph = convert(BAD_VALUES)
    assert problems_at(report, 7) == [("country", "unknown country code; icf:inCountry left out")]
    assert list(graph.objects(actor_iri("900000006"), ICF.inCountry)) == []


def test_empty_pic_and_empty_rcn_skip_the_row() -> None:
    report, graph = convert(BAD_VALUES)
    assert problems_at(report, 8) == [("pic", "empty or non-numeric PIC; row skipped")]
    assert problems_at(report, 9) == [("rcn", "empty or non-numeric rcn; row skipped")]
    assert (project_iri("h2020", "106"), RDF.type, ICF.Project) not in graph
    assert (actor_iri("900000007"), ICF.pic, Literal("900000007")) not in graph


def test_end_before_start_leaves_end_date_out() -> None:
    report, graph = convert(BAD_VALUES)
    assert problems_at(report, 10) == [("end_date", "end date before start date; end date left out")]
    assert list(graph.objects(project_iri("h2020", "107"), ICF.endDate)) == []
    assert len(list(graph.objects(project_iri("h2020", "107"), ICF.startDate))) == 1


def test_duplicate_rcn_pic_is_skipped() -> None:
    report, graph = convert(BAD_VALUES)
    assert problems_at(report, 11) == [("pic", "second row for this project and PIC; row skipped")]
    participation = participation_iri("h2020-100", "900000001")
    assert list(graph.objects(participation, ICF.participationRole)) == [VOCAB["role/coordinator"]]


def test_conflicting_organisation_keeps_first_type_and_country() -> None:
    report, graph = convert(BAD_VALUES)
    reason = "differs from an earlier row of this organisation; first kept"
    assert problems_at(report, 12) == [("type", reason), ("country", reason)]
    organisation = actor_iri("900000001")
    assert list(graph.objects(organisation, RDF.type)) == [ICF.University]
    assert list(graph.objects(organisation, ICF.inCountry)) == [country_iri("DEU")]
    assert (participation_iri("h2020-108", "900000001"), ICF.participant, organisation) in graph


def test_na_values_are_not_available_not_problems() -> None:
    report, graph = convert(BAD_VALUES)
    participation = participation_iri("h2020-109", "900000009")
    project = project_iri("h2020", "109")
    assert list(graph.objects(participation, ICF.contribution)) == []
    assert list(graph.objects(project, ICF.endDate)) == []
    assert list(graph.objects(project, ICF.totalCost)) == []
    assert [column for column, _ in problems_at(report, 13)] == ["country"]  # NA country only


def test_country_na_is_namibia_marked_uncertain() -> None:
    _, graph = convert(BAD_VALUES)
    organisation = actor_iri("900000009")
    assert list(graph.objects(organisation, ICF.inCountry)) == [country_iri("NAM")]
    assert list(graph.objects(organisation, ICF.uncertainProperty)) == [ICF.inCountry]


def test_unknown_programme_part_is_a_problem() -> None:
    report, graph = convert(BAD_VALUES)
    in_parts = [(p.row, p.column, p.value) for p in report.problems if p.reason.startswith(PARTS.name)]
    assert in_parts == [(5, "programme_part", "SC99")]
    assert list(graph.objects(project_iri("h2020", "102"), ICF.programmePart)) == []


def test_graph_describes_its_source_and_licence() -> None:
    _, graph = convert(BAD_VALUES)
    licence = URIRef("https://creativecommons.org/licenses/by/4.0/")
    assert (CordisH2020Importer.graph, URIRef("http://purl.org/dc/terms/license"), licence) in graph


def test_unknown_column_raises_schema_error_naming_it() -> None:
    with pytest.raises(SchemaError, match=r"unknown column.*acronym"):
        convert(FIXTURES / "participations-unknown-column.csv")


def test_missing_column_raises_schema_error_naming_it() -> None:
    with pytest.raises(SchemaError, match=r"missing column.*pic"):
        convert(FIXTURES / "participations-missing-column.csv")


def test_missing_file_raises_input_not_found(tmp_path: Path) -> None:
    with pytest.raises(InputNotFoundError, match=r"no-such\.csv"):
        convert(tmp_path / "no-such.csv")


def test_directory_without_participations_raises_input_not_found(tmp_path: Path) -> None:
    with pytest.raises(InputNotFoundError):
        convert(tmp_path, programme_parts=None)


def test_not_utf8_raises_encoding_error_with_line() -> None:
    with pytest.raises(EncodingError) as caught:
        convert(FIXTURES / "participations-not-utf8.csv")
    assert caught.value.location is not None
    assert caught.value.location.line == 3


def test_row_with_too_few_fields_raises_parse_error_with_line() -> None:
    with pytest.raises(ParseError, match="14 fields") as caught:
        convert(FIXTURES / "participations-too-few-fields.csv")
    assert caught.value.location is not None
    assert caught.value.location.line == 4


def test_plain_and_gzip_files_give_the_same_triples(tmp_path: Path) -> None:
    compressed = tmp_path / "participations-small.csv.gz"
    compressed.write_bytes(gzip.compress(BAD_VALUES.read_bytes()))
    _, plain = convert(BAD_VALUES)
    _, zipped = convert(compressed)
    assert len(plain) > 50
    assert set(plain) == set(zipped)
