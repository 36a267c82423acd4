"""Commands for stewards and their administrators: validate a submission, submit it to a server,
and manage stewards' tokens (token create, list, revoke)."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from boostkg.auth import TokenStore, token_store_path
from boostkg.cli.session import StoreOption, err, opened, out, settings_for
from boostkg.client import describe, submit_file
from boostkg.config import Settings
from boostkg.validation import (
    ReportFormat,
    exit_code,
    load_reference_graph,
    load_shapes,
    render,
    validate_file,
)


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
        with opened(store) as kg:
            outcomes = [validate_file(path, shapes, store=kg) for path in files]
    sys.stdout.write(render(outcomes, report_format))
    for outcome in outcomes:
        if outcome.error is not None and report_format is not ReportFormat.json:
            err.print(f"error: {outcome.error}", markup=False, highlight=False, soft_wrap=True)
    sys.exit(int(exit_code(outcomes)))  # SystemExit, not typer.Exit: run() does not forward its code


def _register(store: Path | None) -> TokenStore:
    return TokenStore(token_store_path(settings_for(store).store))


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


def token_revoke(
    token_id: Annotated[str, typer.Argument(help="The token's id (the 8 hex digits after 'bkg_').")],
    store: StoreOption = None,
) -> None:
    """Revoke a token: requests carrying it get 401 from now on."""
    info = _register(store).revoke(token_id)
    out.print(f"revoked token {info.steward.token_id} of {info.steward.name}")


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
