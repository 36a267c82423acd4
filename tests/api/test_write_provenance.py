"""Administrators' writes through a real ``boostkg serve``: every SPARQL Update and Graph Store
PUT/POST/DELETE leaves a PROV-O record in graph/meta naming the administrator, and a rejected one
(401, 403, 400) leaves none; an update past ``update_timeout_s`` is stopped, changes nothing and
does not hold up the server."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.endpoint_server import TIT, Scratch, scratch_server

pytestmark = pytest.mark.subprocess

META = "https://w3id.org/boostkg/graph/meta"
DATA = "http://example.org/graph/audited"
UPDATE_TIMEOUT_S = 2.0
PREFIXES = """PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX icf: <https://w3id.org/boostkg/icf#>
PREFIX foaf: <http://xmlns.com/foaf/0.1/>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX void: <http://rdfs.org/ns/void#>
"""
# an INSERT whose WHERE is a 4-way cross product of the 300 triples below: runs for hours
ENDLESS_UPDATE = (
    "INSERT { GRAPH <http://example.org/graph/never> { ?a ?b ?c } } "
    "WHERE { GRAPH ?g { ?a ?b ?c . ?d ?e ?f . ?h ?i ?j . ?k ?l ?m } }"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scratch]:
    env = {"BOOSTKG_UPDATE_TIMEOUT_S": str(UPDATE_TIMEOUT_S), "BOOSTKG_QUERY_WORKERS": "2"}
    with scratch_server(tmp_path_factory.mktemp("audit"), env) as running:
        yield running


def _rows(server: Scratch, query: str) -> list[dict[str, str]]:
    response = httpx.get(
        server.sparql,
        params={"query": PREFIXES + query},
        headers={"Accept": "application/sparql-results+json"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return [{k: v["value"] for k, v in b.items()} for b in response.json()["results"]["bindings"]]


def _writes(server: Scratch) -> set[str]:
    rows = _rows(server, f"SELECT ?w WHERE {{ GRAPH <{META}> {{ ?w a icf:StoreWrite }} }}")
    return {row["w"] for row in rows}


def _update(server: Scratch, text: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(
        server.sparql,
        content=text.encode(),
        headers={
            "Content-Type": "application/sparql-update",
            **(server.admin if headers is None else headers),
        },
        timeout=60,
    )


def test_an_admin_update_leaves_a_record_naming_the_admin(server: Scratch) -> None:
    before = _writes(server)
    update = f"INSERT DATA {{ GRAPH <{DATA}> {{ <http://example.org/a> <http://example.org/p> 1 }} }}"
    assert _update(server, update).status_code == 204
    (write,) = _writes(server) - before
    rows = _rows(
        server,
        f"""SELECT ?operation ?name ?org ?started ?ended ?sha ?format ?target ?generated WHERE {{
          GRAPH <{META}> {{
            <{write}> icf:operation ?operation ; prov:startedAtTime ?started ; prov:endedAtTime ?ended ;
              prov:wasAssociatedWith ?agent ; prov:used ?source ; icf:targetGraph ?target ;
              prov:generated ?generated .
            ?agent foaf:name ?name ; prov:actedOnBehalfOf ?org .
            ?source icf:sha256 ?sha ; dcterms:format ?format .
          }} }}""",
    )
    assert rows == [
        {
            "operation": "SPARQL Update",
            "name": "Ada Admin",
            "org": TIT,
            "started": rows[0]["started"],
            "ended": rows[0]["ended"],
            "sha": hashlib.sha256(update.encode()).hexdigest(),
            "format": "application/sparql-update",
            "target": DATA,
            "generated": DATA,  # the update created the graph
        }
    ]
    assert rows[0]["started"] <= rows[0]["ended"]
    # and the data is there, in the same unit
    assert _rows(server, f"SELECT ?o WHERE {{ GRAPH <{DATA}> {{ <http://example.org/a> ?p ?o }} }}") == [
        {"o": "1"}
    ]


def test_graph_store_writes_leave_records_with_graph_and_counts(server: Scratch) -> None:
    graph = "http://example.org/graph/gsp-audited"
    body = b'<http://example.org/x> <http://example.org/p> "1" .\n'
    body += b'<http://example.org/x> <http://example.org/p> "2" .\n'
    ntriples = {"Content-Type": "application/n-triples", **server.admin}
    before = _writes(server)
    assert (
        httpx.put(server.url + "/graphs", params={"graph": graph}, content=body, headers=ntriples).status_code
        == 201
    )
    (put,) = _writes(server) - before
    extra = b'<http://example.org/y> <http://example.org/p> "3" .\n'
    assert (
        httpx.post(
            server.url + "/graphs", params={"graph": graph}, content=extra, headers=ntriples
        ).status_code
        == 204
    )
    (post,) = _writes(server) - before - {put}
    facts = _rows(
        server,
        f"""SELECT ?w ?operation ?count ?sha WHERE {{ GRAPH <{META}> {{
          VALUES ?w {{ <{put}> <{post}> }}
          ?w icf:operation ?operation ; icf:tripleCount ?count ; icf:targetGraph <{graph}> ;
             prov:generated <{graph}> ; prov:used [ icf:sha256 ?sha ] }} }}""",
    )
    assert sorted((r["w"], r["operation"], r["count"], r["sha"]) for r in facts) == sorted(
        [
            (put, "Graph Store PUT", "2", hashlib.sha256(body).hexdigest()),
            (post, "Graph Store POST", "1", hashlib.sha256(extra).hexdigest()),
        ]
    )
    # the graph's current record is the latest write, with its size (as after a load)
    current = _rows(
        server,
        f"SELECT ?by ?n WHERE {{ GRAPH <{META}> {{ <{graph}> prov:wasGeneratedBy ?by ; void:triples ?n }} }}",
    )
    assert current == [{"by": post, "n": "3"}]
    assert (
        httpx.delete(server.url + "/graphs", params={"graph": graph}, headers=server.admin).status_code == 204
    )
    (deleted,) = _writes(server) - before - {put, post}
    gone = _rows(
        server,
        f"""SELECT ?operation ?name WHERE {{ GRAPH <{META}> {{
          <{graph}> prov:wasInvalidatedBy <{deleted}> ; prov:invalidatedAtTime ?t .
          <{deleted}> icf:operation ?operation ; prov:wasAssociatedWith [ foaf:name ?name ] }} }}""",
    )
    assert gone == [{"operation": "Graph Store DELETE", "name": "Ada Admin"}]


def test_rejected_writes_leave_no_record(server: Scratch) -> None:
    update = f"INSERT DATA {{ GRAPH <{DATA}> {{ <http://example.org/rejected> <http://example.org/p> 1 }} }}"
    steward = {"Authorization": f"Bearer {server.steward_token}"}
    before = _writes(server)
    assert _update(server, update, headers={}).status_code == 401
    assert _update(server, update, headers=steward).status_code == 403
    assert (
        _update(server, "INSERT DATA { GRAPH <http://example.org/g> { <http://example.org/a> ").status_code
        == 400
    )
    meta_change = f"INSERT DATA {{ GRAPH <{META}> {{ <http://example.org/a> <http://example.org/p> 1 }} }}"
    assert _update(server, meta_change).status_code == 403
    ntriples = b'<http://example.org/r> <http://example.org/p> "1" .\n'
    put = {"Content-Type": "application/n-triples"}
    assert (
        httpx.put(server.url + "/graphs", params={"graph": DATA}, content=ntriples, headers=put).status_code
        == 401
    )
    bad = {**put, **server.admin}
    assert (
        httpx.put(server.url + "/graphs", params={"graph": DATA}, content=b"<oops", headers=bad).status_code
        == 400
    )
    missing = {"graph": "http://example.org/graph/none"}
    assert httpx.delete(server.url + "/graphs", params=missing, headers=server.admin).status_code == 404
    assert _writes(server) == before
    assert _rows(server, "ASK { <http://example.org/rejected> ?p ?o }".replace("ASK", "SELECT * WHERE")) == []


def test_an_update_past_the_timeout_is_stopped_changes_nothing_and_blocks_no_one(server: Scratch) -> None:
    body = "".join(f'<http://example.org/s{i}> <http://example.org/p> "{i}" .\n' for i in range(300)).encode()
    headers = {"Content-Type": "application/n-triples", **server.admin}
    graph = "http://example.org/graph/cross"
    assert (
        httpx.put(server.url + "/graphs", params={"graph": graph}, content=body, headers=headers).status_code
        == 201
    )
    before = _writes(server)
    outcome: dict[str, object] = {}

    def slow() -> None:
        started = time.monotonic()
        response = _update(server, ENDLESS_UPDATE)
        outcome.update(status=response.status_code, body=response.text, seconds=time.monotonic() - started)

    thread = threading.Thread(target=slow)
    thread.start()
    time.sleep(0.5)
    # while the update runs: queries are answered (lookups and scans alike)
    quick = time.monotonic()
    assert _rows(server, "SELECT ?o WHERE { <http://example.org/s7> ?p ?o }") == [{"o": "7"}]
    assert _rows(server, f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}") == [
        {"n": "300"}
    ]
    assert time.monotonic() - quick < 1.5
    thread.join(timeout=60)
    assert outcome["status"] == 503, outcome
    assert "ran longer than 2 s" in str(outcome["body"])
    assert float(str(outcome["seconds"])) < UPDATE_TIMEOUT_S + 5
    assert (
        _rows(server, "SELECT * WHERE { GRAPH <http://example.org/graph/never> { ?s ?p ?o } } LIMIT 1") == []
    )
    assert _writes(server) == before  # nothing was recorded either
    # the store is writable again at once
    again = f"INSERT DATA {{ GRAPH <{graph}> {{ <http://example.org/after> <http://example.org/p> 1 }} }}"
    assert _update(server, again).status_code == 204
    assert len(_writes(server) - before) == 1


def test_drop_all_spares_the_records_and_is_recorded(server: Scratch) -> None:
    graph = "http://example.org/graph/to-drop"
    update = f"INSERT DATA {{ GRAPH <{graph}> {{ <http://example.org/d> <http://example.org/p> 1 }} }}"
    assert _update(server, update).status_code == 204
    before = _writes(server)
    assert _update(server, "DROP ALL").status_code == 204
    assert _rows(server, f"SELECT * WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}") == []
    (dropped,) = _writes(server) - before  # the earlier records survive, and this one is added
    removed = _rows(
        server, f"SELECT ?g WHERE {{ GRAPH <{META}> {{ ?g prov:wasInvalidatedBy <{dropped}> }} }}"
    )
    assert {"g": graph} in removed
    assert {"g": META} not in removed


def test_queries_during_a_write_see_the_state_before_or_after_it_never_between(server: Scratch) -> None:
    graph = "http://example.org/graph/replaced"
    headers = {"Content-Type": "application/n-triples", **server.admin}

    def triples(tag: str, n: int) -> bytes:
        return "".join(
            f'<http://example.org/{tag}{i}> <http://example.org/p> "{i}" .\n' for i in range(n)
        ).encode()

    first = httpx.put(
        server.url + "/graphs",
        params={"graph": graph},
        content=triples("a", 20_000),
        headers=headers,
        timeout=60,
    )
    assert first.status_code == 201, first.text
    count = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"
    seen: list[str] = []
    done = threading.Event()

    def replace() -> None:
        try:
            for tag, n in (("b", 60_000), ("c", 20_000), ("d", 60_000)):
                response = httpx.put(
                    server.url + "/graphs",
                    params={"graph": graph},
                    content=triples(tag, n),
                    headers=headers,
                    timeout=60,
                )
                assert response.status_code == 204
        finally:
            done.set()

    writer = threading.Thread(target=replace)
    writer.start()
    while not done.is_set():
        seen.append(_rows(server, count)[0]["n"])
    writer.join()
    assert set(seen) <= {"20000", "60000"}, sorted(set(seen))
    assert _rows(server, count) == [{"n": "60000"}]
