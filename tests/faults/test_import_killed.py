"""SIGKILL of a real ``boostkg import cordis`` mid-write: reopening restores the store exactly as it
was before the import (no half graph), and the next import succeeds.

tests/store/test_crash_safety.py kills a bare ``replace_graph`` loader on a synthetic store; this
test kills the real command on a copy of the main job's store, where the import writes its graph
and its PROV-O record in one unit."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from boostkg.namespaces import graph_iri
from boostkg.store import open_store
from boostkg.store.journal import MARKER
from tests.cli_in_process import boostkg_in_process
from tests.conftest import MainLoaded
from tests.endpoint_server import cli_env
from tests.faults.state import store_state

BOOSTKG = Path(sys.executable).with_name("boostkg")
CORDIS = graph_iri("cordis-h2020")


def _tables(store: Path) -> set[str]:
    """The database's table files (RocksDB's *.sst): the bulk loader adds new ones as it writes."""
    return {p.name for p in (store / "db").glob("*.sst")}


@pytest.mark.subprocess
@pytest.mark.slow
def test_sigkill_during_import_cordis_leaves_the_store_as_before_and_the_next_import_succeeds(
    tmp_path: Path, main_loaded: MainLoaded, shared_data: Path
) -> None:
    store = tmp_path / "store"
    shutil.copytree(main_loaded.store, store)
    with open_store(store) as kg:
        before = store_state(kg)
    assert str(CORDIS) not in before.counts
    assert before.digests, "no small graph to compare quad by quad"

    source = shared_data / "cordis-h2020"
    proc = subprocess.Popen(
        [str(BOOSTKG), "import", "cordis", str(source), "--store", str(store)],
        cwd=tmp_path,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while not (store / MARKER).exists():
            assert proc.poll() is None, f"the import ended before writing: {proc.communicate()}"
            assert time.monotonic() < deadline, "the import never started writing"
            time.sleep(0.005)
        # the marker is written before the first write: wait until the bulk load (~0.9M triples,
        # ~7 s) has put new table files into the database, so the kill lands on a half graph
        files = _tables(store)
        while _tables(store) <= files:
            assert proc.poll() is None, "the import finished before it could be killed: nothing proven"
            assert time.monotonic() < deadline, "the import wrote nothing within the deadline"
            time.sleep(0.005)
        assert proc.poll() is None, "the import finished before it could be killed: nothing proven"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    assert (store / MARKER).exists(), "the kill should have left the write marker behind"

    with open_store(store) as kg:
        assert kg.recovered is not None
        assert "rolled back" in kg.recovered
        after = store_state(kg)
        assert not kg.ask(f"ASK {{ GRAPH <{CORDIS}> {{ ?s ?p ?o }} }}")  # no half graph
    assert after == before
    assert not (store / MARKER).exists()

    again = boostkg_in_process("import", "cordis", source, "--store", store, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    with open_store(store) as kg:
        assert kg.recovered is None
        counts = {str(s.graph): s.triples for s in kg.graphs()}
    assert counts[str(CORDIS)] > 100_000
    assert {g: n for g, n in counts.items() if g in before.counts and g != str(graph_iri("meta"))} == {
        g: n for g, n in before.counts.items() if g != str(graph_iri("meta"))
    }
    assert counts[str(graph_iri("meta"))] > before.counts[str(graph_iri("meta"))]  # its PROV-O record
