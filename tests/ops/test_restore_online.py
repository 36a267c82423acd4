"""Restoring a backup into a running server (``POST /admin/restore``, ``boostkg restore FILE --url
--token``): a round trip backup -> change -> restore gives back the same quads and token register;
queries running meanwhile all get answers (200, or 503 with Retry-After), each from the old store or
the restored one, never a mix; a truncated, tampered, foreign or oversized file is refused with a
problem document before anything is touched; only administrators may restore.
"""

from __future__ import annotations

import gzip
import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from boostkg.auth import TokenStore, token_store_path
from boostkg.backup import RESTORE_ROUTE, TRAILER, download_backup, upload_restore
from boostkg.errors import ForbiddenError, InputError
from tests.conftest import MainLoaded
from tests.endpoint_server import BOOSTKG, TIT, Scratch, cli_env, scratch_server

pytestmark = pytest.mark.subprocess

A = "https://w3id.org/boostkg/graph/restore-test-a"
B = "https://w3id.org/boostkg/graph/restore-test-b"
MAX_RESTORE_BYTES = 24 * 1024 * 1024
"""The scratch server's limit: above a backup of the bootstrap store (~6 MB), below the junk sent."""
COUNTS = f"""SELECT ?a ?b WHERE {{
  {{ SELECT (COUNT(*) AS ?a) WHERE {{ GRAPH <{A}> {{ ?s ?p ?o }} }} }}
  {{ SELECT (COUNT(*) AS ?b) WHERE {{ GRAPH <{B}> {{ ?s ?p ?o }} }} }} }}"""
LOOKUP = "SELECT ?o WHERE { <urn:r:350> <urn:r:n> ?o }"
"""One row before the restore (the triple was written after the backup), none after."""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, main_loaded: MainLoaded) -> Iterator[Scratch]:
    base = tmp_path_factory.mktemp("online-restore")
    store = base / "store"
    shutil.copytree(main_loaded.store, store)
    env = {"BOOSTKG_MAX_RESTORE_BYTES": str(MAX_RESTORE_BYTES)}
    with scratch_server(base, store=store, env=env) as scratch:
        yield scratch


def _update(server: Scratch, update: str) -> None:
    done = httpx.post(server.sparql, data={"update": update}, headers=server.admin, timeout=120)
    assert done.status_code == 204, done.text


def _insert(server: Scratch, graph: str, first: int, last: int) -> None:
    triples = " ".join(f'<urn:r:{i}> <urn:r:n> "{i}" .' for i in range(first, last))
    _update(server, f"INSERT DATA {{ GRAPH <{graph}> {{ {triples} }} }}")


def _counts(server: Scratch) -> tuple[int, int]:
    got = httpx.post(server.sparql, data={"query": COUNTS}, timeout=60)
    assert got.status_code == 200, got.text
    row = got.json()["results"]["bindings"][0]
    return int(row["a"]["value"]), int(row["b"]["value"])


def _quads(server: Scratch, path: Path) -> list[bytes]:
    """The store's quads now, sorted (a fresh online backup's body)."""
    download_backup(server.url, server.admin_token, path)
    data = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
    return sorted(line for line in data.splitlines() if line and not line.startswith(b"#"))


def _steward(server: Scratch) -> str:
    token, _ = TokenStore(token_store_path(server.store)).create(
        steward="Late Steward", organisation=TIT, region="RO11"
    )
    return token


def _whoami(server: Scratch, token: str) -> int:
    """The status a steward's token gets where it must authenticate (401 once unknown)."""
    return httpx.get(server.url + "/stewards/me", headers={"Authorization": f"Bearer {token}"}).status_code


class Reader(threading.Thread):
    """Asks for both graphs' counts in one query (a query worker's), or with ``lookup`` for one
    subject's triples (a bounded lookup, answered in the server's processes; alternately GET and
    POST), again and again, until stopped. An answer is the two counts, or the rows found twice."""

    def __init__(self, server: Scratch, *, lookup: bool = False) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.lookup = lookup
        self.stop = threading.Event()
        self.answers: list[tuple[int, int]] = []
        self.unavailable = 0
        self.failures: list[str] = []

    def _ask(self, client: httpx.Client, n: int) -> httpx.Response:
        if not self.lookup:
            return client.post(self.server.sparql, data={"query": COUNTS})
        if n % 2:
            return client.post(self.server.sparql, data={"query": LOOKUP})
        return client.get(self.server.sparql, params={"query": LOOKUP})

    def run(self) -> None:
        with httpx.Client(timeout=120) as client:
            n = 0
            while not self.stop.is_set():
                n += 1
                got = self._ask(client, n)
                if got.status_code == 200:
                    rows = got.json()["results"]["bindings"]
                    if self.lookup:
                        self.answers.append((len(rows), len(rows)))
                    else:
                        self.answers.append((int(rows[0]["a"]["value"]), int(rows[0]["b"]["value"])))
                elif got.status_code == 503 and got.headers.get("retry-after"):
                    self.unavailable += 1
                else:
                    self.failures.append(f"{got.status_code} {got.headers} {got.text[:300]}")


def test_round_trip_restores_quads_and_tokens_while_queries_go_on(server: Scratch, tmp_path: Path) -> None:
    _insert(server, A, 0, 300)
    _insert(server, B, 0, 200)
    backup = tmp_path / "before.nq.gz"
    before = _quads(server, backup)
    assert _counts(server) == (300, 200)
    # the change: more triples in both graphs, a graph dropped, a new token
    _insert(server, A, 300, 450)
    _insert(server, B, 200, 260)
    _update(server, "DROP GRAPH <https://w3id.org/boostkg/graph/eis>")
    late = _steward(server)
    assert _whoami(server, late) == 200
    assert _counts(server) == (450, 260)
    readers = [Reader(server), Reader(server), Reader(server, lookup=True)]
    for reader in readers:
        reader.start()
    try:
        for reader in readers:  # each has an answer from the old store before the restore starts
            while not reader.answers and reader.is_alive() and not reader.failures:
                reader.stop.wait(0.05)
        token_file = tmp_path / "admin.token"
        token_file.write_text(server.admin_token + "\n")
        done = subprocess.run(
            [str(BOOSTKG), "restore", str(backup), "--url", server.url, "--token-file", str(token_file)],
            cwd=tmp_path,
            env=cli_env(),
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        for reader in readers:  # a few answers after the swap too
            seen = len(reader.answers)
            while len(reader.answers) < seen + 3 and reader.is_alive() and not reader.failures:
                reader.stop.wait(0.05)
    finally:
        for reader in readers:
            reader.stop.set()
            reader.join(timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"restored {len(before):,} quads" in done.stdout
    assert not [r.failures for r in readers if r.failures]
    for reader in readers:  # each saw the old store first, then the restored one to the end; no mix
        old, new = ((1, 1), (0, 0)) if reader.lookup else ((450, 260), (300, 200))
        assert set(reader.answers) == {old, new}
        assert reader.answers[0] == old
        assert set(reader.answers[reader.answers.index(new) :]) == {new}
    assert _quads(server, tmp_path / "after.nq") == before
    assert _whoami(server, late) == 401  # the register is the backup's: the late token is gone
    assert _whoami(server, server.steward_token) == 200


def _refused(server: Scratch, body: bytes, status: int, tmp_path: Path, snippet: str) -> None:
    before = _quads(server, tmp_path / "before-refusal.nq")
    got = httpx.post(
        server.url + RESTORE_ROUTE,
        content=body,
        headers={**server.admin, "Content-Type": "application/n-quads"},
        timeout=120,
    )
    assert got.status_code == status, got.text
    assert got.headers["content-type"].startswith("application/problem+json")
    assert snippet in got.json()["detail"]
    assert _quads(server, tmp_path / "after-refusal.nq") == before
    assert not list((server.store / "restore-incoming").iterdir())  # nothing left behind


def test_a_bad_archive_is_refused_and_changes_nothing(server: Scratch, tmp_path: Path) -> None:
    _insert(server, A, 1000, 1010)
    good = tmp_path / "good.nq"
    download_backup(server.url, server.admin_token, good)
    data = good.read_bytes()
    _insert(server, A, 1010, 1020)  # the store differs from the backup: a restore would show
    line = data.index(b"<urn:r:1005>")
    tampered = data[:line] + b"<urn:r:9005>" + data[line + len(b"<urn:r:1005>") :]
    _refused(server, tampered, 422, tmp_path, "hashing to")
    truncated = data[: data.rindex(b"\n", 0, len(data) - 1) + 1]  # without the manifest line
    _refused(server, truncated, 422, tmp_path, "no manifest at the end")
    _refused(server, gzip.compress(data)[:-40], 422, tmp_path, "gzip")
    cut = data.rindex(b"\n", 0, len(data) - 1) + 1
    manifest = json.loads(data[cut + len(TRAILER) :])
    manifest["graphs"][A] += 1  # whole as far as the bytes go: found out only once it is loaded
    lying = data[:cut] + TRAILER + json.dumps(manifest).encode() + b"\n"
    _refused(server, lying, 422, tmp_path, "gave other counts than its manifest")
    _refused(server, b"<urn:x> <urn:y> <urn:z> .\n", 400, tmp_path, "not a boostkg backup")
    _refused(server, b"", 400, tmp_path, "no body")
    _refused(server, b"#" * (MAX_RESTORE_BYTES + 1), 413, tmp_path, "BOOSTKG_MAX_RESTORE_BYTES")
    tampered_file = tmp_path / "tampered.nq"
    tampered_file.write_bytes(tampered)
    with pytest.raises(InputError, match="hashing to"):  # the client checks before it sends
        upload_restore(server.url, server.admin_token, tampered_file)


def test_only_administrators_may_restore(server: Scratch, tmp_path: Path) -> None:
    good = tmp_path / "good.nq"
    download_backup(server.url, server.admin_token, good)
    _insert(server, B, 5000, 5005)
    before = _quads(server, tmp_path / "before.nq")
    anonymous = httpx.post(server.url + RESTORE_ROUTE, content=good.read_bytes(), timeout=60)
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"].startswith("application/problem+json")
    forged = httpx.post(
        server.url + RESTORE_ROUTE,
        content=good.read_bytes(),
        headers={"Authorization": "Bearer bkg_forged"},
        timeout=60,
    )
    assert forged.status_code == 401
    with pytest.raises(ForbiddenError, match="403"):
        upload_restore(server.url, server.steward_token, good)
    assert _quads(server, tmp_path / "after.nq") == before


def test_an_upload_cut_short_changes_nothing_and_leaves_no_file(server: Scratch, tmp_path: Path) -> None:
    before = _quads(server, tmp_path / "before.nq")
    port = int(server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        head = (
            f"POST {RESTORE_ROUTE} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/n-quads\r\n"
            f"Authorization: Bearer {server.admin_token}\r\nContent-Length: 5000000\r\n\r\n"
        )
        sock.sendall(head.encode() + b"# boostkg backup: " + b"x" * 300_000)  # then the client dies
    deadline = time.monotonic() + 20
    while "the client went away" not in server.log.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    log = server.log.read_text()
    assert "online restore: the client went away after" in log
    assert "Traceback" not in log
    assert not list((server.store / "restore-incoming").iterdir())
    assert _quads(server, tmp_path / "after.nq") == before
