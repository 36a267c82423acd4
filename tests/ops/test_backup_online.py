"""Backups of a running server (``GET /admin/backup``, ``boostkg backup FILE --url --token``) while
another thread keeps submitting and writing: each backup is consistent (its manifest's counts are
its quads, restoring it gives back exactly those quads, every submission graph in it has its
archived source in it and no other), writes go on between backups, and only administrators get one.
On a store larger than the stream's buffers: a write made while a backup is being streamed is
answered at once and is not in that backup; a client that disconnects frees the snapshot at once.
"""

from __future__ import annotations

import gzip
import io
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from rdflib import URIRef

from boostkg.auth import TokenStore, token_store_path
from boostkg.backup import (
    BACKUP_ROUTE,
    DATA_LINE,
    FILE_LINE,
    QUADS_HEADER,
    Manifest,
    download_backup,
    restore_backup,
)
from boostkg.errors import ForbiddenError, Location
from boostkg.store import RdfFormat, open_store
from tests.conftest import MainLoaded
from tests.endpoint_server import BOOSTKG, TIT, Scratch, cli_env, scratch_server

pytestmark = pytest.mark.subprocess

ID = "https://w3id.org/boostkg/id/"
SUBMISSION_GRAPHS = "https://w3id.org/boostkg/graph/submission/"
WRITES_GRAPH = "https://w3id.org/boostkg/graph/online-backup-test"
PREFIXES = f"""@prefix icf: <https://w3id.org/boostkg/icf#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix nuts: <http://data.europa.eu/nuts/code/> .
@prefix org: <{ID}organisation/> .
@prefix need: <{ID}need/> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
@prefix theme: <https://w3id.org/boostkg/theme/> .
"""


def _submission(slug: str) -> bytes:
    """A conforming submission of one SME of RO11 with one need."""
    return (
        PREFIXES
        + f"""org:{slug} a icf:SME ; rdfs:label "{slug}"@en ; icf:inRegion nuts:RO11 ;
  dcterms:description "An SME of the online backup test."@en ;
  foaf:homepage <https://example.org/{slug}> ; icf:hasTheme theme:ict-digital ; icf:hasNeed need:{slug} .
need:{slug} a icf:Need ; rdfs:label "Need of {slug}"@en ;
  dcterms:description "What {slug} looks for."@en ; icf:hasTheme theme:ict-digital .
"""
    ).encode()


class Writer(threading.Thread):
    """Submits as a steward and inserts as an administrator, in turn, until stopped."""

    def __init__(self, server: Scratch, steward: str) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.steward = steward
        self.stop = threading.Event()
        self.accepted: list[str] = []
        self.inserted = 0
        self.failures: list[str] = []

    def run(self) -> None:
        with httpx.Client(timeout=120) as client:
            i = 0
            while not self.stop.is_set():
                i += 1
                posted = client.post(
                    self.server.url + "/submissions",
                    content=_submission(f"online-sme-{i}"),
                    headers={
                        "Authorization": f"Bearer {self.steward}",
                        "Content-Type": "text/turtle",
                        "Content-Disposition": f'attachment; filename="online-{i}.ttl"',
                    },
                )
                if posted.status_code == 201:
                    self.accepted.append(posted.json()["id"])
                else:
                    self.failures.append(f"submission {i}: {posted.status_code} {posted.text[:300]}")
                update = f"INSERT DATA {{ GRAPH <{WRITES_GRAPH}> {{ <urn:x:{i}> <urn:x:n> {i} }} }}"
                done = client.post(self.server.sparql, data={"update": update}, headers=self.server.admin)
                if done.status_code == 204:
                    self.inserted += 1
                else:
                    self.failures.append(f"update {i}: {done.status_code} {done.text[:300]}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, main_loaded: MainLoaded) -> Iterator[Scratch]:
    base = tmp_path_factory.mktemp("online-backup")
    store = base / "store"
    shutil.copytree(main_loaded.store, store)
    with scratch_server(base, store=store) as scratch:
        yield scratch


def _body_lines(path: Path) -> list[bytes]:
    raw = path.read_bytes()
    data = gzip.decompress(raw) if path.name.endswith(".gz") else raw
    return data.splitlines()[1:-1]


def _quads(lines: list[bytes]) -> list[bytes]:
    return sorted(line for line in lines if not line.startswith(b"#"))


def _check_consistent(path: Path, manifest: Manifest, archive: Path, tmp_path: Path) -> None:
    lines = _body_lines(path)
    quads = _quads(lines)
    assert len(quads) == manifest.quads == sum(manifest.graphs.values())
    for graph, count in manifest.graphs.items():  # each graph's count is its quads in the file
        assert sum(1 for q in quads if q.endswith(f" <{graph}> .".encode())) == count, graph
    files = [line[len(FILE_LINE) :] for line in lines if line.startswith(FILE_LINE)]
    assert len(files) == len(manifest.files)
    submissions = {g[len(SUBMISSION_GRAPHS) :] for g in manifest.graphs if g.startswith(SUBMISSION_GRAPHS)}
    archived = {f.path.split("/")[0] for f in manifest.files}
    assert submissions == archived  # the archive as of the same moment as the graphs
    for entry in manifest.files:  # an archived file never changes: the server's copy is the same
        assert (archive / entry.path).stat().st_size == entry.size
    restored = tmp_path / f"restored-{path.name}"
    with open_store(restored / "store") as kg:
        tokens = TokenStore(token_store_path(kg.path))
        restore_backup(kg, tokens, path, archive=restored / "submissions")
        out = io.BytesIO()
        kg.dump(out, RdfFormat.NQUADS)
        assert sorted(out.getvalue().splitlines()) == quads  # exactly the backup's quads
        assert {str(g.graph): g.triples for g in kg.graphs()} == manifest.graphs
    for entry in manifest.files:
        assert (restored / "submissions" / entry.path).read_bytes() == (archive / entry.path).read_bytes()


def test_backups_taken_while_writes_go_on_are_each_consistent(server: Scratch, tmp_path: Path) -> None:
    steward, _ = TokenStore(token_store_path(server.store)).create(
        steward="Ana Pop", organisation=TIT, region="RO11"
    )
    writer = Writer(server, steward)
    writer.start()
    manifests: list[tuple[Path, Manifest]] = []
    try:
        deadline = time.monotonic() + 60
        while len(writer.accepted) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        progress: list[tuple[int, int]] = []
        for n in range(3):
            path = tmp_path / f"online-{n}.nq"
            accepted_before = len(writer.accepted)
            got = download_backup(
                server.url, server.admin_token, path, progress=lambda *at: progress.append(at)
            )
            assert progress[-1] == (got.quads, got.quads)
            manifests.append((path, got))
            while len(writer.accepted) == accepted_before and time.monotonic() < deadline:
                time.sleep(0.1)  # at least one more submission before the next backup
        token_file = tmp_path / "admin.token"
        token_file.write_text(server.admin_token + "\n")
        done = subprocess.run(
            [str(BOOSTKG), "backup", "online.nq.gz", "--url", server.url, "--token-file", str(token_file)],
            cwd=tmp_path,
            env=cli_env(),
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
    finally:
        writer.stop.set()
        writer.join(timeout=120)
    assert not writer.failures, writer.failures[:3]
    assert done.returncode == 0, done.stderr
    assert "archive files" in done.stdout
    assert len(writer.accepted) >= 4
    assert writer.inserted >= 4
    counts = [m.quads for _, m in manifests]
    assert counts == sorted(counts)
    assert counts[0] < counts[-1]
    archive = server.store / "submissions"
    for path, manifest in manifests:
        _check_consistent(path, manifest, archive, tmp_path)
    cli_file = tmp_path / "online.nq.gz"
    assert cli_file.read_bytes()[:2] == b"\x1f\x8b"
    lines = _body_lines(cli_file)
    assert any(line.startswith(DATA_LINE) for line in lines)


def test_backup_route_is_for_administrators_only(server: Scratch, tmp_path: Path) -> None:
    anonymous = httpx.get(server.url + BACKUP_ROUTE, timeout=30)
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"].startswith("application/problem+json")
    wrong = httpx.get(server.url + BACKUP_ROUTE, headers={"Authorization": "Bearer bkg_nonsense"}, timeout=30)
    assert wrong.status_code == 401
    steward = httpx.get(
        server.url + BACKUP_ROUTE, headers={"Authorization": f"Bearer {server.steward_token}"}, timeout=30
    )
    assert steward.status_code == 403
    assert "administrators" in steward.json()["detail"]
    with pytest.raises(ForbiddenError, match="403"):
        download_backup(server.url, server.steward_token, tmp_path / "refused.nq")
    assert list(tmp_path.iterdir()) == []  # no file, no .part left


def test_backup_of_a_served_store_without_url_says_how_to_take_it(server: Scratch, tmp_path: Path) -> None:
    done = subprocess.run(
        [str(BOOSTKG), "backup", "x.nq", "--store", str(server.store)],
        cwd=tmp_path,
        env=cli_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 1
    assert "--url" in done.stderr
    assert "in use by another process" in done.stderr
    assert not (tmp_path / "x.nq").exists()


# --- a backup longer than the server's buffers: writes during it, a client that goes away ----------

BIG_GRAPH = "https://w3id.org/boostkg/graph/big"


@pytest.fixture(scope="module")
def big_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scratch]:
    """A server on 200,000 quads (~18 MB of N-Quads): more than the stream's queue and socket
    buffers hold, so a client that stops reading holds the dump up."""
    base = tmp_path_factory.mktemp("big-backup")
    lines = b"".join(
        b'<urn:s:%d> <urn:p> "a literal to make the backup longer than the buffers, %d" .\n' % (i, i)
        for i in range(200_000)
    )
    with open_store(base / "store") as kg:
        kg.load_into(URIRef(BIG_GRAPH), lines, RdfFormat.NTRIPLES, replace=True)
    with scratch_server(base, store=base / "store") as scratch:
        yield scratch


def _backups_open(server: Scratch) -> list[str]:
    return [p.name for p in (server.store / "readers").iterdir() if p.name.startswith("backup-")]


def test_a_write_during_a_backup_does_not_wait_for_it_and_is_not_in_it(big_server: Scratch) -> None:
    # A Graph Store POST, not a SPARQL update: an update swaps the database in, which fails while the
    # server measures its fan-out bounds in a thread (boostkg/api/planning.py), backup or not.
    triple = b"<urn:during> <urn:x:n> <urn:x:one> .\n"
    received = bytearray()
    with httpx.stream(
        "GET", big_server.url + BACKUP_ROUTE, headers=big_server.admin, timeout=120
    ) as response:
        assert response.status_code == 200
        assert response.headers[QUADS_HEADER] == "200000"  # for the client's progress
        chunks = response.iter_bytes(64 * 1024)
        received += next(chunks)  # the dump is under way and waits for this client
        started = time.monotonic()
        done = httpx.post(
            big_server.url + "/graphs",
            params={"graph": WRITES_GRAPH},
            content=triple,
            headers={**big_server.admin, "Content-Type": "application/n-triples"},
            timeout=60,
        )
        took = time.monotonic() - started
        assert done.status_code in (201, 204), done.text
        assert _backups_open(big_server)  # the backup was still being streamed during the write
        for chunk in chunks:
            received += chunk
    assert took < 10  # not held up by the rest of the dump
    lines = bytes(received).splitlines()
    manifest = Manifest.from_line(lines[-1] + b"\n", Location("stream"))
    assert manifest.quads == 200_000 == len(lines) - 2
    assert manifest.graphs == {BIG_GRAPH: 200_000}  # as of its start: without the write made during it
    assert not any(b"urn:during" in line for line in lines)
    stored = httpx.get(
        big_server.sparql,
        params={"query": "ASK { <urn:during> ?p ?o }"},
        headers={"Accept": "application/sparql-results+json"},
        timeout=60,
    )
    assert stored.json()["boolean"] is True  # the write is in the store, only not in that backup


def test_a_client_that_goes_away_frees_the_snapshot_at_once(big_server: Scratch) -> None:
    with httpx.stream(
        "GET", big_server.url + BACKUP_ROUTE, headers=big_server.admin, timeout=120
    ) as response:
        next(response.iter_bytes(64 * 1024))
        assert len(_backups_open(big_server)) == 1
    deadline = time.monotonic() + 20  # well under the 120 s after which a stalled client is dropped
    while _backups_open(big_server) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _backups_open(big_server) == []
    assert "online backup abandoned" in big_server.log.read_text()
