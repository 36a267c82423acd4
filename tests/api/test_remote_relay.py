"""``boostkg serve`` on a remote store with BOOSTKG_HTTP_PROCESSES=2 (the default): a relay process
shares the listening socket and relays plain queries to the store itself, exactly as the server
process does; everything else it hands over to the server process. Through the real server, on an
Oxigraph server."""

from __future__ import annotations

import http.client
import re
import time
import urllib.parse
from pathlib import Path

import httpx
import pytest
from rdflib import URIRef

from boostkg.store import RdfFormat
from tests.endpoint_server import Scratch, scratch_server
from tests.store.servers import OxigraphProcess

pytestmark = pytest.mark.subprocess

EX = "https://example.org/"
POINT = f"SELECT ?p ?o WHERE {{ <{EX}s7> ?p ?o }} ORDER BY ?p ?o"
JSON = "application/sparql-results+json"


def _relayed(server: Scratch, counter: str = "requests") -> int:
    """Requests the relay process answered (or of them, ``errors``), from the server's /metrics."""
    text = httpx.get(server.url + "/metrics").text
    found = re.search(rf'^boostkg_lookup_process_{counter}_total\{{process="1"\}} (\S+)$', text, re.M)
    assert found, text
    return int(float(found.group(1)))


def _refused_by_server(server: Scratch) -> int:
    """GET /sparql answered 400 by the server process, from its /metrics."""
    text = httpx.get(server.url + "/metrics").text
    pattern = r'^boostkg_http_requests_total\{method="GET",route="/sparql",status="400"\} (\S+)$'
    found = re.search(pattern, text, re.M)
    return int(float(found.group(1))) if found else 0


def _get_on_new_connection(
    server: Scratch, query: str, accept: str = JSON
) -> tuple[int, bytes, dict[str, str]]:
    conn = http.client.HTTPConnection("127.0.0.1", int(server.url.rsplit(":", 1)[1]), timeout=30)
    try:
        conn.request("GET", "/sparql?" + urllib.parse.urlencode({"query": query}), headers={"Accept": accept})
        response = conn.getresponse()
        return response.status, response.read(), {k.lower(): v for k, v in response.getheaders()}
    finally:
        conn.close()


def test_plain_queries_are_relayed_and_the_rest_handed_over(tmp_path: Path) -> None:
    (tmp_path / "oxigraph").mkdir()
    oxigraph = OxigraphProcess(tmp_path / "oxigraph")
    direct = oxigraph.start()
    secret = "relay-secret-not-on-the-command-line"
    try:
        with direct.open() as store:
            triples = "".join(f"<{EX}s{i}> <{EX}p> {i} .\n" for i in range(50)).encode()
            store.replace_graph(URIRef(f"{EX}g"), triples, RdfFormat.TURTLE)
        expected = httpx.get(direct.query_url, params={"query": POINT}, headers={"Accept": JSON}).content
        env = {
            "BOOSTKG_STORE_URL": direct.query_url,
            "BOOSTKG_STORE_UPDATE_URL": direct.update_url,
            "BOOSTKG_STORE_GSP_URL": str(direct.gsp_url),
            "BOOSTKG_HTTP_PROCESSES": "2",
            # credentials the server never asks for (Oxigraph): the relay gets them, `ps` does not show them
            "BOOSTKG_STORE_USER": "relay",
            "BOOSTKG_STORE_PASSWORD": secret,
        }
        with scratch_server(tmp_path / "serve", env) as server:
            deadline = time.monotonic() + 30
            while not server.lookup_pids() and time.monotonic() < deadline:
                time.sleep(0.2)
            (pid,) = server.lookup_pids()
            assert secret.encode() not in Path(f"/proc/{pid}/cmdline").read_bytes()
            assert secret.encode() in Path(f"/proc/{pid}/environ").read_bytes()
            time.sleep(1.5)  # the relay process is up and accepting
            before = _relayed(server)
            # plain queries on new connections (so accepted by either process): the server's answer
            for _ in range(60):
                status, body, headers = _get_on_new_connection(server, POINT)
                assert status == 200, body
                assert body == expected
                assert headers["content-type"] == JSON
                assert headers["vary"] == "Origin"  # the headers the application gives, whoever answers
                assert headers["x-content-type-options"] == "nosniff"
            relayed = _relayed(server) - before
            assert 0 < relayed <= 60, relayed  # some by the relay process, counted in the server's /metrics
            # an error from the store is the same problem document whoever relays it, and counted
            errors_before, refused_before = _relayed(server, "errors"), _refused_by_server(server)
            for _ in range(10):
                status, body, _ = _get_on_new_connection(
                    server, f"SELECT * WHERE {{ <{EX}s1> ?p ?o . FILTER(?o = }}"
                )
                assert status == 400, body
                assert httpx.Response(400, content=body).json()["type"].endswith("/bad-query")
            by_relay = _relayed(server, "errors") - errors_before
            assert by_relay + _refused_by_server(server) - refused_before == 10
            # whatever the relay does not relay is handed over and answered by the application
            update = {"Content-Type": "application/sparql-update", **server.admin}
            for i in range(10):
                with httpx.Client(base_url=server.url) as client:
                    assert client.get("/health").status_code == 200
                    form = client.post("/sparql", data={"query": f"ASK {{ <{EX}s1> ?p ?o }}"})
                    assert form.status_code == 200
                    assert form.json()["boolean"] is True
                    assert "x-request-id" in form.headers
                    cors = client.get(
                        "/sparql", params={"query": POINT}, headers={"Origin": "https://x.example"}
                    )
                    assert cors.status_code == 200
                    assert "x-request-id" in cors.headers
                    insert = f"INSERT DATA {{ GRAPH <{EX}g> {{ <{EX}new{i}> <{EX}p> {i} }} }}"
                    assert client.post("/sparql", content=insert.encode(), headers=update).status_code == 204
                # read-your-writes on new connections, whichever process accepts them
                for _ in range(4):
                    status, body, _ = _get_on_new_connection(server, f"ASK {{ <{EX}new{i}> ?p {i} }}")
                    assert status == 200
                    assert httpx.Response(200, content=body).json()["boolean"] is True
        assert not Path(f"/proc/{pid}").exists()  # gone with the server
    finally:
        oxigraph.stop()
