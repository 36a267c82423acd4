"""The endpoint on a remote store: queries delegated to the server, a clean 503 while it is down."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from rdflib import URIRef

from boostkg.api.app import create_app
from boostkg.auth import TokenStore, token_store_path
from boostkg.config import PROJECT_ROOT, Settings
from boostkg.ingest.bootstrap import bootstrap
from boostkg.namespaces import BASE
from boostkg.store import RdfFormat
from tests.cli_in_process import boostkg_in_process
from tests.store.servers import OxigraphProcess, Server
from tests.store.test_contract import G1, TTL

EXAMPLES = PROJECT_ROOT / "data" / "examples"
PROV = "http://www.w3.org/ns/prov#"


def _settings(server: Server, tmp_path: Path) -> Settings:
    return Settings(
        store=tmp_path / "unused-embedded-store",
        store_url=server.query_url,
        store_update_url=server.update_url,
        store_gsp_url=server.gsp_url,
        query_workers=2,
        metrics=False,
    )


@pytest.fixture
def client(oxigraph: Server, tmp_path: Path) -> Iterator[TestClient]:
    oxigraph.wipe()
    with oxigraph.open() as store:
        store.replace_graph(G1, TTL, RdfFormat.TURTLE)
    with TestClient(create_app(_settings(oxigraph, tmp_path))) as test_client:
        yield test_client


def test_select_is_answered_by_the_remote_server(client: TestClient) -> None:
    answer = client.get(
        "/sparql",
        params={"query": "SELECT ?o WHERE { <https://example.org/a> <https://example.org/p> ?o }"},
        headers={"Accept": "application/sparql-results+json"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/sparql-results+json")
    rows = answer.json()["results"]["bindings"]
    assert [row["o"]["value"] for row in rows] == ["https://example.org/b"]


def test_construct_streams_the_servers_graph_in_the_format_asked(client: TestClient) -> None:
    answer = client.post(
        "/sparql",
        data={"query": "CONSTRUCT WHERE { <https://example.org/a> <https://example.org/p> ?o }"},
        headers={"Accept": "application/n-triples"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/n-triples")
    assert answer.text.strip() == "<https://example.org/a> <https://example.org/p> <https://example.org/b> ."


def test_a_malformed_query_is_a_400(client: TestClient) -> None:
    answer = client.get("/sparql", params={"query": "SELECT ?s WHERE { ?s ?p }"})
    assert answer.status_code == 400


def test_a_stopped_server_is_a_503_with_retry_after_and_service_resumes(tmp_path: Path) -> None:
    oxigraph = OxigraphProcess(tmp_path)
    server = oxigraph.start()
    try:
        with server.open() as store:
            store.replace_graph(G1, TTL, RdfFormat.TURTLE)
        query = {"query": "ASK { <https://example.org/a> ?p ?o }"}
        with TestClient(create_app(_settings(server, tmp_path))) as test_client:
            assert test_client.get("/sparql", params=query).json() == {"head": {}, "boolean": True}
            oxigraph.kill()
            down = test_client.get("/sparql", params=query)
            assert down.status_code == 503
            assert down.headers["retry-after"] == "5"
            assert f"127.0.0.1:{oxigraph.port}" in down.json()["detail"]
            oxigraph.start()
            assert test_client.get("/sparql", params=query).json() == {"head": {}, "boolean": True}
    finally:
        oxigraph.stop()


@pytest.fixture
def bootstrapped(oxigraph: Server) -> Server:
    """The Oxigraph server holding the ontology, reference data, seed and inferences."""
    oxigraph.wipe()
    settings = Settings()
    with oxigraph.open() as store:
        bootstrap(store, ontology_dir=settings.ontology_dir, data_dir=settings.data_dir)
    return oxigraph


def test_a_submission_is_validated_and_committed_with_provenance_in_the_remote_store(
    bootstrapped: Server, tmp_path: Path
) -> None:
    settings = _settings(bootstrapped, tmp_path)
    token, _ = TokenStore(token_store_path(settings.store)).create(
        steward="Radu", organisation=f"{BASE}id/organisation/nwrda", region="RO11"
    )
    headers = {"Content-Type": "text/turtle", "Authorization": f"Bearer {token}"}
    with TestClient(create_app(settings)) as test_client, bootstrapped.open() as store:
        before = store.triple_count()
        refused = test_client.post(
            "/submissions",
            content=(EXAMPLES / "invalid" / "actor-email-malformed.ttl").read_bytes(),
            headers=headers,
        )
        assert refused.status_code == 422, refused.text
        assert store.triple_count() == before  # nothing of a refused submission is written
        accepted = test_client.post(
            "/submissions", content=(EXAMPLES / "ro11-ecosystem.ttl").read_bytes(), headers=headers
        )
        assert accepted.status_code == 201, accepted.text
        body = accepted.json()
        assert store.triple_count(URIRef(body["graph"])) == body["triples"] > 0
        assert store.ask(
            f"ASK {{ GRAPH <{BASE}graph/meta> {{ ?load <{PROV}generated> <{body['graph']}> }} }}"
        )
        assert not store.ask("ASK { GRAPH <urn:boostkg:journal> { ?s ?p ?o } }")  # the unit committed


def test_the_command_line_uses_the_server_named_by_its_options_or_the_environment(
    oxigraph: Server, tmp_path: Path
) -> None:
    oxigraph.wipe()
    options = ["--store-url", oxigraph.query_url, "--store-update-url", oxigraph.update_url]
    options += ["--store-gsp-url", str(oxigraph.gsp_url)]
    loaded = boostkg_in_process(*options, "load", PROJECT_ROOT / "ontology" / "vocab.ttl", cwd=tmp_path)
    assert loaded.returncode == 0, loaded.stderr
    env = {"BOOSTKG_STORE_URL": oxigraph.query_url}
    stats = boostkg_in_process("stats", cwd=tmp_path, env=env)
    assert stats.returncode == 0, stats.stderr
    with oxigraph.open() as store:
        assert f"{store.triple_count():,} quads" in stats.stdout
        assert any(str(g).endswith("/graph/vocab") for g in store.graph_names())
    assert not (tmp_path / "var").exists()  # no embedded store was made
    down = boostkg_in_process("--store-url", "http://127.0.0.1:9/query", "stats", cwd=tmp_path)
    assert down.returncode == 1
    assert "http://127.0.0.1:9/query cannot be reached" in down.stderr
