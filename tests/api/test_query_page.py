"""The /query page (YASGUI) end to end in headless Chromium, driven over the DevTools protocol.

A researcher opens the page, sees the project's prefixes declared, picks an example query from
``queries/``, runs it, sees its rows in the result table, and downloads the results in every
format the query form allows. Screenshots (``query-page.png``, ``query-construct.png``) are saved
in the test's tmp_path. The browser helper is the one the /submit page test uses.
"""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path

import httpx
import pytest

from boostkg.api.routes.query import PREFIXES
from boostkg.config import PROJECT_ROOT
from boostkg.queries.catalog import list_queries
from tests.api.conftest import Served
from tests.api.test_submit_page import Page, page  # noqa: F401  (the fixture, reused)

pytestmark = pytest.mark.subprocess


@pytest.fixture(scope="module")
def served(served_for_readers: Served) -> Served:
    """This module only reads: the server it shares with the other reading modules."""
    return served_for_readers


ROWS = "document.querySelectorAll('.yasr table.dataTable tbody tr').length"
QUERIES = PROJECT_ROOT / "queries"


def _png(path: Path) -> None:
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) > 20_000, f"{path} is suspiciously small ({len(data)} bytes)"


def _open(tab: Page, url: str) -> None:
    tab.call("Page.enable")
    tab.call("Page.navigate", url=url + "/query")
    tab.wait_for("document.readyState === 'complete' && !!window.boostkgQuery")
    tab.wait_for("!!document.querySelector('.yasqe .CodeMirror')")


def _wait_rows(tab: Page, minimum: int = 1, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while True:
        rows = tab.js(ROWS)
        assert isinstance(rows, int)
        if rows >= minimum and not tab.js("!!document.querySelector('.yasgui .tabPanel.active .yasqe_busy')"):
            return rows
        error = tab.js("(document.querySelector('.yasr .errorResult') || {}).textContent || ''")
        assert not error, f"the query failed: {error}"
        assert time.monotonic() < deadline, "no result rows appeared"
        time.sleep(0.1)


def test_query_page_serves_the_editor_and_examples(served: Served) -> None:
    response = httpx.get(served.url + "/query")
    assert response.status_code == 200
    assert 'src="/query/assets/yasgui.min.js"' in response.text
    for name in ("yasgui.min.js", "yasgui.min.css"):
        asset = httpx.get(f"{served.url}/query/assets/{name}")
        assert asset.status_code == 200, f"{name}: {asset.status_code} (run scripts/setup.sh)"
        assert len(asset.content) > 10_000
    assert httpx.get(served.url + "/query/assets/package.json").status_code == 404
    assert httpx.get(served.url + "/query/assets/..%2F..%2Fpackage.json").status_code == 404
    assert 'href="/query"' in httpx.get(served.url + "/").text


def test_researcher_runs_an_example_query_and_downloads_results(
    served: Served,
    page: Page,  # noqa: F811
    tmp_path: Path,
) -> None:
    _open(page, served.url)

    # the starter query declares the project's prefixes, highlighted by the editor
    text = str(page.js("window.boostkgQuery.yasgui.getTab().getQuery()"))
    for prefix, iri in PREFIXES.items():
        assert f"PREFIX {prefix}: <{iri}>" in text
    assert page.js("document.querySelectorAll('.yasqe .CodeMirror .cm-keyword').length")

    # every named query in queries/ is one click away
    names = page.js("[...document.querySelectorAll('#examples button.example')].map(b => b.dataset.name)")
    assert names == [q.name for q in list_queries(QUERIES)]

    # pick an example, which opens in its own tab and runs: rows appear in the table
    page.js("document.querySelector('#examples button[data-name=\"select-corridor-regions\"]').click()")
    rows = _wait_rows(page)
    expected = httpx.post(
        served.sparql,
        data={"query": str(page.js("window.boostkgQuery.yasgui.getTab().getQuery()"))},
        headers={"Accept": "application/sparql-results+json"},
    ).json()["results"]["bindings"]
    assert rows == len(expected) == 5
    assert (
        page.js("window.boostkgQuery.yasgui.getTab().getName()") == "Source and target regions of a corridor"
    )
    cells = str(page.js("document.querySelector('.yasr table.dataTable tbody').textContent"))
    assert "RO11" in cells
    assert "DK03" in cells
    page.screenshot(tmp_path / "query-page.png")
    _png(tmp_path / "query-page.png")

    # the download bar offers every results format; a click saves a file
    offered = page.js("[...document.querySelectorAll('#download-buttons button')].map(b => b.dataset.type)")
    assert offered == [
        "application/sparql-results+json",
        "application/sparql-results+xml",
        "text/csv",
        "text/tab-separated-values",
    ]
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    page.call("Browser.setDownloadBehavior", behavior="allow", downloadPath=str(downloads))
    page.js("document.querySelector('#download-buttons button[data-type=\"text/csv\"]').click()")
    deadline = time.monotonic() + 30
    while not list(downloads.glob("*.csv")):
        assert time.monotonic() < deadline, f"no CSV downloaded: {list(downloads.iterdir())}"
        time.sleep(0.1)
    saved = next(downloads.glob("*.csv"))
    assert saved.name == "source-and-target-regions-of-a-corridor.csv"
    table = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8"))))
    assert len(table) == 1 + rows
    for media in offered:
        fetched = page.js(
            f"window.boostkgQuery.fetchAs({json.dumps(media)})"
            ".then(async r => ({status: r.status, type: r.type, size: (await r.blob.text()).length}))"
        )
        assert isinstance(fetched, dict)
        assert fetched["status"] == 200, (media, fetched)
        assert fetched["type"].split(";")[0] == media
        assert fetched["size"] > 100

    # a CONSTRUCT example: the download bar switches to RDF serialisations
    page.js("document.querySelector('#examples button[data-name=\"construct-corridor-network\"]').click()")
    page.wait_for(
        "window.boostkgQuery.yasgui.getTab().getName() === 'The collaboration network of a corridor'"
    )
    page.wait_for("!!document.querySelector('#download-buttons button[data-type=\"text/turtle\"]')")
    page.wait_for("window.boostkgQuery.yasgui.getTab().getYasr().results !== undefined")
    graph_types = page.js(
        "[...document.querySelectorAll('#download-buttons button')].map(b => b.dataset.type)"
    )
    assert graph_types == [
        "text/turtle",
        "application/n-triples",
        "application/rdf+xml",
        "application/ld+json",
        "application/trig",
        "application/n-quads",
    ]
    for media in graph_types:
        fetched = page.js(
            f"window.boostkgQuery.fetchAs({json.dumps(media)})"
            ".then(async r => ({status: r.status, type: r.type, size: (await r.blob.text()).length}))"
        )
        assert isinstance(fetched, dict)
        assert fetched["status"] == 200, (media, fetched)
        assert fetched["type"].split(";")[0] == media
        assert fetched["size"] > 100
    page.screenshot(tmp_path / "query-construct.png")
    _png(tmp_path / "query-construct.png")


def test_query_page_says_how_to_install_a_missing_editor(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from boostkg.api.app import create_app
    from boostkg.config import Settings

    settings = Settings(store=tmp_path / "store", ui_vendor_dir=tmp_path / "no-node-modules")
    with TestClient(create_app(settings)) as client:
        response = client.get("/query")
        assert response.status_code == 503
        assert "scripts/setup.sh" in response.text
        assert "yasgui.min.js" not in response.text
        asset = client.get("/query/assets/yasgui.min.js")
        assert asset.status_code == 404
        assert "run scripts/setup.sh" in asset.json()["detail"]
