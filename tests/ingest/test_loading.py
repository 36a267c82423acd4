"""Loading files into named graphs: provenance records, the NUTS reference check, atomicity."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rdflib import URIRef

from boostkg.config import PROJECT_ROOT
from boostkg.errors import InputError, InputNotFoundError, UnknownTermError
from boostkg.ingest.loading import NUTS_GRAPH, load_file
from boostkg.namespaces import META_GRAPH, graph_iri
from boostkg.store import EmbeddedStore, RdfFormat

TARGET = graph_iri("test-data")
ACTOR_NT = (
    "<https://w3id.org/boostkg/id/organisation/x> <https://w3id.org/boostkg/icf#inRegion> "
    "<http://data.europa.eu/nuts/code/{code}> .\n"
)
TTL_PREFIXES = (
    "@prefix nuts: <http://data.europa.eu/nuts/code/> .\n@prefix icf: <https://w3id.org/boostkg/icf#> .\n"
)


@pytest.fixture
def with_nuts(store: EmbeddedStore) -> EmbeddedStore:
    load_file(store, PROJECT_ROOT / "data" / "nuts-2024.ttl", NUTS_GRAPH)
    return store


def _dump(store: EmbeddedStore) -> list[bytes]:
    buffer = io.BytesIO()
    store.dump(buffer, RdfFormat.NQUADS)
    return sorted(buffer.getvalue().splitlines())


def test_a_load_is_recorded_in_the_metadata_graph(with_nuts: EmbeddedStore, tmp_path: Path) -> None:
    path = tmp_path / "ok.nt"
    path.write_text(ACTOR_NT.format(code="RO11"), encoding="utf-8")
    record = load_file(with_nuts, path, TARGET)
    assert record.triples == 1
    rows = with_nuts.select(
        f"""PREFIX prov: <http://www.w3.org/ns/prov#> PREFIX icf: <https://w3id.org/boostkg/icf#>
        SELECT ?n ?sha WHERE {{ GRAPH <{META_GRAPH}> {{
            <{TARGET}> prov:wasGeneratedBy ?load . ?load icf:tripleCount ?n ; prov:used ?src .
            ?src icf:sha256 ?sha }} }}"""
    )
    assert [(int(str(r["n"])), str(r["sha"])) for r in rows] == [(1, record.sha256)]


def test_reloading_points_the_graph_at_the_latest_load_only(with_nuts: EmbeddedStore, tmp_path: Path) -> None:
    path = tmp_path / "ok.nt"
    path.write_text(ACTOR_NT.format(code="RO11"), encoding="utf-8")
    load_file(with_nuts, path, TARGET)
    path.write_text(ACTOR_NT.format(code="BG33") + ACTOR_NT.format(code="ES51"), encoding="utf-8")
    second = load_file(with_nuts, path, TARGET)
    rows = with_nuts.select(
        f"""PREFIX prov: <http://www.w3.org/ns/prov#>
        SELECT ?load WHERE {{ GRAPH <{META_GRAPH}> {{ <{TARGET}> prov:wasGeneratedBy ?load }} }}"""
    )
    assert [str(r["load"]) for r in rows] == [str(second.activity)]
    history = with_nuts.select(
        f"""PREFIX prov: <http://www.w3.org/ns/prov#>
        SELECT ?load WHERE {{ GRAPH <{META_GRAPH}> {{ ?load prov:generated <{TARGET}> }} }}"""
    )
    assert len(history) == 2
    assert with_nuts.triple_count(TARGET) == 2


@pytest.mark.parametrize(
    ("suffix", "body", "line"),
    [
        ("nt", ACTOR_NT.format(code="RO11") + ACTOR_NT.format(code="XX99"), 2),
        (
            "ttl",
            TTL_PREFIXES + "<https://w3id.org/boostkg/id/organisation/x> icf:inRegion nuts:RO11 ;\n"
            "    icf:inRegion nuts:XX99 .\n",
            4,
        ),
    ],
)
def test_an_unknown_nuts_code_is_refused_with_its_line(
    with_nuts: EmbeddedStore, tmp_path: Path, suffix: str, body: str, line: int
) -> None:
    before = _dump(with_nuts)
    path = tmp_path / f"bad.{suffix}"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(UnknownTermError, match="XX99") as caught:
        load_file(with_nuts, path, TARGET)
    assert caught.value.location is not None
    assert caught.value.location.source == str(path)
    assert caught.value.location.line == line
    assert _dump(with_nuts) == before


def test_missing_file_and_unknown_suffix(store: EmbeddedStore, tmp_path: Path) -> None:
    with pytest.raises(InputNotFoundError, match="no such file"):
        load_file(store, tmp_path / "absent.ttl", TARGET)
    odd = tmp_path / "data.txt"
    odd.write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match="--format"):
        load_file(store, odd, TARGET)


def test_without_nuts_loaded_nothing_is_checked(store: EmbeddedStore, tmp_path: Path) -> None:
    path = tmp_path / "ok.nt"
    path.write_text(ACTOR_NT.format(code="XX99"), encoding="utf-8")
    assert load_file(store, path, TARGET).triples == 1
    objects = store.select(f"SELECT ?o WHERE {{ GRAPH <{TARGET}> {{ ?s ?p ?o }} }}").column("o")
    assert objects == [URIRef("http://data.europa.eu/nuts/code/XX99")]
