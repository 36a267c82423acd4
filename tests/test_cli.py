"""The ``boostkg`` command line, end to end, on stores under tmp_path (never the default store).

Every command family runs at least once as the installed console script in a subprocess (main,
stats, query, export, load, import, --help); the other cases run the same entry point in this
process (tests/cli_in_process.py), which saves ~1.5 s of start-up each.

One store loaded by ``boostkg main --no-serve`` (the session's, tests/conftest.py) is shared for
reading; tests that write work on a copy of it or on a fresh store.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.namespace import RDFS

from boostkg.store import open_store
from tests.cli_in_process import boostkg_in_process
from tests.conftest import MainLoaded

pytestmark = pytest.mark.subprocess

BOOSTKG = Path(sys.executable).with_name("boostkg")
FIXTURES = Path(__file__).parent / "data" / "cli"

GRAPH = "https://w3id.org/boostkg/graph/"
ICF = "https://w3id.org/boostkg/icf#"
NUTS = "http://data.europa.eu/nuts/code/"
TIT = "https://w3id.org/boostkg/id/organisation/tit"
BOOST = "https://w3id.org/boostkg/id/project/boost"
CORRIDOR = "https://w3id.org/boostkg/id/corridor/boost"
TEST_NS = "https://example.org/boostkg-test/"

SHIPPED_GRAPHS = ("ontology", "vocab", "themes", "nuts-2024", "eis", "seed")


def _env(**extra: str) -> dict[str, str]:
    """The test's environment without BOOSTKG_* settings, with a wide, plain console."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOSTKG_")}
    env.update(COLUMNS="250", NO_COLOR="1", TERM="dumb")
    env.update(extra)
    return env


def boostkg(
    *args: str | Path, cwd: Path, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """Run ``boostkg ARGS`` in a subprocess to completion and require exit 0."""
    result = subprocess.run(
        [str(BOOSTKG), *map(str, args)],
        cwd=cwd,
        env=env if env is not None else _env(),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, (
        f"boostkg {' '.join(map(str, args))} -> {result.returncode}\n{result.stderr}"
    )
    return result


def here(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``boostkg ARGS`` in this process (same entry point, argv, environment) and require exit 0."""
    result = boostkg_in_process(*args, cwd=cwd, env=env, columns=250)
    assert result.returncode == 0, (
        f"boostkg {' '.join(map(str, args))} -> {result.returncode}\n{result.stderr}"
    )
    return result


def _count(text: str) -> int:
    return int(text.replace(",", ""))


@dataclass(frozen=True)
class Stats:
    """What ``boostkg stats`` printed."""

    quads: int
    graphs: dict[str, int]
    classes: dict[str, int]


def stats(store: Path, cwd: Path) -> Stats:
    out = boostkg("stats", "--store", store, cwd=cwd).stdout
    header = re.search(r"([\d,]+) quads", out)
    assert header, out
    rows = dict(re.findall(r"(https?://\S+)\s+│\s+([\d,]+)\s+│", out))
    graphs = {iri: _count(n) for iri, n in rows.items() if iri.startswith(GRAPH)}
    classes = {iri: _count(n) for iri, n in rows.items() if not iri.startswith(GRAPH)}
    return Stats(_count(header.group(1)), graphs, classes)


def count_in_graph(store: Path, graph: str) -> int:
    """Triples in one named graph, read in this process (checks what a command did to a closed store)."""
    with open_store(store) as kg:
        return kg.triple_count(URIRef(graph))


@dataclass(frozen=True)
class Loaded:
    """The module's store after ``boostkg main --no-serve`` run in ``base``."""

    base: Path
    store: Path
    output: str
    stats: Stats


@pytest.fixture(scope="module")
def loaded(main_loaded: MainLoaded) -> Loaded:
    """The session's ``boostkg main --no-serve`` store (read-only here) and its ``boostkg stats``."""
    base, store = main_loaded.base, main_loaded.store
    return Loaded(base, store, main_loaded.output, stats(store, base))


@pytest.fixture
def copy_of_loaded(loaded: Loaded, tmp_path: Path) -> Path:
    """A private, writable copy of the module's loaded store."""
    copy = tmp_path / "store"
    shutil.copytree(loaded.store, copy)
    return copy


# --- help ------------------------------------------------------------------------------------------------

COMMANDS = (
    (),
    ("init",),
    ("load",),
    ("import",),
    ("import", "nuts"),
    ("import", "eis"),
    ("import", "cordis"),
    ("import", "cordis-organisations"),
    ("infer",),
    ("query",),
    ("check",),
    ("reason",),
    ("docs",),
    ("stats",),
    ("export",),
    ("backup",),
    ("restore",),
    ("serve",),
    ("main",),
    ("validate",),
    ("submit",),
    ("token",),
    ("token", "create"),
    ("token", "list"),
    ("token", "revoke"),
    ("match",),
    ("backtest",),
    ("report",),
)


NO_STORE = {(), ("import",), ("reason",), ("docs",), ("submit",), ("token",)}
"""Commands that open no store (the top level, groups, tools over the shipped files, and `submit`,
which talks to a server)."""


HELP_IN_SUBPROCESS = ((), ("import", "cordis"))
"""Help run by the installed script (the top level and a nested command); the rest in-process."""


@pytest.fixture(scope="module")
def helps(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, ...], tuple[int, str]]:
    """``boostkg [COMMAND] --help`` for every command (they open no store)."""
    cwd = tmp_path_factory.mktemp("help")
    procs = {
        cmd: subprocess.Popen(
            [str(BOOSTKG), *cmd, "--help"],
            cwd=cwd,
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
        )
        for cmd in HELP_IN_SUBPROCESS
    }
    results: dict[tuple[str, ...], tuple[int, str]] = {}
    for cmd in COMMANDS:
        if cmd not in procs:
            done = boostkg_in_process(*cmd, "--help", cwd=cwd, columns=250)
            results[cmd] = (done.returncode, done.stdout + done.stderr)
    for cmd, proc in procs.items():
        out, _ = proc.communicate(timeout=120)
        results[cmd] = (proc.returncode, out)
    assert not list(cwd.iterdir()), "--help must not create anything"
    return results


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "boostkg")
def test_help_exits_0(helps: dict[tuple[str, ...], tuple[int, str]], command: tuple[str, ...]) -> None:
    code, out = helps[command]
    assert code == 0, out
    assert "Usage: boostkg" in out
    if command not in NO_STORE:
        assert "--store" in out


def test_top_level_help_lists_every_command(helps: dict[tuple[str, ...], tuple[int, str]]) -> None:
    """Exactly the commands whose help is tested above (a new command must be added to COMMANDS)."""
    _, out = helps[()]
    listed = set(re.findall(r"^│ ([a-z][a-z-]*)\s", out, re.MULTILINE))
    assert listed == {cmd[0] for cmd in COMMANDS if len(cmd) == 1}


# --- main, stats -------------------------------------------------------------------------------------------


def test_main_prints_each_loaded_graph_with_its_count(loaded: Loaded) -> None:
    printed = {g: _count(n) for n, g in re.findall(r"loaded\s+([\d,]+) triples into (\S+)", loaded.output)}
    assert set(printed) == {GRAPH + name for name in SHIPPED_GRAPHS}
    for graph, n in printed.items():
        assert n > 0
        assert loaded.stats.graphs[graph] == n, graph
    inferred = re.search(rf"inferred ([\d,]+) triples into {GRAPH}inferred", loaded.output)
    assert inferred
    assert _count(inferred.group(1)) == loaded.stats.graphs[GRAPH + "inferred"] > 0
    total = re.search(r"store holds ([\d,]+) quads in (\d+) named graphs", loaded.output)
    assert total
    assert _count(total.group(1)) == loaded.stats.quads
    assert int(total.group(2)) == len(loaded.stats.graphs)


def test_main_writes_the_load_report_under_the_working_directory(loaded: Loaded) -> None:
    report = loaded.base / "reports" / "load-report.html"
    assert report.is_file()
    assert "report: reports/load-report.html" in loaded.output
    html = report.read_text(encoding="utf-8")
    for name in SHIPPED_GRAPHS:
        assert f"{GRAPH}{name}" in html


def test_stats_lists_graphs_and_class_counts(loaded: Loaded) -> None:
    s = loaded.stats
    assert s.graphs[GRAPH + "nuts-2024"] > 10_000
    assert set(s.graphs) >= {GRAPH + name for name in (*SHIPPED_GRAPHS, "inferred", "meta")}
    assert sum(s.graphs.values()) == s.quads
    assert s.classes[ICF + "NUTSRegion"] > 1_000
    assert s.classes[ICF + "Project"] >= 1
    assert s.classes[ICF + "Country"] >= 27


# --- query -------------------------------------------------------------------------------------------------


def test_query_inline_as_table(loaded: Loaded) -> None:
    sparql = f"SELECT ?label WHERE {{ <{TIT}> <{RDFS.label}> ?label }}"
    out = boostkg("query", "--store", loaded.store, sparql, cwd=loaded.base).stdout
    assert "Transilvania IT Cluster" in out
    assert "1 rows" in out


def test_query_ask_as_table(loaded: Loaded) -> None:
    yes = here(
        "query", "--store", loaded.store, f"ASK {{ <{TIT}> <{ICF}coordinates> <{BOOST}> }}", cwd=loaded.base
    )
    no = here(
        "query", "--store", loaded.store, f"ASK {{ <{BOOST}> <{ICF}coordinates> <{TIT}> }}", cwd=loaded.base
    )
    assert yes.stdout.strip() == "yes"
    assert no.stdout.strip() == "no"


def test_query_from_file_as_csv(loaded: Loaded) -> None:
    out = here(
        "query",
        "--store",
        loaded.store,
        "--file",
        FIXTURES / "coordinators.rq",
        "--format",
        "csv",
        cwd=loaded.base,
    ).stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows == [{"coordinator": TIT, "label": "Transilvania IT Cluster"}]


def test_query_by_name_as_json(loaded: Loaded) -> None:
    out = here(
        "query", "--store", loaded.store, "--name", "select-coordinators", "--format", "json", cwd=loaded.base
    ).stdout
    doc = json.loads(out)
    assert doc["head"]["vars"][:3] == ["collaboration", "collaborationLabel", "coordinator"]
    pairs = {(b["collaboration"]["value"], b["coordinator"]["value"]) for b in doc["results"]["bindings"]}
    assert (BOOST, TIT) in pairs


def test_query_by_name_as_table(loaded: Loaded) -> None:
    out = here("query", "--store", loaded.store, "--name", "select-coordinators", cwd=loaded.base).stdout
    assert "Transilvania IT Cluster" in out
    assert re.search(r"^\d+ rows$", out, re.MULTILINE)


def test_construct_by_name_as_turtle(loaded: Loaded) -> None:
    out = here(
        "query",
        "--store",
        loaded.store,
        "--name",
        "construct-corridor-network",
        "--format",
        "turtle",
        cwd=loaded.base,
    ).stdout
    g = Graph().parse(data=out, format="turtle")
    corridor = URIRef(CORRIDOR)
    sources = set(g.objects(corridor, URIRef(ICF + "corridorSource")))
    targets = set(g.objects(corridor, URIRef(ICF + "corridorTarget")))
    assert sources == {URIRef(NUTS + c) for c in ("DK03", "EE00")}
    assert targets == {URIRef(NUTS + c) for c in ("RO11", "BG33", "ES51")}
    assert (URIRef(TIT), RDFS.label, Literal("Transilvania IT Cluster", lang="en")) in g


def test_construct_as_ntriples(loaded: Loaded) -> None:
    sparql = f"CONSTRUCT {{ ?o <{ICF}coordinates> ?p }} WHERE {{ ?o <{ICF}coordinates> ?p }}"
    out = here("query", "--store", loaded.store, "--format", "ntriples", sparql, cwd=loaded.base).stdout
    g = Graph().parse(data=out, format="nt")
    assert (URIRef(TIT), URIRef(ICF + "coordinates"), URIRef(BOOST)) in g


# --- export -----------------------------------------------------------------------------------------------


def _distinct_union_triples(loaded: Loaded) -> int:
    sparql = "SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } } }"
    with open_store(loaded.store) as kg:
        return int(kg.select(sparql).rows[0]["n"])


@pytest.mark.parametrize(("fmt", "rdflib_format"), [("nquads", "nquads"), ("trig", "trig")])
def test_export_dataset_round_trips(loaded: Loaded, fmt: str, rdflib_format: str) -> None:
    out = here("export", "--store", loaded.store, "--format", fmt, cwd=loaded.base).stdout
    ds = Dataset()
    ds.parse(data=out, format=rdflib_format)
    per_graph: dict[str, int] = {}
    for _s, _p, _o, g in ds.quads((None, None, None, None)):
        per_graph[str(g)] = per_graph.get(str(g), 0) + 1
    assert per_graph == loaded.stats.graphs
    assert sum(per_graph.values()) == loaded.stats.quads


@pytest.mark.parametrize(("fmt", "rdflib_format"), [("turtle", "turtle"), ("jsonld", "json-ld")])
def test_export_union_round_trips(loaded: Loaded, fmt: str, rdflib_format: str) -> None:
    out = here("export", "--store", loaded.store, "--format", fmt, cwd=loaded.base).stdout
    g = Graph().parse(data=out, format=rdflib_format)
    assert len(g) == _distinct_union_triples(loaded)
    assert len(g) <= loaded.stats.quads
    assert (URIRef(TIT), URIRef(ICF + "coordinates"), URIRef(BOOST)) in g


def test_export_one_graph_to_a_file(loaded: Loaded, tmp_path: Path) -> None:
    target = tmp_path / "nuts.ttl"
    args = (
        "export",
        "--store",
        loaded.store,
        "--format",
        "turtle",
        "--graph",
        GRAPH + "nuts-2024",
        "--out",
        target,
    )
    result = boostkg(*args, cwd=loaded.base)
    assert result.stdout == ""
    assert str(target) in result.stderr
    assert not target.with_name("nuts.ttl.part").exists()
    g = Graph().parse(target, format="turtle")
    assert len(g) == loaded.stats.graphs[GRAPH + "nuts-2024"]


# --- load, import (on copies) ------------------------------------------------------------------------------


def test_load_file_into_graph_named_after_it_then_reload_replaces(
    copy_of_loaded: Path, tmp_path: Path
) -> None:
    source = FIXTURES / "example-actors.ttl"
    graph = GRAPH + "example-actors"
    first = here("load", "--store", copy_of_loaded, source, cwd=tmp_path).stdout
    assert re.search(rf"loaded\s+6 triples into {re.escape(graph)}", first)
    assert count_in_graph(copy_of_loaded, graph) == 6

    # the new actors join the NUTS reference data in the union default graph
    sparql = f"""SELECT ?label ?code WHERE {{
        ?actor <{RDFS.label}> ?label ; <{ICF}inRegion> ?region . ?region <{ICF}nutsCode> ?code .
        FILTER(STRSTARTS(STR(?actor), "{TEST_NS}")) }} ORDER BY ?code"""
    out = here("query", "--store", copy_of_loaded, "--format", "csv", sparql, cwd=tmp_path).stdout
    rows = [(r["label"], r["code"]) for r in csv.DictReader(io.StringIO(out))]
    assert rows == [("Varna Grid (test actor)", "BG33"), ("Cluj Robotics (test actor)", "RO11")]

    again = here("load", "--store", copy_of_loaded, source, cwd=tmp_path).stdout
    assert re.search(rf"loaded\s+6 triples into {re.escape(graph)}", again)
    assert count_in_graph(copy_of_loaded, graph) == 6


def test_load_into_a_given_graph(copy_of_loaded: Path, tmp_path: Path) -> None:
    graph = "https://example.org/boostkg-test/graph/custom"
    here("load", "--store", copy_of_loaded, "--graph", graph, FIXTURES / "other-actors.ttl", cwd=tmp_path)
    assert count_in_graph(copy_of_loaded, graph) == 2
    assert count_in_graph(copy_of_loaded, GRAPH + "other-actors") == 0


def test_import_eis_prints_rows_problems_and_count(
    shared_data: Path, copy_of_loaded: Path, tmp_path: Path
) -> None:
    source = shared_data / "eis" / "eis_country_groups_2021_2023_2024.csv"
    with source.open(encoding="utf-8", newline="") as fh:
        data_rows = sum(1 for _ in csv.DictReader(fh))
    out = boostkg("import", "eis", "--store", copy_of_loaded, source, cwd=tmp_path).stdout
    assert f"read {data_rows:,} rows, imported {data_rows:,}, 0 rows with problems" in out
    loaded_line = re.search(rf"loaded\s+([\d,]+) triples into {GRAPH}eis", out)
    assert loaded_line
    assert _count(loaded_line.group(1)) == count_in_graph(copy_of_loaded, GRAPH + "eis") > 0


# --- which store -------------------------------------------------------------------------------------------


def test_boostkg_store_variable_is_honoured_without_store_option(tmp_path: Path) -> None:
    env_store = tmp_path / "from-env"
    env = _env(BOOSTKG_STORE=str(env_store))
    boostkg("load", FIXTURES / "example-actors.ttl", cwd=tmp_path, env=env)
    assert env_store.is_dir()
    assert not (tmp_path / "var").exists(), "the default ./var/store was used"
    out = here("stats", cwd=tmp_path, env={"BOOSTKG_STORE": str(env_store)}).stdout
    assert f"{GRAPH}example-actors" in out
    assert count_in_graph(env_store, GRAPH + "example-actors") == 6


def test_store_option_wins_over_the_variable(tmp_path: Path) -> None:
    env = {"BOOSTKG_STORE": str(tmp_path / "from-env")}
    here("load", "--store", tmp_path / "explicit", FIXTURES / "other-actors.ttl", cwd=tmp_path, env=env)
    assert (tmp_path / "explicit").is_dir()
    assert not (tmp_path / "from-env").exists()


def test_two_stores_side_by_side_do_not_interfere(tmp_path: Path) -> None:
    jobs = {
        "a": ("example-actors", FIXTURES / "example-actors.ttl"),
        "b": ("other-actors", FIXTURES / "other-actors.ttl"),
    }
    procs = [
        subprocess.Popen(
            [str(BOOSTKG), "load", "--store", str(tmp_path / name), str(source)],
            cwd=tmp_path,
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, (_graph, source) in jobs.items()
    ]
    for proc in procs:
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    a, b = tmp_path / "a", tmp_path / "b"
    assert count_in_graph(a, GRAPH + "example-actors") == 6
    assert count_in_graph(a, GRAPH + "other-actors") == 0
    assert count_in_graph(b, GRAPH + "other-actors") == 2
    assert count_in_graph(b, GRAPH + "example-actors") == 0
