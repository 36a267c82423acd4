"""Joins with a small proven work bound are answered without a query worker, through the real
server (one server process and one lookup process): the same answers as the worker path, in the
format asked for, counted in /metrics, and never from bounds older than the last write."""

from __future__ import annotations

import http.client
import re
import shutil
import time
import urllib.parse

import httpx
import pytest
from rdflib import RDFS, Graph, Literal, URIRef

from tests.conftest import MainLoaded
from tests.endpoint_server import Scratch, scratch_server

pytestmark = pytest.mark.subprocess

NUTS = "http://data.europa.eu/nuts/code/"
PREFIXES = "PREFIX icf: <https://w3id.org/boostkg/icf#> PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
CHILDREN = (
    PREFIXES + "SELECT ?child ?label WHERE {{ ?child icf:directlyPartOf <{parent}> ; rdfs:label ?label }}"
)
GRANDCHILDREN = (
    PREFIXES
    + "SELECT DISTINCT ?g WHERE {{ ?c icf:directlyPartOf <{parent}> . ?g icf:directlyPartOf ?c }} ORDER BY ?g"
)
DESCRIBED = PREFIXES + "CONSTRUCT {{ ?c ?p ?o }} WHERE {{ ?c icf:directlyPartOf <{parent}> ; ?p ?o }}"
JSON_RESULTS = "application/sparql-results+json"


def _counter(text: str, name: str) -> float:
    return sum(float(v) for v in re.findall(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.MULTILINE))


def _inline_count(server: Scratch) -> float:
    metrics = httpx.get(server.url + "/metrics", timeout=10).text
    return _counter(metrics, "boostkg_sparql_inline_total") + _counter(
        metrics, "boostkg_lookup_process_requests_total"
    )


def _get(server: Scratch, query: str, accept: str = JSON_RESULTS) -> tuple[int, str, bytes]:
    """GET /sparql on a new connection (so either process may answer it)."""
    port = int(server.url.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", "/sparql?" + urllib.parse.urlencode({"query": query}), headers={"Accept": accept})
        response = conn.getresponse()
        return response.status, response.getheader("content-type") or "", response.read()
    finally:
        conn.close()


def _rows(body: bytes) -> list[dict[str, str]]:
    bindings = httpx.Response(200, content=body).json()["results"]["bindings"]
    return sorted(({k: v["value"] for k, v in b.items()} for b in bindings), key=lambda r: sorted(r.items()))


def _wait_until_inline(server: Scratch, query: str) -> None:
    """Ask ``query`` until a process answers it inline (the bounds are measured in the background
    once the store has been quiet for two seconds)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        before = _inline_count(server)
        assert _get(server, query)[0] == 200
        if _inline_count(server) > before:
            return
        time.sleep(0.5)
    raise AssertionError(f"never answered without a worker:\n{server.log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, main_loaded: MainLoaded) -> Scratch:
    base = tmp_path_factory.mktemp("inline")
    shutil.copytree(main_loaded.store, base / "store")
    with scratch_server(base, {"BOOSTKG_HTTP_PROCESSES": "2"}, store=base / "store") as running:
        yield running  # type: ignore[misc]


def test_joins_are_answered_inline_with_the_workers_answers(server: Scratch) -> None:
    query = CHILDREN.format(parent=NUTS + "RO1")
    _wait_until_inline(server, query)
    status, media, body = _get(server, query)
    assert status == 200
    assert media == JSON_RESULTS
    inline = _rows(body)
    assert {r["child"] for r in inline} == {NUTS + "RO11", NUTS + "RO12"}
    # FILTER(true) puts the same query out of the planner's class: a worker answers it
    assert query.endswith("}")
    worker = _get(server, query[:-1] + " FILTER(true) }")
    assert worker[0] == 200
    assert _rows(worker[2]) == inline

    distinct = GRANDCHILDREN.format(parent=NUTS + "RO")
    before = _inline_count(server)
    status, _, body = _get(server, distinct)
    assert status == 200
    assert _inline_count(server) == before + 1
    grandchildren = [b["g"]["value"] for b in httpx.Response(200, content=body).json()["results"]["bindings"]]
    assert grandchildren == sorted(grandchildren)
    # Romania's eight NUTS 2 regions and the extra-regio one
    assert grandchildren == [
        NUTS + c for c in ("RO11", "RO12", "RO21", "RO22", "RO31", "RO32", "RO41", "RO42", "ROZZ")
    ]


@pytest.mark.parametrize(
    ("accept", "media", "rdflib_format"),
    [
        ("text/turtle", "text/turtle; charset=utf-8", "turtle"),
        ("application/n-triples", "application/n-triples", "nt"),
    ],
)
def test_construct_inline_in_the_format_asked_for(
    server: Scratch, accept: str, media: str, rdflib_format: str
) -> None:
    query = DESCRIBED.format(parent=NUTS + "BG3")
    _wait_until_inline(server, query)
    before = _inline_count(server)
    status, content_type, body = _get(server, query, accept)
    assert status == 200
    assert content_type == media
    assert _inline_count(server) == before + 1
    inline = Graph().parse(data=body, format=rdflib_format)
    worker = _get(server, query[:-1] + " FILTER(true) }", accept)
    assert worker[:2] == (200, media)
    assert set(inline) == set(Graph().parse(data=worker[2], format=rdflib_format))
    assert (URIRef(NUTS + "BG33"), RDFS.label, Literal("Severoiztochen")) in inline


def test_a_write_is_seen_at_once_and_joins_go_inline_again(server: Scratch) -> None:
    query = CHILDREN.format(parent=NUTS + "EE0")
    _wait_until_inline(server, query)
    graph = "http://example.org/graph/inline-test"
    new_children = "\n".join(
        f"<http://example.org/region/{i}> <https://w3id.org/boostkg/icf#directlyPartOf> <{NUTS}EE0> ;"
        f' <http://www.w3.org/2000/01/rdf-schema#label> "made-up {i}" .'
        for i in range(300)
    )
    put = httpx.put(
        server.url + "/graphs",
        params={"graph": graph},
        content=new_children,
        headers={**server.admin, "Content-Type": "text/turtle"},
        timeout=60,
    )
    assert put.status_code in (201, 204), put.text
    # the very next read sees the write (from whichever process), whatever path answers it
    status, _, body = _get(server, query)
    assert status == 200
    labels = {r["label"] for r in _rows(body)}
    assert {f"made-up {i}" for i in range(300)} <= labels
    # and once the bounds are measured anew the join is answered inline again, with the new rows
    _wait_until_inline(server, query)
    assert len(_rows(_get(server, query)[2])) == len(labels)


def test_updates_while_the_bounds_are_measured(server: Scratch) -> None:
    """The bounds are measured in the background 2 s after the last write; SPARQL updates (which
    swap the database) sent while that runs all succeed, and the server keeps answering (a
    measurement on the live database made them fail with 500 until the server was restarted)."""
    graph = "http://example.org/graph/measured-meanwhile"
    statuses = []
    for cycle in range(2):
        time.sleep(2.2)  # the store has been quiet: a measurement is starting about now
        for i in range(6):
            subject = f"<http://example.org/c{cycle}>"
            update = f"INSERT DATA {{ GRAPH <{graph}> {{ {subject} <http://example.org/n> {i} }} }}"
            response = httpx.post(
                server.sparql,
                content=update,
                headers={**server.admin, "Content-Type": "application/sparql-update"},
                timeout=60,
            )
            statuses.append(response.status_code)
    assert set(statuses) == {204}, statuses
    count = _get(server, f"SELECT (COUNT(*) AS ?n) {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
    assert count[0] == 200
    assert httpx.Response(200, content=count[2]).json()["results"]["bindings"][0]["n"]["value"] == "12"
