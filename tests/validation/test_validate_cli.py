"""``boostkg validate`` end to end in real subprocesses: reports, formats, exit codes, --store."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from rdflib import Graph
from rdflib.namespace import SH

from boostkg.config import PROJECT_ROOT, Settings
from boostkg.ingest.bootstrap import bootstrap
from boostkg.store import open_store

pytestmark = pytest.mark.subprocess

BOOSTKG = Path(sys.executable).with_name("boostkg")
EXAMPLES = PROJECT_ROOT / "data" / "examples"
VALID = EXAMPLES / "ro11-ecosystem.ttl"
INVALID = EXAMPLES / "invalid" / "participation-end-before-start.ttl"


def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BOOSTKG), "validate", *map(str, args)], capture_output=True, text=True, timeout=120, check=False
    )


def _line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), start=1) if line.startswith(text))


def test_valid_file_exits_0() -> None:
    result = _run(VALID)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{VALID}: conforms: 0 violation(s)" in result.stdout


def test_violation_exits_1_with_file_line_focus_path_value_shape_message() -> None:
    result = _run(INVALID)
    assert result.returncode == 1, result.stderr
    line = _line_of(INVALID, "ex:participation a icf:Participation")
    out = result.stdout
    assert f"{INVALID}:{line}:1: violation: The participation ends (icf:endDate) before it starts" in out
    assert "focus node: https://w3id.org/boostkg/id/example/participation" in out
    assert "path:       icf:startDate" in out
    assert 'value:      "2025-01-01"^^xsd:date' in out
    assert "participation period (https://w3id.org/boostkg/shapes/core#Participation-period)" in out
    assert "does not conform: 1 violation(s)" in out


def test_unparsable_file_exits_2_naming_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ttl"
    bad.write_text("@prefix icf: <https://w3id.org/boostkg/icf#> .\n<https://example.org/a> icf:acronym .\n")
    result = _run(bad)
    assert result.returncode == 2
    assert f"error: {bad}, line 2, column" in result.stderr


def test_missing_file_exits_2() -> None:
    result = _run(PROJECT_ROOT / "no-such-file.ttl")
    assert result.returncode == 2
    assert "no such file" in result.stderr


def test_worst_file_decides_and_every_file_is_reported(tmp_path: Path) -> None:
    result = _run(VALID, INVALID)
    assert result.returncode == 1
    assert f"{VALID}: conforms" in result.stdout
    assert f"{INVALID}: does not conform" in result.stdout


def test_json_format() -> None:
    result = _run("--format", "json", VALID, INVALID, PROJECT_ROOT / "missing.ttl")
    assert result.returncode == 2
    items = json.loads(result.stdout)
    assert [i["file"] for i in items] == [str(VALID), str(INVALID), str(PROJECT_ROOT / "missing.ttl")]
    assert items[0]["conforms"] is True
    assert items[0]["triples"] > 40
    assert items[1]["conforms"] is False
    (issue,) = [i for i in items[1]["issues"] if i["severity"] == "Violation"]
    assert issue["shape"] == "https://w3id.org/boostkg/shapes/core#Participation-period"
    assert issue["line"] == _line_of(INVALID, "ex:participation a icf:Participation")
    assert "no such file" in items[2]["error"]


def test_turtle_format_is_a_shacl_report() -> None:
    result = _run("--format", "turtle", INVALID)
    assert result.returncode == 1
    graph = Graph().parse(data=result.stdout, format="turtle")
    (report,) = graph.subjects(SH.conforms, None)
    assert graph.value(report, SH.conforms).toPython() is False  # type: ignore[union-attr]
    (result_node,) = [
        r for r in graph.objects(report, SH.result) if (r, SH.resultSeverity, SH.Violation) in graph
    ]
    assert str(graph.value(result_node, SH.sourceShape)).endswith("#Participation-period")


def test_store_gives_the_context(tmp_path: Path) -> None:
    """With --store the references are checked against that store: an empty one knows no NUTS
    region, the loaded one does."""
    empty = tmp_path / "empty"
    open_store(empty).close()
    result = _run("--store", empty, VALID)
    assert result.returncode == 1
    assert "core#Actor-inRegion" in result.stdout
    loaded = tmp_path / "loaded"
    kg = open_store(loaded)
    defaults = Settings()
    bootstrap(kg, ontology_dir=defaults.ontology_dir, data_dir=defaults.data_dir)
    kg.close()
    result = _run("--store", loaded, VALID)
    assert result.returncode == 0, result.stdout
