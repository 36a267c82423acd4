"""``boostkg serve`` with lookup processes (BOOSTKG_HTTP_PROCESSES=2), through the real server:
read-your-writes on every connection whichever process accepted it, every other request handed
over to the server process and answered as usual, the lookup process gone with the server; and the
lookup shortcut ahead of h11 (also in one process) answering pipelined requests in order."""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import signal
import socket
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.endpoint_server import Scratch, scratch_server

pytestmark = pytest.mark.subprocess

GRAPH = "http://example.org/graph/ryw"
JSON_RESULTS = "application/sparql-results+json"


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return int(fields[11]) + int(fields[12])


def _ask_on_new_connection(server: Scratch, pattern: str) -> bool:
    port = int(server.url.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/sparql?" + urllib.parse.urlencode({"query": f"ASK {{ {pattern} }}"}))
        response = conn.getresponse()
        body = response.read()
        assert response.status == 200, body
        assert response.getheader("content-type") == JSON_RESULTS
        # whichever process answered: the headers the application gives (CORS on by default)
        assert response.getheader("vary") == "Origin"
        assert response.getheader("x-content-type-options") == "nosniff"
        value: bool = httpx.Response(200, content=body).json()["boolean"]
        return value
    finally:
        conn.close()


def test_lookup_processes(tmp_path: Path) -> None:
    secret = "not-on-any-command-line"  # a store password set in the environment (unused here)
    with scratch_server(
        tmp_path, {"BOOSTKG_HTTP_PROCESSES": "2", "BOOSTKG_STORE_PASSWORD": secret}
    ) as server:
        deadline = time.monotonic() + 30
        while not server.lookup_pids() and time.monotonic() < deadline:
            time.sleep(0.2)
        (pid,) = server.lookup_pids()
        assert b"store_password" not in Path(f"/proc/{pid}/cmdline").read_bytes()  # `ps` shows it all
        assert secret.encode() not in Path(f"/proc/{pid}/cmdline").read_bytes()
        time.sleep(1.5)  # the lookup process is up and accepting

        # read-your-writes: each write is seen by the very next lookup, on new connections
        # (so accepted by either process), for Graph Store writes, updates and deletes alike
        ntriples = {"Content-Type": "application/n-triples", **server.admin}
        update = {"Content-Type": "application/sparql-update", **server.admin}
        for i in range(12):
            body = f'<http://example.org/s> <http://example.org/p> "{i}" .\n'.encode()
            assert httpx.post(server.url + "/graphs", params={"graph": GRAPH}, content=body, headers=ntriples)
            assert all(_ask_on_new_connection(server, f'<http://example.org/s> ?p "{i}"') for _ in range(4))
        insert = f'INSERT DATA {{ GRAPH <{GRAPH}> {{ <http://example.org/u> <http://example.org/p> "u" }} }}'
        assert httpx.post(server.sparql, content=insert.encode(), headers=update).status_code == 204
        assert all(_ask_on_new_connection(server, '<http://example.org/u> ?p "u"') for _ in range(4))
        assert (
            httpx.delete(server.url + "/graphs", params={"graph": GRAPH}, headers=server.admin).status_code
            == 204
        )
        assert not any(_ask_on_new_connection(server, "<http://example.org/s> ?p ?o") for _ in range(4))

        # the lookup process answers lookups (its CPU time grows under a burst of them) ...
        before = _cpu_ticks(pid)
        for _ in range(40):
            _ask_on_new_connection(server, "<http://example.org/nothing> ?p ?o")
            for _ in range(20):
                _ask_on_new_connection(server, "<http://example.org/u> ?p ?o")
        assert _cpu_ticks(pid) > before

        # ... and whatever it does not answer is handed over and answered as usual, on any connection
        for _ in range(20):
            with httpx.Client(base_url=server.url) as client:
                assert client.get("/health").status_code == 200
                scan = client.get("/sparql", params={"query": "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"})
                assert scan.status_code == 200
                assert client.get("/sparql", params={"query": "SELECT ?x {"}).status_code == 400
                lookup = client.get("/sparql", params={"query": "ASK { <http://example.org/u> ?p ?o }"})
                assert lookup.json()["boolean"] is False  # deleted with the graph
                form = client.post("/sparql", data={"query": "ASK { ?s ?p ?o }"})
                assert form.status_code == 200
    assert not any(
        Path(f"/proc/{pid}").exists() and b"lookups" in Path(f"/proc/{pid}/cmdline").read_bytes() for _ in [0]
    )


@pytest.mark.parametrize("processes", ["1", "2"])
def test_pipelined_requests_are_answered_in_order(tmp_path: Path, processes: str) -> None:
    with scratch_server(tmp_path, {"BOOSTKG_HTTP_PROCESSES": processes}) as server:
        body = b'<http://example.org/a> <http://example.org/p> "x" .\n'
        headers = {"Content-Type": "application/n-triples", **server.admin}
        assert httpx.put(server.url + "/graphs", params={"graph": GRAPH}, content=body, headers=headers)
        time.sleep(1.5)
        query = urllib.parse.urlencode({"query": "SELECT ?o WHERE { <http://example.org/a> ?p ?o }"})
        lookup = f"GET /sparql?{query} HTTP/1.1\r\nHost: h\r\nAccept: text/csv\r\n\r\n".encode()
        health = b"GET /health HTTP/1.1\r\nHost: h\r\n\r\n"
        with socket.create_connection(("127.0.0.1", int(server.url.rsplit(":", 1)[1]))) as sock:
            sock.sendall(
                lookup + lookup + health + lookup + b"GET /sparql?query=ASK%20%7B HTTP/1.1\r\nHost: h\r\n\r\n"
            )
            sock.settimeout(10)
            received = b""
            while received.count(b"HTTP/1.1 ") < 5 or not received.endswith(b"}"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
        statuses = re.findall(rb"HTTP/1\.1 (\d{3}) ", received)
        assert statuses == [b"200", b"200", b"200", b"200", b"400"]
        assert received.count(b"o\r\nx\r\n") == 3
        assert received.index(b'"status":"ok"') < received.rindex(b"o\r\nx\r\n")


def _worker_pids(server: Scratch) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
                parent = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
            except (OSError, ValueError):
                continue
            if b"boostkg/store/worker.py" in cmdline and _is_descendant(parent, server):
                found.append(int(entry.name))
    return found


def _is_descendant(pid: int, server: Scratch) -> bool:
    while pid > 1:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            if b"serve" in cmdline and str(server.store).encode() in cmdline:
                return True
            pid = int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])
        except (OSError, ValueError):
            return False
    return False


def test_query_workers_hold_no_sockets_of_the_server(tmp_path: Path) -> None:
    """uvloop starts query workers without closing inheritable descriptors: a client connection a
    lookup process handed over (received by SCM_RIGHTS) or the shared listening socket would live on
    in every worker started later, and a connection the server closes would stay open (a stream cut
    off at the deadline hung its client). Workers talk over pipes only."""
    env = {"BOOSTKG_HTTP_PROCESSES": "2", "BOOSTKG_QUERY_TIMEOUT_S": "1", "BOOSTKG_QUERY_WORKERS": "1"}
    with scratch_server(tmp_path, env) as server:
        deadline = time.monotonic() + 30
        while not server.lookup_pids() and time.monotonic() < deadline:
            time.sleep(0.2)
        rows = "".join(f'<http://example.org/s{i}> <http://example.org/p> "{i}" .\n' for i in range(300))
        headers = {"Content-Type": "application/n-triples", **server.admin}
        put = httpx.put(server.url + "/graphs", params={"graph": GRAPH}, content=rows, headers=headers)
        assert put.status_code == 201
        time.sleep(1.0)
        port = int(server.url.rsplit(":", 1)[1])
        kept = []
        for _ in range(8):  # kept-alive connections, some accepted by the lookup process and handed over
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", "/health")
            assert conn.getresponse().read()
            kept.append(conn)
        slow = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
        for _ in range(2):  # past the deadline: the worker is killed and a new one started
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", "/sparql?" + urllib.parse.urlencode({"query": slow}))
            assert conn.getresponse().status == 503
            conn.close()
        time.sleep(0.5)
        workers = _worker_pids(server)
        assert workers
        tcp = _tcp_socket_inodes()
        assert tcp  # the listening socket at least
        for pid in workers:
            held = {os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()}
            assert not held & tcp, f"worker {pid} holds TCP sockets {held & tcp}"  # its stdio: unix sockets
        for conn in kept:
            conn.close()


def _tcp_socket_inodes() -> set[str]:
    """Every TCP socket on the machine, as /proc/<pid>/fd links name them (``socket:[inode]``)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                found.add(f"socket:[{line.split()[9]}]")
    return found


def test_large_requests_are_handed_over_whole(tmp_path: Path) -> None:
    """A lookup process hands the bytes it read with the connection to the server process; for a
    POST that is the start of its body, up to one read (256 KiB), more than one message on the
    channel can hold (about 208 KiB): they go in pieces. Every request gets its answer."""
    with scratch_server(tmp_path, {"BOOSTKG_HTTP_PROCESSES": "2"}) as server:
        deadline = time.monotonic() + 30
        while not server.lookup_pids() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.0)
        port = int(server.url.rsplit(":", 1)[1])
        body = "".join(
            f'<http://example.org/big/{i}> <http://example.org/label> "{"padding " * 8}{i}" .\n'
            for i in range(4000)
        ).encode()
        assert len(body) > 300_000
        statuses = []
        for n in range(12):  # new connections: about half accepted by the lookup process
            head = (
                f"POST /graphs?graph=http%3A%2F%2Fexample.org%2Fbig{n} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: Bearer {server.admin_token}\r\nContent-Type: application/n-triples\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            ).encode()
            with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
                sock.sendall(head + body)  # one write: the first read takes as much as it can
                answer = b""
                while chunk := sock.recv(65536):
                    answer += chunk
            statuses.append(answer.split(b" ", 2)[1] if answer else b"(closed without an answer)")
        assert statuses == [b"201"] * 12, statuses
        count = httpx.get(
            server.sparql,
            params={"query": "SELECT (COUNT(*) AS ?n) { GRAPH ?g { ?s <http://example.org/label> ?o } }"},
            headers={"Accept": JSON_RESULTS},
        ).json()["results"]["bindings"][0]["n"]["value"]
        assert count == str(12 * 4000)


def test_a_burst_of_handovers_waits_for_a_server_too_busy_to_take_them(tmp_path: Path) -> None:
    """20 POSTs of ~100 KB reach the lookup process while the server process does not read its
    channel (stopped here; busy with startup or commits in real life): their bytes fill the
    channel's buffer many times over. Each handover waits for room rather than dropping its
    connection (which the client saw as 'Server disconnected without sending a response')."""
    with scratch_server(tmp_path, {"BOOSTKG_HTTP_PROCESSES": "2"}) as server:
        deadline = time.monotonic() + 30
        while not server.lookup_pids() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.0)  # the lookup process is up and accepting
        primary = server.pid()
        query = "ASK { }  # " + "padding " * 12_500  # ~100 KB in the body of a form POST

        def ask() -> int | str:
            try:
                return httpx.post(server.sparql, data={"query": query}, timeout=60).status_code
            except httpx.HTTPError as exc:
                return f"{type(exc).__name__}: {exc}"

        os.kill(primary, signal.SIGSTOP)
        try:
            with ThreadPoolExecutor(max_workers=20) as pool:
                answers = [pool.submit(ask) for _ in range(20)]
                time.sleep(2.0)  # all 20 reach the lookup process, whose handovers fill the channel
                os.kill(primary, signal.SIGCONT)
                statuses = [answer.result() for answer in answers]
        finally:
            os.kill(primary, signal.SIGCONT)
        assert statuses == [200] * 20, statuses
        assert "could not be handed over" not in server.log.read_text()
