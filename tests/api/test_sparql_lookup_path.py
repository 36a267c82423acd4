"""Bounded lookups answered in the server process (ahead of FastAPI) give what the full path gives,
through the real server; errors and anything unbounded still go the full way."""

from __future__ import annotations

import httpx
import pytest

from tests.api.conftest import Served

LOOKUP = "SELECT ?p ?o WHERE { <https://w3id.org/boostkg/id/project/boost> ?p ?o }"
JSON_RESULTS = "application/sparql-results+json"


@pytest.fixture(scope="module")
def served(served_for_readers: Served) -> Served:
    """This module only reads: the server it shares with the other reading modules."""
    return served_for_readers


def _get(served: Served, query: str, **headers: str) -> httpx.Response:
    return httpx.get(served.sparql, params={"query": query}, headers={"Accept": JSON_RESULTS, **headers})


def test_a_lookup_answers_the_same_with_and_without_cors(served: Served) -> None:
    fast = _get(served, LOOKUP)
    full = _get(served, LOOKUP, Origin="http://example.org")  # an Origin takes the full path (CORS)
    assert fast.status_code == full.status_code == 200
    assert fast.headers["content-type"] == full.headers["content-type"] == JSON_RESULTS
    assert fast.content == full.content
    rows = fast.json()["results"]["bindings"]
    assert {"type": "uri", "value": "https://w3id.org/boostkg/icf#Collaboration"} in [r["o"] for r in rows]
    assert "access-control-allow-origin" not in fast.headers
    assert full.headers["access-control-allow-origin"] == "*"


def test_a_lookup_in_csv_and_a_malformed_one(served: Served) -> None:
    csv = _get(served, LOOKUP, Accept="text/csv")
    assert csv.status_code == 200
    assert csv.text.startswith("p,o\r\n")
    bad = _get(served, "SELECT ?o WHERE { <https://w3id.org/boostkg/id/project/boost> ?p ?o . }  LIMIT x")
    assert bad.status_code == 400
    assert "malformed SPARQL" in bad.json()["detail"]


def test_a_scan_still_answers(served: Served) -> None:
    scan = _get(served, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    assert scan.status_code == 200
    assert int(scan.json()["results"]["bindings"][0]["n"]["value"]) > 1000
