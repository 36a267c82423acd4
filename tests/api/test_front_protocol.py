"""``GET /sparql`` answered by the front protocol (api/front.py) ahead of h11, on a remote store
(proxied to an Oxigraph server) and on the embedded store (run by the query workers): the same
answers as the Oxigraph server gives directly and as the full path gives, its errors, pipelining,
streaming, metrics, an outage of the remote server and graceful shutdown, all through real
servers. Every test runs against both stores unless it says otherwise."""

from __future__ import annotations

import os
import re
import signal
import socket
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from rdflib import URIRef

from boostkg.store import EmbeddedStore, RdfFormat
from tests.endpoint_server import Scratch, scratch_server
from tests.store.servers import OxigraphProcess, Server

EX = "https://example.org/"
N_SUBJECTS = 1000
POINT = f"SELECT ?p ?o WHERE {{ <{EX}s7> ?p ?o }} ORDER BY ?p ?o"
ROWS = f"SELECT ?s ?n WHERE {{ ?s <{EX}p> ?n FILTER(?n < 20) }} ORDER BY ?n"
GRAPH = f"CONSTRUCT {{ ?s <{EX}p> ?n }} WHERE {{ ?s <{EX}p> ?n FILTER(?n < 5) }}"
BIG = f"SELECT ?a ?b WHERE {{ ?a <{EX}p> ?x . ?b <{EX}p> ?y FILTER(?y < 400) }}"
"""400,000 rows, about 20 MB of CSV: well past the 1 MiB held back before the 200 goes out."""
SLOW = f"SELECT (COUNT(*) AS ?n) WHERE {{ ?a <{EX}p> ?x . ?b <{EX}p> ?y . ?c <{EX}p> ?z FILTER(?z < 40) }}"
"""Counts 40 million rows: several seconds on Oxigraph, bounded (it keeps counting after a cut-off)."""
JSON = "application/sparql-results+json"


@dataclass(frozen=True)
class Servers:
    kind: str
    """``remote`` (boostkg on the Oxigraph server below) or ``embedded`` (boostkg's own stores)."""
    oxigraph: OxigraphProcess
    direct: Server
    front: Scratch
    """boostkg serve with its front protocol (the default)."""
    full: Scratch
    """boostkg serve with the access log on: plain h11, every request through the application."""
    tight: Scratch
    """The front protocol with a 2 s query deadline, a 2 MiB result limit and 1 s keep-alive."""


@pytest.fixture(scope="module", params=["remote", "embedded"])
def servers(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    kind: str = request.param
    base = tmp_path_factory.mktemp(f"front-{kind}")
    oxigraph = OxigraphProcess(base)
    direct = oxigraph.start()
    try:
        triples = "".join(f"<{EX}s{i}> <{EX}p> {i} .\n" for i in range(N_SUBJECTS)).encode()
        with direct.open() as store:
            store.replace_graph(URIRef(f"{EX}g"), triples, RdfFormat.TURTLE)
        env = {"BOOSTKG_QUERY_WORKERS": "4"}
        if kind == "remote":
            env["BOOSTKG_STORE_URL"] = direct.query_url
            env["BOOSTKG_STORE_UPDATE_URL"] = direct.update_url
            env["BOOSTKG_STORE_GSP_URL"] = str(direct.gsp_url)
        tight_env = {**env, "BOOSTKG_QUERY_TIMEOUT_S": "2", "BOOSTKG_MAX_RESULT_BYTES": str(2 << 20)}
        tight_env["BOOSTKG_KEEP_ALIVE_S"] = "1"
        folders = [base / name for name in ("front", "full", "tight")]
        for folder in folders:
            folder.mkdir()
            if kind == "embedded":
                with EmbeddedStore(folder / "store") as own:
                    own.replace_graph(URIRef(f"{EX}g"), triples, RdfFormat.TURTLE)
        with (
            scratch_server(folders[0], env) as front,
            scratch_server(folders[1], {**env, "BOOSTKG_ACCESS_LOG": "true"}) as full,
            scratch_server(folders[2], tight_env) as tight,
        ):
            yield Servers(kind, oxigraph, direct, front, full, tight)
    finally:
        oxigraph.stop()


def _get(
    url: str, query: str, accept: str = JSON, *, timeout: float = 60, extra: dict[str, str] | None = None
) -> httpx.Response:
    params = {"query": query, **(extra or {})}
    return httpx.get(url, params=params, headers={"Accept": accept}, timeout=timeout)


def _proxied(response: httpx.Response) -> bool:
    """Whether the front protocol wrote this answer (the application adds a request id to each)."""
    return "x-request-id" not in response.headers


def _comparable(headers: httpx.Headers) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k not in ("date", "x-request-id")}


@pytest.mark.parametrize(
    ("query", "accept"),
    [
        (POINT, JSON),
        (ROWS, JSON),
        (ROWS, "application/sparql-results+xml"),
        (ROWS, "text/csv"),
        (ROWS, "text/tab-separated-values"),
        (GRAPH, "text/turtle"),
        (GRAPH, "application/n-triples"),
    ],
)
def test_answers_are_the_servers_and_those_of_the_full_path(
    servers: Servers, query: str, accept: str
) -> None:
    direct = _get(servers.direct.query_url, query, accept)
    front = _get(servers.front.sparql, query, accept)
    full = _get(servers.full.sparql, query, accept)
    assert direct.status_code == front.status_code == full.status_code == 200, front.text
    assert _proxied(front)
    assert not _proxied(full)
    assert front.content == direct.content == full.content
    assert len(front.content) > 100
    assert front.headers["content-type"].split(";")[0] == accept
    assert _comparable(front.headers) == _comparable(full.headers)


def test_format_parameter_is_honoured_by_the_proxy(servers: Servers) -> None:
    front = _get(servers.front.sparql, ROWS, "*/*", extra={"format": "csv"})
    assert front.status_code == 200
    assert _proxied(front)
    assert front.headers["content-type"] == "text/csv; charset=utf-8"
    assert front.content == _get(servers.direct.query_url, ROWS, "text/csv").content


def test_a_syntax_error_is_the_full_paths_400_naming_line_and_column(servers: Servers) -> None:
    query = f"SELECT ?s WHERE {{\n  ?s <{EX}p> }}"
    front = _get(servers.front.sparql, query)
    full = _get(servers.full.sparql, query)
    assert front.status_code == full.status_code == 400
    assert _proxied(front)
    assert front.headers["content-type"] == "application/problem+json"
    assert front.json() == full.json()
    # the remote server's own words ("error at 2:30") or the workers' ("line 2, column 30")
    assert re.search(r"error at 2:\d+|line 2, column \d+", front.json()["detail"]), front.json()["detail"]


def test_what_the_proxy_declines_still_gets_the_full_paths_answer(servers: Servers) -> None:
    not_acceptable = _get(servers.front.sparql, ROWS, "image/png")
    assert not_acceptable.status_code == 406
    assert not _proxied(not_acceptable)
    assert "image/png" in not_acceptable.json()["detail"]
    unknown_format = _get(servers.front.sparql, ROWS, JSON, extra={"format": "bogus"})
    assert unknown_format.status_code == 406
    service = _get(
        servers.front.sparql, "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }"
    )
    assert service.status_code == 403
    assert "SERVICE is disabled" in service.json()["detail"]
    update = _get(servers.front.sparql, "LOAD <http://127.0.0.1:9/data.ttl>")
    assert update.status_code == 400
    assert not _proxied(update)
    with_graph = _get(servers.front.sparql, ROWS, JSON, extra={"default-graph-uri": f"{EX}g"})
    assert with_graph.status_code == 200
    assert not _proxied(with_graph)
    assert with_graph.content == _get(servers.front.sparql, ROWS).content


def test_cors_and_connection_close_requests_go_the_full_way(servers: Servers) -> None:
    cors = httpx.get(
        servers.front.sparql,
        params={"query": POINT},
        headers={"Accept": JSON, "Origin": "https://example.org"},
    )
    assert cors.status_code == 200
    assert not _proxied(cors)
    assert cors.headers["access-control-allow-origin"] == "*"
    assert cors.content == _get(servers.front.sparql, POINT).content
    host, port = servers.front.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(_request(servers.front, POINT).replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
        raw = bytearray()
        while chunk := sock.recv(65536):  # until the server closes, as asked
            raw += chunk
    assert raw.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"\r\nx-request-id: " in raw  # the application answered, not the proxy
    assert raw.endswith(b"}")  # one whole answer, then the server closed (the loop ended)


def test_the_result_limit_cuts_a_streamed_answer_off_without_its_terminator(servers: Servers) -> None:
    received = bytearray()
    with httpx.stream(
        "GET", servers.tight.sparql, params={"query": BIG}, headers={"Accept": "text/csv"}
    ) as big:
        assert big.status_code == 200
        assert _proxied(big)
        with pytest.raises(httpx.RemoteProtocolError):
            _read_into(big, received)
    assert len(received) >= 1 << 20  # the held-back first MiB went out
    assert len(received) <= (2 << 20) + 200  # and nothing past the limit but the last line
    assert received.endswith(b"THIS RESPONSE IS INCOMPLETE.\n")
    assert b"2,097,152-byte limit" in received[-200:]
    deadline = time.monotonic() + 10  # and the operator reads one line about it, not a traceback
    logged: list[str] = []
    while not logged and time.monotonic() < deadline:
        logged = [line for line in servers.tight.log.read_text().splitlines() if "cut off after" in line]
        time.sleep(0.1)
    assert len(logged) == 1, logged
    assert "GET /sparql cut off after its response started" in logged[0]
    assert "2,097,152-byte limit" in logged[0]
    assert "Traceback" not in servers.tight.log.read_text()


def test_past_the_deadline_is_a_503_problem(servers: Servers) -> None:
    """After the result-limit test: Oxigraph goes on counting SLOW after the cut-off, and a stream
    that must pass 2 MiB within the same 2 s deadline should not have to share the CPU with it."""
    started = time.monotonic()
    late = _get(servers.tight.sparql, SLOW)
    assert late.status_code == 503, late.text
    assert time.monotonic() - started < 10
    assert _proxied(late)
    assert late.json()["type"].endswith("/query-timeout")
    assert "2 s" in late.json()["detail"]
    deadline = time.monotonic() + 10  # logged as the application logs every 5xx
    logged: list[str] = []
    while not logged and time.monotonic() < deadline:
        logged = [line for line in servers.tight.log.read_text().splitlines() if "GET /sparql 503" in line]
        time.sleep(0.1)
    assert logged, servers.tight.log.read_text()[-2000:]
    assert "ERROR" in logged[-1]


def _read_into(response: httpx.Response, received: bytearray) -> None:
    for chunk in response.iter_bytes():
        received += chunk


def _read_response(sock: socket.socket, buffer: bytearray) -> tuple[int, bytes]:
    """One HTTP/1.1 response from ``sock`` (``buffer``: bytes read beyond the previous one)."""

    def fill() -> None:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("closed")
        buffer.extend(data)

    while b"\r\n\r\n" not in buffer:
        fill()
    end = buffer.index(b"\r\n\r\n")
    head = bytes(buffer[:end]).decode("latin-1").split("\r\n")
    del buffer[: end + 4]
    status = int(head[0].split(" ")[1])
    headers = {line.partition(":")[0].lower(): line.partition(":")[2].strip() for line in head[1:]}
    if "content-length" in headers:
        size = int(headers["content-length"])
        while len(buffer) < size:
            fill()
        body = bytes(buffer[:size])
        del buffer[:size]
        return status, body
    assert headers.get("transfer-encoding") == "chunked", headers
    out = bytearray()
    while True:
        while b"\r\n" not in buffer:
            fill()
        line_end = buffer.index(b"\r\n")
        size = int(bytes(buffer[:line_end]), 16)
        while len(buffer) < line_end + 2 + size + 2:
            fill()
        out += buffer[line_end + 2 : line_end + 2 + size]
        del buffer[: line_end + 2 + size + 2]
        if size == 0:
            return status, bytes(out)


def test_pipelined_requests_are_answered_in_order(servers: Servers) -> None:
    host, port = servers.front.url.removeprefix("http://").split(":")

    def request(query: str, accept: str = JSON) -> bytes:
        target = "/sparql?" + urllib.parse.urlencode({"query": query})
        return f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: {accept}\r\n\r\n".encode()

    batch = [
        request(BIG, "text/csv"),  # proxied and streamed (chunked) for a while
        request("SELECT (2 AS ?n) WHERE {}", "image/png"),  # declined: h11 answers 406 at once
        request("SELECT (3 AS ?n) WHERE {}"),
        request(f"SELECT ?s WHERE {{ ?s <{EX}p> }}"),  # a 400 from the server
        request("SELECT (5 AS ?n) WHERE {}"),
    ]
    with socket.create_connection((host, int(port)), timeout=60) as sock:
        sock.sendall(b"".join(batch))
        buffer = bytearray()
        answers = [_read_response(sock, buffer) for _ in batch]
        sock.sendall(request("SELECT (6 AS ?n) WHERE {}"))  # the connection is still usable
        answers.append(_read_response(sock, buffer))
    assert [status for status, _ in answers] == [200, 406, 200, 400, 200, 200]
    assert answers[0][1].count(b"\n") == 400 * N_SUBJECTS + 1
    assert b'"value":"3"' in answers[2][1]
    assert re.search(rb"error at 1:\d+|line 1, column \d+", answers[3][1]), answers[3][1]
    assert b'"value":"5"' in answers[4][1]
    assert b'"value":"6"' in answers[5][1]


def _request(scratch: Scratch, query: str) -> bytes:
    host = scratch.url.removeprefix("http://")
    target = "/sparql?" + urllib.parse.urlencode({"query": query})
    return f"GET {target} HTTP/1.1\r\nHost: {host}\r\nAccept: {JSON}\r\n\r\n".encode()


def _closed_within(sock: socket.socket, seconds: float) -> float:
    """Seconds until the server closed ``sock`` (reading nothing else), at most ``seconds``."""
    started = time.monotonic()
    sock.settimeout(seconds)
    assert sock.recv(1) == b""
    return time.monotonic() - started


def test_keep_alive_and_the_head_deadline_hold_after_a_proxied_answer(servers: Servers) -> None:
    host, port = servers.tight.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(_request(servers.tight, POINT))
        assert _read_response(sock, bytearray())[0] == 200
        assert 0.5 < _closed_within(sock, 5) < 3  # idle after the answer: closed at the 1 s keep-alive
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(_request(servers.tight, POINT))
        assert _read_response(sock, bytearray())[0] == 200
        sock.sendall(b"GET /sparql?query=ASK%20%7B%7D HTTP/1.1\r\nHost: x\r\n")  # a head never finished
        assert _closed_within(sock, 5) < 3
    with socket.create_connection((host, int(port)), timeout=10) as sock:  # still open while in use
        for _ in range(3):
            sock.sendall(_request(servers.tight, POINT))
            assert _read_response(sock, bytearray())[0] == 200
            time.sleep(0.6)


def test_clients_leaving_mid_answer_give_their_turns_back(servers: Servers) -> None:
    """The front server runs 4 queries at once (4 connections to Oxigraph, or 4 workers): 8
    abandoned answers would hold every turn if a turn, a server connection or a worker were lost,
    and the next query would wait to its deadline."""
    host, port = servers.front.url.removeprefix("http://").split(":")
    for _ in range(8):
        with socket.create_connection((host, int(port)), timeout=30) as sock:
            sock.sendall(_request(servers.front, BIG).replace(JSON.encode(), b"text/csv"))
            assert sock.recv(65536).startswith(b"HTTP/1.1 200 OK\r\n")
    started = time.monotonic()
    answer = _get(servers.front.sparql, ROWS, timeout=10)  # a worker's query on the embedded store
    assert answer.status_code == 200
    assert _proxied(answer)
    assert time.monotonic() - started < 5


def _peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def test_a_big_result_is_streamed_not_held(servers: Servers) -> None:
    pid = servers.front.pid()
    _get(servers.front.sparql, ROWS)  # warm: the first answer's allocations are not the stream's
    before = _peak_rss_kib(pid)
    size = 0
    lines = 0
    with httpx.stream(
        "GET", servers.front.sparql, params={"query": BIG}, headers={"Accept": "text/csv"}
    ) as big:
        assert big.status_code == 200
        assert big.headers["transfer-encoding"] == "chunked"
        assert "x-request-id" not in big.headers
        for chunk in big.iter_bytes():
            size += len(chunk)
            lines += chunk.count(b"\n")
    assert lines == 400 * N_SUBJECTS + 1
    assert size > 15_000_000
    grown = _peak_rss_kib(pid) - before
    assert grown * 1024 < size / 4, f"peak RSS grew {grown} KiB for a {size:,}-byte answer"


def _sparql_count(metrics: str, status: int) -> float:
    for line in metrics.splitlines():
        if line.startswith("boostkg_http_requests_total{") and all(
            label in line for label in ('route="/sparql"', 'method="GET"', f'status="{status}"')
        ):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def _lookup_process_count(metrics: str, counter: str = "requests") -> float:
    """Requests answered by the server's lookup or relay processes (which count them apart), or
    of those, the ones answered with an error (``counter="errors"``)."""
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith(f"boostkg_lookup_process_{counter}_total{{")
    )


def test_proxied_answers_are_counted_in_metrics(servers: Servers) -> None:
    before = httpx.get(servers.tight.url + "/metrics").text
    for query in (POINT, ROWS, GRAPH):  # on the embedded store: one inline, two by the workers
        assert _proxied(_get(servers.tight.sparql, query, "*/*"))
    assert _get(servers.tight.sparql, "SELECT ?s WHERE { ?s }").status_code == 400
    after = httpx.get(servers.tight.url + "/metrics").text
    # answered by a lookup process (embedded) or a relay process (remote), they are counted apart
    by_lookup_processes = _lookup_process_count(after) - _lookup_process_count(before)
    refused_by_them = _lookup_process_count(after, "errors") - _lookup_process_count(before, "errors")
    assert _sparql_count(after, 200) - _sparql_count(before, 200) + by_lookup_processes - refused_by_them == 3
    assert _sparql_count(after, 400) - _sparql_count(before, 400) + refused_by_them == 1


@pytest.mark.parametrize("servers", ["remote"], indirect=True)
def test_a_stopped_server_is_a_503_naming_it_and_service_resumes(servers: Servers) -> None:
    assert _get(servers.front.sparql, POINT).status_code == 200
    servers.oxigraph.kill()
    try:
        down = _get(servers.front.sparql, POINT)
        assert down.status_code == 503
        assert _proxied(down)
        assert down.headers["retry-after"] == "5"
        assert f"127.0.0.1:{servers.oxigraph.port}" in down.json()["detail"]
        assert down.json()["type"].endswith("/store-unavailable")
    finally:
        servers.oxigraph.start()
    back = _get(servers.front.sparql, POINT)
    assert back.status_code == 200
    assert _proxied(back)
    assert back.content == _get(servers.direct.query_url, POINT).content


def test_graceful_shutdown_finishes_an_answer_in_flight(servers: Servers) -> None:
    """Last in the module: it stops the front server."""
    pid = servers.front.pid()
    received: list[int] = []
    errors: list[BaseException] = []
    started = threading.Event()

    def read() -> None:
        try:
            with httpx.stream(
                "GET", servers.front.sparql, params={"query": BIG}, headers={"Accept": "text/csv"}, timeout=60
            ) as big:
                for chunk in big.iter_bytes(65536):
                    received.append(chunk.count(b"\n"))
                    started.set()
                    time.sleep(0.002)  # a slow reader: the answer is still being written at SIGTERM
        except httpx.HTTPError as exc:
            errors.append(exc)
        finally:
            started.set()

    reader = threading.Thread(target=read)
    reader.start()
    assert started.wait(60)
    os.kill(pid, signal.SIGTERM)
    reader.join(120)
    assert not errors, errors
    assert sum(received) == 400 * N_SUBJECTS + 1  # whole, chunked terminator included
    deadline = time.monotonic() + 30
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        status = Path(f"/proc/{pid}/status").read_text()
        if "State:\tZ" in status:
            break
        time.sleep(0.1)
    with pytest.raises(httpx.TransportError):
        httpx.get(servers.front.url + "/health", timeout=2)
