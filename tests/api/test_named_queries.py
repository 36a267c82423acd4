"""Named queries through the real server: every file of ``queries/`` listed at /queries and run at
/queries/{name} with typed parameters bound by VALUES (an injection attempt in a string is matched
literally; in an IRI or a year it is a 400), in every result format."""

from __future__ import annotations

import csv
import io
import re
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
from rdflib import Graph, Literal

from boostkg.config import PROJECT_ROOT
from boostkg.queries.catalog import list_queries
from tests.api.conftest import Served

pytestmark = pytest.mark.subprocess


@pytest.fixture(scope="module")
def served(served_for_readers: Served) -> Served:
    """This module only reads: the server it shares with the other reading modules."""
    return served_for_readers


QUERIES = list_queries(PROJECT_ROOT / "queries")
SRJ = "application/sparql-results+json"
ILLUSTRATIVE = "select-illustrative-statements"
H2020 = "select-h2020-projects-by-programme-part-in-catch-up-countries"
PROFILE = "select-actor-profile"
PLACES = "select-places-in-performance-group"
INJECTION = 'Illustrative" ) } ; DROP ALL ; INSERT DATA { <urn:x> <urn:y> "z" } #'


def _get(served: Served, path: str, accept: str | None = None, **params: str) -> httpx.Response:
    headers = {"Accept": accept} if accept else {}
    return httpx.get(served.url + path, params=params, headers=headers, timeout=60)


def _rows(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(SRJ)
    bindings: list[dict[str, Any]] = response.json()["results"]["bindings"]
    return bindings


def _problem(response: httpx.Response, status: int, fragment: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert fragment in response.json()["detail"]


def test_every_query_file_is_listed_with_its_header(served: Served) -> None:
    listed = _get(served, "/queries", "application/json").json()["queries"]
    assert [q["name"] for q in listed] == [p.stem for p in sorted((PROJECT_ROOT / "queries").glob("*.rq"))]
    by_name = {q["name"]: q for q in listed}
    for query in QUERIES:
        entry = by_name[query.name]
        assert entry["title"] == query.title
        assert entry["title"] != query.name
        assert entry["question"] == query.question
        assert entry["question"]
        assert entry["audience"] == query.audience
        assert entry["url"] == f"/queries/{query.name}"
        assert [(p["name"], p["type"], p["default"]) for p in entry["parameters"]] == [
            (p.name, p.type.value, p.default) for p in query.params
        ]
    assert by_name[H2020]["parameters"][0]["type"] == "year"
    assert by_name[H2020]["form"] == "SELECT"
    assert by_name["construct-corridor-network"]["form"] == "CONSTRUCT"


def test_the_list_is_an_html_page_for_browsers(served: Served) -> None:
    response = _get(served, "/queries", "text/html,application/xhtml+xml,*/*;q=0.8")
    assert response.headers["content-type"].startswith("text/html")
    names = re.findall(r'<tr data-name="([^"]+)">', response.text)
    assert names == [q.name for q in QUERIES]
    assert 'href="/queries/select-actor-profile"' in response.text


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: q.name)
def test_every_query_runs_with_its_defaults(served: Served, query: Any) -> None:
    if query.name.startswith("construct-"):
        response = _get(served, f"/queries/{query.name}", "text/turtle")
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/turtle")
        Graph().parse(data=response.text, format="turtle")
    else:
        response = _get(served, f"/queries/{query.name}", SRJ)
        assert response.status_code == 200, response.text
        body = response.json()
        assert "boolean" in body if query.name.startswith("ask-") else "results" in body


def test_a_typed_parameter_changes_the_answer(served: Served) -> None:
    default = _rows(_get(served, f"/queries/{PROFILE}", SRJ))  # the declared default: .../vk
    tit = _rows(
        _get(served, f"/queries/{PROFILE}", SRJ, actor="https://w3id.org/boostkg/id/organisation/tit")
    )
    assert tit[0]["label"]["value"] == "Transilvania IT Cluster"
    assert default[0]["label"]["value"] not in ("", "Transilvania IT Cluster")
    bracketed = _rows(
        _get(served, f"/queries/{PROFILE}", SRJ, actor="<https://w3id.org/boostkg/id/organisation/tit>")
    )
    assert bracketed == tit
    strong_2023 = _rows(_get(served, f"/queries/{PLACES}", SRJ))
    strong_2024 = _rows(_get(served, f"/queries/{PLACES}", SRJ, edition="2024"))
    leaders_2023 = _rows(
        _get(
            served, f"/queries/{PLACES}", SRJ, group="https://w3id.org/boostkg/vocab/performance-group/Leader"
        )
    )
    assert len({len(strong_2023), len(strong_2024), len(leaders_2023)}) == 3
    assert _rows(_get(served, f"/queries/{PLACES}", SRJ, edition="1999")) == []


def test_a_string_with_quotes_and_drop_all_is_matched_literally(served: Served) -> None:
    quads_before = httpx.get(served.url + "/health", timeout=30).json()["quads"]
    marked = _rows(_get(served, f"/queries/{ILLUSTRATIVE}", SRJ))
    assert len(marked) >= 2  # the default "Illustrative" finds the seed's illustrative statements
    assert _rows(_get(served, f"/queries/{ILLUSTRATIVE}", SRJ, marker="Illustrative")) == marked
    for attempt in (INJECTION, "} ; DROP ALL", 'it\'s "quoted"', "\\u0022 } DROP ALL"):
        assert _rows(_get(served, f"/queries/{ILLUSTRATIVE}", SRJ, marker=attempt)) == []
    # the value went in as one escaped literal in a VALUES block ...
    text = _get(served, f"/queries/{ILLUSTRATIVE}", marker=INJECTION, format="rq").text
    assert f"VALUES (?marker) {{ ({Literal(INJECTION).n3()}) }}" in text
    assert "DROP ALL" not in text.replace(Literal(INJECTION).n3(), "")
    # ... and nothing was dropped or inserted
    assert httpx.get(served.url + "/health", timeout=30).json()["quads"] == quads_before


def test_an_iri_with_an_injection_attempt_is_rejected_with_400(served: Served) -> None:
    for attempt in ("https://example.org/x> } ; DROP ALL ; #", 'https://example.org/"x"', "not an iri"):
        _problem(_get(served, f"/queries/{PROFILE}", SRJ, actor=attempt), 400, "is not an absolute IRI")


def test_bad_typed_values_unknown_parameters_and_unknown_queries(served: Served) -> None:
    _problem(_get(served, f"/queries/{H2020}", SRJ, edition="20x3"), 400, "'20x3' is not a valid year")
    assert _get(served, f"/queries/{H2020}", SRJ, edition="2023").status_code == 200
    _problem(_get(served, f"/queries/{PROFILE}", SRJ, bogus="1"), 400, "has no parameter bogus")
    repeated = httpx.get(
        served.url + f"/queries/{H2020}?edition=2021&edition=2023", headers={"Accept": SRJ}, timeout=30
    )
    _problem(repeated, 400, "more than once")
    _problem(_get(served, "/queries/select-no-such-query"), 404, "no named query")
    assert _get(served, "/queries/..%2Fpyproject").status_code == 404
    _problem(_get(served, f"/queries/{PROFILE}", format="png"), 400, "format 'png' is not offered")
    _problem(_get(served, f"/queries/{PROFILE}", "image/png"), 406, "nothing here satisfies")


def test_results_in_every_format_by_accept_or_format(served: Served) -> None:
    path = f"/queries/{PLACES}"
    rows = _rows(_get(served, path, SRJ))
    assert rows
    assert _get(served, path, "application/json").json()["results"]["bindings"] == rows
    xml = _get(served, path, "application/sparql-results+xml")
    assert xml.headers["content-type"].startswith("application/sparql-results+xml")
    ns = {"r": "http://www.w3.org/2005/sparql-results#"}
    assert len(ElementTree.fromstring(xml.content).findall(".//r:result", ns)) == len(rows)
    for fmt, media, delimiter in (("csv", "text/csv", ","), ("tsv", "text/tab-separated-values", "\t")):
        for response in (_get(served, path, media), _get(served, path, format=fmt)):
            assert response.headers["content-type"].startswith(media)
            table = list(csv.reader(io.StringIO(response.text), delimiter=delimiter))
            assert len(table) == len(rows) + 1
    ask = _get(served, "/queries/ask-coordinator-in-catch-up-region", SRJ)
    assert ask.json()["boolean"] is True
    construct = "/queries/construct-corridor-network"
    turtle = Graph().parse(data=_get(served, construct, "text/turtle").text, format="turtle")
    assert len(turtle) > 10
    for media, rdf_format in (
        ("application/ld+json", "json-ld"),
        ("application/n-triples", "nt"),
        ("application/rdf+xml", "xml"),
    ):
        response = _get(served, construct, media)
        assert response.headers["content-type"].startswith(media)
        assert len(Graph().parse(data=response.text, format=rdf_format)) == len(turtle)


def test_the_html_page_shows_a_form_and_the_rows(served: Served) -> None:
    response = _get(served, f"/queries/{PLACES}", "text/html", edition="2024")
    assert response.status_code == 200
    page = response.text
    assert '<input type="text" name="edition" value="2024" placeholder="2023">' in page
    rows = _rows(_get(served, f"/queries/{PLACES}", SRJ, edition="2024"))
    assert f"{len(rows):,} rows" in page
    assert page.count("<tr><td>") == len(rows)
    escaped = _get(served, f"/queries/{ILLUSTRATIVE}", "text/html", marker="<script>alert(1)</script>").text
    assert "<script>alert(1)</script>" not in escaped
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in escaped
