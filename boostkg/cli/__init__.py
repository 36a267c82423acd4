"""The ``boostkg`` command line: thin Typer commands over the library; no logic of their own.

This module is the command table: it builds the Typer app, registers each family's commands
(store, query, ontology, submissions, serve, ops, analysis: one module each) and holds ``run``, the
console script's entry point. Importing it loads neither NumPy nor SciPy: the analysis commands
import them when they run.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

# Typer 0.29 vendors click; its exception classes live here, not in the `click` package.
from typer._click.exceptions import ClickException, NoArgsIsHelpError

from boostkg.cli import analysis, ontology, ops, query, serve, store, submissions
from boostkg.cli.session import err
from boostkg.errors import BoostKGError

app = typer.Typer(
    name="boostkg",
    help="The knowledge graph of the BOOST Interregional Collaboration Framework.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
import_app = typer.Typer(help="Import reference and collaboration data into their named graphs.")
app.add_typer(import_app, name="import")
store.add_importers(import_app)


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


app.command()(store.init)
app.command()(store.load)
app.command()(store.infer)
app.command()(query.query)
app.command()(query.check)
app.command()(ontology.reason)
app.command()(ontology.docs)
app.command()(query.stats)
app.command()(store.export)
app.command()(submissions.validate)
app.command()(serve.serve)
app.command()(store.main)

token_app = typer.Typer(help="Stewards' tokens: create (shown once), list, revoke. For administrators.")
app.add_typer(token_app, name="token")
token_app.command("create")(submissions.token_create)
token_app.command("list")(submissions.token_list)
token_app.command("revoke")(submissions.token_revoke)

app.command()(ops.backup)
app.command()(ops.restore)
app.command()(submissions.submit)
app.command()(analysis.report)
app.command("match")(analysis.match_command)
app.command("backtest")(analysis.backtest_command)


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
