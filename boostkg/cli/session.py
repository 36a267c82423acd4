"""What every command shares: the two consoles, the ``--store`` option, the settings a command runs
with and the store it opens."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

# Typer 0.29 vendors click; its context lives here, not in the `click` package.
from typer._click.globals import get_current_context

from boostkg.config import Settings
from boostkg.ingest.provenance import LoadRecord
from boostkg.store import EmbeddedStore, RemoteStore, open_store, store_location

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


def settings_for(store: Path | None) -> Settings:
    """The settings a command runs with: the environment's, the remote-store options given before
    the command, and ``--store`` when given."""
    ctx = get_current_context(silent=True)
    overrides: dict[str, object] = dict(ctx.find_root().obj or {}) if ctx is not None else {}
    if store is not None:
        overrides["store"] = store
    return Settings(**overrides)  # type: ignore[arg-type]


@contextmanager
def opened(store: Path | None) -> Iterator[EmbeddedStore | RemoteStore]:
    """The store the settings name (embedded, or the remote server), closed on exit; a note on
    stderr when opening it recovered from an interrupted write."""
    settings = settings_for(store)
    kg = open_store(store_location(settings))  # BOOSTKG_STORE_URL set: the remote server
    if kg.recovered:
        err.print(f"[yellow]note:[/] {kg.recovered} (store {kg.path})")
    try:
        yield kg
    finally:
        kg.close()


def print_load(record: LoadRecord) -> None:
    """One line per loaded graph: its triples, its IRI, the source and the time taken."""
    out.print(
        f"  loaded {record.triples:>9,} triples into {record.graph}  "
        f"[dim]({record.source}, {record.seconds:.2f} s)[/]"
    )
