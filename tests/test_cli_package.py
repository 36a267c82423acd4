"""The command line as a package (boostkg/cli/): importing it stays light, the console script's
entry point is where pyproject.toml says, and every command module's commands are registered."""

from __future__ import annotations

import subprocess
import sys
import tomllib

import typer

import boostkg.cli
from boostkg.config import PROJECT_ROOT
from boostkg.importers.registry import IMPORTER_NAMES

HEAVY = ("numpy", "scipy", "networkx")


def test_importing_the_cli_loads_no_numerical_library() -> None:
    probe = f"import sys, boostkg.cli; print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]", f"import boostkg.cli loaded {done.stdout.strip()}"


def test_the_console_script_names_the_packages_entry_point() -> None:
    scripts = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "scripts"
    ]
    module, _, function = scripts["boostkg"].partition(":")
    assert module == "boostkg.cli"
    assert callable(getattr(boostkg.cli, function))


def _names(group: typer.Typer) -> list[str]:
    return [c.name or (c.callback.__name__ if c.callback else "") for c in group.registered_commands]


def test_every_command_is_registered_once_in_the_documented_order() -> None:
    assert _names(boostkg.cli.app) == [
        "init",
        "load",
        "infer",
        "query",
        "check",
        "reason",
        "docs",
        "stats",
        "export",
        "validate",
        "serve",
        "main",
        "backup",
        "restore",
        "submit",
        "report",
        "match",
        "backtest",
    ]
    groups = {g.name or "": g.typer_instance for g in boostkg.cli.app.registered_groups if g.typer_instance}
    assert sorted(groups) == ["import", "token"]
    assert _names(groups["token"]) == ["create", "list", "revoke"]
    assert _names(groups["import"]) == list(IMPORTER_NAMES)
