"""Attacks on the running server (``boostkg serve`` in a subprocess: the package's scratch server).

Each test is named in docs/security.md next to the threat it answers. Threats already covered by
the API tests (named-query injection, SERVICE and LOAD, size limits, query timeouts, submission
scope, revoked tokens) are listed there with those tests' ids and not repeated here.
"""

from __future__ import annotations

import base64
import hashlib
import re
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from html import escape
from pathlib import Path

import httpx
import pytest

from boostkg.auth import TokenStore, token_store_path
from tests.endpoint_server import TIT, Scratch

pytestmark = pytest.mark.subprocess

XSS_IRI = "https://w3id.org/boostkg/id/organisation/xss-test"
XSS_GRAPH = "https://w3id.org/boostkg/graph/xss-test"
HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)> & \"quoted\" 'single'"
SECRETS = (b"root:x:0:0", b"[project]", b"SQLite format 3", b"boostkg-config")


class Canary:
    """A TCP listener on loopback that records every connection made to it: the place an SSRF
    attempt in these tests points at, so 'nothing was fetched' is observed, not assumed."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port: int = self.sock.getsockname()[1]
        self.hits = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.hits += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


@pytest.fixture
def canary() -> Iterator[Canary]:
    listener = Canary()
    try:
        yield listener
    finally:
        listener.close()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _quads(server: Scratch) -> int:
    query = "SELECT (COUNT(*) AS ?n) WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }"
    answer = httpx.get(
        server.sparql, params={"query": query}, headers={"Accept": "application/sparql-results+json"}
    )
    assert answer.status_code == 200, answer.text
    return int(answer.json()["results"]["bindings"][0]["n"]["value"])


def _raw_get(server: Scratch, target: str) -> tuple[int, bytes]:
    """GET ``target`` exactly as written (no client-side normalisation of ``..`` or ``%2F``)."""
    port = int(server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    status = int(answer.split(b" ", 2)[1])
    return status, answer


# --- tokens: missing, malformed, forged, expired ---------------------------------------------------


def _forgeries(server: Scratch) -> list[dict[str, str]]:
    """Authorization headers that must all be refused."""
    real = server.steward_token
    _, token_id, secret = real.split("_", 2)
    flipped = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    bearers = [
        "not-a-token",
        "bkg_00000000_" + "A" * 43,  # well formed, unknown id
        f"bkg_{token_id}_{flipped}",  # a real id with a secret one character off
        f"bkg_{token_id}_{secret}x",  # the real secret with a byte appended
        f"bkg_{token_id}_" + "A" * 43,  # a real id with a made-up secret
        real.upper(),  # case changed
        f"{real} {real}",  # two tokens in one header
    ]
    return [
        {},  # no Authorization header
        {"Authorization": "Bearer"},  # the scheme without a token
        {"Authorization": "Basic " + base64.b64encode(f"admin:{real}".encode()).decode()},
        {"Authorization": real},  # the real token without its scheme
        *(_bearer(b) for b in bearers),
    ]


def _client(address: str) -> httpx.Client:
    """A client whose connections come from ``address`` (any 127.x.y.z is loopback on Linux): each
    address has its own allowance of failed authentications."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=60)


def test_forged_tokens_get_401_on_every_write_route(server: Scratch) -> None:
    before = _quads(server)
    turtle = f'<{XSS_IRI}-forged> <http://www.w3.org/2000/01/rdf-schema#label> "forged" .\n'.encode()
    for i, headers in enumerate(_forgeries(server)):
        # 4 failures per forgery from an address of its own, well inside the allowance (20)
        with _client(f"127.0.1.{i + 1}") as client:
            attempts = _write_attempts(client, server, headers, turtle)
        for answer in attempts:
            assert answer.status_code == 401, (headers, answer.request.url, answer.text)
            assert answer.headers["content-type"] == "application/problem+json"
            assert answer.headers["www-authenticate"].startswith("Bearer")
    assert _quads(server) == before
    # the real tokens still work: the forgeries were refused for what they are
    assert httpx.get(server.url + "/stewards/me", headers=_bearer(server.steward_token)).status_code == 200


def _write_attempts(
    client: httpx.Client, server: Scratch, headers: dict[str, str], turtle: bytes
) -> list[httpx.Response]:
    return [
        client.get(server.url + "/stewards/me", headers=headers),
        client.post(
            server.url + "/submissions", content=turtle, headers={**headers, "Content-Type": "text/turtle"}
        ),
        client.put(
            server.url + "/graphs",
            params={"graph": XSS_GRAPH + "-forged"},
            content=turtle,
            headers={**headers, "Content-Type": "text/turtle"},
        ),
        client.post(
            server.sparql,
            content=f"INSERT DATA {{ <{XSS_IRI}-forged> <urn:p> 1 }}".encode(),
            headers={**headers, "Content-Type": "application/sparql-update"},
        ),
    ]


def test_an_expired_token_gets_401_saying_so(server: Scratch) -> None:
    register = TokenStore(token_store_path(server.store))
    short, who = register.create(steward="Brief Steward", organisation=TIT, expires_in=timedelta(seconds=1.5))
    lasting, _ = register.create(steward="Long Steward", organisation=TIT, expires_in=timedelta(days=30))
    assert httpx.get(server.url + "/stewards/me", headers=_bearer(short)).status_code == 200
    time.sleep(1.6)
    answer = httpx.get(server.url + "/stewards/me", headers=_bearer(short))
    assert answer.status_code == 401
    assert f"token {who.token_id} expired on" in answer.json()["detail"]
    assert httpx.get(server.url + "/stewards/me", headers=_bearer(lasting)).status_code == 200


# --- path traversal: every name that reaches a file ------------------------------------------------

TRAVERSALS = (
    "/queries/..%2F..%2F..%2F..%2Fetc%2Fpasswd",
    "/queries/..%2Fpyproject",
    "/queries/%2e%2e%2f%2e%2e%2fpyproject.toml",
    "/queries/../../etc/passwd",
    "/query/assets/..%2F..%2F..%2F..%2F..%2Fpyproject.toml",
    "/query/assets/..%2Fyasgui.min.js.map",
    "/submissions/..%2F..%2Ftokens.sqlite",
    "/submissions/..%2F..%2F..%2Fetc%2Fpasswd",
    "/submissions/../../tokens.sqlite",
    "/reports/..%2F..%2Fetc%2Fpasswd",
    "/graphs/..%2F..%2F..%2Fetc%2Fpasswd",
    "/id/..%2F..%2F..%2Fetc%2Fpasswd",
    "/icf/..%2F..%2Fpyproject.toml",
    "/shapes/..%2F..%2Fpyproject.toml",
    "//etc/passwd",
    "/static/..%2F..%2F..%2Fpyproject.toml",
)


@pytest.mark.parametrize("target", TRAVERSALS)
def test_path_traversal_reads_no_file(server: Scratch, target: str) -> None:
    status, answer = _raw_get(server, target)
    assert status in (400, 404, 405), (status, answer[:300])
    for secret in SECRETS:
        assert secret not in answer, (target, secret)


def test_submission_ids_are_checked_before_any_file_is_opened(server: Scratch) -> None:
    # an archive folder exists beside the store's database; an id that walks out of it is unknown
    (server.store / "archive").mkdir(exist_ok=True)
    for name in ("..", "...", ".", "%2e%2e", "x%00y", "20250101T000000Z-0000%2F..%2F.."):
        status, answer = _raw_get(server, f"/submissions/{name}")
        assert status in (400, 404), (name, answer[:300])


# --- script injection on HTML pages ----------------------------------------------------------------


def _inline_scripts(html: str) -> list[str]:
    return [
        m.group(2)
        for m in re.finditer(r"<script([^>]*)>(.*?)</script>", html, re.S)
        if "src=" not in m.group(1) and "application/json" not in m.group(1)
    ]


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_a_hostile_label_is_escaped_and_its_page_forbids_inline_script(server: Scratch) -> None:
    literal = HOSTILE.replace("\\", "\\\\").replace('"', '\\"')
    turtle = (
        f"<{XSS_IRI}> a <https://w3id.org/boostkg/icf#SME> ;\n"
        f'  <http://www.w3.org/2000/01/rdf-schema#label> "{literal}"@en ;\n'
        f'  <http://www.w3.org/2000/01/rdf-schema#comment> "{literal}" .\n'
    )
    put = httpx.put(
        server.url + "/graphs",
        params={"graph": XSS_GRAPH},
        content=turtle.encode(),
        headers={**server.admin, "Content-Type": "text/turtle"},
    )
    assert put.status_code in (201, 204), put.text
    page = httpx.get(server.url + "/id/organisation/xss-test", headers={"Accept": "text/html"})
    assert page.status_code == 200
    html = page.text
    assert escape("<script>alert(1)</script><img src=x onerror=alert(2)> & ") in html
    assert "<script>alert(1)" not in html
    assert "<img src=x" not in html
    assert _inline_scripts(html) == []
    policy = page.headers["content-security-policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'none'"
    assert "'unsafe-inline'" not in directives["script-src"]
    assert "'unsafe-eval'" not in directives["script-src"]
    assert directives["frame-ancestors"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert page.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("path", ["/query", "/submit", "/", "/queries", "/reports", "/void"])
def test_every_html_page_carries_a_policy_that_allows_exactly_its_own_inline_scripts(
    server: Scratch, path: str
) -> None:
    page = httpx.get(server.url + path, headers={"Accept": "text/html"})
    assert page.status_code in (200, 503), (path, page.status_code)  # /query is 503 without YASGUI
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    script_src = next(p.strip() for p in policy.split(";") if p.strip().startswith("script-src "))
    allowed = set(script_src.split()[1:])
    for script in _inline_scripts(page.text):
        assert _sha256(script) in allowed, (path, script[:80])
    assert allowed - {"'self'"} <= {_sha256(s) for s in _every_template_script()}
    connect = next(p.strip() for p in policy.split(";") if p.strip().startswith("connect-src "))
    assert connect == "connect-src 'self'"  # YASGUI posts to this server's /sparql only


def _every_template_script() -> list[str]:
    templates = Path(__file__).resolve().parents[2] / "boostkg" / "api" / "templates"
    return [s for path in templates.glob("*.j2") for s in _inline_scripts(path.read_text(encoding="utf-8"))]


def test_the_api_docs_get_their_own_policy_allowing_only_their_cdn(server: Scratch) -> None:
    page = httpx.get(server.url + "/docs")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "script-src https://cdn.jsdelivr.net 'unsafe-inline'" in policy
    assert "connect-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    # the CDN is allowed there only: the pages that show stored data do not allow it
    assert "cdn.jsdelivr.net" not in httpx.get(server.url + "/").headers["content-security-policy"]


def test_non_html_answers_carry_nosniff_and_no_page_policy(server: Scratch) -> None:
    answer = httpx.get(server.sparql, params={"query": "ASK {}"}, headers={"Accept": "application/json"})
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in answer.headers


# --- SSRF: nothing the server parses may make it fetch anything ------------------------------------


def _jsonld_remote_context(url: str) -> bytes:
    return ('{"@context": "' + url + '/context.jsonld", "@id": "' + XSS_IRI + '-ctx", "name": "x"}').encode()


def _rdfxml_entities(url: str) -> bytes:
    return f"""<?xml version="1.0"?>
<!DOCTYPE rdf:RDF [
  <!ENTITY remote SYSTEM "{url}/entity">
  <!ENTITY local SYSTEM "file:///etc/passwd">
]>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#">
  <rdf:Description rdf:about="{XSS_IRI}-xxe"><rdfs:label>&remote;&local;</rdfs:label></rdf:Description>
</rdf:RDF>
""".encode()


@pytest.mark.parametrize("media", ["application/ld+json", "application/rdf+xml"])
def test_submissions_fetch_no_remote_context_or_external_entity(
    server: Scratch, canary: Canary, media: str
) -> None:
    body = _jsonld_remote_context(canary.url) if media.endswith("json") else _rdfxml_entities(canary.url)
    before = _quads(server)
    answer = httpx.post(
        server.url + "/submissions",
        content=body,
        headers={**_bearer(server.steward_token), "Content-Type": media},
        timeout=60,
    )
    assert 400 <= answer.status_code < 500, answer.text
    assert b"root:x:0:0" not in answer.content
    time.sleep(0.3)
    assert canary.hits == 0
    assert _quads(server) == before


@pytest.mark.parametrize("media", ["application/ld+json", "application/rdf+xml"])
def test_the_graph_store_fetches_no_remote_context_or_external_entity(
    server: Scratch, canary: Canary, media: str
) -> None:
    body = _jsonld_remote_context(canary.url) if media.endswith("json") else _rdfxml_entities(canary.url)
    answer = httpx.put(
        server.url + "/graphs",
        params={"graph": XSS_GRAPH + "-ssrf"},
        content=body,
        headers={**server.admin, "Content-Type": media},
        timeout=60,
    )
    time.sleep(0.3)
    assert canary.hits == 0, answer.text
    assert answer.status_code < 500, answer.text
    dump = httpx.get(
        server.url + "/graphs", params={"graph": XSS_GRAPH + "-ssrf"}, headers={"Accept": "text/turtle"}
    )
    assert b"root:x:0:0" not in dump.content


def test_update_with_service_or_load_fetches_nothing(server: Scratch, canary: Canary) -> None:
    before = _quads(server)
    updates = (
        f"LOAD <{canary.url}/data.ttl>",
        f"LOAD SILENT <{canary.url}/data.ttl> INTO GRAPH <{XSS_GRAPH}-load>",
        f"INSERT {{ GRAPH <{XSS_GRAPH}-svc> {{ ?s ?p ?o }} }}"
        f" WHERE {{ SERVICE <{canary.url}/sparql> {{ ?s ?p ?o }} }}",
    )
    for update in updates:
        answer = httpx.post(
            server.sparql,
            content=update.encode(),
            headers={**server.admin, "Content-Type": "application/sparql-update"},
        )
        assert answer.status_code == 403, (update, answer.text)
    time.sleep(0.3)
    assert canary.hits == 0
    assert _quads(server) == before


# --- brute force: failed authentications are rate limited per address ------------------------------


def test_repeated_failed_authentications_get_429_with_retry_after_per_address(server: Scratch) -> None:
    # a second loopback address, so the rest of the module (on 127.0.0.1) keeps its allowance
    with _client("127.0.0.2") as attacker:
        statuses = []
        for i in range(30):
            guess = f"bkg_{i:08x}_" + "A" * 43
            statuses.append(attacker.get(server.url + "/stewards/me", headers=_bearer(guess)).status_code)
        assert statuses[:20] == [401] * 20
        assert statuses[20:] == [429] * 10
        limited = attacker.get(server.url + "/stewards/me", headers=_bearer(server.steward_token))
        assert limited.status_code == 429  # even a right token waits: the check is not run at all
        assert limited.headers["content-type"] == "application/problem+json"
        assert 1 <= int(limited.headers["retry-after"]) <= 4
        # requests without credentials are not affected: reading stays open
        assert attacker.get(server.sparql, params={"query": "ASK {}"}).status_code == 200
        # another address is not affected either
        mine = httpx.get(server.url + "/stewards/me", headers=_bearer(server.steward_token))
        assert mine.status_code == 200
        # the allowance refills: one failure more after Retry-After seconds
        time.sleep(int(limited.headers["retry-after"]) + 0.2)
        assert (
            attacker.get(server.url + "/stewards/me", headers=_bearer(server.steward_token)).status_code
            == 200
        )


# --- slow and oversized requests -------------------------------------------------------------------


def _idle_hung_up_after(port: int) -> float:
    """Seconds until the server closes a kept-alive connection left idle after one answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        first = b""
        while b"\r\n\r\n" not in first:
            first += sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200")
        head, _, body = first.partition(b"\r\n\r\n")
        length = int(re.search(rb"(?i)content-length: (\d+)", head).group(1))  # type: ignore[union-attr]
        while len(body) < length:
            body += sock.recv(65536)
        started = time.monotonic()
        assert sock.recv(65536) == b""  # the server hangs up on a kept-alive idle connection
        return time.monotonic() - started


def _hung_up_after(port: int, trickle: bytes) -> float:
    """Seconds until the server closes a new connection on which the client sends ``trickle`` one
    byte every half second (nothing if empty) and never finishes a request head."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.settimeout(0.5)
        sent = 0
        while time.monotonic() - started < 30:
            try:
                if sock.recv(65536) == b"":
                    return time.monotonic() - started
            except TimeoutError:
                pass
            except ConnectionResetError:
                return time.monotonic() - started
            if trickle:
                try:
                    sock.sendall(trickle[sent % len(trickle) : sent % len(trickle) + 1])
                except (BrokenPipeError, ConnectionResetError):
                    return time.monotonic() - started
                sent += 1
    return time.monotonic() - started


def test_idle_connections_and_slow_request_heads_are_cut_off(server: Scratch) -> None:
    """T15 (slowloris): a connection that sends nothing, or trickles a head that never ends, is
    closed once the keep-alive time (10 s by default) has passed, although bytes keep coming; and
    a kept-alive connection left idle after an answer is closed too. The five connections wait
    side by side (one wait of 10 s, not two)."""
    port = int(server.url.rsplit(":", 1)[1])
    trickles = [b"", b"", b"GET /sparql?query=ASK%7B%7D HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200]
    trickles += [b"POST /submissions HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200]
    with ThreadPoolExecutor(len(trickles) + 1) as pool:
        idle = pool.submit(_idle_hung_up_after, port)
        waited = list(pool.map(lambda t: _hung_up_after(port, t), trickles))
        assert idle.result() < 15
    assert all(8 < w < 14 for w in waited), waited


def test_an_oversized_submission_is_refused_before_it_is_read(server: Scratch) -> None:
    port = int(server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        head = (
            "POST /submissions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/turtle\r\n"
            f"Authorization: Bearer {server.steward_token}\r\nContent-Length: {10**12}\r\n\r\n"
        )
        sock.sendall(head.encode())  # declares a terabyte, sends none of it
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
