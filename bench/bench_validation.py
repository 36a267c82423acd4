"""Validation benchmark: parse + SHACL-validate a synthetic submission of ~N triples.

Generates (seeded, deterministic) a Turtle submission that looks like a steward's: actors of the
five BOOST regions with capabilities, needs, memberships, partnerships and participations that
refer to NUTS regions, themes, roles and seed actors. Measures, in the same run:

- parsing (``parse_submission``: pyoxigraph parser, checks, rdflib graph);
- validation with the shipped reference data as context (offline, as ``boostkg validate``);
- validation against a loaded store (ontology, NUTS, EIS, seed: the main job's bootstrap) and
  against an empty store, to show what the context costs;
- plain pySHACL with the shapes and the data already merged with its context (the floor of
  what pySHACL itself costs, without boostkg's parsing, context fetch and report building).

    .venv/bin/python bench/bench_validation.py [--triples 100000] [--repeat 3] [--jena]

``--jena`` also times Apache Jena's ``shacl validate`` on the same file and shapes if
``/usr/share/java/jena-cmds.jar`` exists (Debian's libapache-jena-java). Always exits 0.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import pyshacl  # noqa: E402

from boostkg.config import Settings  # noqa: E402
from boostkg.ingest.bootstrap import bootstrap  # noqa: E402
from boostkg.store import open_store  # noqa: E402
from boostkg.validation import (  # noqa: E402
    fetch_context,
    load_reference_graph,
    load_shapes,
    parse_submission,
    validate,
)

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


def timed(fn: Callable[[], T], repeat: int) -> tuple[float, T]:
    """Median seconds of ``repeat`` runs, and the last result."""
    times: list[float] = []
    for _ in range(repeat - 1):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    start = time.perf_counter()
    result = fn()
    times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--triples", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jena", action="store_true")
    args = parser.parse_args()

    settings = Settings()
    shapes = load_shapes(settings.shapes_dir, ontology=settings.ontology_dir / "icf.ttl")
    data, actors = synthetic_submission(args.triples)
    print(f"submission: {len(data) / 1e6:.1f} MB Turtle, {actors:,} actors; shapes {shapes.version}")

    t_parse, sub = timed(
        lambda: parse_submission(data, media_type="text/turtle", source_name="bench.ttl"), args.repeat
    )
    rate = sub.triples / t_parse
    print(f"  parse_submission               {t_parse:7.2f} s  ({sub.triples:,} triples, {rate:,.0f}/s)")

    reference = load_reference_graph(settings.ontology_dir, settings.data_dir)
    t_off, report = timed(lambda: validate(sub, shapes, reference=reference), args.repeat)
    print(f"  validate (reference data)      {t_off:7.2f} s  conforms={report.conforms}")

    with tempfile.TemporaryDirectory() as tmp:
        empty = open_store(Path(tmp) / "empty")
        t_empty, rep_empty = timed(lambda: validate(sub, shapes, store=empty), args.repeat)
        empty.close()
        kg = open_store(Path(tmp) / "loaded")
        bootstrap(kg, ontology_dir=settings.ontology_dir, data_dir=settings.data_dir)
        quads = kg.triple_count()
        t_store, rep_store = timed(lambda: validate(sub, shapes, store=kg), args.repeat)
        kg.close()
    print(f"  validate (empty store)         {t_empty:7.2f} s  conforms={rep_empty.conforms}")
    print(f"  validate (store, {quads:,} quads) {t_store:7.2f} s  conforms={rep_store.conforms}")

    merged = sub.graph.__class__()
    merged += sub.graph
    for triple in (*fetch_context(sub.referenced, store=None, reference=reference), *shapes.subclass_axioms):
        merged.add(triple)
    t_plain, _ = timed(
        lambda: pyshacl.validate(
            merged, shacl_graph=shapes.graph, inference="none", inplace=True, allow_warnings=True
        ),
        args.repeat,
    )
    print(f"  plain pyshacl (merged graph)   {t_plain:7.2f} s")
    print(f"  parse + validate (store)       {t_parse + t_store:7.2f} s")

    jar = Path("/usr/share/java/jena-cmds.jar")
    if args.jena and jar.exists():
        with tempfile.TemporaryDirectory() as tmp:
            data_file = Path(tmp) / "data.ttl"
            merged.serialize(data_file, format="turtle")
            shapes_file = Path(tmp) / "shapes.ttl"
            shapes.graph.serialize(shapes_file, format="turtle")
            start = time.perf_counter()
            subprocess.run(
                [
                    "java",
                    "-cp",
                    f"/usr/share/java/*:{jar}",
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
            print(f"  Jena shacl validate (merged)   {time.perf_counter() - start:7.2f} s (incl. JVM start)")
    elif args.jena:
        print("  Jena: /usr/share/java/jena-cmds.jar not found (apt-get install libapache-jena-java)")


if __name__ == "__main__":
    main()
