"""Commands that read the store: query (inline, from a file or by name), check (the quality
checks) and stats."""

from __future__ import annotations

import enum
import io
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from boostkg.cli.session import StoreOption, opened, out, settings_for
from boostkg.errors import InputError, QualityCheckError, QueryError
from boostkg.namespaces import prefixes
from boostkg.queries.catalog import find_query, parse_header, read_query_text
from boostkg.queries.checks import run_checks
from boostkg.store import EmbeddedStore, RdfFormat, RemoteStore, ResultFormat
from boostkg.store.inventory import take_inventory


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
    settings = settings_for(store)
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
    with opened(store) as kg:
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


def check(store: StoreOption = None) -> None:
    """Run the quality checks in queries/checks/ (each must return no rows); exit 1 if any fails."""
    settings = settings_for(store)
    with opened(store) as kg:
        results = run_checks(kg, settings.queries_dir / "checks")
    failed = [r for r in results if not r.passed]
    for result in results:
        mark = "[green]ok[/]  " if result.passed else f"[red]FAIL[/] {len(result.rows)} rows"
        out.print(f"{mark} {result.name}")
        for row in list(result.rows)[:10]:
            out.print("       " + ", ".join(f"{k}={v}" for k, v in row.items()), markup=False)
    if failed:
        raise QualityCheckError(f"{len(failed)} of {len(results)} quality checks returned rows")


def stats(store: StoreOption = None) -> None:
    """Triples per named graph and instances per class."""
    with opened(store) as kg:
        inventory = take_inventory(kg)
    graphs = Table("named graph", "triples", title=f"{inventory.quads:,} quads")
    for g in inventory.graphs:
        graphs.add_row(str(g.graph), f"{g.triples:,}")
    out.print(graphs)
    classes = Table("class", "instances")
    for c in inventory.classes:
        classes.add_row(c.iri, f"{c.count:,}")
    out.print(classes)
