"""The projection, the back-test, ``boostkg match``/``backtest`` and ``GET /matches`` on the real
CORDIS graph (processes, not in-process calls, for the CLI and HTTP)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import httpx
import pytest

from boostkg.analysis.backtest import backtest
from boostkg.analysis.corridor import BIG_CORRIDOR, Corridor
from boostkg.analysis.export import CSV_COLUMNS
from boostkg.analysis.methods import COMPONENTS
from boostkg.analysis.projection import Projection
from boostkg.store import open_store
from tests.analysis.conftest import run_boostkg

pytestmark = pytest.mark.timeout(900)


def test_projection_holds_the_whole_cordis_network(cordis_projection: Projection) -> None:
    p = cordis_projection
    assert 27_000 <= p.n_actors <= 28_000
    assert 20_000 <= p.n_projects <= 20_200
    assert 91_000 <= p.incidence.nnz <= 91_400
    assert p.coordination.nnz >= 19_000
    assert set(p.project_years[p.project_years > 0].tolist()) >= {2014, 2015, 2016, 2017, 2018}
    assert "https://w3id.org/boostkg/theme/h2020/SC1" in p.parts
    tit = p.actor_index()["https://w3id.org/boostkg/id/organisation/tit"]
    assert (p.countries[tit], p.regions[tit]) == ("RO", "RO11")


def test_backtest_beats_every_baseline_by_a_fifth(cordis_projection: Projection) -> None:
    result = backtest(cordis_projection, Corridor.parse(*BIG_CORRIDOR))
    mine = result.method("corridor")
    assert mine.hits_at_10 >= 1.2 * result.best_baseline("hits_at_10").hits_at_10
    assert mine.mrr >= 1.2 * result.best_baseline("mrr").mrr
    assert result.method("random").hits_at_10 < mine.hits_at_10 / 5
    new = result.method("corridor", newcomers=True)
    assert new.focal > 100
    assert new.hits_at_10 > result.best_baseline("hits_at_10", newcomers=True).hits_at_10


def test_cli_match_json_csv_and_the_recorded_run(writable_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.json"
    done = run_boostkg(
        "match", "--from", "DK,EE", "--to", "RO,BG,ES", "--theme", "SC1", "--top", "3",
        "--format", "json", "--out", str(out), "--store", str(writable_store),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    document = json.loads(out.read_text())
    candidates = document["candidates"]
    assert candidates
    assert {c["rank"] for c in candidates} == {1, 2, 3}
    first = candidates[0]
    assert first["source"]["identifier"].isdigit()
    assert first["target"]["region"] in {"RO", "BG", "ES"}
    assert first["score"] == pytest.approx(sum(first["components"].values()), abs=1e-2)
    assert first["explanation"].startswith(first["target"]["label"])
    assert set(first["evidence"]) == {"shared_partners", "projects", "themes", "capabilities"}
    graph = document["run"]["graph"]
    assert graph.startswith("https://w3id.org/boostkg/graph/matching/")
    kg = open_store(writable_store)
    try:
        rows = kg.select(
            "PREFIX icf: <https://w3id.org/boostkg/icf#> SELECT (COUNT(?c) AS ?n) WHERE { GRAPH <"
            + graph
            + "> { ?c a icf:CandidatePartnership ; icf:matchScore ?s ; icf:hasScoreComponent ?x } }"
        )
        assert int(rows[0]["n"]) == len(candidates) * len(COMPONENTS)
        assert kg.ask(
            "PREFIX icf: <https://w3id.org/boostkg/icf#> PREFIX prov: <http://www.w3.org/ns/prov#> "
            "ASK { GRAPH <" + graph + "> { ?run a icf:MatchingRun ; prov:used ?g ; icf:matchedCorridor ?c ; "
            "icf:hasRunParameter ?p } }"
        )
    finally:
        kg.close()
    pairs = run_boostkg(
        "match", "--from", "DK", "--to", "RO", "--top", "5", "--per", "pair", "--format", "csv",
        "--no-record", "--store", str(writable_store),
    )  # fmt: skip
    assert pairs.returncode == 0, pairs.stderr
    table = list(csv.DictReader(io.StringIO(pairs.stdout)))
    assert [r["rank"] for r in table] == ["1", "2", "3", "4", "5"]
    assert tuple(table[0]) == CSV_COLUMNS


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--from", "DK,ZZ", "--to", "RO"), "unknown country or NUTS region code 'ZZ'"),
        (("--from", ",", "--to", "RO"), "source side (--from) is empty"),
        (("--from", "DK", "--to", "RO", "--theme", "space-mining"), "unknown theme 'space-mining'"),
        (("--from", "DK", "--to", "RO", "--theme", "robotics"), "no actors on the source side"),
        (("--from", "DK03", "--to", "RO11"), "no candidate pairs"),
    ],
)
def test_cli_bad_input_is_one_line_and_a_failure(
    cordis_store: Path, args: tuple[str, ...], words: str
) -> None:
    done = run_boostkg("match", *args, "--no-record", "--store", str(cordis_store))
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert words in lines[0]
    assert done.stdout == ""


def test_cli_backtest_prints_the_table(cordis_store: Path) -> None:
    done = run_boostkg(
        "backtest", "--from", "DK,EE,SE,FI", "--to", "RO,BG,ES,PL", "--store", str(cordis_store)
    )
    assert done.returncode == 0, done.stderr
    for method in ("corridor", "common-neighbours", "adamic-adar", "resource-allocation",
                   "preferential-attachment", "random", "newcomers"):  # fmt: skip
        assert method in done.stdout


def test_http_matches(server: str) -> None:
    answer = httpx.get(
        server + "/matches", params={"from": "DK,EE", "to": "RO,BG,ES", "top": 2, "per": "pair"}, timeout=120
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert len(body["candidates"]) == 2
    assert body["candidates"][0]["target"]["iri"].startswith("https://w3id.org/boostkg/id/organisation/")
    assert body["run"] is None
    as_csv = httpx.get(
        server + "/matches",
        params={"from": "EE", "to": "BG", "top": 1, "format": "csv", "record": "true"},
        timeout=120,
    )
    assert as_csv.status_code == 200
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert as_csv.text.startswith("rank,source,")
    # the recorded run moved the store on: the next answer is learnt afresh and still the same
    again = httpx.get(
        server + "/matches", params={"from": "DK,EE", "to": "RO,BG,ES", "top": 2, "per": "pair"}, timeout=120
    )
    assert again.status_code == 200
    assert [(c["source"]["iri"], c["target"]["iri"], c["score"]) for c in again.json()["candidates"]] == [
        (c["source"]["iri"], c["target"]["iri"], c["score"]) for c in body["candidates"]
    ]
    themed = httpx.get(
        server + "/matches",
        params={"from": "DK,EE", "to": "RO,BG,ES", "top": 2, "per": "pair", "theme": "health-wellbeing"},
        timeout=120,
    )
    assert themed.status_code == 200
    assert themed.json()["candidates"][0]["components"]["theme_focus"] > 0


@pytest.mark.parametrize(
    ("params", "status", "words"),
    [
        ({"from": "DK,QQ", "to": "RO"}, 422, "unknown country or NUTS region code 'QQ'"),
        ({"from": "DK", "to": ""}, 400, "target side (--to) is empty"),
        ({"from": "DK", "to": "RO", "theme": "nope"}, 422, "unknown theme 'nope'"),
        ({"from": "DK", "to": "RO", "actor-type": "Municipality"}, 400, "no actors"),
    ],
)
def test_http_bad_input_is_a_problem(server: str, params: dict[str, str], status: int, words: str) -> None:
    answer = httpx.get(server + "/matches", params=params, timeout=120)
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert words in answer.json()["detail"]
