"""CORDIS Horizon 2020 import benchmark: conversion alone, and conversion + store load end to end.

Runs the real files (``participations-2014-2018.csv.gz``, 91,334 rows, and the programme parts)
through :class:`boostkg.importers.cordis.CordisH2020Importer`. Every measurement runs in its own
Python process, so its peak RSS is its own:

- ``convert``: the importer writes N-Triples to a temporary file (no store);
- ``import``: ``boostkg.ingest.loading.run_import`` into a fresh temporary on-disk store, i.e.
  conversion, bulk load into graph/cordis-h2020 and the provenance record, as ``boostkg import
  cordis`` does it. Its conversion and load phases are timed separately.

Prints rows/s, triples/s, wall time (median of ``--repeat`` runs, with min and max) and peak RSS,
and checks the goal: the whole import well under 60 s.

    .venv/bin/python bench/bench_cordis_import.py [--data ../shared/data/cordis-h2020] [--repeat 3]

It always exits 0 when the data is there; the PASS/MISS line is the verdict.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data" / "cordis-h2020"
GOAL_SECONDS = 60.0


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def child_convert(data: Path) -> dict[str, float]:
    """Conversion only, to a temporary N-Triples file."""
    from boostkg.importers.cordis import CordisH2020Importer

    with tempfile.TemporaryDirectory(prefix="bench-cordis-") as tmp:
        target = Path(tmp) / "cordis.nt"
        started = time.perf_counter()
        with target.open("w", encoding="utf-8") as out:
            report = CordisH2020Importer().convert(data, out)
        seconds = time.perf_counter() - started
        size = target.stat().st_size
    return {
        "rows": report.rows_read,
        "triples": report.triples,
        "problems": report.problem_count,
        "convert_s": seconds,
        "nt_mib": size / 2**20,
        "peak_rss_mib": _peak_rss_mib(),
    }


def child_import(data: Path) -> dict[str, float]:
    """``run_import`` into a fresh on-disk store: conversion, bulk load, provenance record."""
    from boostkg.importers.base import ImportReport
    from boostkg.importers.cordis import CordisH2020Importer
    from boostkg.ingest.loading import run_import
    from boostkg.store import open_store

    marks: dict[str, float] = {}

    def converted(_: ImportReport) -> None:
        marks["converted"] = time.perf_counter()

    with tempfile.TemporaryDirectory(prefix="bench-cordis-store-") as tmp:
        store = open_store(Path(tmp) / "store")
        try:
            started = time.perf_counter()
            outcome = run_import(
                store, CordisH2020Importer(), data, on_converted=converted, scratch_dir=Path(tmp)
            )
            finished = time.perf_counter()
            in_graph = store.triple_count(CordisH2020Importer.graph)
        finally:
            store.close()
    return {
        "rows": outcome.report.rows_read,
        "triples": in_graph,
        "convert_s": marks["converted"] - started,
        "load_s": finished - marks["converted"],
        "total_s": finished - started,
        "peak_rss_mib": _peak_rss_mib(),
    }


def run_child(mode: str, data: Path) -> dict[str, float]:
    """Run one measurement in a fresh interpreter; return its JSON result."""
    completed = subprocess.run(
        [sys.executable, __file__, "--child", mode, "--data", str(data)],
        check=True,
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    result: dict[str, float] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):8.2f}  ({min(values):.2f}-{max(values):.2f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the cordis-h2020 directory")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median shown)")
    parser.add_argument("--child", choices=("convert", "import"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "convert":
        print(json.dumps(child_convert(args.data)))
        return 0
    if args.child == "import":
        print(json.dumps(child_import(args.data)))
        return 0
    if not (args.data / "participations-2014-2018.csv.gz").is_file():
        print(f"no CORDIS data at {args.data} (pass --data)", file=sys.stderr)
        return 2

    converts: list[dict[str, float]] = []
    imports: list[dict[str, float]] = []
    for run in range(args.repeat):
        # alternate the order so that neither measurement always runs on a warm cache
        order = ("convert", "import") if run % 2 == 0 else ("import", "convert")
        for mode in order:
            (converts if mode == "convert" else imports).append(run_child(mode, args.data))
        print(f"run {run + 1}/{args.repeat} done", file=sys.stderr)

    rows, triples = converts[0]["rows"], converts[0]["triples"]
    convert_s = [m["convert_s"] for m in converts]
    import_convert_s = [m["convert_s"] for m in imports]
    load_s = [m["load_s"] for m in imports]
    total_s = [m["total_s"] for m in imports]
    median_total = statistics.median(total_s)

    print()
    print(
        f"CORDIS H2020 import benchmark - {platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, {args.repeat} runs each, median (min-max)"
    )
    print(f"source: {args.data}")
    load1, load5, _ = os.getloadavg()
    print(f"machine load average at the end: {load1:.2f} (1 min), {load5:.2f} (5 min)")
    print(
        f"rows read {rows:,.0f}; triples written {triples:,.0f} ({converts[0]['nt_mib']:.0f} MiB N-Triples); "
        f"triples in store {imports[0]['triples']:,.0f}; problems {converts[0]['problems']:.0f}"
    )
    print()
    header = (
        f"{'measurement':<34}{'wall s':>10}  {'(min-max)':<13}"
        f"{'rows/s':>11}{'triples/s':>12}{'peak RSS MiB':>14}"
    )
    print(header)
    print("-" * len(header))

    def line(name: str, seconds: list[float], peak: float | None, *, with_rows: bool = True) -> None:
        median = statistics.median(seconds)
        rate_rows = f"{rows / median:11,.0f}" if with_rows else f"{'':>11}"
        peak_text = f"{peak:14.0f}" if peak is not None else f"{'':>14}"
        print(f"{name:<34}{_spread(seconds)}{rate_rows}{triples / median:12,.0f}{peak_text}")

    line("convert only (own process)", convert_s, max(m["peak_rss_mib"] for m in converts))
    line("import: conversion phase", import_convert_s, None)
    line("import: bulk load + provenance", load_s, None, with_rows=False)
    line("import: total (run_import)", total_s, max(m["peak_rss_mib"] for m in imports))
    print()
    verdict = "PASS" if median_total < GOAL_SECONDS else "MISS"
    print(f"{verdict}: full import {median_total:.1f} s (goal: well under {GOAL_SECONDS:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
