"""The SPARQL endpoint through a real ``boostkg serve`` (scratch store, 2 s query timeout; a
second one with a 5 MB result limit): protection (timeouts that really stop queries, slow queries
not stalling others, errors after streaming started, size limits, SERVICE/LOAD refused, bad
bytes), administrators' writes (SPARQL Update, Graph Store Protocol, 401/403), the service
description, content negotiation, and real clients: SPARQLWrapper, rdflib's SPARQLUpdateStore,
curl."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import cast
from urllib.error import HTTPError

import httpx
import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDF
from rdflib.plugins.stores.sparqlstore import SPARQLUpdateStore
from SPARQLWrapper import JSON, XML, SPARQLWrapper

from tests.endpoint_server import Scratch, scratch_server

pytestmark = pytest.mark.subprocess

EX = Namespace("http://example.org/")
DATA_GRAPH = "http://example.org/graph/data"
TIMEOUT_S = 2.0
ROWS = 2000
# counts an 8-billion-row cross product: runs for minutes unless stopped
ENDLESS = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
# four million rows (2.8 GB of JSON) streamed from the start: the timeout strikes after the 200
STREAM_THEN_STALL = "SELECT * WHERE { ?s ?p ?o . ?a ?b ?c }"
QUICK = f"ASK {{ <{EX}s1> ?p ?o }}"


def _data() -> bytes:
    padding = "x" * 500
    lines = [f'<{EX}s{i}> <{EX}label> "row {i} {padding}" .' for i in range(ROWS)]
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scratch]:
    env = {
        "BOOSTKG_QUERY_TIMEOUT_S": str(TIMEOUT_S),
        "BOOSTKG_QUERY_WORKERS": "3",
        "BOOSTKG_CORS_ORIGINS": '["https://yasgui.example"]',
    }
    with scratch_server(tmp_path_factory.mktemp("endpoint"), env) as running:
        response = httpx.put(
            running.url + "/graphs",
            params={"graph": DATA_GRAPH},
            content=_data(),
            headers={**running.admin, "Content-Type": "application/n-triples"},
        )
        assert response.status_code == 201, response.text
        yield running


@pytest.fixture(scope="module")
def small_results_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scratch]:
    env = {"BOOSTKG_MAX_RESULT_BYTES": str(5_000_000), "BOOSTKG_QUERY_WORKERS": "1"}
    with scratch_server(tmp_path_factory.mktemp("small-results"), env) as running:
        response = httpx.put(
            running.url + "/graphs",
            params={"graph": DATA_GRAPH},
            content=_data(),
            headers={**running.admin, "Content-Type": "application/n-triples"},
        )
        assert response.status_code == 201, response.text
        yield running


def _read_to_error(response: httpx.Response) -> tuple[int, bytes, str]:
    """Bytes received, the last 300 of them, and the error that ended the body ("" if none)."""
    size, tail = 0, b""
    try:
        for chunk in response.iter_bytes():
            size += len(chunk)
            tail = (tail + chunk)[-300:]
    except httpx.RemoteProtocolError as exc:
        return size, tail, str(exc)
    return size, tail, ""


def _problem(response: httpx.Response, status: int, *fragments: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, object] = response.json()
    for fragment in fragments:
        assert fragment in str(body["detail"]), body
    return body


def _workers_of(server: Scratch) -> list[int]:
    """Process ids of the server's query workers (children running worker.py)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if any(part.endswith(b"boostkg/store/worker.py") for part in cmdline):
                status = (entry / "status").read_text()
                parent = next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:"))
                if _is_server(int(parent), server):
                    found.append(int(entry.name))
    return found


def _is_server(pid: int, server: Scratch) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"serve" in cmdline and str(server.store).encode() in cmdline


# --- protection ---------------------------------------------------------------------------------------


def test_a_query_past_the_timeout_is_stopped_and_its_worker_replaced(server: Scratch) -> None:
    before = _workers_of(server)
    assert len(before) == 3
    started = time.monotonic()
    response = httpx.get(server.sparql, params={"query": ENDLESS}, timeout=30)
    elapsed = time.monotonic() - started
    _problem(response, 503, "longer than 2 s", "stopped")
    assert TIMEOUT_S <= elapsed < TIMEOUT_S + 1.5
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the killed worker is gone and a new one took its place
        after = _workers_of(server)
        if len(after) == 3 and set(after) != set(before):
            break
        time.sleep(0.1)
    assert len(after) == 3
    assert len(set(before) - set(after)) == 1
    assert httpx.get(server.sparql, params={"query": QUICK}).json()["boolean"] is True


def test_a_slow_query_does_not_stall_the_others(server: Scratch) -> None:
    """20 quick queries, one after another, all answered while a query that will time out runs."""
    slow: dict[str, object] = {}

    def run_slow() -> None:
        slow["response"] = httpx.get(server.sparql, params={"query": ENDLESS}, timeout=30)
        slow["done"] = time.monotonic()

    thread = threading.Thread(target=run_slow)
    thread.start()
    time.sleep(0.3)
    latencies = []
    with httpx.Client() as client:
        for _ in range(20):
            started = time.monotonic()
            response = client.get(server.sparql, params={"query": QUICK})
            latencies.append(time.monotonic() - started)
            assert response.json()["boolean"] is True
    quick_done = time.monotonic()
    thread.join()
    assert isinstance(slow["response"], httpx.Response)
    assert slow["response"].status_code == 503
    assert quick_done < cast(float, slow["done"]), latencies  # all answered while the slow one ran
    assert max(latencies) < TIMEOUT_S / 2, latencies


def test_a_timeout_after_streaming_started_fails_the_client_loudly(server: Scratch) -> None:
    with httpx.stream("GET", server.sparql, params={"query": STREAM_THEN_STALL}, timeout=30) as response:
        assert response.status_code == 200  # the first MiB went out before the deadline
        size, tail, error = _read_to_error(response)
    assert "incomplete chunked read" in error
    assert size > 1_000_000
    assert b"THIS RESPONSE IS INCOMPLETE" in tail
    assert b"stopped" in tail


def test_curl_reports_the_truncated_stream_as_an_error(server: Scratch) -> None:
    url = server.sparql + "?query=" + urllib.parse.quote(STREAM_THEN_STALL)
    done = subprocess.run(["curl", "-sS", "-o", os.devnull, url], capture_output=True, text=True, timeout=30)
    assert done.returncode == 18, done.stderr  # CURLE_PARTIAL_FILE: transfer closed early


def test_results_past_the_size_limit_are_cut_off_as_an_error(small_results_server: Scratch) -> None:
    with httpx.stream(
        "GET", small_results_server.sparql, params={"query": STREAM_THEN_STALL}, timeout=30
    ) as response:
        assert response.status_code == 200
        size, tail, error = _read_to_error(response)
    assert "incomplete chunked read" in error
    assert 4_000_000 < size < 5_200_000
    assert b"5,000,000-byte limit" in tail
    after = httpx.get(small_results_server.sparql, params={"query": QUICK})  # its one worker was replaced
    assert after.json()["boolean"] is True


def test_service_is_refused_by_default(server: Scratch) -> None:
    with socket.socket() as listener:  # a local endpoint that must never be called
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(0.5)
        port = listener.getsockname()[1]
        query = f"SELECT * WHERE {{ SERVICE <http://127.0.0.1:{port}/sparql> {{ ?s ?p ?o }} }}"
        _problem(httpx.get(server.sparql, params={"query": query}), 403, "SERVICE is disabled")
        hidden = (
            f"PREFIX x: <http://127.0.0.1:{port}/> "
            "SELECT * WHERE { service SILENT x:sparql { ?s ?p ?o } }"
        )
        _problem(httpx.get(server.sparql, params={"query": hidden}), 403, f"http://127.0.0.1:{port}/sparql")
        with pytest.raises(TimeoutError):
            listener.accept()


def test_load_is_refused_even_for_an_administrator(server: Scratch) -> None:
    response = httpx.post(
        server.sparql,
        content=b"LOAD <file:///etc/passwd> INTO GRAPH <http://example.org/passwd>",
        headers={**server.admin, "Content-Type": "application/sparql-update"},
    )
    _problem(response, 403, "LOAD is refused")
    ask = "ASK { GRAPH <http://example.org/passwd> { ?s ?p ?o } }"
    assert httpx.get(server.sparql, params={"query": ask}).json()["boolean"] is False


def test_from_a_file_iri_reads_no_file(server: Scratch) -> None:
    response = httpx.get(server.sparql, params={"query": "SELECT * FROM <file:///etc/passwd> { ?s ?p ?o }"})
    assert response.status_code == 200
    assert response.json()["results"]["bindings"] == []


def test_a_one_megabyte_query_is_refused(server: Scratch) -> None:
    query = "ASK {} #" + "x" * 1_000_000
    posted = httpx.post(
        server.sparql, content=query.encode(), headers={"Content-Type": "application/sparql-query"}
    )
    _problem(posted, 413, "524,288 bytes")
    _problem(httpx.post(server.sparql, data={"query": query}), 413)
    path = "/sparql?query=" + urllib.parse.quote(query)
    with socket.create_connection(("127.0.0.1", int(server.url.rsplit(":", 1)[1]))) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n".encode())
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]  # 414 once the URL passes 1.5 MB
    assert b"524,288 bytes" in answer


def test_non_utf8_query_bytes_are_a_400(server: Scratch) -> None:
    _problem(httpx.get(server.sparql + "?query=ASK%20%7B%7D%FF"), 400, "UTF-8")
    posted = httpx.post(
        server.sparql, content=b"ASK {} # \xff\xfe", headers={"Content-Type": "application/sparql-query"}
    )
    _problem(posted, 400, "UTF-8")
    utf16 = httpx.post(
        server.sparql,
        content="ASK {}".encode("utf-16"),
        headers={"Content-Type": "application/sparql-query; charset=UTF-16"},
    )
    _problem(utf16, 415, "charset")


def test_a_syntax_error_says_where(server: Scratch) -> None:
    body = _problem(httpx.get(server.sparql, params={"query": "SELECT ?s\nWHERE { ?s ?p }"}), 400, "line 2")
    assert "column" in str(body["detail"])


def test_malformed_protocol_requests(server: Scratch) -> None:
    sparql = server.sparql
    _problem(httpx.get(sparql, params=[("query", "ASK {}"), ("query", "ASK {}")]), 400, "2 times")
    _problem(httpx.get(sparql, params={"update": "CLEAR ALL"}), 400, "POST")
    both = httpx.post(sparql, data={"query": "ASK {}", "update": "CLEAR ALL"})
    _problem(both, 400, "both")
    _problem(httpx.post(sparql, content=b"ASK {}"), 415, "none")
    assert httpx.request("PUT", sparql, content=b"ASK {}").status_code == 405
    _problem(httpx.get(sparql, params={"query": "ASK {}", "default-graph-uri": "not an iri"}), 400, "IRI")


def test_an_accept_header_nothing_satisfies_is_a_406(server: Scratch) -> None:
    response = httpx.get(server.sparql, params={"query": QUICK}, headers={"Accept": "image/png"})
    _problem(response, 406, "image/png")


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        ("text/csv;q=0.5, application/sparql-results+xml;q=0.9", "application/sparql-results+xml"),
        ("text/tab-separated-values, */*;q=0.1", "text/tab-separated-values"),
        ("application/json", "application/sparql-results+json"),
        ("", "application/sparql-results+json"),
    ],
)
def test_select_format_follows_q_values(server: Scratch, accept: str, media: str) -> None:
    query = f"SELECT ?o WHERE {{ <{EX}s1> ?p ?o }}"
    response = httpx.get(server.sparql, params={"query": query}, headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media


@pytest.mark.parametrize(
    ("fmt", "media", "rdflib_format"),
    [
        ("turtle", "text/turtle", "turtle"),
        ("nt", "application/n-triples", "nt"),
        ("rdfxml", "application/rdf+xml", "xml"),
        ("jsonld", "application/ld+json", "json-ld"),
        ("trig", "application/trig", "trig"),
        ("nquads", "application/n-quads", "nquads"),
    ],
)
def test_construct_in_every_rdf_format(server: Scratch, fmt: str, media: str, rdflib_format: str) -> None:
    query = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ VALUES ?s {{ <{EX}s1> <{EX}s2> }} ?s ?p ?o }}"
    response = httpx.get(server.sparql, params={"query": query, "format": fmt})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].split(";")[0] == media
    graph = Graph().parse(data=response.content, format=rdflib_format)
    assert set(graph.subjects()) == {EX.s1, EX.s2}


def test_dataset_parameters(server: Scratch) -> None:
    query = f"ASK {{ <{EX}s1> ?p ?o }}"
    assert httpx.get(server.sparql, params={"query": query}).json()["boolean"] is True  # union
    other = {"query": query, "default-graph-uri": "http://example.org/graph/none"}
    assert httpx.get(server.sparql, params=other).json()["boolean"] is False
    named = {"query": f"SELECT ?g WHERE {{ GRAPH ?g {{ <{EX}s1> ?p ?o }} }}", "named-graph-uri": DATA_GRAPH}
    bindings = httpx.get(server.sparql, params=named).json()["results"]["bindings"]
    assert [b["g"]["value"] for b in bindings] == [DATA_GRAPH]


def test_cors_is_configurable(server: Scratch) -> None:
    preflight = httpx.options(
        server.sparql,
        headers={"Origin": "https://yasgui.example", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.headers["access-control-allow-origin"] == "https://yasgui.example"
    other = httpx.get(server.sparql, params={"query": QUICK}, headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


# --- administrators' writes ---------------------------------------------------------------------------


def test_updates_need_an_administrator(server: Scratch) -> None:
    update = f"INSERT DATA {{ GRAPH <{EX}graph/anon> {{ <{EX}a> <{EX}b> <{EX}c> }} }}"
    headers = {"Content-Type": "application/sparql-update"}
    _problem(httpx.post(server.sparql, content=update.encode(), headers=headers), 401, "token")
    steward = {**headers, "Authorization": f"Bearer {server.steward_token}"}
    _problem(httpx.post(server.sparql, content=update.encode(), headers=steward), 403, "administrators")
    _problem(httpx.post(server.sparql, data={"update": update}), 401)
    ask = f"ASK {{ GRAPH <{EX}graph/anon> {{ ?s ?p ?o }} }}"
    assert httpx.get(server.sparql, params={"query": ask}).json()["boolean"] is False
    done = httpx.post(server.sparql, content=update.encode(), headers={**headers, **server.admin})
    assert done.status_code == 204
    assert httpx.get(server.sparql, params={"query": ask}).json()["boolean"] is True  # workers see it


def test_graph_store_writes_need_an_administrator(server: Scratch) -> None:
    url = server.url + "/graphs"
    params = {"graph": "http://example.org/graph/gsp"}
    body = f"<{EX}x> <{EX}y> <{EX}z> .".encode()
    ntriples = {"Content-Type": "application/n-triples"}
    _problem(httpx.put(url, params=params, content=body, headers=ntriples), 401)
    steward = {**ntriples, "Authorization": f"Bearer {server.steward_token}"}
    _problem(httpx.put(url, params=params, content=body, headers=steward), 403)
    _problem(httpx.delete(url, params=params), 401)
    assert httpx.get(url, params=params).status_code == 404
    assert (
        httpx.put(url, params=params, content=body, headers={**ntriples, **server.admin}).status_code == 201
    )
    got = httpx.get(url, params=params, headers={"Accept": "application/n-triples"})
    assert got.status_code == 200
    assert set(Graph().parse(data=got.text, format="nt")) == {(EX.x, EX.y, EX.z)}
    assert httpx.delete(url, params=params, headers=server.admin).status_code == 204
    assert httpx.get(url, params=params).status_code == 404


def test_the_metadata_graph_is_written_only_by_boostkg(server: Scratch) -> None:
    meta = "https://w3id.org/boostkg/graph/meta"
    update = f"INSERT DATA {{ GRAPH <{meta}> {{ <{EX}a> <{EX}b> <{EX}c> }} }}"
    response = httpx.post(
        server.sparql,
        content=update.encode(),
        headers={**server.admin, "Content-Type": "application/sparql-update"},
    )
    _problem(response, 403, "graph/meta")
    assert (
        httpx.get(server.sparql, params={"query": f"ASK {{ GRAPH <{meta}> {{ <{EX}a> ?p ?o }} }}"}).json()[
            "boolean"
        ]
        is False  # (graph/meta does hold boostkg's own records of the administrator's earlier writes)
    )
    put = httpx.put(
        server.url + "/graphs",
        params={"graph": meta},
        content=b"",
        headers={**server.admin, "Content-Type": "text/turtle"},
    )
    _problem(put, 403, "graph/meta")


# --- service description -----------------------------------------------------------------------------


@pytest.mark.parametrize(("accept", "fmt"), [("text/turtle", "turtle"), ("application/rdf+xml", "xml")])
def test_service_description(server: Scratch, accept: str, fmt: str) -> None:
    response = httpx.get(server.sparql, headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == accept
    graph = Graph().parse(data=response.content, format=fmt)
    sd = Namespace("http://www.w3.org/ns/sparql-service-description#")
    service = graph.value(predicate=sd.endpoint, object=URIRef(server.sparql))
    assert service is not None  # the sd:endpoint is the URL that was asked
    assert (service, RDF.type, sd.Service) in graph
    assert {sd.SPARQL11Query, sd.SPARQL11Update} <= set(graph.objects(service, sd.supportedLanguage))
    assert sd.UnionDefaultGraph in set(graph.objects(service, sd.feature))
    assert sd.BasicFederatedQuery not in set(graph.objects(service, sd.feature))
    names = set(graph.objects(None, sd.name))
    assert URIRef(DATA_GRAPH) in names


# --- real clients --------------------------------------------------------------------------------------


def test_sparqlwrapper_json_and_xml(server: Scratch) -> None:
    query = f"SELECT ?o WHERE {{ <{EX}s7> <{EX}label> ?o }}"
    wrapper = SPARQLWrapper(server.sparql)
    wrapper.setQuery(query)
    wrapper.setReturnFormat(JSON)
    doc = wrapper.query().convert()
    assert isinstance(doc, dict)
    assert doc["results"]["bindings"][0]["o"]["value"].startswith("row 7 ")
    wrapper.setReturnFormat(XML)
    xml = wrapper.query().convert()
    literals = [node.firstChild.data for node in xml.getElementsByTagName("literal")]  # type: ignore[union-attr]
    assert len(literals) == 1
    assert literals[0].startswith("row 7 ")


def test_sparqlwrapper_post(server: Scratch) -> None:
    wrapper = SPARQLWrapper(server.sparql)
    wrapper.setMethod("POST")
    wrapper.setQuery(QUICK)
    wrapper.setReturnFormat(JSON)
    assert wrapper.query().convert()["boolean"] is True  # type: ignore[index]


def test_rdflib_sparql_update_store_with_an_admin_token(server: Scratch) -> None:
    store = SPARQLUpdateStore(
        query_endpoint=server.sparql,
        update_endpoint=server.sparql,
        headers={"Authorization": f"Bearer {server.admin_token}"},
        returnFormat="json",
    )
    graph_iri = URIRef("http://example.org/graph/rdflib")
    graph = Graph(store=store, identifier=graph_iri)
    graph.add((EX.alice, EX.knows, EX.bob))
    graph.add((EX.alice, EX.name, Literal("Alice", lang="en")))
    assert set(graph.objects(EX.alice, EX.knows)) == {EX.bob}
    assert len(graph) == 2
    graph.remove((EX.alice, EX.knows, None))
    assert len(graph) == 1
    anonymous = SPARQLUpdateStore(query_endpoint=server.sparql, update_endpoint=server.sparql)
    with pytest.raises(HTTPError, match="401"):
        Graph(store=anonymous, identifier=graph_iri).add((EX.mallory, EX.knows, EX.bob))


def test_curl_get_post_and_update(server: Scratch) -> None:
    def curl(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["curl", "-sS", "-w", "\n%{http_code}", *args], capture_output=True, text=True, timeout=30
        )

    got = curl(
        "-G",
        server.sparql,
        "--data-urlencode",
        f"query={QUICK}",
        "-H",
        "Accept: application/sparql-results+json",
    )
    body, status = got.stdout.rsplit("\n", 1)
    assert status == "200"
    assert json.loads(body)["boolean"] is True
    posted = curl(
        server.sparql,
        "--data-binary",
        QUICK,
        "-H",
        "Content-Type: application/sparql-query",
        "-H",
        "Accept: application/sparql-results+xml",
    )
    body, status = posted.stdout.rsplit("\n", 1)
    assert status == "200"
    assert "<boolean>true</boolean>" in body
    update = f"INSERT DATA {{ GRAPH <{EX}graph/curl> {{ <{EX}c> <{EX}d> <{EX}e> }} }}"
    refused = curl(server.sparql, "--data-urlencode", f"update={update}")
    assert refused.stdout.rsplit("\n", 1)[1] == "401"
    done = curl(
        server.sparql,
        "--data-urlencode",
        f"update={update}",
        "-H",
        f"Authorization: Bearer {server.admin_token}",
    )
    assert done.stdout.rsplit("\n", 1)[1] == "204"
