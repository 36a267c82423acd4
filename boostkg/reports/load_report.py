"""The main job's load report: what was loaded where, what was inferred, what the graph holds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from boostkg.ingest.bootstrap import BootstrapReport
from boostkg.reports.charts import horizontal_bars
from boostkg.store.inventory import Inventory

TOP_CLASSES = 25


@dataclass(frozen=True)
class LoadRow:
    graph: str
    source: str
    triples: int
    seconds: float


@dataclass(frozen=True)
class LoadReportModel:
    generated: str
    quads: int
    loads: tuple[LoadRow, ...]
    inferred: int
    inferred_by_rule: tuple[tuple[str, int], ...]
    graphs_chart: str
    classes_chart: str
    classes: tuple[tuple[str, int], ...]


def _short(iri: str) -> str:
    for sep in ("#", "/"):
        if sep in iri.rstrip("/"):
            return iri.rstrip("/").rsplit(sep, 1)[1]
    return iri


def build_model(inventory: Inventory, bootstrap: BootstrapReport) -> LoadReportModel:
    """Turn the store's numbers into the report's plain model."""
    classes = tuple((c.iri, c.count) for c in inventory.classes[:TOP_CLASSES])
    return LoadReportModel(
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        quads=inventory.quads,
        loads=tuple(LoadRow(str(r.graph), r.source, r.triples, r.seconds) for r in bootstrap.loads),
        inferred=bootstrap.inference.total,
        inferred_by_rule=tuple(sorted(bootstrap.inference.derived_by_rule.items())),
        graphs_chart=horizontal_bars([(_short(str(g.graph)), g.triples) for g in inventory.graphs]),
        classes_chart=horizontal_bars([(_short(iri), n) for iri, n in classes]),
        classes=classes,
    )


def write_load_report(inventory: Inventory, bootstrap: BootstrapReport, reports_dir: Path) -> Path:
    """Write ``load-report.html`` into ``reports_dir``; return its path."""
    env = Environment(loader=PackageLoader("boostkg.reports"), autoescape=select_autoescape())
    html = env.get_template("load-report.html.j2").render(report=build_model(inventory, bootstrap))
    reports_dir.mkdir(parents=True, exist_ok=True)
    path = reports_dir / "load-report.html"
    tmp = path.with_suffix(".html.part")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(path)
    return path
