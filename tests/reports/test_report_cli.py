"""``boostkg report`` in real subprocesses on a store with the seed and the CORDIS graph (built once
for the module), and the report rendered in headless Chromium with a saved screenshot."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from boostkg.store import open_store
from tests.api.test_submit_page import Page, page  # noqa: F401  (the browser fixture, reused)

pytestmark = [pytest.mark.subprocess, pytest.mark.slow, pytest.mark.shared_data]

BOOSTKG = Path(sys.executable).with_name("boostkg")
METHODS = {
    "corridor",
    "common-neighbours",
    "adamic-adar",
    "resource-allocation",
    "preferential-attachment",
    "random",
}


def _run(*args: str, cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BOOSTKG), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def written(cordis_store: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("report") / "dk-ee"
    done = _run(
        "report",
        "--from",
        "DK,EE",
        "--to",
        "RO,BG,ES",
        "--top",
        "10",
        "--backtest",
        "--link-base",
        "http://kg.test",
        "--out",
        str(out),
        "--store",
        str(cordis_store),
        cwd=out.parent,
    )
    assert done.returncode == 0, done.stderr
    return out, done.stdout


def test_report_holds_ranked_cordis_candidates_coverage_and_backtest(
    written: tuple[Path, str], cordis_store: Path
) -> None:
    out, stdout = written
    assert f"wrote {out / 'report.html'}" in stdout
    assert "report " in stdout
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["matching"] is True
    assert [t["slug"] for t in report["themes"]] == [
        "industry-cleantech-green",
        "health-wellbeing",
        "ict-digital",
    ]
    candidates = report["candidates"]
    assert len(candidates) == 30  # top 10 pairs in each of the three themes
    for c in candidates:
        assert c["source"]["region"] in {"DK", "EE"}
        assert c["target"]["region"] in {"RO", "BG", "ES"}
        for side in (c["source"], c["target"]):
            if side["identifier"]:  # CORDIS organisations carry their PIC
                assert side["iri"].endswith("/organisation/pic-" + side["identifier"])
            assert side["url"].startswith("http://kg.test/id/organisation/")
        assert c["components"]
        assert c["explanation"]
        assert all(
            link["url"].startswith(("http://kg.test/", "http")) for e in c["evidence"] for link in e["links"]
        )
    # each theme ranks its own pairs: the executive summary's top pair differs from theme to theme
    tops = [(s["top"][0]["source"]["iri"], s["top"][0]["target"]["iri"]) for s in report["summaries"]]
    assert len(set(tops)) == 3, tops
    assert all(dict(c["components"])["theme_focus"] > 0 for c in candidates)
    # actors known only by PIC are counted in the gaps and risks
    unnamed = [r for r in report["risks"] if r["kind"] == "unnamed-actors"]
    assert len(unnamed) == 1
    assert "have no name in the graph" in unnamed[0]["text"]
    assert any("theme_focus" in paragraph for paragraph in report["method"])
    scores = [c["score"] for c in candidates if c["theme"] == "ict-digital"]
    assert scores == sorted(scores, reverse=True)
    # the network of each theme draws the theme's top candidates and real existing ties
    for network in report["networks"]:
        kinds = [e["kind"] for e in network["edges"]]
        assert kinds.count("candidate") == 10
        assert "existing" in kinds
        assert network["tied_pairs"] > 100
    # the back-test compares the method with every baseline and random, newcomer slice beside
    methods = {r["method"]: r for r in report["backtest"]["rows"]}
    assert set(methods) == METHODS
    assert methods["corridor"]["newcomer_hits_at_10"] is not None
    assert report["backtest"]["focal_actors"] > 100
    # and within each theme: only ties formed in the theme's later projects count
    themed = {r["theme"]: r for r in report["backtest"]["themed"]}
    assert set(themed) == {"industry-cleantech-green", "health-wellbeing", "ict-digital"}
    for row in themed.values():
        assert row["true_pairs"] > 0
        assert 0 < row["focal_actors"] < report["backtest"]["focal_actors"]
        assert row["mrr"] > row["blind_mrr"]  # the theme components add to the method
    # provenance and dates
    assert {p["graph"].rsplit("/", 1)[-1] for p in report["provenance"]} >= {
        "cordis-h2020",
        "seed",
        "inferred",
    }
    assert report["data_dates"]["first_start"].startswith("2014")
    assert report["data_dates"]["last_start"].startswith("2018")
    # the coverage matrix agrees with a direct count over the store
    cells = {(c["region"], c["helix"], c["theme"]): c["actors"] for c in report["coverage"]["cells"]}
    kg = open_store(cordis_store)
    try:
        rows = kg.select(
            """PREFIX icf: <https://w3id.org/boostkg/icf#>
            SELECT (COUNT(DISTINCT ?a) AS ?n) WHERE {
              ?a icf:locatedIn <http://publications.europa.eu/resource/authority/country/ROU> ;
                 a icf:AcademicActor ; icf:hasTheme <https://w3id.org/boostkg/theme/health-wellbeing> }"""
        )
    finally:
        kg.close()
    assert cells[("RO", "Academia", "health-wellbeing")] == int(str(rows[0]["n"]))
    assert cells[("ES", "Business", "all")] > 1000


def test_report_html_is_self_contained(written: tuple[Path, str]) -> None:
    html = (written[0] / "report.html").read_text(encoding="utf-8")
    assert "<script" not in html
    assert "<link" not in html
    assert "<img" not in html
    assert "url(" not in html
    assert html.count('class="network"') == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--from", "DK,XX", "--to", "RO"), "unknown code on the source side: XX"),
        (("--from", "DK", "--to", " , "), "the target side of the corridor is empty"),
        (("--from", "DK", "--to", "RO", "--theme", "space"), "unknown theme 'space'"),
        (("--from", "DK", "--to", "RO12"), "no actors are located in RO12"),
        (("--from", "DK", "--to", "RO", "--top", "0"), "--top must be between 1 and"),
    ],
)
def test_bad_input_exits_with_a_message_and_writes_nothing(
    cordis_store: Path, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    out = tmp_path / "out"
    done = _run("report", *args, "--out", str(out), "--store", str(cordis_store), cwd=tmp_path)
    assert done.returncode == 1
    assert message in done.stderr
    assert not out.exists()


def test_report_renders_in_chromium_without_requests(
    written: tuple[Path, str],
    page: Page,  # noqa: F811
    tmp_path: Path,
) -> None:
    html = written[0] / "report.html"
    page.call("Page.enable")
    page.call("Page.navigate", url=html.as_uri())
    page.wait_for("document.readyState === 'complete'")
    assert page.js("performance.getEntriesByType('resource').length") == 0  # nothing fetched
    assert page.js("document.querySelectorAll('svg.network').length") == 3
    assert page.js("document.querySelectorAll('table.candidates tr').length") == 33  # 3 × (header + 10)
    assert page.js("document.querySelectorAll('svg.network line.candidate').length") == 30
    width = page.js("document.querySelector('svg.network').getBoundingClientRect().width")
    assert isinstance(width, int | float)
    assert width > 600
    title = page.js("document.querySelector('h1').textContent")
    assert title == "Corridor report DK,EE → RO,BG,ES"
    shot = tmp_path / "corridor-report.png"
    page.screenshot(shot)
    assert shot.stat().st_size > 20_000
