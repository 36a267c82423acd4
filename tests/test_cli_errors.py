"""Bad input to the ``boostkg`` command: a non-zero exit, one line on stderr saying what and where,
and a store exactly as it was (its N-Quads export, sorted, is unchanged).

Every test runs a command on a copy of one small loaded store (NUTS 2024, EIS, seed), made once per
module. Each command family (load, import, query, export, usage errors, a store locked by another
process) fails at least once in the installed console script run in a subprocess; the other cases
run the same entry point in this process (tests/cli_in_process.py; an exception other than
SystemExit fails the test, as a traceback would). The pristine quads come from ``boostkg export``;
the check after each test dumps the copy in-process with the same serialiser. Both save a command
start-up (about 1.5 s of CPU) per test.
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from boostkg.config import Settings
from boostkg.store import RdfFormat, open_store
from tests.cli_in_process import boostkg_in_process

pytestmark = pytest.mark.subprocess

BOOSTKG = Path(sys.executable).with_name("boostkg")
FIXTURES = Path(__file__).parent / "data" / "cli"
SHIPPED = Settings().data_dir


def _env() -> dict[str, str]:
    """The test's environment without BOOSTKG_* settings, with a wide, plain console."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOSTKG_")}
    env.update(COLUMNS="200", NO_COLOR="1", TERM="dumb")
    return env


def boostkg(*args: str | Path, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``boostkg ARGS`` to completion."""
    return subprocess.run(
        [str(BOOSTKG), *map(str, args)],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        check=False,
    )


def here(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``boostkg ARGS`` in this process (the console script's entry point) to completion."""
    return boostkg_in_process(*args, cwd=cwd)


def export_sorted(store: Path) -> list[str]:
    """The store's N-Quads export, one sorted line per quad."""
    result = boostkg("export", "--format", "nquads", "--store", store, cwd=store.parent)
    assert result.returncode == 0, result.stderr
    return sorted(line for line in result.stdout.splitlines() if line.strip())


def dump_sorted(store: Path) -> list[str]:
    """The same, dumped in this process (the store must not be open elsewhere)."""
    buffer = io.BytesIO()
    with open_store(store) as kg:
        kg.dump(buffer, RdfFormat.NQUADS)
    return sorted(line for line in buffer.getvalue().decode("utf-8").splitlines() if line.strip())


def assert_one_error_line(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """The command failed and said why on exactly one stderr line holding every fragment."""
    assert result.returncode != 0, f"exit 0; stdout: {result.stdout}"
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{result.stderr}"
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding NUTS 2024, EIS and the seed (closed; copied by each test)."""
    base = tmp_path_factory.mktemp("cli-errors")
    store = base / "store"
    shipped = [SHIPPED / name for name in ("nuts-2024.ttl", "eis.ttl", "seed.ttl")]
    result = boostkg("load", "--store", store, *shipped, cwd=base)
    assert result.returncode == 0, result.stderr
    return store


@pytest.fixture(scope="module")
def pristine_quads(pristine: Path) -> list[str]:
    quads = export_sorted(pristine)
    assert len(quads) > 10_000  # NUTS alone has more
    return quads


@pytest.fixture
def store(pristine: Path, tmp_path: Path) -> Path:
    """A private copy of the pristine store."""
    copy = tmp_path / "store"
    shutil.copytree(pristine, copy)
    return copy


@pytest.fixture
def unchanged(store: Path, pristine_quads: list[str]) -> Iterator[Path]:
    """The store, checked after the test to hold exactly the pristine quads."""
    yield store
    assert dump_sorted(store) == pristine_quads, "the failed command changed the store"


# --- load ----------------------------------------------------------------------------------------------


def test_missing_rdf_file(unchanged: Path, tmp_path: Path) -> None:
    missing = tmp_path / "absent.ttl"
    result = boostkg("load", "--store", unchanged, missing, cwd=tmp_path)
    assert_one_error_line(result, str(missing), "no such file")


def test_malformed_turtle_names_line_and_column(unchanged: Path, tmp_path: Path) -> None:
    result = here("load", "--store", unchanged, FIXTURES / "malformed.ttl", cwd=tmp_path)
    # line 3 is "ex:a ex:b ex:d ex:e ." : the fourth term starts at column 16
    assert_one_error_line(result, "malformed.ttl", "line 3", "column 16")


def test_non_utf8_turtle(unchanged: Path, tmp_path: Path) -> None:
    result = here("load", "--store", unchanged, FIXTURES / "latin1.ttl", cwd=tmp_path)
    assert_one_error_line(result, "latin1.ttl", "line 2", "UTF-8")


def test_turtle_with_unknown_nuts_code(unchanged: Path, tmp_path: Path) -> None:
    result = here("load", "--store", unchanged, FIXTURES / "unknown-nuts.ttl", cwd=tmp_path)
    assert_one_error_line(result, "unknown-nuts.ttl", "line 5", "XX99", "NUTS")


def test_unknown_rdf_format_for_load(unchanged: Path, tmp_path: Path) -> None:
    args = ("load", "--store", unchanged, "--format", "bogus", FIXTURES / "example-actors.ttl")
    assert_one_error_line(here(*args, cwd=tmp_path), "bogus")


def test_one_bad_file_among_several_loads_the_earlier_ones_only(store: Path, tmp_path: Path) -> None:
    """Each file is all-or-nothing: a good file before a bad one stays loaded, the bad one adds nothing."""
    good, bad = FIXTURES / "example-actors.ttl", FIXTURES / "malformed.ttl"
    result = here("load", "--store", store, good, bad, cwd=tmp_path)
    assert_one_error_line(result, "malformed.ttl", "line 3")
    graphs = "\n".join(dump_sorted(store))
    assert "<https://w3id.org/boostkg/graph/example-actors>" in graphs
    assert "<https://w3id.org/boostkg/graph/malformed>" not in graphs


# --- import --------------------------------------------------------------------------------------------


def test_missing_csv_file_for_import(unchanged: Path, tmp_path: Path) -> None:
    missing = tmp_path / "absent.csv"
    result = boostkg("import", "eis", "--store", unchanged, missing, cwd=tmp_path)
    assert_one_error_line(result, str(missing), "no such file")


def test_csv_with_unknown_column(unchanged: Path, tmp_path: Path) -> None:
    result = here("import", "eis", "--store", unchanged, FIXTURES / "eis-unknown-column.csv", cwd=tmp_path)
    assert_one_error_line(result, "eis-unknown-column.csv", "line 1", "colour")


def test_non_utf8_csv(unchanged: Path, tmp_path: Path) -> None:
    result = here("import", "eis", "--store", unchanged, FIXTURES / "eis-latin1.csv", cwd=tmp_path)
    assert_one_error_line(result, "eis-latin1.csv", "line 3", "UTF-8")


# --- query and export ----------------------------------------------------------------------------------


def test_malformed_inline_sparql(unchanged: Path, tmp_path: Path) -> None:
    result = boostkg("query", "--store", unchanged, "SELEC ?s WHERE { ?s ?p ?o }", cwd=tmp_path)
    assert_one_error_line(result, "malformed")


def test_malformed_sparql_file(unchanged: Path, tmp_path: Path) -> None:
    """Parser messages that list the expected tokens over several lines still make one line."""
    result = here("query", "--store", unchanged, "--file", FIXTURES / "malformed.rq", cwd=tmp_path)
    assert_one_error_line(result, "malformed", "malformed.rq")


def test_unknown_query_name(unchanged: Path, tmp_path: Path) -> None:
    result = here("query", "--store", unchanged, "--name", "no-such-query", cwd=tmp_path)
    assert_one_error_line(result, "no-such-query", "no such file")


def test_unknown_query_output_format(unchanged: Path, tmp_path: Path) -> None:
    result = here("query", "--store", unchanged, "--format", "bogus", "ASK { ?s ?p ?o }", cwd=tmp_path)
    assert_one_error_line(result, "--format", "bogus")


def test_unknown_export_format(unchanged: Path, tmp_path: Path) -> None:
    result = boostkg("export", "--store", unchanged, "--format", "bogus", cwd=tmp_path)
    assert_one_error_line(result, "--format", "bogus")
    assert result.stdout == ""


def test_unknown_option(unchanged: Path, tmp_path: Path) -> None:
    result = boostkg("load", "--store", unchanged, "--bogus", FIXTURES / "example-actors.ttl", cwd=tmp_path)
    assert_one_error_line(result, "--bogus")


# --- a store in use --------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_store_in_use_by_a_server(store: Path, pristine_quads: list[str], tmp_path: Path) -> None:
    port = _free_port()
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [str(BOOSTKG), "serve", "--store", str(store), "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path,
        env=_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not come up in 30 s"
            time.sleep(0.1)
        # the server is the other process; the refused load runs here
        result = here("load", "--store", store, FIXTURES / "example-actors.ttl", cwd=tmp_path)
        assert_one_error_line(result, str(store), "in use by another process")
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=5)
        log.close()
    assert dump_sorted(store) == pristine_quads
