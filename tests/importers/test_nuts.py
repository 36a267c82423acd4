"""The NUTS 2024 importer on the real Eurostat table and on bad inputs."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, SKOS

from boostkg.config import PROJECT_ROOT
from boostkg.errors import EncodingError, InputNotFoundError, ParseError, SchemaError
from boostkg.importers.base import ImportReport
from boostkg.importers.nuts import NutsImporter
from boostkg.importers.turtle import export_turtle
from boostkg.namespaces import ICF, NUTS, country_iri, graph_iri

BAD = Path(__file__).resolve().parent.parent / "data" / "importers"
SHIPPED = PROJECT_ROOT / "data" / "nuts-2024.ttl"


def _convert(source: Path) -> tuple[ImportReport, Graph]:
    buffer = io.StringIO()
    report = NutsImporter().convert(source, buffer)
    graph = Graph()
    graph.parse(data=buffer.getvalue(), format="nt")
    return report, graph


@pytest.fixture(scope="module")
def nuts(shared_data: Path) -> tuple[ImportReport, Graph]:
    return _convert(shared_data / "nuts" / "nuts2024.csv")


def _level_counts(graph: Graph) -> dict[tuple[int, bool], int]:
    """(level, is Extra-Regio) -> number of regions."""
    counts: dict[tuple[int, bool], int] = {}
    for region in graph.subjects(RDF.type, ICF.NUTSRegion):
        code = str(graph.value(region, ICF.nutsCode))
        level = graph.value(region, ICF.nutsLevel)
        assert isinstance(level, Literal)
        key = (int(level.toPython()), len(code) > 2 and code[2] == "Z")
        counts[key] = counts.get(key, 0) + 1
    return counts


@pytest.mark.shared_data
def test_every_row_is_imported_without_problems(nuts: tuple[ImportReport, Graph]) -> None:
    report, graph = nuts
    assert report.rows_read == 1582
    assert report.rows_imported == 1582
    assert report.problem_count == 0
    assert report.triples == len(graph)
    assert report.graph == graph_iri("nuts-2024")


@pytest.mark.shared_data
def test_region_counts_per_level(nuts: tuple[ImportReport, Graph]) -> None:
    counts = _level_counts(nuts[1])
    assert counts == {
        (0, False): 27,
        (1, False): 92,
        (2, False): 244,
        (3, False): 1165,
        (1, True): 27,
        (2, True): 27,
        (3, True): 27,
    }


@pytest.mark.shared_data
def test_extra_regio_regions_carry_a_note(nuts: tuple[ImportReport, Graph]) -> None:
    graph = nuts[1]
    noted = {str(graph.value(s, ICF.nutsCode)) for s in graph.subjects(SKOS.note, None)}
    assert len(noted) == 81
    assert all(code[2] == "Z" for code in noted)
    assert {"EEZ", "EEZZ", "EEZZZ"} <= noted


@pytest.mark.shared_data
def test_nord_vest_hierarchy_reaches_romania(nuts: tuple[ImportReport, Graph]) -> None:
    graph = nuts[1]
    romania = country_iri("ROU")
    assert graph.value(NUTS.RO111, ICF.directlyPartOf) == NUTS.RO11
    assert graph.value(NUTS.RO11, ICF.directlyPartOf) == NUTS.RO1
    assert graph.value(NUTS.RO1, ICF.directlyPartOf) == NUTS.RO
    assert graph.value(NUTS.RO, ICF.directlyPartOf) is None
    assert graph.value(NUTS.RO, SKOS.exactMatch) == romania
    assert graph.value(NUTS.RO, ICF.nutsLevel) == Literal(0)
    assert graph.value(NUTS.RO11, ICF.inCountry) == romania
    assert graph.value(NUTS.RO11, ICF.nutsLevel) == Literal(2)
    assert (romania, RDF.type, ICF.Country) in graph
    assert graph.value(romania, ICF.countryCode) == Literal("RO")
    assert graph.value(romania, RDFS.label) == Literal("Romania", lang="en")


@pytest.mark.shared_data
def test_greece_keeps_its_eu_code(nuts: tuple[ImportReport, Graph]) -> None:
    graph = nuts[1]
    greece = country_iri("GRC")
    assert graph.value(greece, ICF.countryCode) == Literal("EL")
    assert graph.value(NUTS.EL30, ICF.inCountry) == greece
    assert graph.value(NUTS.EL, SKOS.exactMatch) == greece


@pytest.mark.shared_data
def test_labels_national_and_latin(nuts: tuple[ImportReport, Graph]) -> None:
    graph = nuts[1]
    assert graph.value(NUTS.BG33, RDFS.label) == Literal("Severoiztochen")
    assert graph.value(NUTS.BG33, SKOS.prefLabel) == Literal("Североизточен")
    assert graph.value(NUTS.BG33, SKOS.altLabel) == Literal("Severoiztochen")
    # Same national and Latin label: no altLabel (SKOS forbids pref = alt).
    assert graph.value(NUTS.DK03, SKOS.prefLabel) == Literal("Syddanmark")
    assert graph.value(NUTS.DK03, SKOS.altLabel) is None
    assert graph.value(NUTS.ES51, RDFS.label) == Literal("Cataluña")


@pytest.mark.shared_data
def test_every_region_has_one_label_code_and_country(nuts: tuple[ImportReport, Graph]) -> None:
    graph = nuts[1]
    for region in graph.subjects(RDF.type, ICF.NUTSRegion):
        assert len(list(graph.objects(region, RDFS.label))) == 1, region
        assert len(list(graph.objects(region, ICF.nutsCode))) == 1, region
        assert len(list(graph.objects(region, ICF.inCountry))) == 1, region
        parents = list(graph.objects(region, ICF.directlyPartOf))
        top = graph.value(region, ICF.nutsLevel) == Literal(0)
        assert len(parents) == (0 if top else 1), region
        for parent in parents:
            assert (parent, RDF.type, ICF.NUTSRegion) in graph, parent


@pytest.mark.shared_data
def test_dataset_description_credits_eurostat(nuts: tuple[ImportReport, Graph]) -> None:
    graph = nuts[1]
    dataset = graph_iri("nuts-2024")
    assert graph.value(dataset, DCTERMS.license) == URIRef("https://creativecommons.org/licenses/by/4.0/")
    assert graph.value(dataset, DCTERMS.source) == URIRef("https://ec.europa.eu/eurostat/web/nuts")
    assert "Eurostat" in str(graph.value(dataset, DCTERMS.rights))
    assert graph.value(dataset, DCTERMS.title) is not None


@pytest.mark.shared_data
def test_shipped_turtle_equals_a_fresh_import(shared_data: Path) -> None:
    _, fresh = _convert(shared_data / "nuts" / "nuts2024.csv")
    shipped = Graph()
    shipped.parse(SHIPPED, format="turtle")
    assert len(shipped) == len(fresh)
    assert set(shipped) == set(fresh)  # no blank nodes: set equality is isomorphism


def test_shipped_turtle_names_command_and_attribution() -> None:
    head = SHIPPED.read_text(encoding="utf-8")[:1500]
    assert head.startswith("# Generated by boostkg's 'nuts' importer")
    assert "boostkg import nuts" in head
    assert "Eurostat" in head
    assert "CC BY 4.0" in head


def test_export_turtle_round_trips(tmp_path: Path) -> None:
    source = tmp_path / "nuts.csv"
    source.write_text(
        "nuts_code,country_code,level,label,label_latin\n"
        "EE0,EE,1,Eesti,Eesti\nEE00,EE,2,Eesti,Eesti\nEE001,EE,3,Põhja-Eesti,Põhja-Eesti\n",
        encoding="utf-8",
    )
    out = tmp_path / "out" / "nuts.ttl"
    report = export_turtle(NutsImporter(), source, out)
    graph = Graph()
    graph.parse(out, format="turtle")
    assert len(graph) == report.triples
    assert graph.value(NUTS.EE001, ICF.directlyPartOf) == NUTS.EE00
    assert out.read_text(encoding="utf-8").startswith("# Generated")


def test_bad_values_are_counted_row_problems() -> None:
    report, graph = _convert(BAD / "nuts-bad-values.csv")
    assert report.rows_read == 8
    assert report.rows_imported == 2  # RO1 and RO12
    found = {(p.row, p.column, p.reason) for p in report.problems}
    assert found == {
        (3, "level", "unknown NUTS level (expected 1, 2 or 3)"),
        (4, "nuts_code", "code length does not match its level"),
        (5, "nuts_code", "code does not start with its country code"),
        (6, "nuts_code", "parent region missing from the file"),
        (8, "nuts_code", "duplicate NUTS code"),
        (9, "level", "unknown NUTS level (expected 1, 2 or 3)"),
    }
    assert report.problem_count == 6
    assert report.problems_by_reason["unknown NUTS level (expected 1, 2 or 3)"] == 2
    assert (NUTS.RO12, RDF.type, ICF.NUTSRegion) in graph
    assert (NUTS.RO11, None, None) not in graph


def test_unknown_country_code_is_a_row_problem(tmp_path: Path) -> None:
    source = tmp_path / "nuts.csv"
    source.write_text(
        "nuts_code,country_code,level,label,label_latin\nQQ1,QQ,1,Nowhere,Nowhere\n",
        encoding="utf-8",
    )
    report, graph = _convert(source)
    assert [(p.row, p.column, p.value) for p in report.problems] == [(2, "country_code", "QQ")]
    assert (NUTS.QQ1, None, None) not in graph


def test_missing_file() -> None:
    with pytest.raises(InputNotFoundError):
        _convert(BAD / "nuts-does-not-exist.csv")


def test_not_utf8_file_names_line_and_column() -> None:
    with pytest.raises(EncodingError, match=r"nuts-not-utf8\.csv, line 3, column 21"):
        _convert(BAD / "nuts-not-utf8.csv")


def test_unknown_column() -> None:
    with pytest.raises(SchemaError, match="population"):
        _convert(BAD / "nuts-unknown-column.csv")


def test_missing_column() -> None:
    with pytest.raises(SchemaError, match="label_latin"):
        _convert(BAD / "nuts-missing-column.csv")


def test_malformed_row_wrong_number_of_fields_is_an_error() -> None:
    with pytest.raises(ParseError, match=r"line 3: record has 4 fields"):
        _convert(BAD / "nuts-wrong-field-count.csv")
