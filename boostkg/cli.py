"""The ``boostkg`` command line: thin Typer commands over the library; no logic of its own."""

from __future__ import annotations

import enum
import io
import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer
from rdflib import URIRef
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

# Typer 0.29 vendors click; its exception classes live here, not in the `click` package.
from typer._click.exceptions import ClickException, NoArgsIsHelpError
from typer._click.globals import get_current_context

from boostkg.auth import TokenStore, token_store_path
from boostkg.backup import check_backup, download_backup, restore_backup, write_backup
from boostkg.client import describe, submit_file
from boostkg.config import Settings
from boostkg.errors import (
    BoostKGError,
    InputError,
    InputNotFoundError,
    Location,
    QualityCheckError,
    QueryError,
    StoreLockedError,
)
from boostkg.importers.base import ImportReport
from boostkg.importers.registry import IMPORTER_HELP, IMPORTER_NAMES, get_importer
from boostkg.importers.turtle import ShippableImporter, export_turtle
from boostkg.ingest.bootstrap import ONTOLOGY_FILES, bootstrap
from boostkg.ingest.inference import materialise_from
from boostkg.ingest.loading import load_file, run_import
from boostkg.ingest.provenance import LoadRecord
from boostkg.namespaces import graph_iri, prefixes
from boostkg.ontology_docs import generate_docs
from boostkg.queries.catalog import find_query, parse_header, read_query_text
from boostkg.queries.checks import run_checks
from boostkg.reasoning.owl import check_consistency
from boostkg.reports.load_report import write_load_report
from boostkg.store import EmbeddedStore, RdfFormat, RemoteStore, ResultFormat, open_store, store_location
from boostkg.store.inventory import take_inventory
from boostkg.validation import (
    ReportFormat,
    exit_code,
    load_reference_graph,
    load_shapes,
    render,
    validate_file,
)

app = typer.Typer(
    name="boostkg",
    help="The knowledge graph of the BOOST Interregional Collaboration Framework.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
import_app = typer.Typer(help="Import reference and collaboration data into their named graphs.")
app.add_typer(import_app, name="import")

out = Console(soft_wrap=True)
err = Console(stderr=True)

StoreOption = Annotated[
    Path | None,
    typer.Option(
        "--store",
        help="Store directory (default: $BOOSTKG_STORE, else ./var/store).",
        show_default=False,
    ),
]


class QueryOutput(enum.Enum):
    """Output formats of ``boostkg query``."""

    table = "table"
    csv = "csv"
    tsv = "tsv"
    json = "json"
    xml = "xml"
    turtle = "turtle"
    ntriples = "ntriples"


_QUERY_FORMATS: dict[QueryOutput, ResultFormat | RdfFormat] = {
    QueryOutput.csv: ResultFormat.CSV,
    QueryOutput.tsv: ResultFormat.TSV,
    QueryOutput.json: ResultFormat.JSON,
    QueryOutput.xml: ResultFormat.XML,
    QueryOutput.turtle: RdfFormat.TURTLE,
    QueryOutput.ntriples: RdfFormat.NTRIPLES,
}


class ExportFormat(enum.Enum):
    """Output formats of ``boostkg export``."""

    nquads = "nquads"
    trig = "trig"
    turtle = "turtle"
    ntriples = "ntriples"
    jsonld = "jsonld"


@app.callback()
def _remote_store(
    ctx: typer.Context,
    store_url: Annotated[
        str | None,
        typer.Option(
            "--store-url",
            help="A SPARQL 1.1 server's query endpoint to use as the store.",
            show_default=False,
        ),
    ] = None,
    store_update_url: Annotated[
        str | None, typer.Option("--store-update-url", help="Its Update endpoint.", show_default=False)
    ] = None,
    store_gsp_url: Annotated[
        str | None, typer.Option("--store-gsp-url", help="Its Graph Store endpoint.", show_default=False)
    ] = None,
    store_user: Annotated[
        str | None, typer.Option("--store-user", help="User name for the server.", show_default=False)
    ] = None,
) -> None:
    """The knowledge graph of the BOOST Interregional Collaboration Framework. The remote-store
    options (before the command) override $BOOSTKG_STORE_URL and friends; give the password in
    $BOOSTKG_STORE_PASSWORD, never on the command line."""
    chosen = {
        "store_url": store_url,
        "store_update_url": store_update_url,
        "store_gsp_url": store_gsp_url,
        "store_user": store_user,
    }
    ctx.obj = {name: value for name, value in chosen.items() if value is not None}


def _settings(store: Path | None) -> Settings:
    ctx = get_current_context(silent=True)
    overrides: dict[str, object] = dict(ctx.find_root().obj or {}) if ctx is not None else {}
    if store is not None:
        overrides["store"] = store
    return Settings(**overrides)  # type: ignore[arg-type]


@contextmanager
def _opened(store: Path | None) -> Iterator[EmbeddedStore | RemoteStore]:
    settings = _settings(store)
    kg = open_store(store_location(settings))  # BOOSTKG_STORE_URL set: the remote server
    if kg.recovered:
        err.print(f"[yellow]note:[/] {kg.recovered} (store {kg.path})")
    try:
        yield kg
    finally:
        kg.close()


def _print_load(record: LoadRecord) -> None:
    out.print(
        f"  loaded {record.triples:>9,} triples into {record.graph}  "
        f"[dim]({record.source}, {record.seconds:.2f} s)[/]"
    )


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


@app.command()
def init(store: StoreOption = None) -> None:
    """Create an empty store (or check an existing one opens)."""
    with _opened(store) as kg:
        out.print(f"store ready at {kg.path} ({kg.triple_count():,} quads)")


@app.command()
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
    with _opened(store) as kg:
        for path in files:
            target = URIRef(graph) if graph else graph_iri(path.stem)
            _print_load(load_file(kg, path, target, rdf_format=fmt))


def _run_import(name: str, source: Path, store: Path | None, write_turtle: Path | None = None) -> None:
    importer = get_importer(name)
    if write_turtle is not None and not isinstance(getattr(importer, "attribution", None), str):
        raise InputError(f"--write-turtle is for shippable reference data (nuts, eis), not {name}")
    if not source.exists():
        raise InputNotFoundError(source)
    sizer = getattr(importer, "total_bytes", None)
    total = int(sizer(source)) if callable(sizer) else source.stat().st_size
    with _opened(store) as kg:
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
        _print_load(outcome.record)
    if write_turtle is not None:
        export_turtle(cast(ShippableImporter, importer), source, write_turtle)
        out.print(f"  wrote {write_turtle} (with its provenance header and attribution)")


for _name in IMPORTER_NAMES:

    def _make(name: str) -> None:
        def command(
            source: Annotated[Path, typer.Argument(help="The file (or directory) to import.")],
            write_turtle: Annotated[
                Path | None, typer.Option(help="Also write the imported graph as Turtle to this file.")
            ] = None,
            store: StoreOption = None,
        ) -> None:
            _run_import(name, source, store, write_turtle)

        command.__doc__ = IMPORTER_HELP[name]
        import_app.command(name=name)(command)

    _make(_name)


@app.command()
def infer(store: StoreOption = None) -> None:
    """Re-materialise the inferred graph from the rules in ontology/rules/."""
    settings = _settings(store)
    with _opened(store) as kg:
        report = materialise_from(kg, settings.ontology_dir / "rules")
        out.print(f"inferred {report.total:,} triples into {graph_iri('inferred')}")


@app.command()
def query(
    text: Annotated[str | None, typer.Argument(help="The SPARQL query.")] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="Read the query from a file.")] = None,
    name: Annotated[str | None, typer.Option("--name", "-n", help="A query in queries/, by name.")] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="NAME=VALUE for a named query's declared parameter."),
    ] = None,
    output: Annotated[QueryOutput, typer.Option("--format", help="Output format.")] = QueryOutput.table,
    store: StoreOption = None,
) -> None:
    """Run a SPARQL query (inline, from a file, or by name) over the union of all graphs.

    A named query's declared parameters are bound to their defaults unless --param gives a value;
    values are bound as typed RDF terms, never spliced into the query text.
    """
    settings = _settings(store)
    given = [x for x in (text, file, name) if x is not None]
    if len(given) != 1:
        raise InputError("give exactly one of: a query, --file FILE, --name NAME")
    if param and name is None:
        raise InputError("--param is for named queries (--name)")
    if file is not None:
        sparql = read_query_text(file)
    elif name is not None:
        path = find_query(settings.queries_dir, name)
        sparql = parse_header(path, read_query_text(path)).bound(_pairs(param or []))
    else:
        sparql = str(text)
    source = file if file is not None else (find_query(settings.queries_dir, name) if name else None)
    with _opened(store) as kg:
        try:
            if output is QueryOutput.table:
                _print_table(kg, sparql)
                return
            fmt = _QUERY_FORMATS[output]
            buffer = io.BytesIO()
            kg.query_to(
                sparql,
                buffer,
                result_format=fmt if isinstance(fmt, ResultFormat) else ResultFormat.JSON,
                rdf_format=fmt if isinstance(fmt, RdfFormat) else RdfFormat.TURTLE,
            )
        except QueryError as exc:
            if source is None:
                raise
            raise QueryError(f"{source}: {exc}") from exc
        sys.stdout.buffer.write(buffer.getvalue())
        sys.stdout.flush()


def _pairs(items: list[str]) -> dict[str, str]:
    pairs = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InputError(f"--param takes NAME=VALUE, got {item!r}")
        pairs[key.strip()] = value
    return pairs


_TABLE_PREFIXES = tuple(
    (prefix + ":", namespace)
    for prefix, namespace in prefixes("icf", "id", "vocab", "theme", "graph", "nuts", "country").items()
)


def _compact(binding: dict[str, str]) -> str:
    """A result cell for people: IRIs in the project's namespaces written as prefixed names."""
    value = binding.get("value", "")
    if binding.get("type") == "uri":
        for prefix, namespace in _TABLE_PREFIXES:
            if value.startswith(namespace):
                return prefix + value[len(namespace) :]
    return value


def _print_table(kg: EmbeddedStore | RemoteStore, sparql: str) -> None:
    buffer = io.BytesIO()
    kg.query_to(sparql, buffer, result_format=ResultFormat.JSON, rdf_format=RdfFormat.TURTLE)
    raw = buffer.getvalue()
    if raw.lstrip().startswith(b"{"):
        doc = json.loads(raw)
        if "boolean" in doc:
            out.print("yes" if doc["boolean"] else "no")
            return
        variables = doc["head"]["vars"]
        table = Table()
        for variable in variables:
            table.add_column(variable, overflow="fold")
        bindings = doc["results"]["bindings"]
        for row in bindings:
            table.add_row(*(_compact(row.get(v, {})) for v in variables))
        out.print(table)
        out.print(f"{len(bindings):,} rows")
    else:
        sys.stdout.write(raw.decode("utf-8"))


@app.command()
def check(store: StoreOption = None) -> None:
    """Run the quality checks in queries/checks/ (each must return no rows); exit 1 if any fails."""
    settings = _settings(store)
    with _opened(store) as kg:
        results = run_checks(kg, settings.queries_dir / "checks")
    failed = [r for r in results if not r.passed]
    for result in results:
        mark = "[green]ok[/]  " if result.passed else f"[red]FAIL[/] {len(result.rows)} rows"
        out.print(f"{mark} {result.name}")
        for row in list(result.rows)[:10]:
            out.print("       " + ", ".join(f"{k}={v}" for k, v in row.items()), markup=False)
    if failed:
        raise QualityCheckError(f"{len(failed)} of {len(results)} quality checks returned rows")


@app.command()
def reason(
    with_data: Annotated[
        bool, typer.Option("--with-data/--ontology-only", help="Include data/*.ttl (seed, NUTS, EIS).")
    ] = True,
) -> None:
    """Check with HermiT (Java) that the ontology (and the shipped data) is consistent."""
    settings = Settings()
    paths = [settings.ontology_dir / name for name, _ in ONTOLOGY_FILES]
    if with_data:
        paths += sorted(settings.data_dir.glob("*.ttl"))
    out.print(f"reasoning with HermiT over {len(paths)} files ...")
    result = check_consistency([p for p in paths if p.exists()])
    out.print(
        f"consistent; {len(result.class_assertions):,} class and "
        f"{len(result.property_assertions):,} property assertions entailed"
    )


@app.command()
def docs(
    out_dir: Annotated[Path | None, typer.Option("--out", help="Folder (default docs/ontology).")] = None,
) -> None:
    """Generate the ontology's HTML documentation (pyLODE)."""
    settings = Settings()
    target = out_dir or settings.ontology_dir.parent / "docs" / "ontology"
    page = generate_docs(settings.ontology_dir / "icf.ttl", target)
    out.print(f"wrote {page}")


@app.command()
def stats(store: StoreOption = None) -> None:
    """Triples per named graph and instances per class."""
    with _opened(store) as kg:
        inventory = take_inventory(kg)
    graphs = Table("named graph", "triples", title=f"{inventory.quads:,} quads")
    for g in inventory.graphs:
        graphs.add_row(str(g.graph), f"{g.triples:,}")
    out.print(graphs)
    classes = Table("class", "instances")
    for c in inventory.classes:
        classes.add_row(c.iri, f"{c.count:,}")
    out.print(classes)


@app.command()
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
    with _opened(store) as kg:
        if out_file is None:
            kg.dump(sys.stdout.buffer, fmt, graph=URIRef(graph) if graph else None)
            sys.stdout.flush()
        else:
            tmp = out_file.with_name(out_file.name + ".part")
            with tmp.open("wb") as fh:
                kg.dump(fh, fmt, graph=URIRef(graph) if graph else None)
            tmp.replace(out_file)
            err.print(f"wrote {out_file}")


@app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(help="Submission files (.ttl, .nt, .jsonld, .rdf).")],
    report_format: Annotated[
        ReportFormat, typer.Option("--format", help="Report format.")
    ] = ReportFormat.text,
    store: Annotated[
        Path | None,
        typer.Option(
            "--store",
            help="Validate in the context of this store (default: the shipped reference data).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Validate submissions against the SHACL shapes: exit 0 conforms, 1 violations, 2 unreadable."""
    settings = Settings()
    shapes = load_shapes(settings.shapes_dir, ontology=settings.ontology_dir / "icf.ttl")
    if store is None:
        reference = load_reference_graph(settings.ontology_dir, settings.data_dir)
        outcomes = [validate_file(path, shapes, reference=reference) for path in files]
    else:
        with _opened(store) as kg:
            outcomes = [validate_file(path, shapes, store=kg) for path in files]
    sys.stdout.write(render(outcomes, report_format))
    for outcome in outcomes:
        if outcome.error is not None and report_format is not ReportFormat.json:
            err.print(f"error: {outcome.error}", markup=False, highlight=False, soft_wrap=True)
    sys.exit(int(exit_code(outcomes)))  # SystemExit, not typer.Exit: run() does not forward its code


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
    store: StoreOption = None,
) -> None:
    """Serve the store over HTTP (landing page, SPARQL endpoint)."""
    _serve(_with_overrides(_settings(store), host, port))


def _with_overrides(settings: Settings, host: str | None, port: int | None) -> Settings:
    updates: dict[str, object] = {}
    if host is not None:
        updates["host"] = host
    if port is not None:
        updates["port"] = port
    return settings.model_copy(update=updates)


def _serve(settings: Settings) -> None:

    from boostkg.api import server
    from boostkg.api.app import create_app

    out.print(f"serving {settings.store} on http://{settings.host}:{settings.port}/  (Ctrl-C stops)")
    server.run(create_app(settings), settings)


@app.command()
def main(
    host: Annotated[str | None, typer.Option(help="Address to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Load and report, then exit.")] = False,
    store: StoreOption = None,
) -> None:
    """The main job: load the ontology and the shipped data, infer, report, and serve."""
    settings = _with_overrides(_settings(store), host, port)
    out.print(f"[bold]boostkg main[/] — store {settings.store}")
    with _opened(store) as kg:
        report = bootstrap(
            kg, ontology_dir=settings.ontology_dir, data_dir=settings.data_dir, on_load=_print_load
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
        _serve(settings)


token_app = typer.Typer(help="Stewards' tokens: create (shown once), list, revoke. For administrators.")
app.add_typer(token_app, name="token")


def _register(store: Path | None) -> TokenStore:
    return TokenStore(token_store_path(_settings(store).store))


@token_app.command("create")
def token_create(
    steward: Annotated[str, typer.Option(help="The steward's name.")],
    organisation: Annotated[str, typer.Option(help="IRI of the steward's organisation.")],
    region: Annotated[str | None, typer.Option(help="NUTS code of the region they steward.")] = None,
    admin: Annotated[
        bool, typer.Option("--admin", help="May act outside any lane (not on ontology terms).")
    ] = False,
    expires_in: Annotated[
        float | None,
        typer.Option("--expires-in", help="Days until the token is refused (default: never expires)."),
    ] = None,
    store: StoreOption = None,
) -> None:
    """Create a token and print it alone on standard output; it is never shown again."""
    lifetime = timedelta(days=expires_in) if expires_in is not None else None
    token, who = _register(store).create(
        steward=steward, organisation=organisation, region=region, admin=admin, expires_in=lifetime
    )
    sys.stdout.write(token + "\n")
    err.print(f"token {who.token_id} for {who.name} ({who.organisation})", markup=False, highlight=False)


@token_app.command("list")
def token_list(store: StoreOption = None) -> None:
    """List every token (never the secret): id, steward, organisation, region, admin, state."""
    table = Table("id", "steward", "organisation", "region", "admin", "created", "state")
    for info in _register(store).tokens():
        who = info.steward
        if info.revoked:
            state = f"revoked {info.revoked:%Y-%m-%d}"
        elif info.expires:
            state = f"{'expired' if info.expired else 'expires'} {info.expires:%Y-%m-%d %H:%M}"
        else:
            state = "active"
        table.add_row(
            who.token_id,
            who.name,
            str(who.organisation),
            who.region or "",
            "yes" if who.admin else "",
            f"{info.created:%Y-%m-%d %H:%M}",
            state,
        )
    out.print(table)


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[str, typer.Argument(help="The token's id (the 8 hex digits after 'bkg_').")],
    store: StoreOption = None,
) -> None:
    """Revoke a token: requests carrying it get 401 from now on."""
    info = _register(store).revoke(token_id)
    out.print(f"revoked token {info.steward.token_id} of {info.steward.name}")


@contextmanager
def _progress(label: str, unit: str) -> Iterator[Callable[[int, int], None]]:
    """A (done, total) callback showing progress on stderr: a bar on a terminal, else a line every
    ~10 s (for logs of scheduled backups)."""
    if err.is_terminal:
        with Progress(
            TextColumn(f"[bold]{label}[/]"), BarColumn(), TimeElapsedColumn(), console=err, transient=True
        ) as bar:
            task = bar.add_task(label, total=None)
            yield lambda done, total: bar.update(task, completed=done, total=total)
        return
    last = [time.monotonic()]

    def report(done: int, total: int) -> None:
        if time.monotonic() - last[0] >= 10:
            last[0] = time.monotonic()
            share = f" ({done / total:.0%})" if total else ""
            err.print(f"{label}: {done:,} of {total:,} {unit}{share}", markup=False, highlight=False)

    yield report


def _archive(settings: Settings) -> Path:
    """The submissions archive of the store ``settings`` name (kept beside it even for a remote store)."""
    # Imported here: the API's modules load only for the commands that need them.
    from boostkg.api.routes.submissions import ARCHIVE_DIR

    return settings.store / ARCHIVE_DIR


def _read_token(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise InputError(f"cannot read the token: {exc.strerror or exc}", Location(str(path))) from exc


@app.command()
def backup(
    file: Annotated[Path, typer.Argument(help="Backup file: N-Quads, gzip-compressed if it ends .gz.")],
    url: Annotated[
        str | None,
        typer.Option(help="Back up through the running server at this URL (no need to stop it)."),
    ] = None,
    token: Annotated[
        str | None, typer.Option(help="An administrator's token, with --url.", show_default=False)
    ] = None,
    token_file: Annotated[
        Path | None,
        typer.Option(
            help="A file holding the token (keeps it out of `ps` and shell history).", show_default=False
        ),
    ] = None,
    store: StoreOption = None,
) -> None:
    """Back up every named graph, the submissions archive and the token register to one checked
    N-Quads file: from the store directly (the server stopped, or a remote store), or with --url
    from a running server, which keeps taking writes."""
    if url is not None:
        if token_file is not None:
            token = _read_token(token_file)
        if not token:
            raise typer.BadParameter(
                "--url needs an administrator's --token or --token-file", param_hint="--token"
            )
        with _progress("backup", "quads") as progress:
            manifest = download_backup(url, token, file, progress=progress)
    else:
        settings = _settings(store)
        try:
            with _opened(store) as kg, _progress("backup", "quads") as progress:
                manifest = write_backup(
                    kg,
                    TokenStore(token_store_path(settings.store)),
                    file,
                    archive=_archive(settings),
                    progress=progress,
                )
        except StoreLockedError as exc:
            raise StoreLockedError(
                f"{exc}: back up through it instead: boostkg backup {file} --url URL --token TOKEN"
            ) from exc
    out.print(
        f"backed up {manifest.quads:,} quads in {len(manifest.graphs)} named graphs, "
        f"{len(manifest.files)} archive files and {len(manifest.tokens)} tokens to {file}"
    )


@app.command()
def restore(
    file: Annotated[Path, typer.Argument(help="A file written by `boostkg backup`.")],
    force: Annotated[
        bool, typer.Option("--force", help="Replace a store that is not empty (all or nothing).")
    ] = False,
    check_only: Annotated[
        bool, typer.Option("--check", help="Only check that the file is whole; change nothing.")
    ] = False,
    store: StoreOption = None,
) -> None:
    """Restore a backup (quads, submissions archive, tokens) into an empty store (or, with --force,
    in place of everything in it). The server must be stopped."""
    if check_only:
        with _progress("check", "bytes") as progress:
            manifest = check_backup(file, progress=progress)
        out.print(
            f"{file} is whole: {manifest.quads:,} quads, {len(manifest.files)} archive files, "
            f"{len(manifest.tokens)} tokens, {manifest.created}"
        )
        return
    settings = _settings(store)
    with _opened(store) as kg, _progress("restore", "bytes") as progress:
        tokens = TokenStore(token_store_path(settings.store))
        manifest = restore_backup(
            kg, tokens, file, archive=_archive(settings), force=force, progress=progress
        )
    out.print(
        f"restored {manifest.quads:,} quads in {len(manifest.graphs)} named graphs, "
        f"{len(manifest.files)} archive files and {len(manifest.tokens)} tokens from {file} "
        f"(taken {manifest.created})"
    )


@app.command()
def submit(
    file: Annotated[Path, typer.Argument(help="The Turtle (or JSON-LD, N-Triples, RDF/XML) file.")],
    url: Annotated[str, typer.Option(help="The boostkg server, e.g. http://127.0.0.1:8000.")],
    token: Annotated[str, typer.Option(help="Your steward's token.")],
    replaces: Annotated[str | None, typer.Option(help="Id of the submission this one replaces.")] = None,
) -> None:
    """Submit a file to a boostkg server; exit 0 accepted, 1 rejected (violations), 2 refused."""
    answer = submit_file(file, url=url, token=token, replaces=replaces)
    for line in describe(answer, file.name):
        (out if answer.accepted else err).print(line, markup=False, highlight=False)
    if not answer.accepted:
        sys.exit(1 if answer.status == 422 else 2)  # SystemExit: run() does not forward typer.Exit's code


if TYPE_CHECKING:
    from boostkg.analysis.backtest import BacktestResult

# The analysis commands import boostkg.analysis (NumPy, SciPy, NetworkX: most of a second) inside
# their bodies, so that every other command, and --help, starts without it.


class RankPer(enum.Enum):
    """Top candidates per source actor, or top pairs overall (``match``, ``report``)."""

    pair = "pair"
    source = "source"


@app.command()
def report(
    sources: Annotated[str, typer.Option("--from", help="Source side: country or NUTS codes, e.g. DK,EE.")],
    targets: Annotated[str, typer.Option("--to", help="Target side: country or NUTS codes, e.g. RO,BG,ES.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Directory for report.html and report.json.")],
    theme: Annotated[
        list[str] | None, typer.Option("--theme", help="BOOST theme slug(s) (default: the three themes).")
    ] = None,
    actor_type: Annotated[
        list[str] | None, typer.Option("--actor-type", help="ICF actor class(es), e.g. University,SME.")
    ] = None,
    top: Annotated[int, typer.Option(help="Candidate pairs ranked per theme.")] = 20,
    per: Annotated[RankPer, typer.Option(help="Top pairs overall, or per source actor.")] = RankPer.pair,
    backtest: Annotated[
        bool, typer.Option("--backtest", help="Also replay the back-test for the corridor (about a minute).")
    ] = False,
    link_base: Annotated[
        str | None, typer.Option(help="Where the report's links open (default: http://HOST:PORT of `serve`).")
    ] = None,
    pdf: Annotated[bool, typer.Option("--pdf", help="Also print report.pdf with headless Chromium.")] = False,
    store: StoreOption = None,
) -> None:
    """Write a corridor report (self-contained HTML + JSON): summary, coverage, candidates, networks,
    gaps and risks, method, provenance and, with --backtest, the back-test figures."""
    from boostkg.analysis.corridor import split_codes
    from boostkg.analysis.matching import Per
    from boostkg.reports.corridor_report import ReportRequest, write_report
    from boostkg.reports.corridor_run import make_report
    from boostkg.reports.pdf import print_pdf

    settings = _settings(store)
    request = ReportRequest(
        sources=split_codes(sources),
        targets=split_codes(targets),
        themes=tuple(t.strip() for item in theme or [] for t in item.split(",") if t.strip()),
        actor_types=tuple(t.strip() for item in actor_type or [] for t in item.split(",") if t.strip()),
    )
    base = link_base if link_base is not None else f"http://{settings.host}:{settings.port}"
    with _opened(store) as kg:
        built, took = make_report(
            kg, request, top=top, per=Per(per.value), with_backtest=backtest, link_base=base
        )
    html, json_path = write_report(built, out_dir)
    out.print(f"wrote {html} and {json_path}")
    if pdf:
        out.print(f"wrote {print_pdf(html)}")
    out.print(
        f"  {len(built.candidates)} candidates in {len(built.themes)} themes, "
        f"{len(built.risks)} gaps and risks; "
        f"projection {took.projection:.2f} s, matching {took.matching:.2f} s, "
        f"back-test {took.backtest:.2f} s, report {took.report:.2f} s"
    )


class MatchOutput(enum.Enum):
    """Output formats of ``boostkg match``."""

    table = "table"
    json = "json"
    csv = "csv"


@app.command("match")
def match_command(
    from_: Annotated[
        str, typer.Option("--from", help="Source side: country or NUTS codes, e.g. DK,EE or DK03.")
    ],
    to: Annotated[str, typer.Option("--to", help="Target side: country or NUTS codes, e.g. RO,BG,ES.")],
    theme: Annotated[
        list[str] | None, typer.Option(help="Theme slug, programme part (SC1) or IRI; repeatable.")
    ] = None,
    actor_type: Annotated[
        list[str] | None, typer.Option("--actor-type", help="ICF actor class, e.g. University; repeatable.")
    ] = None,
    top: Annotated[int, typer.Option(help="Candidates per source (or pairs in all, with --per pair).")] = 10,
    per: Annotated[
        RankPer, typer.Option(help="Top N per source actor, or the top N pairs overall.")
    ] = RankPer.source,
    output: Annotated[MatchOutput, typer.Option("--format", help="table, json or csv.")] = MatchOutput.table,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write to this file instead of stdout.")
    ] = None,
    record: Annotated[
        bool, typer.Option("--record/--no-record", help="Write the run into graph/matching/<run-id>.")
    ] = True,
    store: StoreOption = None,
) -> None:
    """Rank, score and explain candidate partnerships between two sides of a corridor."""
    from boostkg.analysis.corridor import Corridor
    from boostkg.analysis.export import result_csv, result_document
    from boostkg.analysis.matching import Per, match
    from boostkg.analysis.results import save_run

    corridor = Corridor.parse(from_, to, themes=theme, actor_types=actor_type)
    with _opened(store) as kg:
        result = match(kg, corridor, top=top, per=Per(per.value))
        saved = save_run(kg, result) if record else None
    run = {"id": saved.run_id, "graph": str(saved.graph), "iri": str(saved.run)} if saved else None
    if output is MatchOutput.json:
        text = json.dumps(result_document(result, run=run), indent=2, ensure_ascii=False) + "\n"
    elif output is MatchOutput.csv:
        text = result_csv(result)
    else:
        table = Table("#", "source", "target", "score", "strongest components", "explanation")
        for c in result.candidates:
            strongest = sorted(c.components.items(), key=lambda kv: -kv[1])[:3]
            table.add_row(
                str(c.rank),
                f"{c.source_label} ({c.source_region})",
                f"{c.target_label} ({c.target_region})",
                f"{c.score:.3f}",
                ", ".join(f"{k} {v:.2f}" for k, v in strongest),
                c.explanation,
            )
        buffer = io.StringIO()
        Console(file=buffer, width=200, soft_wrap=False).print(table)
        text = buffer.getvalue()
    summary = (
        f"{len(result.candidates):,} candidates for {result.corridor.describe()} "
        f"({result.source_actors:,} source, {result.target_actors:,} target actors; "
        f"projects {result.data_years[0]}–{result.data_years[1]})"
        + (f"; run recorded in {saved.graph}" if saved else "")
    )
    if out_file is not None:
        out_file.write_text(text, encoding="utf-8")
        err.print(f"{summary}; wrote {out_file}", markup=False, highlight=False)
    else:
        sys.stdout.write(text)
        err.print(summary, markup=False, highlight=False)


def _print_backtest(result: BacktestResult) -> None:
    out.print(
        f"back-test {result.corridor.describe()}: learn {result.learn_from}–{result.cutoff}, "
        f"test {result.cutoff + 1}–{result.test_until}; {result.sources:,} focal source actors, "
        f"{result.candidates:,} candidate targets, {result.true_pairs:,} new pairs",
        markup=False,
    )
    for title, rows in (
        ("all focal actors", result.all),
        ("newcomers (≤ 1 project before)", result.newcomers),
    ):
        table = Table("method", "focal", "hits@10", "MRR", "precision@10", title=title)
        for row in rows:
            table.add_row(
                row.method,
                f"{row.focal:,}",
                f"{row.hits_at_10:.3f}",
                f"{row.mrr:.3f}",
                f"{row.precision_at_10:.4f}",
            )
        out.print(table)
    best_hits, best_mrr = result.best_baseline("hits_at_10"), result.best_baseline("mrr")
    mine = result.method("corridor")
    out.print(
        f"corridor method vs best baseline: hits@10 {mine.hits_at_10:.3f} vs {best_hits.hits_at_10:.3f} "
        f"({best_hits.method}, {100 * (mine.hits_at_10 / best_hits.hits_at_10 - 1):+.0f} %); "
        f"MRR {mine.mrr:.3f} vs {best_mrr.mrr:.3f} ({best_mrr.method}, "
        f"{100 * (mine.mrr / best_mrr.mrr - 1):+.0f} %)",
        markup=False,
    )
    out.print(
        f"newcomers without any project before the cut-off: {result.newcomers_without_history:,}",
        markup=False,
    )
    for note in result.notes:
        out.print(note, markup=False)
    out.print(f"fitted weights (experienced): {result.weights.experienced}", markup=False)
    out.print(f"fitted weights (newcomers):   {result.weights.newcomer}", markup=False)


@app.command("backtest")
def backtest_command(
    from_: Annotated[
        str | None, typer.Option("--from", help="Source side codes [default: DK,EE,SE,FI,NL,BE].")
    ] = None,
    to: Annotated[
        str | None, typer.Option("--to", help="Target side codes [default: RO,BG,ES,HR,PL,HU,LV,SK,EL].")
    ] = None,
    theme: Annotated[list[str] | None, typer.Option(help="Theme filter; repeatable.")] = None,
    learn_from: Annotated[int, typer.Option(help="First project start year learnt from.")] = 2014,
    cutoff: Annotated[int, typer.Option(help="Last project start year learnt from.")] = 2016,
    test_until: Annotated[int, typer.Option(help="Last project start year tested on.")] = 2018,
    output: Annotated[MatchOutput, typer.Option("--format", help="table or json.")] = MatchOutput.table,
    store: StoreOption = None,
) -> None:
    """Replay history: learn up to a cut-off, score candidates against later partnerships, for the
    corridor method, every baseline and a random ranking."""
    from boostkg.analysis.backtest import backtest
    from boostkg.analysis.corridor import BIG_CORRIDOR, Corridor
    from boostkg.analysis.projection import project

    corridor = Corridor.parse(from_ or BIG_CORRIDOR[0], to or BIG_CORRIDOR[1], themes=theme)
    with _opened(store) as kg:
        projection = project(kg)
    result = backtest(projection, corridor, learn_from=learn_from, cutoff=cutoff, test_until=test_until)
    if output is MatchOutput.json:
        import dataclasses

        document = dataclasses.asdict(result)
        document["corridor"] = corridor.describe()
        sys.stdout.write(json.dumps(document, indent=2, default=float) + "\n")
    else:
        _print_backtest(result)


def run() -> None:
    """Entry point: run the app; turn every error into one line on stderr and a non-zero exit."""
    try:
        code = app(standalone_mode=False)  # click returns a typer.Exit's code instead of raising
    except BoostKGError as exc:
        err.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(1)
    except NoArgsIsHelpError as exc:  # bare `boostkg`: show the help
        exc.show()
        sys.exit(0)
    except ClickException as exc:  # usage errors: unknown option, bad choice, missing argument
        err.print(f"error: {exc.format_message()}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err.print("aborted")
        sys.exit(130)
    if isinstance(code, int) and code:
        sys.exit(code)
