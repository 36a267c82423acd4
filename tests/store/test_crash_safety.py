"""A load killed with SIGKILL leaves the store exactly as it was before that load."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rdflib import URIRef

from boostkg.store import EmbeddedStore, RdfFormat, open_store
from boostkg.store.journal import MARKER

GRAPH = URIRef("https://w3id.org/boostkg/graph/crash-test")
OTHER = URIRef("https://w3id.org/boostkg/graph/crash-other")

LOADER = """
import sys
from pathlib import Path
from rdflib import URIRef
from boostkg.store import open_store, RdfFormat
kg = open_store(Path(sys.argv[1]))
kg.replace_graph(URIRef(sys.argv[3]), Path(sys.argv[2]), RdfFormat.NTRIPLES)
kg.close()
print("finished")
"""


def _write_big_file(path: Path, triples: int) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for i in range(triples):
            fh.write(f'<https://example.org/s{i // 7}> <https://example.org/p{i % 7}> "value {i}" .\n')


def _dump(kg: EmbeddedStore) -> list[bytes]:
    buffer = io.BytesIO()
    kg.dump(buffer, RdfFormat.NQUADS)
    return sorted(buffer.getvalue().splitlines())


@pytest.mark.subprocess
@pytest.mark.slow
def test_sigkill_in_the_middle_of_a_load_leaves_the_store_as_before(tmp_path: Path) -> None:
    store_path = tmp_path / "kg"
    kg = open_store(store_path)
    kg.replace_graph(GRAPH, b'<https://example.org/old> <https://example.org/p> "1" .\n', RdfFormat.NTRIPLES)
    kg.replace_graph(OTHER, b'<https://example.org/keep> <https://example.org/p> "2" .\n', RdfFormat.NTRIPLES)
    before = _dump(kg)
    kg.close()

    big = tmp_path / "big.nt"
    _write_big_file(big, 1_500_000)
    proc = subprocess.Popen(
        [sys.executable, "-c", LOADER, str(store_path), str(big), str(GRAPH)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while not (store_path / MARKER).exists():
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, "the loader never started writing"
        time.sleep(0.01)
    time.sleep(1.0)  # well into the bulk load of 1.5M triples (which takes several seconds)
    assert proc.poll() is None, "the load finished before it could be killed: the test proves nothing"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL

    assert (store_path / MARKER).exists(), "the kill should have left the write marker behind"
    reopened = open_store(store_path)
    try:
        assert reopened.recovered is not None
        assert "rolled back" in reopened.recovered
        assert _dump(reopened) == before
        assert not (store_path / MARKER).exists()
    finally:
        reopened.close()


@pytest.mark.subprocess
def test_a_load_that_completes_is_kept(tmp_path: Path) -> None:
    store_path = tmp_path / "kg"
    small = tmp_path / "small.nt"
    _write_big_file(small, 1000)
    done = subprocess.run(
        [sys.executable, "-c", LOADER, str(store_path), str(small), str(GRAPH)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "finished" in done.stdout
    kg = open_store(store_path)
    try:
        assert kg.recovered is None
        assert kg.triple_count(GRAPH) == 1000
    finally:
        kg.close()
