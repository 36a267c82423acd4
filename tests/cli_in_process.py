"""``boostkg ARGS`` run in the test's own process: the console script's entry point
(``boostkg.cli:run``) with the argv, environment and working directory a subprocess would get.

A subprocess pays ~1.5 s of interpreter start and imports (scipy, pyshacl, jinja2...) before it
does anything; for the many commands whose behaviour is what is under test, running the same entry
point here gives the same coverage. Each command family keeps at least one real subprocess in
tests/test_cli.py, tests/test_cli_errors.py and tests/api/test_steward_cli.py (entry point,
process exit status, locking between processes).

The ``boostkg.cli`` package is re-executed before each run (``importlib.reload``, ~10 ms) so its
module-level state (the rich consoles reading COLUMNS/NO_COLOR/TERM, the Typer app) is built in the
command's environment, as at a process start.
"""

from __future__ import annotations

import importlib
import io
import os
import subprocess
import sys
import types
from collections.abc import Mapping
from pathlib import Path

import pytest

import boostkg.cli


def _stream() -> io.TextIOWrapper:
    """A text stream like a process's stdout/stderr (UTF-8, with a binary ``buffer`` under it)."""
    return io.TextIOWrapper(io.BytesIO(), encoding="utf-8", newline="", write_through=True)


def _text(stream: io.TextIOWrapper) -> str:
    stream.flush()
    raw = stream.buffer
    assert isinstance(raw, io.BytesIO)
    return raw.getvalue().decode("utf-8")


def _reloaded_cli() -> types.ModuleType:
    """``boostkg.cli`` re-executed: first its session (the consoles), then each command module (so
    they bind the new consoles), then the package, which builds the app from them."""
    importlib.reload(boostkg.cli.session)
    for name in sorted(n for n in sys.modules if n.startswith("boostkg.cli.") and n != "boostkg.cli.session"):
        importlib.reload(sys.modules[name])
    return importlib.reload(boostkg.cli)


def boostkg_in_process(
    *args: str | Path, cwd: Path, env: Mapping[str, str] | None = None, columns: int = 200
) -> subprocess.CompletedProcess[str]:
    """Run ``boostkg ARGS`` here and return what a subprocess run would: exit code, stdout, stderr.

    The environment loses every inherited BOOSTKG_ variable and gains ``env``; any exception other
    than ``SystemExit`` propagates (a subprocess would have printed a traceback and exited 1)."""
    argv = ["boostkg", *map(str, args)]
    stdout, stderr = _stream(), _stream()
    with pytest.MonkeyPatch.context() as mp:
        for key in [k for k in os.environ if k.startswith("BOOSTKG_")]:
            mp.delenv(key)
        for key, value in {"COLUMNS": str(columns), "NO_COLOR": "1", "TERM": "dumb", **(env or {})}.items():
            mp.setenv(key, value)
        mp.chdir(cwd)
        mp.setattr(sys, "argv", argv)
        # as in the console script, __main__ is a plain script (no package): click names the
        # program after argv[0], not "python -m pytest"
        mp.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
        mp.setattr(sys, "stdout", stdout)
        mp.setattr(sys, "stderr", stderr)
        cli = _reloaded_cli()
        try:
            cli.run()
            code: int = 0
        except SystemExit as exc:
            if exc.code is None:
                code = 0
            elif isinstance(exc.code, int):
                code = exc.code
            else:  # sys.exit("message"): the message goes to stderr, the status is 1
                stderr.write(f"{exc.code}\n")
                code = 1
    return subprocess.CompletedProcess(argv, code, _text(stdout), _text(stderr))
