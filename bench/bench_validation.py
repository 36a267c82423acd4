"""Validation benchmark: parse, SHACL-validate and commit a synthetic submission of ~N triples, and
Apache Jena's ``shacl validate`` on the same file with the same shapes, in the same run.

Generates (seeded, deterministic) a Turtle submission that looks like a steward's: actors of the
five BOOST regions with capabilities, needs, memberships, partnerships and participations that
refer to NUTS regions, themes, roles and seed actors. Measures:

- ``parse_submission`` (pyoxigraph parser, term checks; triples kept as pyoxigraph terms);
- ``validate`` with the compiled engine and with pySHACL (``Engine.PYSHACL``, the reference), in
  the context of the shipped reference data (offline);
- parse + validate + commit (the submission pipeline's steps: ``add_triples`` into a named graph
  inside ``store.atomic()``) against (a) an empty store, (b) the bootstrapped store (ontology,
  vocabularies, NUTS, EIS, seed) and (c) the bootstrapped store plus the CORDIS Horizon 2020
  import and inference (~1.4M quads; skipped when the CORDIS data is missing);
- ``submit()``, the whole submission pipeline behind ``POST /submissions`` (size and media checks,
  parse, the steward's scope, validation in context, PROV-O record, commit into its own graph, all
  under the write lock), for a steward of a seed organisation, against the same three stores;
- Apache Jena 4 ``shacl validate`` (Debian's ``libapache-jena-java``) on a data file holding the
  same submission text plus the context boostkg fetched from store (c) and the ontology's
  subclass axioms, with the same shapes (shapes/*.ttl in one file); wall time of the command,
  JVM start included, and the JVM start-up alone on a one-triple file. Jena's report is parsed
  and its violations and warnings are counted next to boostkg's.

    .venv/bin/python bench/bench_validation.py [--triples 100000] [--repeat 3] [--no-cordis]

Jena is skipped, with a message, when ``/usr/share/java/jena-cmds.jar`` is missing
(``apt-get install -y libapache-jena-java``). As packaged, Jena's Xerces message files sit only
under ``org/apache/jena/ext/xerces/`` while its classes look for them under ``xerces/``; the
script copies them into a small jar in a cache folder (``$XDG_CACHE_HOME`` or ``~/.cache``,
``boostkg-bench/jena/``) and puts it first on the class path. Always exits 0.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rdflib import Graph, URIRef  # noqa: E402
from rdflib.namespace import SH  # noqa: E402

from boostkg.auth import Steward  # noqa: E402
from boostkg.config import Settings  # noqa: E402
from boostkg.errors import NotConformingError  # noqa: E402
from boostkg.ingest.bootstrap import bootstrap  # noqa: E402
from boostkg.ingest.pipeline import SubmissionRequest, submit, withdraw  # noqa: E402
from boostkg.store import EmbeddedStore, open_store  # noqa: E402
from boostkg.validation import (  # noqa: E402
    Engine,
    ParsedSubmission,
    Shapes,
    ValidationReport,
    fetch_context,
    load_reference_graph,
    load_shapes,
    parse_submission,
    validate,
)

CORDIS = REPO.parent / "shared" / "data" / "cordis-h2020"
JAVA_DIR = Path("/usr/share/java")
JENA_JARS = (
    *("jena-cmds", "jena-shacl", "jena-arq", "jena-core", "jena-base", "jena-iri", "jena-shex"),
    *("jena-rdfconnection", "jena-tdb", "jena-tdb2", "jena-dboe-base", "jena-dboe-index"),
    *("jena-dboe-storage", "jena-dboe-trans-data", "jena-dboe-transaction"),
    *("commons-cli", "commons-codec", "commons-compress", "commons-csv", "commons-io", "commons-lang3"),
    *("dexx.collection", "gson", "guava", "httpclient", "httpcore", "jackson-core", "jackson-databind"),
    *("jackson-annotations", "jsonld-java", "jakarta.json-api", "protobuf", "slf4j-api", "slf4j-nop"),
    *("thrift", "titanium-json-ld"),
)
"""Jena and the libraries Debian's package depends on (not all of /usr/share/java: it holds
clashing SLF4J bindings); slf4j-nop keeps Jena's logging quiet."""

REGIONS = {
    "RO": ("ROU", ["RO111", "RO112", "RO113", "RO114"]),
    "BG": ("BGR", ["BG331", "BG332", "BG333"]),
    "ES": ("ESP", ["ES511", "ES512", "ES513"]),
    "DK": ("DNK", ["DK031", "DK032"]),
    "EE": ("EST", ["EE001", "EE008"]),
}
THEMES = [
    "robotics",
    "advanced-manufacturing",
    "renewable-energy",
    "digital-health",
    "artificial-intelligence",
    "cybersecurity",
    "data-cloud",
    "internet-of-things",
    "circular-economy",
    "active-ageing",
]
HELIX = [
    "icf:SME",
    "icf:University",
    "icf:ResearchOrganisation",
    "icf:Municipality",
    "icf:NGO",
    "icf:Cluster",
    "icf:StartUp",
    "icf:LargeEnterprise",
    "icf:SciencePark",
]
SEED = ["tit", "nwrda", "bbf", "cldi", "vk", "tsp"]
HEAD = """@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
@prefix org: <http://www.w3.org/ns/org#> .
@prefix icf: <https://w3id.org/boostkg/icf#> .
@prefix theme: <https://w3id.org/boostkg/theme/> .
@prefix role: <https://w3id.org/boostkg/vocab/role/> .
@prefix nuts: <http://data.europa.eu/nuts/code/> .
@prefix country: <http://publications.europa.eu/resource/authority/country/> .
@prefix o: <https://w3id.org/boostkg/id/organisation/> .
@prefix x: <https://w3id.org/boostkg/id/bench/> .
"""


def synthetic_submission(triples: int, seed: int = 7) -> tuple[bytes, int]:
    """A Turtle submission of about ``triples`` triples (one actor block is 43); returns it and
    the number of actors."""
    rng = random.Random(seed)
    parts = [HEAD]
    actors = max(1, triples // 43)
    for i in range(actors):
        cc = rng.choice(list(REGIONS))
        country, codes = REGIONS[cc]
        t1, t2 = rng.sample(THEMES, 2)
        partner = rng.choice(SEED)
        parts.append(f"""
o:bench-{i} a {rng.choice(HELIX)} ;
    rdfs:label "Bench actor {i}"@en ;
    dcterms:description "A synthetic actor number {i} of region {cc}."@en ;
    icf:acronym "BA{i}" ;
    icf:pic "{100000000 + i}" ;
    foaf:homepage <https://example.org/bench/{i}> ;
    icf:inRegion nuts:{rng.choice(codes)} ;
    icf:inCountry country:{country} ;
    icf:hasTheme theme:{t1} , theme:{t2} ;
    icf:hasCapability x:cap-{i} ;
    icf:hasNeed x:need-{i} .
x:cap-{i} a icf:Capability ; rdfs:label "Capability {i}"@en ;
    dcterms:description "Offered."@en ; icf:hasTheme theme:{t1} .
x:need-{i} a icf:Need ; rdfs:label "Need {i}"@en ;
    dcterms:description "Sought."@en ; icf:hasTheme theme:{t2} .
x:m-{i} a org:Membership ; org:member o:bench-{i} ; org:organization o:{partner} ;
    icf:startDate "2020-01-01"^^xsd:date ; icf:endDate "2026-12-31"^^xsd:date .
x:p-{i} a icf:Partnership ; rdfs:label "Partnership {i}"@en ; dcterms:description "A partnership."@en ;
    icf:startDate "2024-01-01"^^xsd:date ; icf:endDate "2027-12-31"^^xsd:date ; icf:hasTheme theme:{t1} ;
    icf:partOfCorridor <https://w3id.org/boostkg/id/corridor/boost> .
x:pa-{i} a icf:Participation ; icf:participant o:bench-{i} ; icf:inCollaboration x:p-{i} ;
    icf:participationRole role:coordinator ; icf:contribution {rng.randint(1000, 900000)}.00 ;
    icf:startDate "2024-01-01"^^xsd:date ; icf:endDate "2027-12-31"^^xsd:date .
x:pb-{i} a icf:Participation ; icf:participant o:{partner} ; icf:inCollaboration x:p-{i} ;
    icf:participationRole role:partner .
""")
    return "".join(parts).encode(), actors


T = TypeVar("T")


CPU: list[float] = []
"""CPU seconds of the runs of the last :func:`timed` call (the machine may be shared: CPU time
is disturbed much less than wall time by other processes)."""


def timed(fn: Callable[[], T], repeat: int) -> tuple[float, list[float], T]:
    """Median wall seconds of ``repeat`` runs, every run's seconds, and the last result."""
    times: list[float] = []
    CPU.clear()
    result: T
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        result = fn()
        times.append(time.perf_counter() - start)
        CPU.append(time.process_time() - cpu)
    return statistics.median(times), times, result


def runs(times: list[float]) -> str:
    text = ", ".join(f"{t:.2f}" for t in times)
    if len(CPU) == len(times):
        text += f"; CPU median {statistics.median(CPU):.2f} s"
    return text


def counts(report: ValidationReport) -> str:
    return f"{len(report.violations())} violations, {len(report.warnings())} warnings"


def validate_and_commit(
    data: bytes, shapes: Shapes, store: EmbeddedStore, graph: URIRef, engine: Engine = Engine.AUTO
) -> ValidationReport:
    """What the submission pipeline does with a body: parse, validate in context, commit if it
    conforms (into its own named graph, all or nothing)."""
    parsed = parse_submission(data, media_type="text/turtle", source_name="bench.ttl")
    report = validate(parsed, shapes, store=store, engine=engine)
    if report.conforms:
        with store.atomic():
            store.add_triples(graph, parsed.content)
    return report


STEWARD = Steward("0000bench", "Bench steward", URIRef("https://w3id.org/boostkg/id/organisation/tit"), None)
"""A steward of a seed organisation, without a region: the submission's new entities are in lane."""


def measure_store(
    label: str, store: EmbeddedStore, data: bytes, shapes: Shapes, repeat: int
) -> tuple[float, float, float]:
    """Median seconds of validate-only, of parse + validate + commit, and of the whole submission
    pipeline (``submit``) against ``store``."""
    store.optimize()  # a settled store, as between requests: no background compaction running
    parsed = parse_submission(data, media_type="text/turtle", source_name="bench.ttl")
    t_validate, v_runs, report = timed(lambda: validate(parsed, shapes, store=store), repeat)
    validate_runs = runs(v_runs)
    graph = URIRef("https://w3id.org/boostkg/graph/submission/bench")
    all_runs: list[float] = []
    cpu: list[float] = []
    for _ in range(repeat):
        start, cpu_start = time.perf_counter(), time.process_time()
        validate_and_commit(data, shapes, store, graph)
        all_runs.append(time.perf_counter() - start)
        cpu.append(time.process_time() - cpu_start)
        store.drop_graph(graph)  # not timed: undo the commit for the next run
        store.optimize()  # and settle the store: no compaction of the undo during the next run
    CPU[:] = cpu
    t_all = statistics.median(all_runs)
    all_text = runs(all_runs)
    submit_runs: list[float] = []
    cpu.clear()
    status = ""
    for _ in range(repeat):
        start, cpu_start = time.perf_counter(), time.process_time()
        request = SubmissionRequest(data, "text/turtle", "bench.ttl")
        try:
            outcome = submit(
                store, shapes, STEWARD, request, max_bytes=len(data), write_lock=threading.Lock()
            )
        except NotConformingError:
            outcome = None
        submit_runs.append(time.perf_counter() - start)
        cpu.append(time.process_time() - cpu_start)
        status = "rejected" if outcome is None else "accepted"
        if outcome is not None and outcome.id is not None:
            withdraw(store, STEWARD, outcome.id)  # not timed: undo the commit for the next run
            store.optimize()
    CPU[:] = cpu
    t_submit = statistics.median(submit_runs)
    quads = store.triple_count()
    print(f"  {label} ({quads:,} quads): {counts(report)}")
    print(f"    validate                        {t_validate:7.2f} s  runs {validate_runs}")
    print(f"    parse + validate + commit       {t_all:7.2f} s  runs {all_text}")
    print(f"    submit() (whole pipeline)       {t_submit:7.2f} s  {status}; runs {runs(submit_runs)}")
    return t_validate, t_all, t_submit


# --- Jena -----------------------------------------------------------------------------------------


def jena_classpath(cache: Path) -> str | None:
    """The class path for Jena's command line, with the Xerces resource jar first (built once)."""
    if not (JAVA_DIR / "jena-cmds.jar").exists():
        return None
    missing = [name for name in JENA_JARS if not (JAVA_DIR / f"{name}.jar").exists()]
    if missing:
        print(f"  Jena: libraries missing from {JAVA_DIR}: {', '.join(missing)}")
        return None
    resources = cache / "jena-xerces-resources.jar"
    if not resources.exists():
        cache.mkdir(parents=True, exist_ok=True)
        prefix = "org/apache/jena/ext/xerces/"
        partial = resources.with_suffix(".tmp")
        with zipfile.ZipFile(JAVA_DIR / "jena-core.jar") as core, zipfile.ZipFile(partial, "w") as out:
            for name in core.namelist():
                if name.startswith(prefix) and not name.endswith((".class", "/")):
                    out.writestr("xerces/" + name.removeprefix(prefix), core.read(name))
        partial.replace(resources)
    return ":".join([str(resources), *(str(JAVA_DIR / f"{name}.jar") for name in JENA_JARS)])


def run_jena(classpath: str, shapes_file: Path, data_file: Path) -> tuple[float, Graph | None, str]:
    """Wall seconds of one ``shacl validate`` run (its CPU seconds, all JVM threads, appended to
    :data:`CPU`), its report (or None) and its stderr."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        [
            "java",
            "-cp",
            classpath,
            "shacl.shacl",
            "validate",
            "--shapes",
            str(shapes_file),
            "--data",
            str(data_file),
        ],
        capture_output=True,
        check=False,
    )
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    if done.returncode != 0 or not done.stdout.strip():
        return seconds, None, done.stderr.decode(errors="replace")[-2000:]
    return seconds, Graph().parse(data=done.stdout, format="turtle"), ""


def jena_counts(report: Graph, outside: frozenset[URIRef]) -> dict[str, int]:
    """Jena's results by severity, all of them and those on the submission's own nodes (boostkg
    reports only those: Jena also checks the context's nodes, e.g. seed actors, against the
    shapes)."""
    found = {"violations": 0, "warnings": 0, "own violations": 0, "own warnings": 0}
    for severity, name in ((SH.Violation, "violations"), (SH.Warning, "warnings")):
        for result in report.subjects(SH.resultSeverity, severity):
            found[name] += 1
            if report.value(result, SH.focusNode) not in outside:
                found["own " + name] += 1
    return found


def measure_jena(
    data: bytes, parsed: ParsedSubmission, shapes: Shapes, store: EmbeddedStore, repeat: int, tmp: Path
) -> float | None:
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "boostkg-bench" / "jena"
    classpath = jena_classpath(cache)
    if classpath is None:
        print(
            "  Jena: SKIPPED: /usr/share/java/jena-cmds.jar not found "
            "(apt-get install -y libapache-jena-java)"
        )
        return None
    shapes_file = tmp / "shapes.ttl"
    shapes.graph.serialize(shapes_file, format="turtle")
    context = Graph()
    for triple in (*fetch_context(parsed.referenced, store=store, reference=None), *shapes.subclass_axioms):
        context.add(triple)
    data_file = tmp / "jena-data.ttl"
    data_file.write_bytes(data + b"\n" + context.serialize(format="nt", encoding="utf-8"))
    tiny = tmp / "tiny.ttl"
    tiny.write_text("<https://example.org/a> <https://example.org/p> 1 .\n", encoding="utf-8")
    start_up, _report, _err = run_jena(classpath, shapes_file, tiny)
    start_up_cpu = CPU.pop()
    CPU.clear()
    times: list[float] = []
    report: Graph | None = None
    for _ in range(repeat):
        seconds, report, error = run_jena(classpath, shapes_file, data_file)
        if report is None:
            print(f"  Jena: FAILED: {error}")
            return None
        times.append(seconds)
    assert report is not None
    found = jena_counts(report, parsed.referenced)
    median = statistics.median(times)
    print(f"  Jena 4 shacl validate ({len(context):,} context + axiom triples appended to the same file):")
    print(
        f"    {found['violations']} violations, {found['warnings']} warnings; on the submission's own "
        f"nodes: {found['own violations']} violations, {found['own warnings']} warnings"
    )
    print(f"    shacl validate (JVM start incl.) {median:7.2f} s  runs {runs(times)}")
    print(f"    JVM start-up alone (1 triple)    {start_up:7.2f} s; CPU {start_up_cpu:.2f} s")
    return median


# --- stores -----------------------------------------------------------------------------------------


def build_cordis_store(path: Path, settings: Settings) -> EmbeddedStore | None:
    from boostkg.importers.registry import get_importer
    from boostkg.ingest.inference import materialise_from
    from boostkg.ingest.loading import run_import

    store = open_store(path)
    bootstrap(store, ontology_dir=settings.ontology_dir, data_dir=settings.data_dir)
    if not CORDIS.is_dir():
        print(f"  CORDIS store: SKIPPED: {CORDIS} not found")
        store.close()
        return None
    started = time.perf_counter()
    run_import(store, get_importer("cordis"), CORDIS, scratch_dir=path.parent)
    materialise_from(store, settings.ontology_dir / "rules")
    print(f"  (built the CORDIS store in {time.perf_counter() - started:.0f} s, not timed below)")
    return store


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--triples", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-cordis", action="store_true", help="skip the ~1.4M-quad store")
    parser.add_argument("--no-pyshacl", action="store_true", help="skip the (slow) pySHACL runs")
    args = parser.parse_args()

    settings = Settings()
    shapes = load_shapes(settings.shapes_dir, ontology=settings.ontology_dir / "icf.ttl")
    data, actors = synthetic_submission(args.triples)
    print(f"submission: {len(data) / 1e6:.1f} MB Turtle, {actors:,} actors; shapes {shapes.version}")
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")

    t_parse, p_runs, sub = timed(
        lambda: parse_submission(data, media_type="text/turtle", source_name="bench.ttl"), args.repeat
    )
    print(
        f"  parse_submission                  {t_parse:7.2f} s  ({sub.triples:,} triples) runs {runs(p_runs)}"
    )

    reference = load_reference_graph(settings.ontology_dir, settings.data_dir)
    t_off, o_runs, report = timed(lambda: validate(sub, shapes, reference=reference), args.repeat)
    print(f"  validate, compiled (offline)      {t_off:7.2f} s  {counts(report)}; runs {runs(o_runs)}")
    if not args.no_pyshacl:
        t_py, _, py_report = timed(
            lambda: validate(sub, shapes, reference=reference, engine=Engine.PYSHACL), 1
        )
        same = "identical issues" if py_report.issues == report.issues else "DIFFERENT ISSUES"
        print(f"  validate, pySHACL (offline)       {t_py:7.2f} s  {counts(py_report)}; {same}")

    results: dict[str, tuple[float, float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        empty = open_store(tmp / "empty")
        results["empty"] = measure_store("empty store", empty, data, shapes, args.repeat)
        empty.close()
        seed = open_store(tmp / "seed")
        bootstrap(seed, ontology_dir=settings.ontology_dir, data_dir=settings.data_dir)
        results["seed"] = measure_store("bootstrapped store", seed, data, shapes, args.repeat)
        seed.close()
        big = None if args.no_cordis else build_cordis_store(tmp / "cordis", settings)
        if big is not None:
            results["cordis"] = measure_store("store with CORDIS", big, data, shapes, args.repeat)
            if not args.no_pyshacl:
                t_py_store, _, py_store = timed(
                    lambda: validate(sub, shapes, store=big, engine=Engine.PYSHACL), 1
                )
                print(f"    validate with pySHACL           {t_py_store:7.2f} s  {counts(py_store)}")
        context_store = big if big is not None else open_store(tmp / "seed")
        t_jena = measure_jena(data, sub, shapes, context_store, args.repeat, tmp)
        context_store.close()

    largest = "cordis" if "cordis" in results else "seed"
    t_big, t_big_submit = results[largest][1], results[largest][2]
    print("goals:")
    if t_jena is not None:
        for what, seconds in (
            ("parse + validate + commit", t_big),
            ("submit() (whole pipeline)", t_big_submit),
        ):
            print(
                f"  {verdict(seconds <= t_jena)}: {what} against the {largest} store "
                f"{seconds:.2f} s vs Jena {t_jena:.2f} s (ratio {seconds / t_jena:.2f})"
            )
    for base in ("empty", "seed"):
        t_base = results[base][2]
        print(
            f"  {verdict(t_big_submit <= 1.10 * t_base)}: submit() against the {largest} store "
            f"{t_big_submit:.2f} s within 10 % of the {base} store {t_base:.2f} s "
            f"(ratio {t_big_submit / t_base:.2f})"
        )


if __name__ == "__main__":
    main()
