"""Competency-query benchmark over the real data: the named queries on pyoxigraph, rdflib as baseline.

Builds a store as the main job does (ontology, vocabularies, themes, NUTS, EIS, seed, inferences)
plus the CORDIS Horizon 2020 import and a second inference pass, then runs every ``queries/*.rq``
(parameters bound to their declared defaults) ``--repeat`` times through boostkg's store API, and
the same queries with rdflib over a dump of the same store. Every phase runs in its own Python
process, so each peak RSS is that phase's own.

    .venv/bin/python bench/bench_queries.py [--data ../shared/data/cordis-h2020] [--repeat 5]

Prints a table per query, the CORDIS import time, triples/s and peak RSS, and one PASS/MISS line per
goal (every competency query under 1 s; CORDIS import under 60 s and under 2 GB peak). Exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data" / "cordis-h2020"
QUERY_GOAL_S = 1.0
IMPORT_GOAL_S = 60.0
IMPORT_GOAL_MIB = 2048.0
RDFLIB_MAX_RUNS = 3

Result = dict[str, Any]


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# --- children: each phase in its own process --------------------------------------------------------


def child_bootstrap(store_dir: Path) -> Result:
    """Ontology, vocabularies, themes, NUTS, EIS, seed, and inferences, as ``boostkg bootstrap``."""
    from boostkg.ingest.bootstrap import bootstrap
    from boostkg.store import open_store

    store = open_store(store_dir)
    try:
        started = time.perf_counter()
        report = bootstrap(store, ontology_dir=REPO / "ontology", data_dir=REPO / "data")
        seconds = time.perf_counter() - started
        quads = store.triple_count()
    finally:
        store.close()
    return {
        "seconds": seconds,
        "files": len(report.loads),
        "inferred": report.inference.total,
        "quads": quads,
        "peak_rss_mib": _peak_rss_mib(),
    }


def child_import(store_dir: Path, data: Path) -> Result:
    """The CORDIS H2020 import (conversion, bulk load, provenance record) into the bootstrapped store."""
    from boostkg.importers.base import ImportReport
    from boostkg.importers.registry import get_importer
    from boostkg.ingest.loading import run_import
    from boostkg.store import open_store

    store = open_store(store_dir)
    marks: dict[str, float] = {}

    def converted(_: ImportReport) -> None:
        marks["converted"] = time.perf_counter()

    try:
        started = time.perf_counter()
        outcome = run_import(
            store, get_importer("cordis"), data, on_converted=converted, scratch_dir=store_dir.parent
        )
        seconds = time.perf_counter() - started
    finally:
        store.close()
    return {
        "seconds": seconds,
        "convert_s": marks["converted"] - started,
        "load_s": seconds - (marks["converted"] - started),
        "rows": outcome.report.rows_read,
        "triples": outcome.report.triples,
        "problems": outcome.report.problem_count,
        "peak_rss_mib": _peak_rss_mib(),
    }


def child_inference(store_dir: Path) -> Result:
    """Re-materialise the inferred graph over everything, CORDIS included."""
    from boostkg.ingest.inference import materialise_from
    from boostkg.store import open_store

    store = open_store(store_dir)
    try:
        started = time.perf_counter()
        report = materialise_from(store, REPO / "ontology" / "rules")
        seconds = time.perf_counter() - started
        quads = store.triple_count()
    finally:
        store.close()
    return {
        "seconds": seconds,
        "inferred": report.total,
        "quads": quads,
        "peak_rss_mib": _peak_rss_mib(),
    }


def _kind(name: str) -> str:
    return name.split("-", 1)[0]  # select, ask or construct


def child_oxigraph(store_dir: Path, repeat: int, dump: Path) -> Result:
    """Every named query ``repeat`` times through the store API; then dump the store for rdflib."""
    from boostkg.queries.catalog import list_queries
    from boostkg.store import RdfFormat, open_store

    store = open_store(store_dir)
    timings: dict[str, list[float]] = {}
    rows: dict[str, int] = {}
    try:
        for query in list_queries(REPO / "queries"):
            text = query.bound()
            kind = _kind(query.name)
            for _ in range(repeat):
                started = time.perf_counter()
                if kind == "ask":
                    count = int(store.ask(text))
                elif kind == "construct":
                    count = len(store.construct(text))
                else:
                    count = len(store.select(text).rows)
                timings.setdefault(query.name, []).append(time.perf_counter() - started)
                rows[query.name] = count
        peak = _peak_rss_mib()
        with dump.open("wb") as out:
            store.dump(out, RdfFormat.NQUADS)
    finally:
        store.close()
    return {"timings": timings, "rows": rows, "peak_rss_mib": peak}


class _TimeoutError(Exception):
    """A query ran past its time limit."""


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    raise _TimeoutError


def child_rdflib(dump: Path, repeat: int, timeout: float) -> Result:
    """The same queries with rdflib over an in-memory Dataset (default graph = union)."""
    from rdflib import Dataset
    from rdflib.plugins.sparql.sparql import SPARQLError

    from boostkg.queries.catalog import list_queries

    started = time.perf_counter()
    dataset = Dataset(default_union=True)
    dataset.parse(dump, format="nquads")
    parse_s = time.perf_counter() - started
    quads = len(dataset)
    signal.signal(signal.SIGALRM, _on_alarm)
    timings: dict[str, list[float]] = {}
    rows: dict[str, int] = {}
    timed_out: list[str] = []
    failed: dict[str, str] = {}
    for query in list_queries(REPO / "queries"):
        text = query.bound()
        for _ in range(repeat):
            signal.setitimer(signal.ITIMER_REAL, timeout)
            began = time.perf_counter()
            try:
                result = dataset.query(text)
                count = int(bool(result.askAnswer)) if result.type == "ASK" else len(list(result))
            except _TimeoutError:
                timed_out.append(query.name)
                break
            except SPARQLError as exc:  # rdflib's own evaluation errors, e.g. NotBoundError
                failed[query.name] = f"{type(exc).__name__}: {exc}"
                break
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            seconds = time.perf_counter() - began
            timings.setdefault(query.name, []).append(seconds)
            rows[query.name] = count
            if seconds > timeout / 4:
                break  # slow already: one run says enough
    return {
        "parse_s": parse_s,
        "quads": quads,
        "timings": timings,
        "rows": rows,
        "timed_out": timed_out,
        "failed": failed,
        "peak_rss_mib": _peak_rss_mib(),
    }


def run_child(*args: str) -> Result:
    """Run ``--child ARGS...`` in a fresh interpreter and return its JSON result."""
    done = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=False, cwd=REPO
    )
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-5:]
        raise SystemExit(f"child {args[0]} failed (exit {done.returncode}):\n" + "\n".join(tail))
    result: Result = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# --- the report ---------------------------------------------------------------------------------


def _versions() -> str:
    import pyoxigraph
    import rdflib

    return (
        f"python {platform.python_version()}, pyoxigraph {pyoxigraph.__version__}, "
        f"rdflib {rdflib.__version__}, {os.cpu_count()} CPUs"
    )


def _code_version() -> str:
    """The commit measured, and whether the package had uncommitted changes (others work here too)."""
    git = ["git", "-C", str(REPO)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)
    dirty = subprocess.run(
        [*git, "status", "--porcelain", "--", "boostkg", "queries", "ontology", "data"],
        capture_output=True,
        text=True,
        check=False,
    )
    changed = len(dirty.stdout.splitlines())
    return f"boostkg at {head.stdout.strip() or '?'}" + (
        f" + {changed} uncommitted file(s)" if changed else ""
    )


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the cordis-h2020 directory")
    parser.add_argument("--repeat", type=int, default=5, help="runs per query (median and max shown)")
    parser.add_argument("--rdflib-timeout", type=float, default=20.0, help="seconds per rdflib query run")
    parser.add_argument("--no-rdflib", action="store_true", help="skip the rdflib baseline")
    parser.add_argument("--work-dir", type=Path, default=None, help="where the store goes (temp)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        phase, *rest = args.child
        children = {
            "bootstrap": lambda: child_bootstrap(Path(rest[0])),
            "import": lambda: child_import(Path(rest[0]), Path(rest[1])),
            "inference": lambda: child_inference(Path(rest[0])),
            "oxigraph": lambda: child_oxigraph(Path(rest[0]), int(rest[1]), Path(rest[2])),
            "rdflib": lambda: child_rdflib(Path(rest[0]), int(rest[1]), float(rest[2])),
        }
        print(json.dumps(children[phase]()))
        return 0

    if not (args.data / "participations-2014-2018.csv.gz").is_file():
        print(f"no CORDIS data at {args.data} (pass --data); nothing measured")
        return 0
    work = Path(tempfile.mkdtemp(prefix="boostkg-bench-queries-", dir=args.work_dir))
    store_dir, dump = work / "store", work / "dump.nq"
    try:
        print(f"# competency query benchmark — {time.strftime('%Y-%m-%d %H:%M %Z')}")
        print(f"# {_versions()}; load average at start {_load()}")
        print(f"# {_code_version()} (boostkg/, queries/, ontology/, data/)")
        boot = run_child("bootstrap", str(store_dir))
        print(
            f"bootstrap: {boot['files']} files, {boot['inferred']:,} inferred, {boot['quads']:,} quads "
            f"in {boot['seconds']:.1f} s (peak RSS {boot['peak_rss_mib']:,.0f} MiB)"
        )
        imp = run_child("import", str(store_dir), str(args.data))
        print(
            f"CORDIS import: {imp['rows']:,} rows -> {imp['triples']:,} triples in {imp['seconds']:.1f} s "
            f"(conversion {imp['convert_s']:.1f} s, load {imp['load_s']:.1f} s; "
            f"{imp['triples'] / imp['seconds']:,.0f} triples/s, {imp['rows'] / imp['seconds']:,.0f} rows/s; "
            f"{imp['problems']:,} rows with problems; peak RSS {imp['peak_rss_mib']:,.0f} MiB)"
        )
        inf = run_child("inference", str(store_dir))
        print(
            f"inference over everything: {inf['inferred']:,} triples in "
            f"{inf['seconds']:.1f} s (peak RSS {inf['peak_rss_mib']:,.0f} MiB); "
            f"store now {inf['quads']:,} quads"
        )
        ox = run_child("oxigraph", str(store_dir), str(args.repeat), str(dump))
        rd: Result | None = None
        if not args.no_rdflib:
            rd_repeat = min(args.repeat, RDFLIB_MAX_RUNS)
            rd = run_child("rdflib", str(dump), str(rd_repeat), str(args.rdflib_timeout))
            print(
                f"rdflib: parsed the same store's N-Quads dump "
                f"({rd['quads']:,} distinct triples in the union) in "
                f"{rd['parse_s']:.1f} s, peak RSS {rd['peak_rss_mib']:,.0f} MiB; "
                f"at most {rd_repeat} runs per query, "
                f"one if a run takes over {args.rdflib_timeout / 4:.0f} s, "
                f"limit {args.rdflib_timeout:.0f} s per run"
            )
        print()
        header = (
            f"{'query':<66} {'rows':>6} {'median ms':>10} {'max ms':>9} {'< 1 s':>6}"
            f" {'rdflib ms':>10} {'rdflib/oxi':>10}"
        )
        print(header)
        print("-" * len(header))
        slow: list[str] = []
        for name, times in ox["timings"].items():
            median, worst = statistics.median(times), max(times)
            under = worst < QUERY_GOAL_S
            if not under:
                slow.append(name)
            rd_text, ratio_text = "", ""
            if rd is not None:
                if name in rd["failed"]:
                    rd_text, ratio_text = "error", "-"
                elif name in rd["timed_out"] and name not in rd["timings"]:
                    rd_text, ratio_text = (
                        f">{args.rdflib_timeout * 1000:,.0f}",
                        f">{args.rdflib_timeout / median:,.0f}x",
                    )
                elif name in rd["timings"]:
                    rd_median = statistics.median(rd["timings"][name])
                    rd_text, ratio_text = f"{rd_median * 1000:,.1f}", f"{rd_median / median:,.1f}x"
                    if rd["rows"][name] != ox["rows"][name]:
                        ratio_text += f" (rdflib rows {rd['rows'][name]})"
            print(
                f"{name:<66} {ox['rows'][name]:>6} {median * 1000:>10.1f} {worst * 1000:>9.1f} "
                f"{'yes' if under else 'NO':>6} {rd_text:>10} {ratio_text:>10}"
            )
        if rd is not None:
            for name, message in rd["failed"].items():
                print(f"  rdflib could not run {name}: {message}")
        total = sum(statistics.median(t) for t in ox["timings"].values())
        print(f"\n{len(ox['timings'])} queries, {args.repeat} runs each; sum of medians {total:.2f} s")
        print(f"# peak RSS of the query process {ox['peak_rss_mib']:,.0f} MiB; load average at end {_load()}")
        print()
        print(
            f"{_verdict(not slow)}: every competency query under {QUERY_GOAL_S:.0f} s (slowest run of "
            f"{args.repeat})" + (f" — over: {', '.join(slow)}" if slow else "")
        )
        fast = imp["seconds"] < IMPORT_GOAL_S
        print(f"{_verdict(fast)}: CORDIS import {imp['seconds']:.1f} s < {IMPORT_GOAL_S:.0f} s")
        print(
            f"{_verdict(imp['peak_rss_mib'] < IMPORT_GOAL_MIB)}: CORDIS import peak RSS "
            f"{imp['peak_rss_mib']:,.0f} MiB < {IMPORT_GOAL_MIB:,.0f} MiB"
        )
        print("(bulk load >= 0.9x raw pyoxigraph: see bench/bench_bulk_load.py)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
