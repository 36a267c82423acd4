"""The remote Oxigraph server killed (SIGKILL) in the middle of a steward's submission through the
API: the client gets a clean 503 with ``Retry-After``; once the server is back, no part of the
submission is visible, the journal is empty, and the next submission is accepted.

The kill is placed deterministically: an httpx request hook on the app's store client kills the
server just before one of the unit's requests, after the submission's own graph has been uploaded:
before graph/meta is journalled (a whole graph with no provenance record), or before the commit
(graph and record written, the journal's records not yet dropped)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest
from fastapi.testclient import TestClient

from boostkg.api.app import create_app
from boostkg.auth import TokenStore, token_store_path
from boostkg.config import PROJECT_ROOT, Settings
from boostkg.namespaces import BASE, graph_iri
from boostkg.store import RdfFormat, RemoteStore, open_store
from tests.conftest import MainLoaded
from tests.faults.state import store_state
from tests.store.servers import OXIGRAPH, OxigraphProcess

EXAMPLE = PROJECT_ROOT / "data" / "examples" / "ro11-ecosystem.ttl"
META = str(graph_iri("meta"))
SUBMISSIONS = f"{BASE}graph/submission/"
JOURNAL = "urn:boostkg:journal"


@pytest.fixture
def oxigraph(tmp_path: Path, main_loaded: MainLoaded) -> Iterator[OxigraphProcess]:
    """An Oxigraph server of its own (it will be killed), bulk-loaded with the main job's quads."""
    copy, dump = tmp_path / "main-copy", tmp_path / "main.nq"
    shutil.copytree(main_loaded.store, copy)
    with open_store(copy) as kg, dump.open("wb") as out:
        kg.dump(out, RdfFormat.NQUADS)
    folder = tmp_path / "oxigraph"
    folder.mkdir()
    loaded = subprocess.run(
        [str(OXIGRAPH), "load", "--location", str(folder / "data"), "--file", str(dump)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert loaded.returncode == 0, loaded.stderr
    process = OxigraphProcess(folder)
    process.start()
    try:
        yield process
    finally:
        process.stop()


def _raw_ask(process: OxigraphProcess, query: str) -> bool:
    """ASK the server directly (no RemoteStore: opening one would roll back the journal)."""
    answer = httpx.post(
        process.server.query_url,
        data={"query": query},
        headers={"Accept": "application/sparql-results+json"},
        timeout=10,
    )
    answer.raise_for_status()
    return bool(answer.json()["boolean"])


def _submitted(process: OxigraphProcess) -> bool:
    return _raw_ask(process, f'ASK {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(STRSTARTS(STR(?g), "{SUBMISSIONS}")) }}')


def _backs_up_meta(update: str) -> bool:
    """graph/meta is journalled: copied, or (on Oxigraph) by the provenance triples it will gain."""
    return f"COPY <{META}>" in update or f"#of> <{META}>" in update


def _commits(update: str) -> bool:
    return f"DELETE WHERE {{ GRAPH <{JOURNAL}>" in update and "MOVE" not in update


@pytest.mark.subprocess
@pytest.mark.slow
@pytest.mark.parametrize("kill_before", [_backs_up_meta, _commits], ids=["meta-backup", "commit"])
def test_remote_store_killed_mid_submission_is_a_503_and_leaves_no_partial_graph(
    oxigraph: OxigraphProcess, tmp_path: Path, kill_before: Callable[[str], bool]
) -> None:
    server = oxigraph.server
    settings = Settings(
        store=tmp_path / "unused-embedded-store",
        store_url=server.query_url,
        store_update_url=server.update_url,
        store_gsp_url=server.gsp_url,
        query_workers=2,
        metrics=False,
    )
    token, _ = TokenStore(token_store_path(settings.store)).create(
        steward="Radu", organisation=f"{BASE}id/organisation/nwrda", region="RO11"
    )
    headers = {"Content-Type": "text/turtle", "Authorization": f"Bearer {token}"}
    with server.open() as kg:
        before = store_state(kg)
    assert not _submitted(oxigraph)

    killed: list[str] = []

    def kill(request: httpx.Request) -> None:
        if killed or str(request.url) != server.update_url:
            return
        update = parse_qs(request.content.decode("utf-8")).get("update", [""])[0]
        if kill_before(update):
            assert _submitted(oxigraph), "the submission's graph should be uploaded by now"
            oxigraph.kill()
            killed.append(update)

    with TestClient(create_app(settings)) as client:
        store = client.app.state.store  # type: ignore[attr-defined]
        assert isinstance(store, RemoteStore)
        store._http.event_hooks["request"].append(kill)

        down = client.post("/submissions", content=EXAMPLE.read_bytes(), headers=headers)
        assert killed, "the server was never killed: the unit never sent the request to kill before"
        assert down.status_code == 503, down.text
        assert down.headers["retry-after"] == "5"
        assert f"127.0.0.1:{oxigraph.port}" in down.json()["detail"]
        assert "Traceback" not in down.text

        oxigraph.start()
        # the answer the API gives once the server is back: nothing of the submission
        seen = client.post(
            "/sparql",
            data={"query": f'ASK {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(STRSTARTS(STR(?g), "{SUBMISSIONS}")) }}'},
            headers={"Accept": "application/sparql-results+json"},
        )
        assert seen.status_code == 200, seen.text
        assert seen.json()["boolean"] is False, "the half-committed submission is visible through the API"
        assert not _submitted(oxigraph)
        assert not _raw_ask(oxigraph, f"ASK {{ GRAPH <{JOURNAL}> {{ ?s ?p ?o }} }}")
        with server.open() as kg:
            assert store_state(kg) == before

        accepted = client.post("/submissions", content=EXAMPLE.read_bytes(), headers=headers)
        assert accepted.status_code == 201, accepted.text
        assert _submitted(oxigraph)
