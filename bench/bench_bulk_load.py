"""Bulk-load benchmark: boostkg's load path against raw pyoxigraph, measured in the same run.

Generates (seeded, deterministic) N-Triples that look like the project's data, then loads the same
file into a fresh store directory with each method, each in its own Python process (so peak RSS is
per measurement), repeating every method ``--repeat`` times in alternating order. Prints triples/s,
peak RSS and the ratio of boostkg's throughput to raw pyoxigraph's (goal: >= 0.90).

    .venv/bin/python bench/bench_bulk_load.py [--triples 1000000] [--repeat 3] [--profile]

This script imports pyoxigraph directly: the baseline is pyoxigraph itself, with no boostkg code.
It always exits 0; the PASS/MISS lines are the verdict.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GOAL_RATIO = 0.90
GRAPH = "https://w3id.org/boostkg/graph/bench-bulk"

# --- the generated data -------------------------------------------------------------------------

ID = "https://w3id.org/boostkg/id/"
ICF = "https://w3id.org/boostkg/icf#"
THEME = "https://w3id.org/boostkg/theme/"
VOCAB = "https://w3id.org/boostkg/vocab/"
NUTS = "http://data.europa.eu/nuts/code/"
COUNTRY = "http://publications.europa.eu/resource/authority/country/"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
DCT_TITLE = "http://purl.org/dc/terms/title"
XSD = "http://www.w3.org/2001/XMLSchema#"

# Real NUTS 2024 codes (all in data/nuts-2024.ttl), so the reference check finds nothing unknown.
REGIONS = {
    "DNK": ("DK", ["DK03", "DK031", "DK032", "DK01", "DK011"]),
    "EST": ("EE", ["EE00", "EE001", "EE004", "EE008", "EE009"]),
    "ROU": ("RO", ["RO11", "RO111", "RO112", "RO113", "RO32"]),
    "BGR": ("BG", ["BG33", "BG331", "BG332", "BG333", "BG334"]),
    "ESP": ("ES", ["ES51", "ES511", "ES512", "ES513", "ES514"]),
}
ORG_CLASSES = ["University", "ResearchOrganisation", "SME", "LargeEnterprise", "PublicAuthority", "NGO"]
PROGRAMME_PARTS = ["ERC", "MSCA", "FET", "RI", "LEIT", "Innovation-in-SMEs", "SC1", "SC3", "SC5", "SWAFS"]
ROLES = ["coordinator", "participant", "partner"]
WORDS = [
    "Smart", "Green", "Digital", "Health", "Energy", "Materials", "Ocean", "Data", "Robotics", "Care",
    "Circular", "Hydrogen", "Photonics", "Quantum", "Agri", "Urban", "Mobility", "Cyber", "Bio", "Nano",
]  # fmt: skip
NAMES = [
    "Syddansk Universitet", "Tartu Ülikool", "Universitatea Babeș-Bolyai", "Технически университет",
    "Universitat de Barcelona", 'Centre "Tecnològic" de Catalunya', "Teknologisk Institut",
    "Tallinna Tehnikaülikool", "Русенски университет", "Fundació Privada i2CAT",
]  # fmt: skip
LANGS = ["en", "da", "et", "ro", "bg", "es", "ca"]


def _iri(value: str) -> str:
    return f"<{value}>"


def _string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _typed(value: str, datatype: str) -> str:
    return f'"{value}"^^<{XSD}{datatype}>'


def generate(path: Path, triples: int, seed: int) -> int:
    """Write exactly ``triples`` distinct triples of project-like N-Triples to ``path``."""
    rng = random.Random(seed)
    written = 0
    orgs: list[str] = []
    with path.open("w", encoding="utf-8", newline="\n") as out:

        def emit(s: str, p: str, o: str) -> bool:
            nonlocal written
            if written >= triples:
                return False
            out.write(f"{s} {p} {o} .\n")
            written += 1
            return True

        number = 0
        while written < triples:
            number += 1
            # A handful of organisations per project, then the project and its participations.
            for _ in range(rng.randint(1, 3)):
                pic = str(900_000_000 + len(orgs))
                alpha3 = rng.choice(sorted(REGIONS))
                _code2, codes = REGIONS[alpha3]
                org = _iri(f"{ID}organisation/pic-{pic}")
                orgs.append(org)
                emit(org, _iri(RDF_TYPE), _iri(ICF + rng.choice(ORG_CLASSES)))
                emit(org, _iri(ICF + "pic"), _string(pic))
                emit(org, _iri(RDFS_LABEL), _string(f"{rng.choice(NAMES)} {len(orgs)}"))
                emit(org, _iri(ICF + "inRegion"), _iri(NUTS + rng.choice(codes)))
                emit(org, _iri(ICF + "inCountry"), _iri(COUNTRY + alpha3))
            rcn = str(100_000 + number)
            project = _iri(f"{ID}project/h2020-{rcn}")
            start = date(2014, 1, 1) + timedelta(days=rng.randrange(5 * 365))
            title = " ".join(rng.sample(WORDS, 3))
            emit(project, _iri(RDF_TYPE), _iri(ICF + "Project"))
            emit(project, _iri(ICF + "rcn"), _string(rcn))
            emit(project, _iri(ICF + "acronym"), _string(title.replace(" ", "").upper()[:12] + rcn))
            emit(project, _iri(DCT_TITLE), f"{_string(title + ' ' + rcn)}@{rng.choice(LANGS)}")
            emit(project, _iri(ICF + "startDate"), _typed(start.isoformat(), "date"))
            emit(project, _iri(ICF + "endDate"), _typed((start + timedelta(days=1095)).isoformat(), "date"))
            emit(
                project,
                _iri(ICF + "totalCost"),
                _typed(f"{rng.randrange(10**5, 10**8) / 100:.2f}", "decimal"),
            )
            emit(project, _iri(ICF + "programmePart"), _iri(f"{THEME}h2020/{rng.choice(PROGRAMME_PARTS)}"))
            for index, org in enumerate(rng.sample(orgs[-200:], min(len(orgs), rng.randint(2, 8)))):
                pic = org.rsplit("pic-", 1)[1].rstrip(">")
                part = _iri(f"{ID}participation/h2020-{rcn}-pic-{pic}")
                role = "coordinator" if index == 0 else rng.choice(ROLES[1:])
                emit(part, _iri(RDF_TYPE), _iri(ICF + "Participation"))
                emit(part, _iri(ICF + "participant"), org)
                emit(part, _iri(ICF + "inCollaboration"), project)
                emit(part, _iri(ICF + "participationRole"), _iri(f"{VOCAB}role/{role}"))
                emit(
                    part,
                    _iri(ICF + "contribution"),
                    _typed(f"{rng.randrange(0, 10**8) / 100:.2f}", "decimal"),
                )
    return written


# --- one measurement, in a child process -----------------------------------------------------------


@dataclass(frozen=True)
class Mode:
    """A way of loading the file: what it measures, and whether it needs a pre-filled store."""

    name: str
    description: str
    setup: str = ""  # "", "nuts" (NUTS reference graph loaded) or "graph" (the 1M graph loaded)
    slow: bool = False  # measured --repeat-slow times (default once): each run takes minutes


MODES = (
    Mode("raw-bulk", "pyoxigraph Store.bulk_load(to_graph) + flush  [baseline]"),
    Mode("boostkg-replace-graph", "EmbeddedStore.replace_graph (journal snapshot, triple count)"),
    Mode("boostkg-load-file", "load_file, fresh store (no NUTS graph, so no reference check)"),
    Mode("boostkg-load-file-checked", "load_file, NUTS graph loaded, check_references=True", "nuts"),
    Mode("raw-transactional", "pyoxigraph Store.load(to_graph) + flush  [information]", slow=True),
    Mode("raw-reimport", "graph loaded: clear_graph + bulk_load + flush  [baseline]", "graph", slow=True),
    Mode("boostkg-reimport", "graph loaded: load_file again (clears the old graph)", "graph", slow=True),
)
MODE_BY_NAME = {m.name: m for m in MODES}


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)  # all threads of this process
    return usage.ru_utime + usage.ru_stime


def run_child(mode: Mode, data: Path, store_dir: Path, *, profile: bool) -> dict[str, object]:
    """Perform one measurement; return its figures (times exclude imports and untimed setup)."""
    import pyoxigraph as ox

    graph = ox.NamedNode(GRAPH)
    fmt = ox.RdfFormat.N_TRIPLES
    action: Callable[[], None]
    close: Callable[[], int]
    if mode.name.startswith("raw-"):
        db = ox.Store(str(store_dir / "db"))
        if mode.setup == "graph":
            db.bulk_load(path=str(data), format=fmt, to_graph=graph)
            db.flush()

        def action() -> None:
            if mode.name == "raw-transactional":
                db.load(path=str(data), format=fmt, to_graph=graph)
            else:
                if db.contains_named_graph(graph):
                    db.clear_graph(graph)
                db.bulk_load(path=str(data), format=fmt, to_graph=graph)
            db.flush()

        def close() -> int:
            return sum(1 for _ in db.quads_for_pattern(None, None, None, graph))

    else:
        from rdflib import URIRef

        from boostkg.ingest.loading import NUTS_GRAPH, load_file
        from boostkg.store import EmbeddedStore, RdfFormat

        store = EmbeddedStore(store_dir)
        target = URIRef(GRAPH)
        if mode.setup == "nuts":
            load_file(store, REPO / "data" / "nuts-2024.ttl", NUTS_GRAPH)
        elif mode.setup == "graph":
            load_file(store, data, target)

        def action() -> None:
            if mode.name == "boostkg-replace-graph":
                store.replace_graph(target, data, RdfFormat.NTRIPLES)
            else:
                load_file(store, data, target, check_references=True)
            store.flush()

        def close() -> int:
            return store.triple_count(target)

    rss_before = _peak_rss_mib()
    cpu_before = _cpu_seconds()
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    if profiler is not None:
        profiler.runcall(action)
    else:
        action()
    seconds = time.perf_counter() - started
    result: dict[str, object] = {
        "mode": mode.name,
        "seconds": seconds,
        "cpu_seconds": _cpu_seconds() - cpu_before,
        "peak_rss_mib": _peak_rss_mib(),
        "rss_before_mib": rss_before,
        "loaded": close(),
    }
    if profiler is not None:
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(12)
        result["profile"] = text.getvalue()
    return result


def measure(mode: Mode, data: Path, work: Path, *, profile: bool = False) -> dict[str, object]:
    """Run one measurement in a fresh interpreter and a fresh store directory."""
    store_dir = Path(tempfile.mkdtemp(prefix=f"store-{mode.name}-", dir=work))
    try:
        command = [
            sys.executable,
            __file__,
            "--child",
            mode.name,
            "--file",
            str(data),
            "--store",
            str(store_dir),
        ]
        if profile:
            command.append("--profile")
        done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=REPO)
        if done.returncode != 0:
            return {
                "mode": mode.name,
                "error": done.stderr.strip().splitlines()[-1:] or [f"exit {done.returncode}"],
            }
        return dict(json.loads(done.stdout.strip().splitlines()[-1]))
    finally:
        shutil.rmtree(store_dir, ignore_errors=True)


# --- the report -------------------------------------------------------------------------------------


def versions() -> str:
    import pyoxigraph
    import rdflib

    return (
        f"python {platform.python_version()}, pyoxigraph {pyoxigraph.__version__}, "
        f"rdflib {rdflib.__version__}, "
        f"{platform.system()} {platform.release()} {platform.machine()}"
    )


def code_version() -> str:
    """The commit measured, and whether the package had uncommitted changes (others work here too)."""
    git = ["git", "-C", str(REPO)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)
    dirty = subprocess.run(
        [*git, "status", "--porcelain", "--", "boostkg"], capture_output=True, text=True, check=False
    )
    changed = len(dirty.stdout.splitlines())
    return f"boostkg at {head.stdout.strip() or '?'}" + (
        f" + {changed} uncommitted file(s) under boostkg/" if changed else ""
    )


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--triples", type=int, default=1_000_000, help="size of the generated file")
    parser.add_argument("--repeat", type=int, default=3, help="measurements per method")
    parser.add_argument(
        "--repeat-slow", type=int, default=1, help="runs of the slow methods (re-import, ...)"
    )
    parser.add_argument("--seed", type=int, default=20240501)
    parser.add_argument("--modes", default=",".join(m.name for m in MODES), help="comma-separated subset")
    parser.add_argument("--work-dir", type=Path, default=None, help="where the file and stores go (temp)")
    parser.add_argument("--profile", action="store_true", help="also profile boostkg's load_file once")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--store", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        print(json.dumps(run_child(MODE_BY_NAME[args.child], args.file, args.store, profile=args.profile)))
        return 0

    modes = [MODE_BY_NAME[name] for name in args.modes.split(",")]
    work = Path(tempfile.mkdtemp(prefix="boostkg-bench-bulk-", dir=args.work_dir))
    try:
        data = work / "bench.nt"
        started = time.perf_counter()
        count = generate(data, args.triples, args.seed)
        size = data.stat().st_size
        print(f"# bulk load benchmark — {time.strftime('%Y-%m-%d %H:%M %Z')}")
        print(f"# {versions()}")
        print(f"# {code_version()}")
        print(
            f"# generated {count:,} triples ({size / 2**20:.1f} MiB N-Triples, seed {args.seed}) "
            f"in {time.perf_counter() - started:.1f} s; {args.repeat} runs per method "
            f"({args.repeat_slow} of the slow ones), order alternating"
        )
        print(f"# load average before the runs: {load_average()}")
        runs: dict[str, list[dict[str, object]]] = {m.name: [] for m in modes}
        for repeat in range(args.repeat):
            order = modes if repeat % 2 == 0 else list(reversed(modes))
            for mode in order:
                if mode.slow and repeat >= args.repeat_slow:
                    continue
                result = measure(mode, data, work)
                runs[mode.name].append(result)
                shown = f"{result['seconds']:.2f} s" if "seconds" in result else f"ERROR {result['error']}"
                print(f"  run {repeat + 1}: {mode.name:<26} {shown}", flush=True)

        print()
        header = f"{'method':<26} {'median s':>9} {'triples/s':>11} {'CPU s':>7} {'peak RSS MiB':>13}"
        header += "  all runs (s)"
        print(header)
        print("-" * len(header))
        medians: dict[str, float] = {}
        bests: dict[str, float] = {}
        cpus: dict[str, float] = {}
        for mode in modes:
            ok = [r for r in runs[mode.name] if "seconds" in r]
            if not ok:
                print(f"{mode.name:<26} failed: {runs[mode.name][0].get('error')}")
                continue
            times = [float(str(r["seconds"])) for r in ok]
            cpu = statistics.median(float(str(r["cpu_seconds"])) for r in ok)
            median = statistics.median(times)
            medians[mode.name], bests[mode.name], cpus[mode.name] = median, min(times), cpu
            peak = max(float(str(r["peak_rss_mib"])) for r in ok)
            loaded = {int(str(r["loaded"])) for r in ok}
            flag = "" if loaded == {count} else f"  (!) loaded {sorted(loaded)} triples, expected {count}"
            listed = ", ".join(f"{t:.2f}" for t in times)
            print(
                f"{mode.name:<26} {median:>9.2f} {count / median:>11,.0f} {cpu:>7.2f} {peak:>13,.0f}  "
                f"{listed}{flag}"
            )
        print(f"# load average after the runs: {load_average()} (other processes share the 2 cores)")
        print()
        for mode in modes:
            print(f"  {mode.name:<26} {mode.description}")
        print()

        def ratio(name: str, baseline: str) -> float | None:
            if name in medians and baseline in medians:
                return medians[baseline] / medians[name]
            return None

        for name, baseline in (
            ("boostkg-replace-graph", "raw-bulk"),
            ("boostkg-load-file", "raw-bulk"),
            ("boostkg-load-file-checked", "raw-bulk"),
            ("raw-transactional", "raw-bulk"),
            ("boostkg-reimport", "raw-reimport"),
        ):
            value = ratio(name, baseline)
            if value is not None:
                print(
                    f"ratio {name} / {baseline} (throughput): {value:.2f}x median wall, "
                    f"{bests[baseline] / bests[name]:.2f}x best wall, "
                    f"{cpus[baseline] / cpus[name]:.2f}x CPU time"
                )
        print()
        for name in ("boostkg-load-file", "boostkg-load-file-checked"):
            baseline = "raw-bulk"
            value = ratio(name, baseline)
            if value is not None:
                verdict = "PASS" if value >= GOAL_RATIO else "MISS"
                print(f"{verdict}: {name} >= {GOAL_RATIO:.2f}x {baseline} (median wall time: {value:.2f}x)")

        if args.profile:
            for name in ("boostkg-load-file", "boostkg-load-file-checked", "boostkg-reimport"):
                if name in MODE_BY_NAME and MODE_BY_NAME[name] in modes:
                    result = measure(MODE_BY_NAME[name], data, work, profile=True)
                    print(f"\n# profile of one {name} run ({result.get('seconds', 0):.2f} s), by own time")
                    print(result.get("profile", result.get("error")))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
