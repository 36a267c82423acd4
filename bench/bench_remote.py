"""Remote store benchmark: the endpoint's query throughput through boostkg on a remote Oxigraph
server, as a ratio to querying that server directly, in the same run.

    .venv/bin/python bench/bench_remote.py [--seconds 5] [--rounds 2] [--clients 8] [--profile F]

Starts ``oxigraph serve`` (scripts/oxigraph-server.sh) in a temporary folder, loads the project's
graphs into it through boostkg (bootstrap: ontology, vocabularies, NUTS, EIS, seed, inference),
starts ``boostkg serve`` with ``BOOSTKG_STORE_URL`` pointing at it, then drives both with the same
query mix from ``--clients`` threads (stdlib ``http.client``, keep-alive), alternating direct and
through-boostkg cells for ``--rounds`` rounds. Query mix: point lookups (every triple of one NUTS
region), 2-hop joins (a region's parent's label), aggregates (instances per class) and CONSTRUCT (a
region's description), with the region drawn from the data for each request. Prints requests/s and
p50/p99 per cell, requests/s per query class in each cell with their ratio, and the overall ratio
through/direct (goal of issue 6: at least 0.8), with the commit and the load average before and
after. ``--profile F`` samples the boostkg server with py-spy (``--py-spy``, raw format, 400 Hz)
during the through-boostkg cells and writes the folded stacks to F. ``--baseline REF`` also serves
the code of commit REF (``git archive`` into the temporary folder, the same virtualenv) from a
second ``boostkg serve`` on the same Oxigraph server, as a third cell in each round, so that before
and after are measured interleaved at the same load. Loopback only.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = Path(sys.executable)
NUTS = "http://data.europa.eu/nuts/code/"
ICF = "https://w3id.org/boostkg/icf#"


def queries_for(region: str) -> list[tuple[str, str, str]]:
    """(class, query, Accept) for one region."""
    json_results = "application/sparql-results+json"
    return [
        ("lookup", f"SELECT ?p ?o WHERE {{ <{region}> ?p ?o }}", json_results),
        (
            "2-hop",
            f"SELECT ?parent ?code WHERE {{ <{region}> <{ICF}directlyPartOf> ?parent . "
            f"?parent <{ICF}nutsCode> ?code }}",
            json_results,
        ),
        (
            "aggregate",
            "SELECT ?c (COUNT(?s) AS ?n) WHERE { ?s a ?c } GROUP BY ?c ORDER BY DESC(?n) LIMIT 20",
            json_results,
        ),
        (
            "construct",
            f"CONSTRUCT {{ <{region}> ?p ?o }} WHERE {{ <{region}> ?p ?o }}",
            "application/n-triples",
        ),
    ]


def drive(
    host: str, port: int, path: str, regions: list[str], clients: int, seconds: float
) -> dict[str, list[float]]:
    """Send the mix from ``clients`` threads for ``seconds``; latencies per class (errors: 'error')."""
    results: dict[str, list[float]] = {}
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(seed: int) -> None:
        rng = random.Random(seed)
        conn = http.client.HTTPConnection(host, port, timeout=60)
        mine: dict[str, list[float]] = {}
        while time.monotonic() < stop:
            kind, query, accept = rng.choice(queries_for(rng.choice(regions)))
            url = f"{path}?{urllib.parse.urlencode({'query': query})}"
            started = time.perf_counter()
            conn.request("GET", url, headers={"Accept": accept})
            response = conn.getresponse()
            response.read()
            elapsed = time.perf_counter() - started
            mine.setdefault(kind if response.status == 200 else "error", []).append(elapsed)
        conn.close()
        with lock:
            for kind, values in mine.items():
                results.setdefault(kind, []).extend(values)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _wait_http(port: int, path: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status < 500:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"nothing answered on port {port} within {seconds} s")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process and its living descendants have used (Linux /proc):
    ``boostkg serve``'s relay processes (BOOSTKG_HTTP_PROCESSES) count as boostkg's."""
    parents: dict[int, int] = {}
    spent: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
            spent[int(entry.name)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    tree, grown = {pid}, True
    while grown:
        grown = False
        for child, parent in parents.items():
            if parent in tree and child not in tree:
                tree.add(child)
                grown = True
    return sum(spent.get(p, 0.0) for p in tree)


def micro(
    env_lines: dict[str, str], regions: list[str], clients: int, requests: int, server_pid: int
) -> None:
    """The server hop alone: ``requests`` queries of the mix through
    :class:`~boostkg.store.remote_queries.RemoteQueries` from ``clients`` tasks in this process
    (uvloop when installed, as ``boostkg serve`` runs), each answer read to its end; prints this
    process's CPU time per request, and the Oxigraph server's (``server_pid``) beside it."""
    import asyncio

    from boostkg.store import RdfFormat, ResultFormat
    from boostkg.store.remote import RemoteStore
    from boostkg.store.remote_queries import RemoteQueries
    from boostkg.store.workers import QueryJob

    formats = {"application/sparql-results+json": ResultFormat.JSON}
    rng = random.Random(7)
    jobs = [
        QueryJob(query=query, results=formats.get(accept, ResultFormat.JSON), rdf=RdfFormat.NTRIPLES)
        for _, query, accept in (rng.choice(queries_for(rng.choice(regions))) for _ in range(requests))
    ]

    server_cpu: list[float] = []

    async def run() -> tuple[float, float, int]:
        store = RemoteStore(env_lines["BOOSTKG_STORE_URL"])
        pool = RemoteQueries(clients, store)
        await pool.start()
        size = 0
        queue = list(reversed(jobs))

        async def client() -> None:
            nonlocal size
            while queue:
                answer = await pool.run(queue.pop(), timeout_s=30)
                async for chunk in answer.chunks:
                    size += len(chunk)

        try:
            await asyncio.gather(*(client() for _ in range(clients)))  # warm-up: connections opened
            queue.extend(reversed(jobs))
            cpu, wall, server = time.process_time(), time.perf_counter(), cpu_seconds(server_pid)
            await asyncio.gather(*(client() for _ in range(clients)))
            server_cpu.append(cpu_seconds(server_pid) - server)
            return time.process_time() - cpu, time.perf_counter() - wall, size
        finally:
            await pool.close()
            store.close()

    try:
        import uvloop

        cpu, wall, size = uvloop.run(run())
    except ImportError:
        cpu, wall, size = asyncio.run(run())
    print(
        f"micro: {requests} requests from {clients} tasks through RemoteQueries: "
        f"{cpu / requests * 1e6:.0f} us CPU per request in this process "
        f"(Oxigraph: {server_cpu[0] / requests * 1e6:.0f} us), {requests / wall:.0f} req/s, "
        f"{size / requests:.0f} bytes per answer on average"
    )


def _start_profile(py_spy: Path, pid: int, output: Path, round_no: int) -> subprocess.Popen[bytes]:
    """py-spy sampling ``pid`` (and its children) into ``output`` (``-<round>`` added after the
    first round), raw folded stacks."""
    target = output if round_no == 0 else output.with_name(f"{output.stem}-{round_no}{output.suffix}")
    command = [str(py_spy), "record", "--subprocesses", "-r", "400", "-f", "raw", "-o", str(target)]
    spy = subprocess.Popen([*command, "-p", str(pid)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # py-spy attaches before the cell starts
    return spy


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve_commit(ref: str, work: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    """``boostkg serve`` running the code of commit ``ref`` (exported under ``work``), same settings."""
    tree = work / f"tree-{ref}"
    tree.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    port = _free_port()
    process = subprocess.Popen(
        [str(PYTHON), "-c", "import sys; from boostkg.cli import run; sys.exit(run())", "serve"],
        cwd=work,
        env={**env, "BOOSTKG_PORT": str(port), "PYTHONPATH": str(tree)},
        stdout=subprocess.DEVNULL,
        stderr=(work / f"serve-{ref}.log").open("wb"),
    )
    _wait_http(port, "/health")
    return process, port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--profile", type=Path, help="py-spy raw profile of the server (through cells)")
    parser.add_argument(
        "--micro", type=int, default=0, help="only the delegation micro-benchmark, this many requests"
    )
    parser.add_argument(
        "--py-spy",
        type=Path,
        help="py-spy for --profile (default: the one on PATH; bench_endpoint.py's --venv has one)",
    )
    parser.add_argument("--baseline", help="also serve this commit's code, as a cell of its own")
    args = parser.parse_args()
    if args.profile and args.py_spy is None:
        found = shutil.which("py-spy")
        if found is None:
            parser.error("--profile needs py-spy: put it on PATH or name it with --py-spy")
        args.py_spy = Path(found)
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    print(f"commit {commit}, load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    sys.path.insert(0, str(ROOT))
    from boostkg.config import Settings
    from boostkg.ingest.bootstrap import bootstrap
    from boostkg.store.remote import RemoteStore

    work = Path(tempfile.mkdtemp(prefix="bench-remote-"))
    started = subprocess.run(
        ["bash", str(ROOT / "scripts" / "oxigraph-server.sh"), "start", "", str(work / "oxigraph")],
        capture_output=True,
        text=True,
        check=True,
    )
    env_lines = dict(
        line.split("=", 1) for line in started.stdout.splitlines() if line.startswith("BOOSTKG_")
    )
    serve: subprocess.Popen[bytes] | None = None
    baseline: subprocess.Popen[bytes] | None = None
    try:
        store = RemoteStore(
            env_lines["BOOSTKG_STORE_URL"],
            update_url=env_lines["BOOSTKG_STORE_UPDATE_URL"],
            gsp_url=env_lines["BOOSTKG_STORE_GSP_URL"],
        )
        settings = Settings()
        loaded = time.perf_counter()
        bootstrap(store, ontology_dir=settings.ontology_dir, data_dir=settings.data_dir)
        print(
            f"bootstrap into Oxigraph: {time.perf_counter() - loaded:.2f} s, {store.triple_count():,} quads"
        )
        regions = [
            str(row["r"])
            for row in store.select(f"SELECT ?r WHERE {{ ?r a <{ICF}NUTSRegion> ; <{ICF}nutsLevel> 2 }}")
        ]
        store.close()
        if args.micro:
            micro(env_lines, regions, args.clients, args.micro, int((work / "oxigraph" / "pid").read_text()))
            return
        port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("BOOSTKG_")}
        env.update(
            env_lines,
            BOOSTKG_PORT=str(port),
            BOOSTKG_STORE=str(work / "unused"),
            BOOSTKG_QUERY_WORKERS=str(args.clients),  # for a remote store: queries sent at once
            PYTHONPATH=str(ROOT),  # the server runs the code of the tree this script is in
        )
        serve = subprocess.Popen(
            [str(PYTHON.with_name("boostkg")), "serve"],
            cwd=work,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(work / "serve.log").open("wb"),
        )
        _wait_http(port, "/health")
        ox_port = int(urllib.parse.urlsplit(env_lines["BOOSTKG_STORE_URL"]).port or 0)
        cells = {
            "direct": ("127.0.0.1", ox_port, "/query"),
            "through boostkg": ("127.0.0.1", port, "/sparql"),
        }
        ox_pid = int((work / "oxigraph" / "pid").read_text())
        pids = {ox_pid: "oxigraph", serve.pid: "boostkg"}
        if args.baseline:
            baseline, base_port = _serve_commit(args.baseline, work, env)
            cells[f"baseline {args.baseline}"] = ("127.0.0.1", base_port, "/sparql")
            pids[baseline.pid] = "boostkg baseline"
        totals: dict[str, list[float]] = {name: [] for name in cells}
        serving = {name: "boostkg baseline" if name.startswith("baseline") else "boostkg" for name in cells}
        serving["direct"] = "oxigraph"
        cpu: dict[str, dict[str, list[float]]] = {name: {} for name in cells}
        rates: dict[str, list[float]] = {name: [] for name in cells}
        kinds: dict[str, dict[str, int]] = {name: {} for name in cells}
        spy: subprocess.Popen[bytes] | None = None
        drive(*cells["direct"], regions, args.clients, 1.0)  # warm-up
        drive(*cells["through boostkg"], regions, args.clients, 1.0)
        if args.baseline:
            drive(*cells[f"baseline {args.baseline}"], regions, args.clients, 1.0)
        for round_no in range(args.rounds):
            order = list(cells) if round_no % 2 == 0 else list(reversed(cells))
            for name in order:
                if args.profile and name != "direct":
                    spy = _start_profile(args.py_spy, serve.pid, args.profile, round_no)
                before = {p: cpu_seconds(p) for p in pids}
                latencies = drive(*cells[name], regions, args.clients, args.seconds)
                if spy is not None:
                    spy.send_signal(signal.SIGINT)  # py-spy writes its file when interrupted
                    spy.wait(timeout=60)
                    spy = None
                count = sum(len(v) for v in latencies.values())
                for p, label in pids.items():
                    if label != "oxigraph" and label != serving[name]:
                        continue  # a cell's CPU: Oxigraph's and that of the boostkg it went through
                    cpu[name].setdefault(label, []).append((cpu_seconds(p) - before[p]) / max(count, 1))
                rates[name].append(count / args.seconds)
                for kind, values in latencies.items():
                    kinds[name][kind] = kinds[name].get(kind, 0) + len(values)
                    if kind == "error":
                        print(f"  {name}: {len(values)} failed requests")
                    totals[name].extend(values)
        print(f"{args.clients} clients, {args.rounds} rounds of {args.seconds:g} s, {len(regions)} regions")
        for name in cells:
            values = sorted(totals[name])
            p99 = values[int(len(values) * 0.99) - 1] * 1000 if values else 0.0
            print(
                f"  {name:16} {statistics.mean(rates[name]):8.0f} req/s   "
                f"p50 {statistics.median(values) * 1000:6.1f} ms   p99 {p99:6.1f} ms   CPU per request: "
                + ", ".join(f"{label} {statistics.mean(v) * 1000:.2f} ms" for label, v in cpu[name].items())
            )
        spent = args.rounds * args.seconds
        through_cells = [name for name in cells if name != "direct"]
        print(
            f"  {'class':12} {'direct req/s':>13} " + " ".join(f"{n[:24]:>24} ratio" for n in through_cells)
        )
        for kind in sorted(set().union(*(kinds[name] for name in cells))):
            direct = kinds["direct"].get(kind, 0) / spent
            shown = ""
            for name in through_cells:
                through = kinds[name].get(kind, 0) / spent
                shown += f" {through:24.0f} " + (f"{through / direct:5.2f}" if direct else "    -")
            print(f"  {kind:12} {direct:13.0f}{shown}")
        for name in through_cells:
            ratio = statistics.mean(rates[name]) / statistics.mean(rates["direct"])
            print(f"  ratio {name}/direct: {ratio:.2f} ({'PASS' if ratio >= 0.8 else 'MISS'} goal >= 0.8)")
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        for process in (serve, baseline):
            if process is not None:
                process.terminate()
                process.wait(timeout=20)
        subprocess.run(
            ["bash", str(ROOT / "scripts" / "oxigraph-server.sh"), "stop", str(work / "oxigraph")],
            capture_output=True,
            check=False,
        )


if __name__ == "__main__":
    main()
