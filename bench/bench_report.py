"""Corridor report benchmark: the time to build and write a report once the matching is done.

Builds (or reuses, with ``--store``) a store holding the seed and the CORDIS Horizon 2020 graph,
projects it once, matches each of the three BOOST themes for each corridor (not timed as report
time), then times, ``--repeat`` times each:

- ``build``: :func:`boostkg.reports.corridor_report.build_report` (every SPARQL query the report
  needs: places, themes, coverage matrix, existing ties per theme, actor facts, instruments,
  provenance, data dates) and the derivation of summary, networks and risks;
- ``write``: rendering the HTML (with its SVG) and the JSON and writing both.

Prints the median, min and max of each, the share of each report query, and the verdict for the
goal: a report for one corridor in under 5 s after matching.

    .venv/bin/python bench/bench_report.py [--store DIR] [--data ../shared/data/cordis-h2020] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from boostkg.analysis.corridor import Corridor
from boostkg.analysis.matching import Per, match
from boostkg.analysis.projection import Projection, project
from boostkg.reports import corridor_data as data
from boostkg.reports.corridor_model import CorridorReport
from boostkg.reports.corridor_report import ReportRequest, build_report, write_report
from boostkg.reports.corridor_run import coverage_from_projection, ties_from_projection
from boostkg.store import EmbeddedStore, open_store

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data" / "cordis-h2020"
GOAL_SECONDS = 5.0
LINKS = "http://127.0.0.1:8000"
THEMES = ("industry-cleantech-green", "health-wellbeing", "ict-digital")
CORRIDORS = (
    ("BOOST countries", ("DK", "EE"), ("RO", "BG", "ES")),
    ("wide", ("DK", "EE", "SE", "FI", "NL", "BE"), ("RO", "BG", "ES", "HR", "PL", "HU", "LV", "SK", "EL")),
)


def _build_store(base: Path, data_dir: Path) -> Path:
    store = base / "store"
    boostkg = Path(sys.executable).with_name("boostkg")
    for args in (
        ("main", "--no-serve"),
        ("import", "cordis", str(data_dir)),
        ("infer",),
    ):
        subprocess.run(
            [str(boostkg), *args, "--store", str(store)], cwd=base, check=True, capture_output=True
        )
    return store


def _stats(values: list[float]) -> str:
    return f"median {statistics.median(values):6.2f} s  (min {min(values):.2f}, max {max(values):.2f})"


def _breakdown(
    kg: EmbeddedStore, report: CorridorReport, projection: Projection, request: ReportRequest
) -> None:
    """Time the report's heaviest reads once more, one by one."""
    places = (*report.source, *report.target)
    steps: dict[str, Callable[[], object]] = {
        "coverage (projection)": lambda: coverage_from_projection(projection, places, report.themes),
        "coverage (SPARQL)": lambda: data.coverage(kg, places, report.themes),
        "ties (projection)": lambda: ties_from_projection(projection, request, report.themes),
        "ties (SPARQL)": lambda: data.existing_ties(kg, report.source, report.target, report.themes),
        "data dates": lambda: data.data_dates(kg),
    }
    for label, call in steps.items():
        t0 = time.perf_counter()
        call()
        print(f"    of which {label:<21} {time.perf_counter() - t0:5.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--store", type=Path, help="an existing store with seed + CORDIS + inferences")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    machine = platform.processor() or platform.machine()
    print(f"machine: {machine}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        base = Path(tmp)
        if args.store is None:
            started = time.perf_counter()
            store_dir = _build_store(base, args.data)
            print(f"built the store (seed + CORDIS + inferences) in {time.perf_counter() - started:.1f} s")
        else:
            store_dir = args.store
        kg = open_store(store_dir)
        try:
            started = time.perf_counter()
            projection = project(kg)
            print(f"projection: {time.perf_counter() - started:.2f} s (not report time)")
            themes = data.resolve_themes(kg, None, base=LINKS)
            verdicts = []
            for name, sources, targets in CORRIDORS:
                request = ReportRequest(sources, targets)
                started = time.perf_counter()
                matches = {
                    theme: list(
                        match(
                            kg,
                            Corridor.parse(sources, targets, themes=theme),
                            top=20,
                            per=Per.pair,
                            projection=projection,
                        ).candidates
                    )
                    for theme in THEMES
                }
                matching = time.perf_counter() - started
                builds, writes, totals = [], [], []
                report = None
                for i in range(args.repeat):
                    t0 = time.perf_counter()
                    places = (
                        *data.resolve_places(kg, sources, "source", base=LINKS),
                        *data.resolve_places(kg, targets, "target", base=LINKS),
                    )
                    coverage = coverage_from_projection(projection, places, themes)
                    report = build_report(
                        kg,
                        request,
                        matches=matches,
                        link_base=LINKS,
                        ties=ties_from_projection(projection, request, themes),
                        coverage=coverage,
                    )
                    assert report.coverage is coverage  # not read again from the store
                    t1 = time.perf_counter()
                    write_report(report, base / f"out-{name}-{i}")
                    t2 = time.perf_counter()
                    builds.append(t1 - t0)
                    writes.append(t2 - t1)
                    totals.append(t2 - t0)
                assert report is not None
                size = (base / f"out-{name}-0" / "report.html").stat().st_size
                print(f"\ncorridor {name}: {request.describe()}")
                print(f"  matching (3 themes, top 20 pairs each, not report time): {matching:.2f} s")
                print(
                    f"  report: {len(report.candidates)} candidates, {len(report.risks)} risks, "
                    f"{sum(n.tied_pairs for n in report.networks):,} existing ties, "
                    f"HTML {size / 1024:.0f} KiB"
                )
                print(f"  build  {_stats(builds)}")
                print(f"  write  {_stats(writes)}")
                print(f"  total  {_stats(totals)}")
                _breakdown(kg, report, projection, request)
                verdicts.append((name, statistics.median(totals)))
        finally:
            kg.close()
    for name, seconds in verdicts:
        verdict = "PASS" if seconds < GOAL_SECONDS else "MISS"
        print(
            f"{verdict}: report for corridor {name} in {seconds:.2f} s after matching "
            f"(goal < {GOAL_SECONDS:.0f} s)"
        )


if __name__ == "__main__":
    main()
