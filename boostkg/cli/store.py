"""Commands that fill and empty the store: init, load, import, infer, export, and main (load the
shipped data, infer, report, then serve)."""

from __future__ import annotations

import enum
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, cast

import typer
from rdflib import URIRef
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from boostkg.cli.serve import start_server, with_overrides
from boostkg.cli.session import StoreOption, err, opened, out, print_load, settings_for
from boostkg.errors import InputError, InputNotFoundError
from boostkg.importers.base import ImportReport
from boostkg.importers.registry import IMPORTER_HELP, IMPORTER_NAMES, get_importer
from boostkg.importers.turtle import ShippableImporter, export_turtle
from boostkg.ingest.bootstrap import bootstrap
from boostkg.ingest.inference import materialise_from
from boostkg.ingest.loading import load_file, run_import
from boostkg.namespaces import graph_iri
from boostkg.reports.load_report import write_load_report
from boostkg.store import RdfFormat
from boostkg.store.inventory import take_inventory


class ExportFormat(enum.Enum):
    """Output formats of ``boostkg export``."""

    nquads = "nquads"
    trig = "trig"
    turtle = "turtle"
    ntriples = "ntriples"
    jsonld = "jsonld"


def _print_import_report(report: ImportReport) -> None:
    out.print(
        f"read {report.rows_read:,} rows, imported {report.rows_imported:,}, "
        f"{report.problem_count:,} rows with problems"
    )
    if report.problem_count:
        for reason, count in sorted(report.problems_by_reason.items(), key=lambda kv: -kv[1]):
            out.print(f"  {count:>7,} × {reason}")
        out.print("  examples:")
        for problem in report.problems[:10]:
            out.print(f"    {report.source}: {problem}")


def init(store: StoreOption = None) -> None:
    """Create an empty store (or check an existing one opens)."""
    with opened(store) as kg:
        out.print(f"store ready at {kg.path} ({kg.triple_count():,} quads)")


def load(
    files: Annotated[list[Path], typer.Argument(help="RDF files (Turtle, N-Triples, RDF/XML, JSON-LD).")],
    graph: Annotated[
        str | None, typer.Option(help="Target graph IRI (default: graph/<file stem>); one file only.")
    ] = None,
    rdf_format: Annotated[
        str | None, typer.Option("--format", help="turtle, nt, xml, jsonld (default: from suffix).")
    ] = None,
    store: StoreOption = None,
) -> None:
    """Load RDF files, each replacing its named graph; all-or-nothing per file."""
    if graph is not None and len(files) > 1:
        raise InputError("--graph takes a single file; load files one by one into one graph")
    fmt = RdfFormat.from_name(rdf_format) if rdf_format else None
    with opened(store) as kg:
        for path in files:
            target = URIRef(graph) if graph else graph_iri(path.stem)
            print_load(load_file(kg, path, target, rdf_format=fmt))


def _run_import(name: str, source: Path, store: Path | None, write_turtle: Path | None = None) -> None:
    importer = get_importer(name)
    if write_turtle is not None and not isinstance(getattr(importer, "attribution", None), str):
        raise InputError(f"--write-turtle is for shippable reference data (nuts, eis), not {name}")
    if not source.exists():
        raise InputNotFoundError(source)
    sizer = getattr(importer, "total_bytes", None)
    total = int(sizer(source)) if callable(sizer) else source.stat().st_size
    with opened(store) as kg:
        with Progress(
            TextColumn(f"[bold]import {name}[/]"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=True,
            disable=not err.is_terminal,
        ) as bar:
            task = bar.add_task(name, total=total)
            outcome = run_import(
                kg,
                importer,
                source,
                progress=lambda n: bar.advance(task, n),
                on_converted=lambda _r: bar.update(task, completed=total, description="loading"),
            )
        _print_import_report(outcome.report)
        print_load(outcome.record)
    if write_turtle is not None:
        export_turtle(cast(ShippableImporter, importer), source, write_turtle)
        out.print(f"  wrote {write_turtle} (with its provenance header and attribution)")


def add_importers(group: typer.Typer) -> None:
    """One ``import NAME`` command per registered importer, on ``group``."""
    for name in IMPORTER_NAMES:
        group.command(name=name)(_import_command(name))


def _import_command(name: str) -> Callable[..., None]:
    def command(
        source: Annotated[Path, typer.Argument(help="The file (or directory) to import.")],
        write_turtle: Annotated[
            Path | None, typer.Option(help="Also write the imported graph as Turtle to this file.")
        ] = None,
        store: StoreOption = None,
    ) -> None:
        _run_import(name, source, store, write_turtle)

    command.__doc__ = IMPORTER_HELP[name]
    return command


def infer(store: StoreOption = None) -> None:
    """Re-materialise the inferred graph from the rules in ontology/rules/."""
    settings = settings_for(store)
    with opened(store) as kg:
        report = materialise_from(kg, settings.ontology_dir / "rules")
        out.print(f"inferred {report.total:,} triples into {graph_iri('inferred')}")


def export(
    output: Annotated[ExportFormat, typer.Option("--format", help="Serialisation.")] = ExportFormat.nquads,
    graph: Annotated[str | None, typer.Option(help="Export only this named graph.")] = None,
    out_file: Annotated[Path | None, typer.Option("--out", "-o", help="File (default: stdout).")] = None,
    store: StoreOption = None,
) -> None:
    """Export the dataset (N-Quads, TriG) or a graph / the union (Turtle, N-Triples, JSON-LD)."""
    fmt = RdfFormat.from_name(output.value)
    if fmt.has_graphs and graph is not None:
        raise InputError(f"--graph exports one graph: use turtle, ntriples or jsonld, not {output.value}")
    with opened(store) as kg:
        if out_file is None:
            kg.dump(sys.stdout.buffer, fmt, graph=URIRef(graph) if graph else None)
            sys.stdout.flush()
        else:
            tmp = out_file.with_name(out_file.name + ".part")
            with tmp.open("wb") as fh:
                kg.dump(fh, fmt, graph=URIRef(graph) if graph else None)
            tmp.replace(out_file)
            err.print(f"wrote {out_file}")


def main(
    host: Annotated[str | None, typer.Option(help="Address to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Load and report, then exit.")] = False,
    store: StoreOption = None,
) -> None:
    """The main job: load the ontology and the shipped data, infer, report, and serve."""
    settings = with_overrides(settings_for(store), host, port)
    out.print(f"[bold]boostkg main[/] — store {settings.store}")
    with opened(store) as kg:
        report = bootstrap(
            kg, ontology_dir=settings.ontology_dir, data_dir=settings.data_dir, on_load=print_load
        )
        out.print(
            f"  inferred {report.inference.total:,} triples into {graph_iri('inferred')} "
            f"({len(report.inference.derived_by_rule)} rules)"
        )
        inventory = take_inventory(kg)
        path = write_load_report(inventory, report, settings.reports_dir)
    out.print(f"store holds {inventory.quads:,} quads in {len(inventory.graphs)} named graphs")
    out.print(f"report: {path}")
    if not no_serve:
        start_server(settings)
