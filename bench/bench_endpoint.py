"""SPARQL endpoint benchmark: `boostkg serve` against Oxigraph's server and rdflib-endpoint.

The same data for all three (the seed graphs plus the CORDIS Horizon 2020 import and inference,
built with the boostkg CLI and exported as N-Quads for the other two), the same query mix, the
servers interleaved (each cell runs every server in turn, the order rotating), and the load
generator in its own process (threads with keep-alive HTTP/1.1 connections, stdlib ``http.client``
so the client costs little per request):

    .venv/bin/python bench/bench_endpoint.py [--seconds 2] [--rounds 2] [--clients 1,8]
        [--store DIR] [--venv DIR] [--code head|worktree] [--no-rdflib] [--no-profile] [--processes N]
        [--query-workers N]

Query classes: point lookups (all triples of one organisation or project), 2-hop joins
(co-participants; a project's participants and their countries), aggregates (participations and
EU contribution per role for one country), text filters (CONTAINS over PICs and NUTS labels),
CONSTRUCT (a project with its participations, as Turtle), and ``mixed`` (per 20 requests 8 point
lookups, 4 two-hop, 3 text, 3 CONSTRUCT, 2 aggregates).
Parameters are drawn from the data, so every request asks something different.

Prints throughput (requests/s over the cell's wall time) and p50/p99 latency per class and client
count, the ratios boostkg/Oxigraph and boostkg/rdflib-endpoint, a 1M-row SELECT streamed through
boostkg (time to first byte, total, and the server's peak RSS), where the time of a point-lookup
request goes (layers timed in-process, plus a py-spy profile of the live server), and one
PASS/MISS line per goal of issue 4. Oxigraph and rdflib-endpoint are installed with pip into a
virtual environment in the temporary directory (or ``--venv``). ``--code head`` (the default)
benchmarks the last commit (exported with ``git archive``), not uncommitted edits. Only loopback
traffic. Exits 0.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlparse

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data" / "cordis-h2020"
OXIGRAPH_VERSION = "0.5.13"  # the pyoxigraph boostkg runs on
RDFLIB_ENDPOINT_VERSION = "0.6.3"
PY_SPY_VERSION = "0.4.3"
STREAM_ROWS = 1_000_000
REQUEST_TIMEOUT_S = 120.0

ICF = "https://w3id.org/boostkg/icf#"
PREFIX = f"PREFIX icf: <{ICF}>\nPREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
SELECT_JSON = "application/sparql-results+json"
TURTLE = "text/turtle"
TSV = "text/tab-separated-values"
ALL_CLASSES = ("point", "two-hop", "aggregate", "text", "construct", "mixed")
CLASSES = ALL_CLASSES
"""The classes measured (``--classes`` narrows them)."""
MIXED_PATTERN = ("point",) * 8 + ("two-hop",) * 4 + ("text",) * 3 + ("construct",) * 3 + ("aggregate",) * 2
"""The mixed workload, per 20 requests: 8 point lookups, 4 two-hop, 3 text, 3 CONSTRUCT, 2 aggregates."""

Item = tuple[str, str]  # (query, accept)


# --- the load generator (its own process) ---------------------------------------------------------


def loadgen(spec: dict[str, Any]) -> dict[str, Any]:
    """Run ``clients`` threads for ``seconds``, each sending the spec's items in turn over one
    keep-alive connection; latencies in ms of the successful requests."""
    url = urlparse(spec["url"])
    items: list[Item] = [(str(q), str(a)) for q, a in spec["items"]]
    clients, seconds = int(spec["clients"]), float(spec["seconds"])
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: Counter[str] = Counter()
    lock = threading.Lock()
    start_gate = threading.Barrier(clients + 1)

    def client(index: int) -> None:
        conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=REQUEST_TIMEOUT_S)
        position = index * max(1, len(items) // clients)
        start_gate.wait()
        deadline = time.perf_counter() + seconds
        mine = latencies[index]
        while time.perf_counter() < deadline:
            query, accept = items[position % len(items)]
            position += 1
            path = f"{url.path}?{urlencode({'query': query})}"
            began = time.perf_counter()
            try:
                conn.request("GET", path, headers={"Accept": accept})
                response = conn.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException) as exc:
                with lock:
                    errors[f"{type(exc).__name__}: {exc}"[:160]] += 1
                conn.close()
                conn = http.client.HTTPConnection(
                    url.hostname or "127.0.0.1", url.port, timeout=REQUEST_TIMEOUT_S
                )
                continue
            took = (time.perf_counter() - began) * 1000
            if response.status == 200:
                mine.append(took)
            else:
                with lock:
                    errors[f"HTTP {response.status}: {body[:120]!r}"] += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    start_gate.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    return {
        "latencies_ms": [x for per in latencies for x in per],
        "elapsed_s": elapsed,
        "errors": sum(errors.values()),
        "first_errors": errors.most_common(3),
    }


def stream(spec: dict[str, Any]) -> dict[str, Any]:
    """One big SELECT read in 64 KiB chunks: time to first byte, total, bytes, and rows (occurrences of
    ``row_marker``, a string that starts every row and nothing else)."""
    url = urlparse(spec["url"])
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=600)
    began = time.perf_counter()
    conn.request(
        "GET", f"{url.path}?{urlencode({'query': spec['query']})}", headers={"Accept": spec["accept"]}
    )
    response = conn.getresponse()
    marker = spec["row_marker"].encode()
    first: float | None = None
    size = rows = 0
    tail = b""
    while chunk := response.read(65536):
        if first is None:
            first = time.perf_counter() - began
        size += len(chunk)
        window = tail + chunk
        rows += window.count(marker)
        tail = window[-(len(marker) - 1) :] if len(marker) > 1 else b""
    total = time.perf_counter() - began
    conn.close()
    return {"status": response.status, "ttfb_s": first, "total_s": total, "bytes": size, "rows": rows}


# --- servers ------------------------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    url: str  # the query endpoint
    proc: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_ready(server: Server, timeout_s: float) -> float:
    """Seconds until the server answers ``ASK {}``."""
    url = urlparse(server.url)
    began = time.perf_counter()
    while True:
        if server.proc.poll() is not None:
            raise SystemExit(
                f"{server.name} exited ({server.proc.returncode}):\n{server.log.read_text()[-3000:]}"
            )
        try:
            conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=5)
            conn.request("GET", f"{url.path}?query={quote('ASK {}')}", headers={"Accept": SELECT_JSON})
            if conn.getresponse().status == 200:
                return time.perf_counter() - began
        except OSError:
            pass
        if time.perf_counter() - began > timeout_s:
            raise SystemExit(
                f"{server.name} not ready after {timeout_s:.0f} s:\n{server.log.read_text()[-3000:]}"
            )
        time.sleep(0.2)


def wait_planner(server: Server, timeout_s: float) -> float:
    """Seconds until boostkg has measured its store's fan-out bounds (``/metrics``): until then the
    joins it would answer inline go to its query workers, as after any write; a server in steady
    state is what is measured."""
    url = urlparse(server.url)
    began = time.perf_counter()
    while time.perf_counter() - began < timeout_s:
        conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=5)
        conn.request("GET", "/metrics")
        if b"boostkg_planner_bounds_current 1.0" in conn.getresponse().read():
            return time.perf_counter() - began
        time.sleep(0.5)
    raise SystemExit(f"boostkg did not measure its fan-out bounds in {timeout_s:.0f} s")


def start(name: str, argv: list[str], url: str, workdir: Path, env: dict[str, str] | None = None) -> Server:
    log = workdir / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=workdir, env=env)
    return Server(name, url, proc, log)


RDFLIB_SERVER = """
import sys, time
import uvicorn
from rdflib import Dataset
from rdflib_endpoint import SparqlEndpoint
began = time.perf_counter()
dataset = Dataset(default_union=True)
dataset.parse(sys.argv[1], format="nquads")
print(f"loaded {len(dataset)} triples in {time.perf_counter() - began:.1f} s", flush=True)
app = SparqlEndpoint(graph=dataset, path="/sparql", cors_enabled=False)
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""


# --- helpers ------------------------------------------------------------------------------------------


def run(argv: list[str], *, cwd: Path, env: dict[str, str] | None = None, what: str) -> float:
    began = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{what} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return time.perf_counter() - began


def child(mode: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Run the load generator (or the stream reader) in a fresh Python process."""
    done = subprocess.run(
        [sys.executable, __file__, f"--{mode}"],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{mode} process failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def select(url: str, query: str) -> list[dict[str, str]]:
    parts = urlparse(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=REQUEST_TIMEOUT_S)
    conn.request(
        "GET", f"{parts.path}?{urlencode({'query': PREFIX + query})}", headers={"Accept": SELECT_JSON}
    )
    response = conn.getresponse()
    body = response.read()
    if response.status != 200:
        raise SystemExit(f"sampling query failed at {url}: {response.status} {body[:300]!r}\n{query}")
    rows = json.loads(body)["results"]["bindings"]
    return [{k: v["value"] for k, v in row.items()} for row in rows]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def tree_rss(pid: int) -> int:
    import psutil  # type: ignore[import-untyped]

    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += p.memory_info().rss
    return total


# --- the query mix ------------------------------------------------------------------------------------


def query_mix(sampler_url: str, seed: int = 4) -> dict[str, list[Item]]:
    """Parameterised queries per class, parameters sampled from the data (same for every server)."""
    rng = random.Random(seed)
    orgs = [
        r["org"]
        for r in select(
            sampler_url,
            "SELECT ?org WHERE { ?org icf:pic ?pic ; icf:participatesIn ?p } GROUP BY ?org LIMIT 3000",
        )
    ]
    projects = [r["p"] for r in select(sampler_url, "SELECT ?p WHERE { ?p icf:rcn ?rcn } LIMIT 3000")]
    countries = [
        r["c"]
        for r in select(
            sampler_url,
            "SELECT ?c (COUNT(?o) AS ?n) WHERE { ?o icf:pic ?pic ; icf:inCountry ?c } GROUP BY ?c "
            "ORDER BY DESC(?n) LIMIT 30",
        )
    ]
    pics = [r["pic"] for r in select(sampler_url, "SELECT ?pic WHERE { ?o icf:pic ?pic } LIMIT 3000")]
    labels = [
        r["l"]
        for r in select(sampler_url, "SELECT ?l WHERE { ?r icf:nutsCode ?c ; rdfs:label ?l } LIMIT 2000")
    ]
    n = 200
    orgs, projects, pics, labels = (rng.sample(xs, min(n, len(xs))) for xs in (orgs, projects, pics, labels))

    def quoted(text: str) -> str:
        return json.dumps(text)  # a valid SPARQL string literal for these ASCII/Unicode fragments

    point = [
        (PREFIX + f"SELECT ?p ?o WHERE {{ <{iri}> ?p ?o }}", SELECT_JSON)
        for iri in orgs[:100] + projects[:100]
    ]
    two_hop = [
        (
            PREFIX + f"SELECT DISTINCT ?partner WHERE {{ <{org}> icf:participatesIn ?project . "
            "?partner icf:participatesIn ?project }",
            SELECT_JSON,
        )
        for org in orgs[100:]
    ] + [
        (
            PREFIX
            + f"SELECT ?org ?country WHERE {{ ?part icf:inCollaboration <{p}> ; icf:participant ?org . "
            "?org icf:inCountry ?country }",
            SELECT_JSON,
        )
        for p in projects[100:]
    ]
    aggregate = [
        (
            PREFIX + "SELECT ?role (COUNT(?part) AS ?n) (SUM(?c) AS ?eur) WHERE { "
            f"?org icf:inCountry <{country}> . ?part icf:participant ?org ; icf:participationRole ?role ; "
            "icf:contribution ?c } GROUP BY ?role ORDER BY ?role",
            SELECT_JSON,
        )
        for country in countries[5:]  # the 5 biggest countries make aggregates of a few 10k rows; skip
    ]
    text = [
        (
            PREFIX
            + f"SELECT ?org ?pic WHERE {{ ?org icf:pic ?pic FILTER(CONTAINS(?pic, {quoted(pic[2:6])})) }}",
            SELECT_JSON,
        )
        for pic in pics[:100]
    ] + [
        (
            PREFIX + "SELECT ?region ?label WHERE { ?region icf:nutsCode ?code ; rdfs:label ?label "
            f"FILTER(CONTAINS(LCASE(STR(?label)), {quoted(label.lower()[:4])})) }}",
            SELECT_JSON,
        )
        for label in labels[:100]
    ]
    construct = [
        (
            PREFIX + f"CONSTRUCT {{ <{p}> ?p ?o . ?part ?pp ?po }} WHERE {{ {{ <{p}> ?p ?o }} UNION "
            f"{{ ?part icf:inCollaboration <{p}> ; ?pp ?po }} }}",
            TURTLE,
        )
        for p in projects[:100]
    ]
    classes = {
        "point": point,
        "two-hop": two_hop,
        "aggregate": aggregate,
        "text": text,
        "construct": construct,
    }
    mixed = [classes[c][i % len(classes[c])] for i in range(40) for c in MIXED_PATTERN]
    return {**classes, "mixed": mixed}


def check_answers(servers: list[Server], mix: dict[str, list[Item]]) -> list[str]:
    """The first SELECT of every class answers the same number of rows on every server."""
    notes = []
    for cls, items in mix.items():
        query, accept = items[0]
        if accept != SELECT_JSON:
            continue
        counts = {s.name: len(select(s.url, query.removeprefix(PREFIX))) for s in servers}
        if len(set(counts.values())) != 1:
            notes.append(f"{cls}: row counts differ {counts}")
    return notes


# --- measuring ----------------------------------------------------------------------------------------


@dataclass
class Cell:
    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    errors: int = 0
    first_errors: list[Any] = field(default_factory=list)

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else float("nan")


def measure(
    servers: list[Server], mix: dict[str, list[Item]], clients: list[int], seconds: float, rounds: int
) -> dict[tuple[str, str, int], Cell]:
    cells: dict[tuple[str, str, int], Cell] = {}
    for server in servers:  # warm-up: every query class once
        for items in mix.values():
            child("loadgen", {"url": server.url, "items": items[:3], "clients": 1, "seconds": 0.05})
    turn = 0
    for round_ in range(rounds):
        for n in clients:
            for cls in CLASSES:
                order = servers[turn % len(servers) :] + servers[: turn % len(servers)]
                turn += 1
                for server in order:
                    out = child(
                        "loadgen", {"url": server.url, "items": mix[cls], "clients": n, "seconds": seconds}
                    )
                    cell = cells.setdefault((server.name, cls, n), Cell())
                    cell.latencies += out["latencies_ms"]
                    cell.elapsed += out["elapsed_s"]
                    cell.errors += out["errors"]
                    cell.first_errors = cell.first_errors or out["first_errors"]
            print(f"  round {round_ + 1}/{rounds}, {n} client(s) done", flush=True)
    return cells


def measure_stream(server: Server, accept: str) -> dict[str, Any]:
    query = f"SELECT ?s ?p ?o WHERE {{ ?s ?p ?o }} LIMIT {STREAM_ROWS}"
    baseline = tree_rss(server.proc.pid)
    peak = baseline
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, tree_rss(server.proc.pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        marker = '{"s":' if accept == SELECT_JSON else "\n"
        out = child("stream", {"url": server.url, "query": query, "accept": accept, "row_marker": marker})
    finally:
        stop.set()
        sampler.join()
    if accept == TSV:
        out["rows"] -= 1  # the header line
    out.update(baseline_mib=baseline / 2**20, peak_mib=peak / 2**20)
    return out


PROFILE_LAYERS = """
import asyncio, io, json, sys, time
from pathlib import Path
import anyio
from pyoxigraph import QueryResultsFormat
from boostkg.api.app import create_app
from boostkg.config import Settings
from boostkg.store import RdfFormat, ResultFormat
store_dir, queries = Path(sys.argv[1]), json.loads(sys.stdin.read())
N = 3000

def per_call(fn):
    fn(0)
    began = time.perf_counter()
    for i in range(N):
        fn(i)
    return (time.perf_counter() - began) / N * 1e6

app = create_app(Settings(store=store_dir))

async def call(i, path="/sparql"):
    from urllib.parse import urlencode
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
             "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
             "query_string": urlencode({"query": queries[i % len(queries)]}).encode(),
             "headers": [(b"host", b"bench"), (b"accept", b"application/sparql-results+json")],
             "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 80), "state": {}}
    status = 0
    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}
    async def send(message):
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
    await app(scope, receive, send)
    return status

async def main():
    result = {}
    async with app.router.lifespan_context(app):
        store = app.state.store
        raw = store._db
        def raw_query(i):
            out = io.BytesIO()
            raw.query(queries[i % len(queries)], use_default_graph_as_union=True).serialize(
                out, QueryResultsFormat.JSON)
        def wrapped(i):
            store.query_to(queries[i % len(queries)], io.BytesIO(), result_format=ResultFormat.JSON,
                           rdf_format=RdfFormat.TURTLE)
        for _ in range(2):  # twice, interleaved; the second pass is reported
            result["pyoxigraph: query + JSON serialisation"] = per_call(raw_query)
            result["EmbeddedStore.query_to (the same work through boostkg's store)"] = per_call(wrapped)
        began = time.perf_counter()
        for i in range(N):
            await anyio.to_thread.run_sync(raw_query, i)
        result["the same pyoxigraph work, each call hopped to a worker thread"] = (
            (time.perf_counter() - began) / N * 1e6)
        assert await call(0) == 200
        began = time.perf_counter()
        for i in range(N):
            await call(i)
        result["the whole FastAPI app for GET /sparql, called as ASGI (no HTTP server)"] = (
            (time.perf_counter() - began) / N * 1e6)
        began = time.perf_counter()
        for i in range(N):
            await call(i, "/nothing-here")
        result["the FastAPI app answering 404 for an unknown path (routing + problem response)"] = (
            (time.perf_counter() - began) / N * 1e6)
    return result

print(json.dumps(asyncio.run(main())))
"""


def profile_layers(
    python: str, env: dict[str, str], store: Path, items: list[Item], workdir: Path
) -> dict[str, float]:
    done = subprocess.run(
        [python, "-c", PROFILE_LAYERS, str(store)],
        input=json.dumps([q for q, _ in items]),
        capture_output=True,
        text=True,
        env=env,
        cwd=workdir,
        check=False,
    )
    if done.returncode != 0:
        print(f"  (layer timing failed: {done.stderr[-1500:]})")
        return {}
    result: dict[str, float] = json.loads(done.stdout)
    return result


def profile_server(spy: Path, server: Server, items: list[Item], seconds: float, workdir: Path) -> list[str]:
    """py-spy samples the live server (all threads, subprocesses) under a 1-client point-lookup load;
    returns the functions with the largest share of the samples (inclusive), as lines."""
    raw = workdir / "profile.txt"
    spy_proc = subprocess.Popen(
        [
            str(spy),
            "record",
            "--pid",
            str(server.proc.pid),
            "--rate",
            "400",
            "--format",
            "raw",
            "--output",
            str(raw),
            "--subprocesses",
            "--duration",
            str(int(seconds) + 1),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    time.sleep(1.0)
    out = child("loadgen", {"url": server.url, "items": items, "clients": 1, "seconds": seconds})
    _, err = spy_proc.communicate(timeout=120)
    if not raw.is_file():
        return [f"(py-spy failed: {err.decode(errors='replace')[-800:]})"]
    return [
        f"{len(out['latencies_ms'])} requests profiled, p50 {percentile(out['latencies_ms'], 0.5):.2f} ms",
        *summarise_profile(raw.read_text()),
    ]


IDLE_LEAVES = (
    "Condition.wait (",
    "select (selectors.py",
    "EpollSelector.select (",
    "Queue.get (",
    "_worker (",
    "ThreadedChildWatcher._do_waitpid (",  # a thread blocked in waitpid()
)


def summarise_profile(raw: str) -> list[str]:
    """Busy samples (idle waits removed) by the package of the innermost Python frame (time in
    native code, e.g. pyoxigraph, counts for the Python frame that called it), the top functions by
    self time, and the inclusive share of a few frames that matter for the endpoint."""
    by_package: Counter[str] = Counter()
    by_function: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    busy = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [f for f in stack.split(";")[1:] if " (" in f]
        if not frames or frames[-1].startswith(IDLE_LEAVES):
            continue
        weight = int(count)
        busy += weight
        function, _, where = frames[-1].rpartition(" (")
        path = where.rsplit(":", 1)[0]
        by_package[path.split("/")[0] if "/" in path else path] += weight
        by_function[f"{function} ({path})"] += weight
        seen: set[str] = set()
        for frame in frames:
            function, _, where = frame.rpartition(" (")
            key = f"{function} ({where.rsplit(':', 1)[0]})"
            if key not in seen:
                seen.add(key)
                inclusive[key] += weight
    lines = [f"{busy} busy samples; by package of the innermost Python frame (self time):"]
    lines += [f"  {100 * w / busy:5.1f}%  {name}" for name, w in by_package.most_common(12)]
    lines.append("top functions by self time:")
    lines += [f"  {100 * w / busy:5.1f}%  {name}" for name, w in by_function.most_common(20)]
    lines.append("inclusive share of boostkg frames:")
    lines += [
        f"  {100 * w / busy:5.1f}%  {name}"
        for name, w in inclusive.most_common()
        if name.split("(")[-1].startswith("boostkg/") and 100 * w / busy >= 0.5
    ]
    return lines


# --- main ---------------------------------------------------------------------------------------------


def fmt_rate(x: float) -> str:
    return f"{x:,.1f}" if x < 100 else f"{x:,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loadgen", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--stream", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--seconds", type=float, default=2.0, help="per server, cell and round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--clients", default="1,8")
    parser.add_argument("--store", type=Path, help="reuse a store built as this script builds it")
    parser.add_argument("--venv", type=Path, help="reuse a venv with oxigraph, rdflib-endpoint, py-spy")
    parser.add_argument("--code", choices=("head", "worktree"), default="head")
    parser.add_argument("--no-rdflib", action="store_true")
    parser.add_argument(
        "--processes", type=int, help="BOOSTKG_HTTP_PROCESSES for boostkg serve (default: its default)"
    )
    parser.add_argument(
        "--query-workers", type=int, help="BOOSTKG_QUERY_WORKERS for boostkg serve (default: its default)"
    )
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument(
        "--classes",
        default=",".join(ALL_CLASSES),
        help="query classes to measure (comma-separated); the goals need point and mixed (Oxigraph) or all",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    if args.loadgen or args.stream:
        spec = json.loads(sys.stdin.read())
        print(json.dumps(loadgen(spec) if args.loadgen else stream(spec)))
        return

    global CLASSES
    CLASSES = tuple(c for c in ALL_CLASSES if c in args.classes.split(","))
    if not CLASSES:
        parser.error(f"--classes names none of {', '.join(ALL_CLASSES)}")
    workdir = Path(tempfile.mkdtemp(prefix="bench-endpoint-"))
    servers: list[Server] = []
    try:
        _bench(args, workdir, servers)
    finally:
        for server in servers:
            server.stop()
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def _bench(args: argparse.Namespace, workdir: Path, servers: list[Server]) -> None:
    python = str(REPO / ".venv" / "bin" / "python")
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no", "boostkg"],
        cwd=REPO,
        capture_output=True,
        text=True,
    ).stdout.strip()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOSTKG_")}
    if args.code == "head":
        src = workdir / "src"
        src.mkdir()
        archive = subprocess.run(["git", "archive", "HEAD"], cwd=REPO, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(src)], input=archive, check=True)
        env["PYTHONPATH"] = str(src)
        code_note = f"commit {commit} (git archive HEAD)"
    else:
        code_note = f"working tree at {commit}" + (" with uncommitted changes" if dirty else "")
    boostkg = [python, "-c", "from boostkg.cli import run; run()"]
    clients = [int(c) for c in args.clients.split(",")]
    print(f"bench_endpoint: {platform.node()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"boostkg code: {code_note}; load average {os.getloadavg()[0]:.1f} (1 min) at the start")

    # the data
    store = args.store
    if store is None:
        store = workdir / "store"
        t1 = run(
            [*boostkg, "main", "--no-serve", "--store", str(store)], cwd=workdir, env=env, what="boostkg main"
        )
        t2 = run(
            [*boostkg, "import", "cordis", str(args.data), "--store", str(store)],
            cwd=workdir,
            env=env,
            what="boostkg import cordis",
        )
        t3 = run([*boostkg, "infer", "--store", str(store)], cwd=workdir, env=env, what="boostkg infer")
        print(f"store built: main {t1:.0f} s, CORDIS import {t2:.0f} s, infer {t3:.0f} s")
    nquads = workdir / "data.nq"
    t = run(
        [*boostkg, "export", "--format", "nquads", "--out", str(nquads), "--store", str(store)],
        cwd=workdir,
        env=env,
        what="boostkg export",
    )
    quads = sum(1 for _ in nquads.open("rb"))
    print(f"exported {quads:,} quads ({nquads.stat().st_size / 2**20:.0f} MiB) in {t:.0f} s")

    # the other servers' environment
    venv = args.venv or workdir / "venv"
    if not (venv / "bin" / "oxigraph").exists():
        run([sys.executable, "-m", "venv", str(venv)], cwd=workdir, what="venv")
        t = run(
            [
                str(venv / "bin" / "pip"),
                "install",
                "-q",
                "--disable-pip-version-check",
                f"oxigraph=={OXIGRAPH_VERSION}",
                f"rdflib-endpoint=={RDFLIB_ENDPOINT_VERSION}",
                "uvicorn",
                f"py-spy=={PY_SPY_VERSION}",
            ],
            cwd=workdir,
            what="pip install",
        )
        print(
            f"installed oxigraph {OXIGRAPH_VERSION}, rdflib-endpoint {RDFLIB_ENDPOINT_VERSION} in {t:.0f} s"
        )
    oxi_dir = workdir / "oxigraph"
    t = run(
        [str(venv / "bin" / "oxigraph"), "load", "--location", str(oxi_dir), "--file", str(nquads)],
        cwd=workdir,
        what="oxigraph load",
    )
    print(f"oxigraph load: {t:.0f} s")

    # start everything, wait until each answers
    port = free_port()
    servers.append(
        start(
            "boostkg",
            [*boostkg, "serve", "--store", str(store), "--host", "127.0.0.1", "--port", str(port)],
            f"http://127.0.0.1:{port}/sparql",
            workdir,
            {
                **env,
                **({"BOOSTKG_HTTP_PROCESSES": str(args.processes)} if args.processes else {}),
                **({"BOOSTKG_QUERY_WORKERS": str(args.query_workers)} if args.query_workers else {}),
            },
        )
    )
    port = free_port()
    servers.append(
        start(
            "oxigraph",
            [
                str(venv / "bin" / "oxigraph"),
                "serve",
                "--location",
                str(oxi_dir),
                "--bind",
                f"127.0.0.1:{port}",
                "--union-default-graph",
            ],
            f"http://127.0.0.1:{port}/query",
            workdir,
        )
    )
    if not args.no_rdflib:
        port = free_port()
        script = workdir / "rdflib_server.py"
        script.write_text(RDFLIB_SERVER)
        servers.append(
            start(
                "rdflib-endpoint",
                [str(venv / "bin" / "python"), str(script), str(nquads), str(port)],
                f"http://127.0.0.1:{port}/sparql",
                workdir,
            )
        )
    for server in servers:
        print(f"{server.name} ready in {wait_ready(server, 900):.1f} s ({server.url})")
    print(f"boostkg's fan-out bounds measured after {wait_planner(servers[0], 300):.1f} s more")

    mix = query_mix(servers[0].url)
    print("query mix: " + ", ".join(f"{cls} {len(items)}" for cls, items in mix.items()))
    for note in check_answers(servers, mix):
        print(f"  WARNING: {note}")

    # streaming first, while boostkg's memory is fresh
    print("streaming a 1M-row SELECT ...", flush=True)
    streams = {
        "boostkg JSON": measure_stream(servers[0], SELECT_JSON),
        "boostkg TSV": measure_stream(servers[0], TSV),
        "oxigraph JSON": measure_stream(servers[1], SELECT_JSON),
    }

    print(
        f"measuring: {args.rounds} rounds x {clients} clients x {len(CLASSES)} classes x {len(servers)} "
        f"servers x {args.seconds} s",
        flush=True,
    )
    began = time.perf_counter()
    cells = measure(servers, mix, clients, args.seconds, args.rounds)
    print(f"measured in {time.perf_counter() - began:.0f} s; load average {os.getloadavg()[0]:.1f} (1 min)")

    profile_lines: list[str] = []
    if not args.no_profile:
        spy = venv / "bin" / "py-spy"
        if spy.exists():
            profile_lines = profile_server(spy, servers[0], mix["point"], 4.0, workdir)
    for server in servers:
        server.stop()
    layers = {} if args.no_profile else profile_layers(python, env, store, mix["point"], workdir)

    report(cells, streams, layers, profile_lines, [s.name for s in servers], clients, code_note, quads)


def report(
    cells: dict[tuple[str, str, int], Cell],
    streams: dict[str, dict[str, Any]],
    layers: dict[str, float],
    profile_lines: list[str],
    names: list[str],
    clients: list[int],
    code_note: str,
    quads: int,
) -> None:
    print(f"\n## Throughput (requests/s) and latency (ms), {quads:,} quads; boostkg = {code_note}\n")
    header = "| class | clients | " + " | ".join(f"{n} req/s | {n} p50 | {n} p99" for n in names)
    ratios = [n for n in names if n != "boostkg"]
    header += "".join(f" | boostkg/{n}" for n in ratios) + " |"
    print(header)
    print("|" + "---|" * (2 + 3 * len(names) + len(ratios)))
    for cls in CLASSES:
        for n in clients:
            row = [cls, str(n)]
            for name in names:
                cell = cells[(name, cls, n)]
                row += [
                    fmt_rate(cell.throughput),
                    f"{percentile(cell.latencies, 0.5):.2f}",
                    f"{percentile(cell.latencies, 0.99):.2f}",
                ]
            base = cells[("boostkg", cls, n)].throughput
            row += [f"{base / cells[(r, cls, n)].throughput:.2f}x" for r in ratios]
            print("| " + " | ".join(row) + " |")
    errors = {k: (c.errors, c.first_errors) for k, c in cells.items() if c.errors}
    for key, (count, first) in errors.items():
        print(f"errors {key}: {count} {first}")

    print("\n## Streaming a 1M-row SELECT (`SELECT ?s ?p ?o WHERE { ?s ?p ?o } LIMIT 1000000`)\n")
    print(
        "| server, format | status | rows | MiB | first byte s | total s | server RSS before MiB | peak MiB |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, s in streams.items():
        ttfb = f"{s['ttfb_s']:.2f}" if s["ttfb_s"] is not None else "-"
        print(
            f"| {name} | {s['status']} | {s['rows']:,} | {s['bytes'] / 2**20:.0f} | {ttfb} | "
            f"{s['total_s']:.2f} | {s['baseline_mib']:.0f} | {s['peak_mib']:.0f} |"
        )

    if layers:
        print("\n## Where a point-lookup request's time goes (in-process, µs per request)\n")
        for name, micros in layers.items():
            print(f"- {name}: {micros:.0f} µs")
    if profile_lines:
        print(
            "\n## py-spy profile of the live boostkg server under 1-client point lookups (inclusive share)\n"
        )
        print("```")
        print("\n".join(profile_lines))
        print("```")

    print("\n## Goals (issue 4)\n")

    def verdict(ok: bool, text: str) -> None:
        print(f"{'PASS' if ok else 'MISS'}: {text}")

    top = max(clients)
    if "oxigraph" in names and {"mixed", "point"} <= set(CLASSES):
        r = cells[("boostkg", "mixed", top)].throughput / cells[("oxigraph", "mixed", top)].throughput
        verdict(r >= 0.95, f"mixed workload at {top} clients >= 0.95x Oxigraph server ({r:.2f}x)")
        r = cells[("boostkg", "point", top)].throughput / cells[("oxigraph", "point", top)].throughput
        verdict(r >= 0.5, f"point lookups at {top} clients >= 0.5x Oxigraph server ({r:.2f}x)")
    if "rdflib-endpoint" in names and set(CLASSES) == set(ALL_CLASSES):
        worst = min(
            (cells[("boostkg", cls, n)].throughput / cells[("rdflib-endpoint", cls, n)].throughput, cls, n)
            for cls in CLASSES
            for n in clients
        )
        verdict(
            worst[0] >= 5,
            f">= 5x rdflib-endpoint on every query class (lowest {worst[0]:.2f}x: "
            f"{worst[1]}, {worst[2]} clients)",
        )
    s = streams["boostkg JSON"]
    verdict(
        s["status"] == 200 and s["rows"] == STREAM_ROWS and s["peak_mib"] - s["baseline_mib"] < 200,
        f"1M-row SELECT streamed by boostkg, server RSS grew {s['peak_mib'] - s['baseline_mib']:.0f} MiB "
        "(goal: < 200 MiB, i.e. not held whole)",
    )


if __name__ == "__main__":
    main()
