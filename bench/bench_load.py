"""Load benchmark: `boostkg serve` under 50 concurrent clients mixing queries, pages and submissions.

    .venv/bin/python bench/bench_load.py [--store DIR] [--remote] [--clients 50] [--seconds 60]
        [--procs 1] [--data ../shared/data/cordis-h2020]

Starts ``boostkg serve`` on 127.0.0.1 on a copy of ``--store`` (or on a store it builds with
``boostkg main --no-serve`` and ``boostkg import cordis`` in a temporary folder). With ``--remote``
it starts an Oxigraph server (scripts/oxigraph-server.sh), loads the same data into it through
boostkg (``main --no-serve`` and ``import cordis`` with ``BOOSTKG_STORE_URL`` and friends) and
points ``boostkg serve`` at it. Three stewards' tokens are created with ``boostkg token create``
before the server starts.

The load generator runs in ``--procs`` processes of its own (asyncio + httpx, closed loop: each
client sends its next request when the last one is answered). Each client draws its next request
from a fixed mix: SPARQL queries of every class of bench_endpoint.py (point, two-hop, aggregate,
text filter, CONSTRUCT), linked-data pages of /id/... entities as HTML and as Turtle, and steward
submissions: valid Turtle with a unique marker IRI, and invalid Turtle (a nameless SME) that must
get 422. The generator reports its own CPU use and event-loop lag, so a saturated generator shows.

Checks at the end: no 5xx; every accepted submission is listed once by GET /submissions and its
marker IRI is in the store exactly once, in its own graph; no rejected submission left a marker or
a record. Prints a Markdown table (p50, p99, requests/s per class), errors by status, the server's
peak RSS and verdict lines. Exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))

from bench_endpoint import query_mix, select, tree_rss  # noqa: E402

BOOSTKG = Path(sys.executable).with_name("boostkg")
DEFAULT_DATA = REPO.parent / "shared" / "data" / "cordis-h2020"
ID = "https://w3id.org/boostkg/id/"
TIT = ID + "organisation/tit"
SUBMISSION_TIMEOUT_S = 300.0
REQUEST_TIMEOUT_S = 120.0
PREFIXES = f"""@prefix icf: <https://w3id.org/boostkg/icf#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix nuts: <http://data.europa.eu/nuts/code/> .
@prefix org: <{ID}organisation/> .
@prefix need: <{ID}need/> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
@prefix theme: <https://w3id.org/boostkg/theme/> .
"""
WEIGHTS = {
    "sparql point": 16,
    "sparql two-hop": 8,
    "sparql aggregate": 4,
    "sparql text": 6,
    "sparql construct": 6,
    "page html": 10,
    "page turtle": 10,
    "submit valid": 2,
    "submit invalid": 1,
}
"""Per 63 requests: 40 SPARQL queries (the bench_endpoint mixed pattern), 20 pages, 3 submissions."""


def valid_turtle(slug: str) -> bytes:
    """A conforming submission: one SME in RO11 (the marker IRI org:<slug>) and its need."""
    return (
        PREFIXES + f'org:{slug} a icf:SME ; rdfs:label "{slug}"@en ; icf:inRegion nuts:RO11 ;\n'
        f'  dcterms:description "An SME of the load benchmark."@en ;\n'
        f"  foaf:homepage <https://example.org/{slug}> ; icf:hasTheme theme:ict-digital ;\n"
        f"  icf:hasNeed need:{slug} .\n"
        f'need:{slug} a icf:Need ; rdfs:label "Need of {slug}"@en ;\n'
        f'  dcterms:description "What {slug} looks for."@en ; icf:hasTheme theme:ict-digital .\n'
    ).encode()


def invalid_turtle(slug: str) -> bytes:
    """A non-conforming submission (an SME without a name): 422."""
    return (PREFIXES + f'org:{slug} a icf:SME ; icf:pic "12" .\n').encode()


# --- the load generator (its own process) -----------------------------------------------------------


async def _loadgen(spec: dict[str, Any]) -> dict[str, Any]:
    import httpx

    base: str = spec["base"]
    run_id: str = spec["run"]
    proc_no: int = spec["proc"]
    deadline = time.monotonic() + spec["seconds"]
    classes = list(WEIGHTS)
    weights = [WEIGHTS[c] for c in classes]
    latencies: dict[str, list[float]] = {c: [] for c in classes}
    statuses: dict[str, Counter[int]] = {c: Counter() for c in classes}
    failures: list[str] = []
    accepted: list[dict[str, str]] = []
    rejected: list[str] = []
    unexpected: list[str] = []
    counter = 0
    lag: list[float] = []

    async def ticker() -> None:
        while time.monotonic() < deadline:
            before = time.monotonic()
            await asyncio.sleep(0.05)
            lag.append(time.monotonic() - before - 0.05)

    limits = httpx.Limits(
        max_connections=spec["clients"] + 4,
        max_keepalive_connections=spec["clients"] + 4,
        keepalive_expiry=spec["keepalive_expiry"],
    )
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=REQUEST_TIMEOUT_S) as http:

        async def one(cls: str, crng: random.Random) -> None:
            nonlocal counter
            started = time.perf_counter()
            marker = ""
            if cls.startswith("sparql"):
                query, accept = crng.choice(spec["queries"][cls.split()[1]])
                req = http.post(
                    "/sparql",
                    data={"query": query},
                    headers={"Accept": accept},
                )
            elif cls.startswith("page"):
                path = crng.choice(spec["pages"])
                accept = "text/html" if cls == "page html" else "text/turtle"
                req = http.get(path, headers={"Accept": accept})
            else:
                counter += 1
                marker = f"load-{run_id}-{proc_no}-{counter}"
                body = valid_turtle(marker) if cls == "submit valid" else invalid_turtle(marker)
                token = crng.choice(spec["tokens"])
                req = http.post(
                    "/submissions",
                    content=body,
                    headers={
                        "Content-Type": "text/turtle",
                        "Authorization": f"Bearer {token}",
                        "Content-Disposition": f'attachment; filename="{marker}.ttl"',
                    },
                    timeout=SUBMISSION_TIMEOUT_S,
                )
            try:
                response = await req
                await response.aread()
            except httpx.HTTPError as exc:
                failures.append(
                    f"{cls}: {type(exc).__name__}: {exc!r} after {time.perf_counter() - started:.3f} s, "
                    f"{spec['seconds'] - (deadline - time.monotonic()):.1f} s into the run"
                )
                statuses[cls][0] += 1
                if marker:
                    unexpected.append(f"{marker}: no answer ({type(exc).__name__}); outcome unknown")
                return
            elapsed = time.perf_counter() - started
            latencies[cls].append(elapsed)
            statuses[cls][response.status_code] += 1
            if response.status_code >= 500:
                failures.append(f"{cls}: {response.status_code} {response.text[:300]}")
            if cls == "submit valid":
                if response.status_code == 201:
                    body_json = response.json()
                    accepted.append({"marker": marker, "id": body_json["id"], "graph": body_json["graph"]})
                else:
                    rejected.append(marker)
                    unexpected.append(
                        f"{marker}: valid submission got {response.status_code} {response.text[:200]}"
                    )
            elif cls == "submit invalid":
                rejected.append(marker)
                if response.status_code != 422:
                    unexpected.append(f"{marker}: invalid submission got {response.status_code}")

        async def client(index: int) -> None:
            crng = random.Random(f"{spec['seed']}-{index}")
            while time.monotonic() < deadline:
                await one(crng.choices(classes, weights)[0], crng)

        tick = asyncio.create_task(ticker())
        wall = time.monotonic()
        await asyncio.gather(*(client(i) for i in range(spec["clients"])))
        wall = time.monotonic() - wall
        await tick
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "latencies": latencies,
        "statuses": {c: dict(v) for c, v in statuses.items()},
        "failures": failures,
        "accepted": accepted,
        "rejected": rejected,
        "unexpected": unexpected,
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "lag_max": max(lag, default=0.0),
        "lag_p99": sorted(lag)[int(len(lag) * 0.99)] if lag else 0.0,
    }


def loadgen_main(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    result = asyncio.run(_loadgen(spec))
    Path(spec["out"]).write_text(json.dumps(result))


# --- set-up -----------------------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def env_for(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOSTKG_")}
    env.update(COLUMNS="200", NO_COLOR="1", TERM="dumb")
    env.update(extra)
    return env


def boostkg(args: list[str], env: dict[str, str], cwd: Path) -> str:
    started = time.perf_counter()
    done = subprocess.run(
        [str(BOOSTKG), *args], env=env, cwd=cwd, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"boostkg {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    print(f"  boostkg {' '.join(args[:2])}: {time.perf_counter() - started:.1f} s", flush=True)
    return done.stdout


def wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, seconds: float = 120) -> None:
    import httpx

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"boostkg serve exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {seconds:.0f} s:\n{log.read_text()[-3000:]}")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


# --- the run ----------------------------------------------------------------------------------------


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--_loadgen":
        loadgen_main(sys.argv[2])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, help="an embedded store to copy (default: build one)")
    parser.add_argument("--remote", action="store_true", help="run against an Oxigraph server")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--procs", type=int, default=1, help="load generator processes")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument(
        "--keepalive-expiry",
        type=float,
        default=5.0,
        help="seconds the clients keep an idle connection (httpx's default 5 s equals uvicorn's keep-alive)",
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-load-"))
    local = work / "store"
    extra: dict[str, str] = {}
    oxigraph_dir = work / "oxigraph"
    serve: subprocess.Popen[bytes] | None = None
    clean = False
    print(f"work folder {work}", flush=True)
    try:
        if args.remote:
            started = subprocess.run(
                ["bash", str(REPO / "scripts" / "oxigraph-server.sh"), "start", "", str(oxigraph_dir)],
                capture_output=True,
                text=True,
                check=True,
            )
            extra = {
                k: v
                for k, v in (line.split("=", 1) for line in started.stdout.splitlines() if "=" in line)
                if k.startswith("BOOSTKG_")
            }
            local.mkdir()
            env = env_for({**extra, "BOOSTKG_STORE": str(local)})
            print(f"Oxigraph server: {extra['BOOSTKG_STORE_URL']}; loading", flush=True)
            boostkg(["main", "--no-serve"], env, work)
            boostkg(["import", "cordis", str(args.data)], env, work)
        elif args.store is not None:
            shutil.copytree(args.store, local)
            env = env_for({"BOOSTKG_STORE": str(local)})
        else:
            env = env_for({"BOOSTKG_STORE": str(local)})
            boostkg(["main", "--no-serve", "--store", str(local)], env, work)
            boostkg(["import", "cordis", str(args.data), "--store", str(local)], env, work)
        tokens = [
            boostkg(
                [
                    "token",
                    "create",
                    "--steward",
                    f"Load steward {i}",
                    "--organisation",
                    TIT,
                    "--region",
                    "RO11",
                    "--store",
                    str(local),
                ],
                env,
                work,
            ).strip()
            for i in range(3)
        ]
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = work / "serve.log"
        serve_env = dict(env)
        if args.remote:
            serve_env.setdefault("BOOSTKG_QUERY_WORKERS", str(args.clients))
        with log.open("wb") as out:
            serve = subprocess.Popen(
                [str(BOOSTKG), "serve", "--host", "127.0.0.1", "--port", str(port)],
                env=serve_env,
                cwd=work,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        wait_http(base + "/health", serve, log)
        print(f"boostkg serve (pid {serve.pid}) at {base}", flush=True)

        mix = query_mix(base + "/sparql")
        queries = {c: mix[c] for c in ("point", "two-hop", "aggregate", "text", "construct")}
        entities = [
            r["s"]
            for r in select(
                base + "/sparql",
                "SELECT ?s WHERE { { SELECT ?s WHERE { ?s icf:pic ?pic } LIMIT 150 } } ",
            )
        ] + [r["s"] for r in select(base + "/sparql", "SELECT ?s WHERE { ?s icf:rcn ?r } LIMIT 150")]
        pages = ["/" + e.removeprefix("https://w3id.org/boostkg/") for e in entities if e.startswith(ID)]
        print(
            f"mix: {', '.join(f'{c} {len(v)}' for c, v in queries.items())} queries, {len(pages)} pages",
            flush=True,
        )

        run_id = uuid.uuid4().hex[:8]
        peak = [tree_rss(serve.pid)]
        ox_pid = int((oxigraph_dir / "pid").read_text()) if args.remote else 0
        ox_peak = [tree_rss(ox_pid) if ox_pid else 0]
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                peak.append(tree_rss(serve.pid) if serve is not None else 0)
                if ox_pid:
                    ox_peak.append(tree_rss(ox_pid))
                stop.wait(0.25)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        procs = []
        outs = []
        per_proc = [
            args.clients // args.procs + (1 if i < args.clients % args.procs else 0)
            for i in range(args.procs)
        ]
        for i, n in enumerate(per_proc):
            spec_path = work / f"spec-{i}.json"
            out_path = work / f"out-{i}.json"
            spec_path.write_text(
                json.dumps(
                    {
                        "base": base,
                        "run": run_id,
                        "proc": i,
                        "seed": 6 + i,
                        "clients": n,
                        "seconds": args.seconds,
                        "queries": queries,
                        "pages": pages,
                        "tokens": tokens,
                        "out": str(out_path),
                        "keepalive_expiry": args.keepalive_expiry,
                    }
                )
            )
            procs.append(subprocess.Popen([sys.executable, __file__, "--_loadgen", str(spec_path)]))
            outs.append(out_path)
        load_before = os.getloadavg()
        for p in procs:
            p.wait()
        stop.set()
        sampler.join()
        load_after = os.getloadavg()
        results = [json.loads(o.read_text()) for o in outs]
        clean = report(args, base, results, max(peak), load_before, load_after, log, serve.pid)
        if ox_pid:
            print(f"- Oxigraph server peak RSS (sampled likewise): {max(ox_peak) / 2**20:,.0f} MiB")
    finally:
        if serve is not None and serve.poll() is None:
            serve.terminate()
            try:
                serve.wait(timeout=30)
            except subprocess.TimeoutExpired:
                serve.kill()
        if not clean and (work / "serve.log").is_file():
            kept = Path(tempfile.gettempdir()) / f"{work.name}-serve.log"
            shutil.copy(work / "serve.log", kept)
            print(f"the server's log is kept in {kept}")
        if args.remote:
            subprocess.run(
                ["bash", str(REPO / "scripts" / "oxigraph-server.sh"), "stop", str(oxigraph_dir)],
                capture_output=True,
                check=False,
            )
        shutil.rmtree(work, ignore_errors=True)


def report(
    args: argparse.Namespace,
    base: str,
    results: list[dict[str, Any]],
    peak_rss: int,
    load_before: tuple[float, float, float],
    load_after: tuple[float, float, float],
    log: Path,
    pid: int,
) -> bool:
    """Print the table and the verdicts; ``True`` when every check passed."""
    import httpx

    wall = max(r["wall"] for r in results)
    print()
    print(
        f"### {'Oxigraph server (remote)' if args.remote else 'embedded store'}: "
        f"{args.clients} clients, {args.seconds:g} s, {args.procs} load generator process(es), "
        f"client keep-alive {args.keepalive_expiry:g} s"
    )
    print()
    print("| class | requests | req/s | p50 ms | p99 ms | statuses |")
    print("|---|---:|---:|---:|---:|---|")
    total_lat: list[float] = []
    all_status: Counter[int] = Counter()
    for cls in WEIGHTS:
        lat = [x for r in results for x in r["latencies"][cls]]
        st: Counter[int] = Counter()
        for r in results:
            st.update({int(k): v for k, v in r["statuses"][cls].items()})
        all_status.update(st)
        total_lat += lat
        print(
            f"| {cls} | {len(lat):,} | {len(lat) / wall:.1f} | {percentile(lat, 0.5) * 1000:.0f} | "
            f"{percentile(lat, 0.99) * 1000:.0f} | "
            + ", ".join(f"{k}: {v:,}" for k, v in sorted(st.items()))
            + " |"
        )
    print(
        f"| **all** | {len(total_lat):,} | {len(total_lat) / wall:.1f} | "
        f"{percentile(total_lat, 0.5) * 1000:.0f} | {percentile(total_lat, 0.99) * 1000:.0f} | "
        + ", ".join(f"{k}: {v:,}" for k, v in sorted(all_status.items()))
        + " |"
    )
    print()
    print(f"- server peak RSS (process tree, sampled every 0.25 s): {peak_rss / 2**20:,.0f} MiB")
    cpu = sum(r["cpu"] for r in results)
    print(
        f"- load generator: {cpu:.1f} s CPU in {wall:.1f} s ({cpu / wall * 100:.0f}% of one core over "
        f"{len(results)} process(es)); event-loop lag p99 "
        f"{max(r['lag_p99'] for r in results) * 1000:.0f} ms, "
        f"max {max(r['lag_max'] for r in results) * 1000:.0f} ms"
    )
    print(
        f"- load average before / after: {' '.join(f'{x:.2f}' for x in load_before)} / "
        f"{' '.join(f'{x:.2f}' for x in load_after)}"
    )
    errors = {k: v for k, v in all_status.items() if k >= 400 or k == 0}
    print(f"- errors by status (0 = no answer): {errors or 'none'}; 422 expected for 'submit invalid'")

    # --- integrity of the submissions ---
    accepted = [a for r in results for a in r["accepted"]]
    rejected = [m for r in results for m in r["rejected"]]
    unexpected = [u for r in results for u in r["unexpected"]]
    listed = httpx.get(base + "/submissions", timeout=120).json()["submissions"]
    by_id = Counter(s["id"] for s in listed)
    run_prefix = "load-" + (accepted[0]["marker"].split("-")[1] if accepted else "")
    lost_records = [a for a in accepted if by_id[a["id"]] == 0]
    dup_records = [a for a in accepted if by_id[a["id"]] > 1]
    accepted_ids = {a["id"] for a in accepted}
    run_records = [s for s in listed if str(s.get("steward", "")).startswith("Load steward")]
    stray_records = [s for s in run_records if s["id"] not in accepted_ids]
    prefix_iri = ID + "organisation/" + (run_prefix if accepted else "load-")
    rows = select(
        base + "/sparql",
        f'SELECT ?s ?g WHERE {{ GRAPH ?g {{ ?s a icf:SME }} FILTER(STRSTARTS(STR(?s), "{prefix_iri}")) }}',
    )
    where: dict[str, list[str]] = {}
    for row in rows:
        where.setdefault(row["s"].removeprefix(ID + "organisation/"), []).append(row["g"])
    lost = [a["marker"] for a in accepted if not where.get(a["marker"])]
    dup = [a["marker"] for a in accepted if len(where.get(a["marker"], [])) > 1]
    misplaced = [
        a["marker"] for a in accepted if where.get(a["marker"]) and where[a["marker"]] != [a["graph"]]
    ]
    leaked = [m for m in rejected if m in where]
    count_rows = select(
        base + "/sparql",
        "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s a icf:SME } "
        f'FILTER(STRSTARTS(STR(?s), "{prefix_iri}")) }}',
    )
    print(
        f"- submissions: {len(accepted):,} accepted (201), {len(rejected):,} refused; GET /submissions lists "
        f"{len(run_records):,} of this run's stewards; SPARQL counts {int(count_rows[0]['n']):,} marker "
        f"triples (expected {len(accepted):,})"
    )
    print()
    five = sum(v for k, v in all_status.items() if k >= 500)
    failures = [f for r in results for f in r["failures"]]
    print(f"{'PASS' if five == 0 else 'MISS'}: 5xx responses: {five}")
    if failures:
        print(f"MISS: failed requests (5xx or no answer): {len(failures)}; first ones:")
        for f in failures[:10]:
            print(f"    {f}")
    ok_sub = not (lost or dup or misplaced or lost_records or dup_records)
    print(
        f"{'PASS' if ok_sub else 'MISS'}: accepted submissions in the store exactly once: "
        f"lost {len(lost)} (records {len(lost_records)}), duplicated {len(dup)} (records "
        f"{len(dup_records)}), in another graph {len(misplaced)}"
    )
    print(
        f"{'PASS' if not leaked and not stray_records else 'MISS'}: refused submissions left nothing: "
        f"{len(leaked)} markers, {len(stray_records)} records"
    )
    print(
        f"{'PASS' if not unexpected else 'MISS'}: submissions answered as expected (201 / 422): "
        f"{len(unexpected)} unexpected"
    )
    for u in unexpected[:10]:
        print(f"    {u}")
    if five or failures:
        lines = [
            ln
            for ln in log.read_text(errors="replace").splitlines()
            if " 50" in ln or "Error" in ln or "Traceback" in ln
        ]
        print(f"server log (pid {pid}), lines naming errors: {len(lines)}")
        for ln in lines[:30]:
            print(f"    {ln[:300]}")
    return not (five or failures or unexpected or leaked or stray_records) and ok_sub


if __name__ == "__main__":
    main()
