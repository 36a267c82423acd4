"""Stewards' submissions through the real HTTP server (``boostkg serve`` in a subprocess).

One server per module on a store loaded by ``boostkg main --no-serve``; tokens are created in the
store's token register while the server runs, as an administrator would. Every refused request is
checked to leave the store exactly as it was (same quads, same named graphs).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from rdflib import Graph
from rdflib.namespace import SH

from boostkg.auth import TokenStore, token_store_path
from tests.conftest import MainLoaded
from tests.endpoint_server import cli_env, free_port

pytestmark = pytest.mark.subprocess

BOOSTKG = Path(sys.executable).with_name("boostkg")
ID = "https://w3id.org/boostkg/id/"
TIT = ID + "organisation/tit"
BBF = ID + "organisation/bbf"
GRAPHS = "https://w3id.org/boostkg/graph/"
PREFIXES = f"""@prefix icf: <https://w3id.org/boostkg/icf#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix void: <http://rdfs.org/ns/void#> .
@prefix nuts: <http://data.europa.eu/nuts/code/> .
@prefix org: <{ID}organisation/> .
@prefix ds: <{ID}dataset/> .
@prefix need: <{ID}need/> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
@prefix theme: <https://w3id.org/boostkg/theme/> .
"""


TRIPLES_PER_ACTOR = 11


def actors(slug: str, n: int = 1, region: str = "RO11", dataset: str | None = None) -> bytes:
    """A conforming submission without warnings: ``n`` SMEs named after ``slug`` in ``region``,
    each with a need (11 triples an actor), and maybe a dataset node (2 triples)."""
    lines = [PREFIXES]
    if dataset:
        lines.append(f'ds:{dataset} a void:Dataset ; rdfs:label "{dataset}" .')
    for i in range(n):
        lines.append(
            f'org:{slug}-{i} a icf:SME ; rdfs:label "{slug} {i}"@en ; icf:inRegion nuts:{region} ;\n'
            f'  dcterms:description "SME {i} of the test set {slug}."@en ;\n'
            f"  foaf:homepage <https://example.org/{slug}/{i}> ; icf:hasTheme theme:ict-digital ;\n"
            f"  icf:hasNeed need:{slug}-{i} .\n"
            f'need:{slug}-{i} a icf:Need ; rdfs:label "Need of {slug} {i}"@en ;\n'
            f'  dcterms:description "What {slug} {i} looks for."@en ; icf:hasTheme theme:ict-digital .'
        )
    return "\n".join(lines).encode()


@dataclass
class Server:
    """A ``boostkg serve`` process on a store, restartable (for the crash test)."""

    store: Path
    log: Path
    url: str = ""
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    str(BOOSTKG),
                    "serve",
                    "--store",
                    str(self.store),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                ],
                env=cli_env(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                pytest.fail(f"boostkg serve exited with {self.proc.returncode}:\n{self.log.read_text()}")
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"boostkg serve did not answer:\n{self.log.read_text()}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)

    def kill(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def tokens(self) -> TokenStore:
        return TokenStore(token_store_path(self.store))

    def token(
        self, steward: str, organisation: str = TIT, region: str | None = "RO11", admin: bool = False
    ) -> str:
        token, _ = self.tokens().create(
            steward=steward, organisation=organisation, region=region, admin=admin
        )
        return token

    def post(
        self, data: bytes, token: str | None, media: str | None = "text/turtle", **params: str
    ) -> httpx.Response:
        headers = {"Content-Disposition": 'attachment; filename="test.ttl"'}
        if media is not None:
            headers["Content-Type"] = media
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return httpx.post(
            self.url + "/submissions", content=data, headers=headers, params=params, timeout=120
        )

    def select(self, query: str) -> list[dict[str, str]]:
        response = httpx.get(
            self.url + "/sparql",
            params={"query": query},
            headers={"Accept": "application/sparql-results+json"},
            timeout=60,
        )
        assert response.status_code == 200, response.text
        return [{k: v["value"] for k, v in b.items()} for b in response.json()["results"]["bindings"]]

    def state(self) -> tuple[int, tuple[tuple[str, int], ...]]:
        """Quads and (graph, triples) of every named graph: equal before and after means unchanged."""
        rows = self.select(
            "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g"
        )
        graphs = tuple((r["g"], int(r["n"])) for r in rows)
        return sum(n for _, n in graphs), graphs


def _load_store(base: Path, main_loaded: MainLoaded) -> Path:
    """A private copy of the store ``boostkg main --no-serve`` built once for the session."""
    store = base / "store"
    shutil.copytree(main_loaded.store, store)
    return store


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, main_loaded: MainLoaded) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("submissions")
    srv = Server(_load_store(base, main_loaded), base / "serve.log")
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def ana(server: Server) -> str:
    """A steward of TIT (Cluj-Napoca) for region RO11."""
    return server.token("Ana Pop")


# --- accepted submissions ------------------------------------------------------------------------------


def test_conforming_submission_is_stored_in_its_own_graph_with_provenance(server: Server, ana: str) -> None:
    data = actors("prov-sme", 3)
    response = server.post(data, ana)
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) >= {"id", "status", "conforms", "warnings", "triples", "graph", "report"}
    assert body["status"] == "accepted"
    assert body["conforms"] is True
    assert body["triples"] == 3 * TRIPLES_PER_ACTOR
    assert body["graph"] == f"{GRAPHS}submission/{body['id']}"
    assert response.headers["location"] == f"/submissions/{body['id']}"
    count = server.select(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{body['graph']}> {{ ?s ?p ?o }} }}")
    assert count == [{"n": str(3 * TRIPLES_PER_ACTOR)}]
    record = server.select(
        f"""PREFIX prov: <http://www.w3.org/ns/prov#> PREFIX dcterms: <http://purl.org/dc/terms/>
        PREFIX foaf: <http://xmlns.com/foaf/0.1/> PREFIX icf: <https://w3id.org/boostkg/icf#>
        SELECT ?name ?org ?time ?file ?sha ?shapes ?n WHERE {{ GRAPH <{GRAPHS}meta> {{
          ?act prov:generated <{body["graph"]}> ; prov:endedAtTime ?time ; icf:tripleCount ?n ;
               prov:wasAssociatedWith ?agent ; prov:used ?src .
          ?agent foaf:name ?name ; prov:actedOnBehalfOf ?org .
          ?src dcterms:source ?file ; icf:sha256 ?sha ; dcterms:conformsTo/dcterms:identifier ?shapes }} }}"""
    )
    assert len(record) == 1
    row = record[0]
    assert (row["name"], row["org"], row["file"], row["n"]) == (
        "Ana Pop",
        TIT,
        "test.ttl",
        str(3 * TRIPLES_PER_ACTOR),
    )
    assert row["sha"] == hashlib.sha256(data).hexdigest()
    assert row["shapes"] == body["report"]["shapesVersion"]
    assert row["time"].startswith(time.strftime("%Y-", time.gmtime()))


def test_get_submission_negotiates_json_turtle_and_html(server: Server, ana: str) -> None:
    posted = server.post(actors("negotiated", 1), ana).json()
    url = f"{server.url}/submissions/{posted['id']}"
    as_json = httpx.get(url, headers={"Accept": "application/json"}).json()
    assert (as_json["id"], as_json["status"], as_json["steward"], as_json["conforms"]) == (
        posted["id"],
        "accepted",
        "Ana Pop",
        True,
    )
    as_turtle = httpx.get(url, headers={"Accept": "text/turtle"})
    assert as_turtle.headers["content-type"].startswith("text/turtle")
    report = Graph().parse(data=as_turtle.text, format="turtle")
    assert (None, SH.conforms, None) in report
    as_html = httpx.get(url, headers={"Accept": "text/html"})
    assert as_html.headers["content-type"].startswith("text/html")
    assert posted["id"] in as_html.text
    assert "Ana Pop" in as_html.text
    assert httpx.get(f"{server.url}/submissions/19990101-000000-000000").status_code == 404


def test_list_filters_by_steward_status_and_date(server: Server) -> None:
    bea = server.token("Bea Ionescu")
    first = server.post(actors("bea-a", 1), bea).json()
    second = server.post(actors("bea-b", 1), bea).json()
    assert (
        httpx.delete(
            f"{server.url}/submissions/{first['id']}", headers={"Authorization": f"Bearer {bea}"}
        ).status_code
        == 200
    )
    listed = httpx.get(f"{server.url}/submissions", params={"steward": "Bea Ionescu"}).json()
    assert [s["id"] for s in listed["submissions"]] == [first["id"], second["id"]]
    accepted = httpx.get(
        f"{server.url}/submissions", params={"steward": "Bea Ionescu", "status": "accepted"}
    ).json()
    assert [s["id"] for s in accepted["submissions"]] == [second["id"]]
    withdrawn = httpx.get(
        f"{server.url}/submissions", params={"steward": "Bea Ionescu", "status": "withdrawn"}
    ).json()
    assert [s["id"] for s in withdrawn["submissions"]] == [first["id"]]
    future = httpx.get(
        f"{server.url}/submissions", params={"steward": "Bea Ionescu", "since": "2999-01-01"}
    ).json()
    assert future["count"] == 0
    past = httpx.get(f"{server.url}/submissions", params={"until": "2000-01-01T00:00:00Z"}).json()
    assert past["count"] == 0


def test_resubmitting_a_dataset_replaces_it_atomically_and_keeps_history(server: Server, ana: str) -> None:
    first = server.post(actors("dataset-v1", 2, dataset="ro11-catalogue"), ana).json()
    second_response = server.post(actors("dataset-v2", 3, dataset="ro11-catalogue"), ana)
    assert second_response.status_code == 201, second_response.text
    second = second_response.json()
    assert second["replaces"] == first["id"]
    old = httpx.get(f"{server.url}/submissions/{first['id']}").json()
    assert (old["status"], old["ended_by"]) == ("replaced", second["id"])
    graphs = {g for g, _ in server.state()[1]}
    assert first["graph"] not in graphs
    assert second["graph"] in graphs
    assert server.select(f"SELECT ?p WHERE {{ <{ID}organisation/dataset-v1-0> ?p ?o }}") == []
    assert len(server.select(f"SELECT ?p WHERE {{ <{ID}organisation/dataset-v2-2> ?p ?o }}")) == 7
    revision = server.select(
        f"""SELECT ?old WHERE {{ GRAPH <{GRAPHS}meta> {{
              <{second["graph"]}> <http://www.w3.org/ns/prov#wasRevisionOf> ?old }} }}"""
    )
    assert revision == [{"old": first["graph"]}]


def test_replaces_parameter_replaces_a_named_submission(server: Server, ana: str) -> None:
    first = server.post(actors("by-id-v1", 1), ana).json()
    second = server.post(actors("by-id-v2", 1), ana, replaces=first["id"]).json()
    assert second["replaces"] == first["id"]
    assert httpx.get(f"{server.url}/submissions/{first['id']}").json()["status"] == "replaced"
    again = server.post(actors("by-id-v3", 1), ana, replaces=first["id"])
    assert again.status_code == 409  # only a current submission can be replaced
    assert "replaced" in again.json()["detail"]


def test_multipart_upload_and_pasted_form_are_accepted(server: Server, ana: str) -> None:
    headers = {"Authorization": f"Bearer {ana}"}
    upload = httpx.post(
        server.url + "/submissions",
        files={"file": ("upload.ttl", actors("uploaded", 1), "text/turtle")},
        headers=headers,
    )
    assert upload.status_code == 201, upload.text
    assert httpx.get(f"{server.url}/submissions/{upload.json()['id']}").json()["source"] == "upload.ttl"
    pasted = httpx.post(
        server.url + "/submissions",
        files={"data": (None, actors("pasted", 1)), "format": (None, b"text/turtle")},
        headers=headers,
    )
    assert pasted.status_code == 201, pasted.text


def test_withdraw_drops_the_graph_and_keeps_the_record(server: Server, ana: str) -> None:
    posted = server.post(actors("withdrawn", 2), ana).json()
    auth = {"Authorization": f"Bearer {ana}"}
    other = server.token("Boris", organisation=BBF, region="BG33")
    refused = httpx.delete(
        f"{server.url}/submissions/{posted['id']}", headers={"Authorization": f"Bearer {other}"}
    )
    assert refused.status_code == 403
    assert httpx.delete(f"{server.url}/submissions/{posted['id']}").status_code == 401
    done = httpx.delete(f"{server.url}/submissions/{posted['id']}", headers=auth)
    assert done.status_code == 200
    assert done.json()["status"] == "withdrawn"
    assert posted["graph"] not in {g for g, _ in server.state()[1]}
    record = httpx.get(f"{server.url}/submissions/{posted['id']}").json()
    assert (record["status"], record["ended_by"], record["triples"]) == (
        "withdrawn",
        "Ana Pop",
        2 * TRIPLES_PER_ACTOR,
    )
    again = httpx.delete(f"{server.url}/submissions/{posted['id']}", headers=auth)
    assert again.status_code == 409  # withdrawn already: conflicts with its state
    assert "already withdrawn" in again.json()["detail"]


def test_the_shipped_ro11_example_is_accepted_from_the_ro11_steward(server: Server) -> None:
    example = Path(__file__).parents[2] / "data" / "examples" / "ro11-ecosystem.ttl"
    token = server.token("Radu", organisation=ID + "organisation/nwrda", region="RO11")
    response = server.post(example.read_bytes(), token)
    assert response.status_code == 201, response.text
    assert response.json()["report"]["violations"] == 0
    # ... but not from the steward of Severoiztochen, whose lane it is not
    boris = server.token("Boris", organisation=BBF, region="BG33")
    refused = server.post(example.read_bytes().replace(b"ro11-", b"ro11-bis-"), boris)
    assert refused.status_code == 403, refused.text


# --- refused submissions: the store is unchanged ---------------------------------------------------------


@pytest.fixture
def unchanged(server: Server) -> Iterator[None]:
    before = server.state()
    yield
    assert server.state() == before


@pytest.mark.usefixtures("unchanged")
def test_no_token_wrong_token_and_revoked_token_get_401(server: Server) -> None:
    assert server.post(actors("no-token", 1), None).status_code == 401
    token = server.token("Revoked Steward")
    wrong = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    response = server.post(actors("wrong-token", 1), wrong)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    server.tokens().revoke(token.split("_", 2)[1])
    revoked = server.post(actors("revoked", 1), token)
    assert revoked.status_code == 401
    assert "revoked" in revoked.json()["detail"]


@pytest.mark.usefixtures("unchanged")
def test_not_conforming_gets_422_with_every_violation(server: Server, ana: str) -> None:
    data = PREFIXES + 'org:nameless-1 a icf:SME .\norg:nameless-2 a icf:SME ; icf:pic "12" .\n'
    response = server.post(data.encode(), ana)
    assert response.status_code == 422, response.text
    body = response.json()
    assert (body["status"], body["conforms"], body["id"], body["graph"]) == ("rejected", False, None, None)
    focus = sorted({i["focus"] for i in body["report"]["issues"] if i["severity"] == "Violation"})
    assert focus == [f"{ID}organisation/nameless-1", f"{ID}organisation/nameless-2"]
    assert body["report"]["violations"] >= 3
    assert all(i["line"] for i in body["report"]["issues"])


@pytest.mark.usefixtures("unchanged")
def test_redefining_ontology_terms_gets_403_naming_the_triples(server: Server, ana: str) -> None:
    data = PREFIXES + (
        'icf:Actor rdfs:label "Not an actor any more" .\n'
        "org:my-class rdfs:subClassOf icf:Actor .\n"
        '<https://w3id.org/boostkg/theme/ict-digital> rdfs:label "mine" .\n'
    )
    response = server.post(data.encode(), ana)
    assert response.status_code == 403
    body = response.json()
    assert len(body["triples"]) == 3
    assert any("icf#Actor> <http://www.w3.org/2000/01/rdf-schema#label>" in t for t in body["triples"])
    assert any("subClassOf" in t and "redefines" in t for t in body["triples"])


@pytest.mark.usefixtures("unchanged")
def test_another_stewards_entities_get_403(server: Server, ana: str) -> None:
    # BBF is in Severoiztochen (BG33): outside Ana's organisation and region.
    data = PREFIXES + 'org:bbf rdfs:label "Taken over"@en .\norg:tit rdfs:comment "ours"@en .\n'
    response = server.post(data.encode(), ana)
    assert response.status_code == 403
    triples = response.json()["triples"]
    assert len(triples) == 1
    assert triples[0].startswith(f"<{BBF}>")
    # ... and a steward of Bulgaria may not write a new SME into RO11
    boris = server.token("Boris", organisation=BBF, region="BG33")
    placed = server.post(actors("misplaced", 1, region="RO11"), boris)
    assert placed.status_code == 403
    assert "outside region BG33" in placed.json()["detail"]


def test_an_entity_submitted_by_one_organisation_is_closed_to_another(server: Server, ana: str) -> None:
    mine = server.post(actors("owned-by-tit", 1, region="RO113"), ana)
    assert mine.status_code == 201
    before = server.state()
    boris = server.token("Boris", organisation=BBF, region="BG33")
    data = PREFIXES + 'org:owned-by-tit-0 rdfs:comment "not yours"@en .\n'
    assert server.post(data.encode(), boris).status_code == 403
    assert server.state() == before
    admin = server.token("Admin", organisation=BBF, region=None, admin=True)
    assert server.post(data.encode(), admin).status_code == 201


@pytest.mark.usefixtures("unchanged")
def test_writing_into_a_reserved_graph_gets_403(server: Server, ana: str) -> None:
    trig = PREFIXES + (
        f'<{GRAPHS}ontology> {{ org:sneaky-0 a icf:SME ; rdfs:label "x"@en ; icf:inRegion nuts:RO11 . }}\n'
    )
    response = server.post(trig.encode(), ana, media="application/trig")
    assert response.status_code == 403
    assert "reserved graph" in response.json()["triples"][0]


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    ("data", "media", "status", "needle"),
    [
        (
            PREFIXES.encode() + b"org:x a icf:SME ;; rdfs:label .\n",
            "text/turtle",
            400,
            f"line {PREFIXES.count(chr(10)) + 1}, column 31",
        ),
        (b"", "text/turtle", 400, "empty"),
        (b"   \n", "text/turtle", 400, "empty"),
        (PREFIXES.encode() + b'org:x a icf:SME ; rdfs:label "Caf\xe9"@fr .\n', "text/turtle", 400, "UTF-8"),
        (actors("wrong-type", 1), "text/csv", 415, "text/csv"),
        (actors("no-type", 1), None, 415, "content type"),
        (
            json.dumps(
                {
                    "@context": "https://example.org/context.jsonld",
                    "@id": ID + "organisation/remote",
                    "label": "x",
                }
            ).encode(),
            "application/ld+json",
            400,
            "context",
        ),
        (
            b'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n'
            b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
            b'xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#">'
            b'<rdf:Description rdf:about="https://w3id.org/boostkg/id/organisation/xxe">'
            b"<rdfs:label>&e;</rdfs:label></rdf:Description></rdf:RDF>",
            "application/rdf+xml",
            400,
            "entit",
        ),
        (PREFIXES.encode() + b"<not absolute> a icf:SME .\n", "text/turtle", 400, ""),
        (
            PREFIXES.encode() + b'org:x a icf:SME ; rdfs:label "x"@en ; icf:startDate "abc"^^xsd:date .\n',
            "text/turtle",
            400,
            "xsd:date",
        ),
        (
            PREFIXES.encode() + b"org:x rdfs:comment " + b"(" * 5000 + b")" * 5000 + b" .\n",
            "text/turtle",
            400,
            "nest",
        ),
    ],
    ids=[
        "malformed-turtle",
        "empty-body",
        "blank-body",
        "non-utf8",
        "wrong-content-type",
        "missing-content-type",
        "jsonld-remote-context",
        "rdfxml-external-entity",
        "relative-iri",
        "invalid-datatype",
        "deep-list",
    ],
)
def test_bad_input_is_refused(
    server: Server, ana: str, data: bytes, media: str | None, status: int, needle: str
) -> None:
    response = server.post(data, ana, media=media)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert needle.lower() in response.json()["detail"].lower()


@pytest.mark.usefixtures("unchanged")
def test_body_over_the_limit_gets_413(server: Server, ana: str) -> None:
    big = actors("big", 1) + b"#" * (10 * 1024 * 1024)
    response = server.post(big, ana)
    assert response.status_code == 413
    assert "10,485,760" in response.json()["detail"]


# --- concurrency and crashes ---------------------------------------------------------------------------


@pytest.mark.slow
def test_twenty_concurrent_1k_triple_submissions_are_all_committed_unmixed(server: Server) -> None:
    tokens = [server.token(f"Concurrent {i}") for i in range(20)]
    payloads = [actors(f"c{i:02d}", 91) for i in range(20)]  # 1,001 triples each
    before = server.state()[0]
    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(lambda i: server.post(payloads[i], tokens[i]), range(20)))
    assert [r.status_code for r in responses] == [201] * 20, [
        r.text for r in responses if r.status_code != 201
    ]
    bodies = [r.json() for r in responses]
    assert all(b["triples"] == 1001 for b in bodies)
    assert len({b["id"] for b in bodies}) == 20
    for i, body in enumerate(bodies):
        rows = server.select(
            f"""SELECT (COUNT(*) AS ?n) (SUM(IF(STRSTARTS(STR(?s), "{ID}organisation/c{i:02d}-")
                || STRSTARTS(STR(?s), "{ID}need/c{i:02d}-"), 1, 0)) AS ?own)
                WHERE {{ GRAPH <{body["graph"]}> {{ ?s ?p ?o }} }}"""
        )
        assert rows == [{"n": "1001", "own": "1001"}]
    records = httpx.get(f"{server.url}/submissions", params={"status": "accepted"}).json()["submissions"]
    assert {b["id"] for b in bodies} <= {r["id"] for r in records}
    assert server.state()[0] >= before + 20 * 1001


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_submission_killed_mid_commit_is_all_or_nothing_after_restart(
    tmp_path: Path, main_loaded: MainLoaded
) -> None:
    srv = Server(_load_store(tmp_path, main_loaded), tmp_path / "serve.log")
    srv.start()
    try:
        token = srv.token("Crash Tester")
        before = srv.state()
        data = actors("crash", 2_000)  # 22k triples: a commit long enough to be caught
        marker = srv.store / "WRITING"
        result: dict[str, object] = {}

        def send() -> None:
            try:
                result["response"] = srv.post(data, token)
            except httpx.TransportError as exc:
                result["error"] = exc

        sender = threading.Thread(target=send)
        sender.start()
        deadline = time.monotonic() + 280
        while not marker.exists():
            assert time.monotonic() < deadline, "the commit never started"
            assert sender.is_alive() or marker.exists(), f"finished before the kill: {result}"
            time.sleep(0.002)
        srv.kill()
        sender.join(timeout=30)
        assert "error" in result, "the request completed although the server was killed"
        srv.start()
        quads, graphs = srv.state()
        submitted = [g for g, _ in graphs if g.startswith(GRAPHS + "submission/")]
        records = httpx.get(f"{srv.url}/submissions").json()["count"]
        if submitted:  # all of it: the graph, every triple, and its record
            assert [n for g, n in graphs if g in submitted] == [2_000 * TRIPLES_PER_ACTOR]
            assert records == 1
        else:  # none of it
            assert (quads, graphs) == before
            assert records == 0
    finally:
        srv.stop()
