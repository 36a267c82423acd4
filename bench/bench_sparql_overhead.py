"""Per-request overhead of ``/sparql``: point-lookup requests per second through a real server.

Usage::

    .venv/bin/python bench/bench_sparql_overhead.py [--store DIR] [--seconds 3] [--rounds 3]
        [--clients 1,8] [--baseline-code DIR]

Starts ``boostkg serve`` on a store built by ``boostkg main --no-serve`` (built into a temporary
directory unless ``--store`` is given), samples 200 organisation and project IRIs from it, and
drives ``SELECT ?p ?o WHERE { <iri> ?p ?o }`` (JSON results) from 1 and 8 client processes, each
with one keep-alive HTTP/1.1 connection (the load generator never shares a process with the
server). With ``--baseline-code DIR`` (a checkout of an older commit, e.g. made with
``git worktree add DIR <commit>``) the same cells are run against that code too, launched by that
checkout's own ``boostkg serve`` (its ``boostkg.cli`` on ``PYTHONPATH``), rounds interleaved; the
table gives requests/s per server and cell (the median of the rounds).
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parent.parent
PYTHON = Path(sys.executable)
BOOSTKG = PYTHON.parent / "boostkg"
ACCEPT = "application/sparql-results+json"
BASELINE_LAUNCH = "import sys; from boostkg.cli import app; sys.argv[0] = 'boostkg'; app()"
"""The baseline checkout's own ``boostkg serve`` (its ``boostkg.cli`` on ``PYTHONPATH``)."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _env(code: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOSTKG_")}
    if code is not None:
        env["PYTHONPATH"] = str(code)
    return env


@contextmanager
def served(store: Path, code: Path | None, log: Path, processes: int = 1) -> Iterator[tuple[int, int]]:
    """A server on ``store`` (this checkout's ``boostkg serve`` with ``processes`` HTTP processes,
    or ``code``'s baseline launch)."""
    port = _free_port()
    if code is None:
        cmd = [str(BOOSTKG), "serve", "--store", str(store), "--host", "127.0.0.1", "--port", str(port)]
    else:
        cmd = [str(PYTHON), "-c", BASELINE_LAUNCH, "serve", "--store", str(store)]
        cmd += ["--host", "127.0.0.1", "--port", str(port)]
    env = _env(code)
    if code is None:
        env["BOOSTKG_HTTP_PROCESSES"] = str(processes)
    with log.open("wb") as out:
        # cwd: the checkout whose code runs (python -c puts the working directory first on sys.path)
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=code or ROOT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"server exited:\n{log.read_text()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/health")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"server did not start:\n{log.read_text()}")
            time.sleep(0.2)
        yield port, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) used so far by ``pid`` and its live children (query workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(entry.name) == pid or int(fields[1]) == pid:  # lookup processes are children too
            total += int(fields[11]) + int(fields[12])
    return total / tick


def _get(conn: http.client.HTTPConnection, query: str) -> bytes:
    conn.request("GET", "/sparql?" + urlencode({"query": query}, quote_via=quote), headers={"Accept": ACCEPT})
    response = conn.getresponse()
    body = response.read()
    if response.status != 200:
        raise RuntimeError(f"{response.status}: {body[:300]!r}")
    return body


def sample_queries(port: int) -> list[str]:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    found = json.loads(
        _get(
            conn,
            "PREFIX icf: <https://w3id.org/boostkg/icf#> SELECT ?x WHERE { "
            "{ ?x a icf:Organisation } UNION { ?x a icf:Project } } LIMIT 5000",
        )
    )
    iris = [b["x"]["value"] for b in found["results"]["bindings"]]
    rng = random.Random(4)
    picked = rng.sample(iris, min(200, len(iris)))
    return [f"SELECT ?p ?o WHERE {{ <{iri}> ?p ?o }}" for iri in picked]


def _client(port: int, queries: list[str], start: float, stop: float, seed: int) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    rng = random.Random(seed)
    _get(conn, queries[0])
    while time.time() < start:
        time.sleep(0.001)
    done = 0
    while time.time() < stop:
        _get(conn, rng.choice(queries))
        done += 1
    return done


def throughput(port: int, pid: int, queries: list[str], clients: int, seconds: float) -> tuple[float, float]:
    """Requests per second from ``clients`` processes over ``seconds``, and the server's CPU
    microseconds per request (the server process and its workers; robust on a busy machine)."""
    start = time.time() + 1.5
    with multiprocessing.get_context("spawn").Pool(clients) as pool:
        pending = pool.starmap_async(
            _client, [(port, queries, start, start + seconds, i) for i in range(clients)]
        )
        time.sleep(max(0.0, start - time.time()))
        cpu_before = _cpu_seconds(pid)
        counts = pending.get()
        cpu = _cpu_seconds(pid) - cpu_before
    done = sum(counts)
    return done / seconds, cpu / done * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", default="1,8")
    parser.add_argument("--baseline-code", type=Path)
    parser.add_argument("--processes", default="1", help="BOOSTKG_HTTP_PROCESSES values to run, e.g. 1,2")
    args = parser.parse_args()
    clients = [int(c) for c in args.clients.split(",")]
    with tempfile.TemporaryDirectory(prefix="bench-overhead-") as tmp:
        work = Path(tmp)
        store = args.store
        if store is None:
            store = work / "store"
            subprocess.run(
                [str(BOOSTKG), "main", "--no-serve", "--store", str(store)],
                check=True,
                env=_env(None),
                stdout=subprocess.DEVNULL,
            )
        servers: dict[str, tuple[Path | None, int]] = {}
        if args.baseline_code is not None:
            servers["baseline"] = (args.baseline_code.resolve(), 1)
        for count in (int(n) for n in args.processes.split(",")):
            servers["boostkg" if count == 1 else f"boostkg x{count}"] = (None, count)
        rates: dict[tuple[str, int], list[float]] = {}
        costs: dict[tuple[str, int], list[float]] = {}
        for round_no in range(args.rounds):
            for name, (code, count) in servers.items():
                with served(store, code, work / f"{name}.log", count) as (port, pid):
                    time.sleep(1.5)  # lookup processes start after the server answers
                    queries = sample_queries(port)
                    for n in clients:
                        rate, cost = throughput(port, pid, queries, n, args.seconds)
                        rates.setdefault((name, n), []).append(rate)
                        costs.setdefault((name, n), []).append(cost)
                        print(
                            f"round {round_no + 1} {name:10} {n} client(s): {rate:8.0f} req/s, "
                            f"server CPU {cost:6.0f} µs/request",
                            flush=True,
                        )
        heads = [f"{n} client(s): req/s, server CPU µs/req" for n in clients]
        print("\n| server | " + " | ".join(heads) + " |")
        print("|---|" + "---:|" * len(clients))
        for name in servers:
            cells = " | ".join(
                f"{statistics.median(rates[(name, n)]):,.0f}, {statistics.median(costs[(name, n)]):,.0f}"
                for n in clients
            )
            print(f"| {name} | {cells} |")


if __name__ == "__main__":
    main()
