"""Operations commands: backup (from the store, or through a running server) and restore."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from boostkg.auth import TokenStore, token_store_path
from boostkg.backup import check_backup, download_backup, restore_backup, upload_restore, write_backup
from boostkg.cli.session import StoreOption, err, opened, out, settings_for
from boostkg.config import Settings
from boostkg.errors import InputError, Location, StoreLockedError


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
    # Imported here: the ingest pipeline (and its validation) loads only for the commands that need it.
    from boostkg.ingest.pipeline import ARCHIVE_DIR

    return settings.store / ARCHIVE_DIR


TokenOption = Annotated[
    str | None, typer.Option(help="An administrator's token, with --url.", show_default=False)
]
TokenFileOption = Annotated[
    Path | None,
    typer.Option(
        help="A file holding the token (keeps it out of `ps` and shell history).", show_default=False
    ),
]


def _admin_token(token: str | None, token_file: Path | None) -> str:
    """The token --url needs: from --token-file if given, else --token."""
    if token_file is not None:
        token = _read_token(token_file)
    if not token:
        raise typer.BadParameter(
            "--url needs an administrator's --token or --token-file", param_hint="--token"
        )
    return token


def _read_token(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise InputError(f"cannot read the token: {exc.strerror or exc}", Location(str(path))) from exc


def backup(
    file: Annotated[Path, typer.Argument(help="Backup file: N-Quads, gzip-compressed if it ends .gz.")],
    url: Annotated[
        str | None,
        typer.Option(help="Back up through the running server at this URL (no need to stop it)."),
    ] = None,
    token: TokenOption = None,
    token_file: TokenFileOption = None,
    store: StoreOption = None,
) -> None:
    """Back up every named graph, the submissions archive and the token register to one checked
    N-Quads file: from the store directly (the server stopped, or a remote store), or with --url
    from a running server, which keeps taking writes."""
    if url is not None:
        token = _admin_token(token, token_file)
        with _progress("backup", "quads") as progress:
            manifest = download_backup(url, token, file, progress=progress)
    else:
        settings = settings_for(store)
        try:
            with opened(store) as kg, _progress("backup", "quads") as progress:
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


def restore(
    file: Annotated[Path, typer.Argument(help="A file written by `boostkg backup`.")],
    force: Annotated[
        bool, typer.Option("--force", help="Replace a store that is not empty (all or nothing).")
    ] = False,
    check_only: Annotated[
        bool, typer.Option("--check", help="Only check that the file is whole; change nothing.")
    ] = False,
    url: Annotated[
        str | None,
        typer.Option(help="Restore into the running server at this URL (replaces everything in it)."),
    ] = None,
    token: TokenOption = None,
    token_file: TokenFileOption = None,
    store: StoreOption = None,
) -> None:
    """Restore a backup (quads, submissions archive, tokens) into an empty store (or, with --force,
    in place of everything in it) with the server stopped; or, with --url, into the running server,
    which checks the file first and swaps it in while it goes on answering (all or nothing)."""
    if url is not None and not check_only:
        token = _admin_token(token, token_file)
        with _progress("restore", "bytes") as progress:
            summary = upload_restore(url, token, file, progress=progress)
        out.print(
            f"restored {summary.get('quads', 0):,} quads in {summary.get('graphs', 0)} named graphs, "
            f"{summary.get('files', 0)} archive files and {summary.get('tokens', 0)} tokens from {file} "
            f"(taken {summary.get('created', '?')}) into {url} in {summary.get('seconds', '?')} s"
        )
        return
    if check_only:
        with _progress("check", "bytes") as progress:
            manifest = check_backup(file, progress=progress)
        out.print(
            f"{file} is whole: {manifest.quads:,} quads, {len(manifest.files)} archive files, "
            f"{len(manifest.tokens)} tokens, {manifest.created}"
        )
        return
    settings = settings_for(store)
    with opened(store) as kg, _progress("restore", "bytes") as progress:
        tokens = TokenStore(token_store_path(settings.store))
        manifest = restore_backup(
            kg, tokens, file, archive=_archive(settings), force=force, progress=progress
        )
    out.print(
        f"restored {manifest.quads:,} quads in {len(manifest.graphs)} named graphs, "
        f"{len(manifest.files)} archive files and {len(manifest.tokens)} tokens from {file} "
        f"(taken {manifest.created})"
    )
