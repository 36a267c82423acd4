"""Backup and restore against a remote store (BOOSTKG_STORE_URL): an Oxigraph server. A backup of
the server restores into an embedded store with exactly its quads and back into the server (graph
by graph, blank nodes relabelled by the server: compared by isomorphism); a non-empty server is
refused without --force; a restore that fails late leaves the server as it was; the commands work
with the remote-store options; a boostkg server on the remote store gives an online backup."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from rdflib import Dataset, Graph, URIRef
from rdflib.compare import isomorphic

from boostkg.auth import TokenStore, token_store_path
from boostkg.backup import (
    TRAILER,
    check_backup,
    download_backup,
    restore_backup,
    upload_restore,
    write_backup,
)
from boostkg.errors import BackupRejectedError, ConflictError
from boostkg.store import RdfFormat, RemoteStore, open_store
from tests.cli_in_process import boostkg_in_process
from tests.endpoint_server import TIT, scratch_server
from tests.store.servers import Server, oxigraph_server

G = "https://w3id.org/boostkg/graph/"
DATA = {
    G + "seed": b"""<https://example.org/a> <https://example.org/p> "one"@en .
<https://example.org/a> <https://example.org/q> _:x .
_:x <https://example.org/r> "2"^^<http://www.w3.org/2001/XMLSchema#integer> .
""",
    G + "submission/s1": b"""<https://example.org/b> <https://example.org/p> "tab\\there \\u00e9" .
_:y <https://example.org/r> _:z .
""",
}


@pytest.fixture(scope="module")
def oxigraph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from oxigraph_server(tmp_path_factory.mktemp("oxigraph-backup"))


def _fill(server: Server) -> None:
    server.wipe()
    with server.open() as store:
        for graph, data in DATA.items():
            store.replace_graph(URIRef(graph), data, RdfFormat.NTRIPLES)


def _graphs(store: RemoteStore) -> dict[str, Graph]:
    out = io.BytesIO()
    store.dump(out, RdfFormat.NQUADS)
    dataset = Dataset()
    dataset.parse(data=out.getvalue(), format="nquads")
    return {str(g.identifier): g for g in dataset.graphs() if len(g)}


def _expected() -> dict[str, Graph]:
    return {name: Graph().parse(data=data, format="nt") for name, data in DATA.items()}


def _same(got: dict[str, Graph], want: dict[str, Graph]) -> None:
    assert sorted(got) == sorted(want)
    for name, graph in want.items():
        assert isomorphic(got[name], graph), name


def test_remote_backup_restores_into_embedded_and_back_into_the_server(
    oxigraph: Server, tmp_path: Path
) -> None:
    _fill(oxigraph)
    archive = tmp_path / "submissions"
    (archive / "s1").mkdir(parents=True)
    (archive / "s1" / "source").write_bytes(DATA[G + "submission/s1"])
    tokens = TokenStore(tmp_path / "tokens.sqlite")
    token, _ = tokens.create(steward="Ada", organisation=TIT, admin=True)
    path = tmp_path / "remote.nq.gz"
    with oxigraph.open() as remote:
        manifest = write_backup(remote, tokens, path, archive=archive)
    assert manifest.quads == 5
    assert manifest.graphs == {G + "seed": 3, G + "submission/s1": 2}
    assert [f.path for f in manifest.files] == ["s1/source"]
    assert check_backup(path).quads == 5

    embedded = tmp_path / "embedded"
    with open_store(embedded / "store") as kg:
        restore_backup(kg, TokenStore(token_store_path(kg.path)), path, archive=embedded / "submissions")
        assert {str(g.graph): g.triples for g in kg.graphs()} == manifest.graphs
    assert (embedded / "submissions" / "s1" / "source").read_bytes() == DATA[G + "submission/s1"]

    with oxigraph.open() as remote:  # the server changed after the backup: one graph more, one less
        remote.drop_graph(URIRef(G + "seed"))
        remote.replace_graph(URIRef(G + "later"), b"<urn:a> <urn:b> <urn:c> .", RdfFormat.NTRIPLES)
        with pytest.raises(ConflictError, match="not empty"):
            restore_backup(remote, tokens, path)
        restore_backup(remote, TokenStore(tmp_path / "restored-tokens.sqlite"), path, force=True)
        _same(_graphs(remote), _expected())
    assert TokenStore(tmp_path / "restored-tokens.sqlite").verify(token).name == "Ada"


def test_remote_restore_that_fails_late_leaves_the_server_as_it_was(oxigraph: Server, tmp_path: Path) -> None:
    _fill(oxigraph)
    tokens = TokenStore(tmp_path / "tokens.sqlite")
    path = tmp_path / "remote.nq"
    with oxigraph.open() as remote:
        write_backup(remote, tokens, path)
        remote.replace_graph(URIRef(G + "later"), b"<urn:a> <urn:b> <urn:c> .", RdfFormat.NTRIPLES)
        before = _graphs(remote)
    data = path.read_bytes()
    cut = data.rindex(b"\n", 0, len(data) - 1) + 1
    manifest = json.loads(data[cut + len(TRAILER) :])
    manifest["graphs"][G + "seed"] += 1
    lying = tmp_path / "lying.nq"
    lying.write_bytes(data[:cut] + TRAILER + json.dumps(manifest).encode() + b"\n")
    with oxigraph.open() as remote:
        with pytest.raises(BackupRejectedError, match="unchanged"):
            restore_backup(remote, tokens, lying, force=True)
        _same(_graphs(remote), before)
        assert G + "later" in _graphs(remote)


def test_backup_and_restore_commands_with_the_remote_store_options(oxigraph: Server, tmp_path: Path) -> None:
    _fill(oxigraph)
    options = [
        "--store-url",
        oxigraph.query_url,
        "--store-update-url",
        oxigraph.update_url,
        "--store-gsp-url",
        str(oxigraph.gsp_url),
    ]
    local = tmp_path / "local"
    done = boostkg_in_process(*options, "backup", "remote.nq", "--store", local, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "backed up 5 quads in 2 named graphs, 0 archive files and 0 tokens" in done.stdout
    oxigraph.wipe()
    restored = boostkg_in_process(*options, "restore", "remote.nq", "--store", local, cwd=tmp_path)
    assert restored.returncode == 0, restored.stderr
    with oxigraph.open() as remote:
        _same(_graphs(remote), _expected())


def _served_env(oxigraph: Server) -> dict[str, str]:
    """The settings of a ``boostkg serve`` on the Oxigraph server."""
    return {
        "BOOSTKG_STORE_URL": oxigraph.query_url,
        "BOOSTKG_STORE_UPDATE_URL": oxigraph.update_url,
        "BOOSTKG_STORE_GSP_URL": str(oxigraph.gsp_url),
    }


def test_online_backup_through_a_server_on_the_remote_store(oxigraph: Server, tmp_path: Path) -> None:
    """``boostkg serve`` on the Oxigraph server: ``GET /admin/backup`` (held under the server's write
    lock) gives the remote graphs, and the token register and archive kept in the local folder."""
    _fill(oxigraph)
    with scratch_server(tmp_path, env=_served_env(oxigraph)) as served:
        path = tmp_path / "online.nq"
        manifest = download_backup(served.url, served.admin_token, path)
        update = f"INSERT DATA {{ GRAPH <{G}after> {{ <urn:a> <urn:b> <urn:c> }} }}"
        after = httpx.post(served.sparql, data={"update": update}, headers=served.admin, timeout=60)
        assert after.status_code == 204, after.text  # the write lock was released with the stream
    assert manifest.graphs == {G + "seed": 3, G + "submission/s1": 2}
    assert len(manifest.tokens) == 2  # the scratch server's admin and steward
    restored = tmp_path / "restored"
    with open_store(restored / "store") as kg:
        restore_backup(kg, TokenStore(token_store_path(kg.path)), path, archive=restored / "submissions")
        out = io.BytesIO()
        kg.dump(out, RdfFormat.NQUADS)
    dataset = Dataset()
    dataset.parse(data=out.getvalue(), format="nquads")
    _same({str(g.identifier): g for g in dataset.graphs() if len(g)}, _expected())
    assert TokenStore(token_store_path(restored / "store")).verify(served.admin_token).admin


def test_online_restore_through_a_server_on_the_remote_store(oxigraph: Server, tmp_path: Path) -> None:
    """``POST /admin/restore`` on a server over the Oxigraph server: the remote graphs become the
    backup's (a graph written after it is dropped, a changed one put back), the token register in
    the local folder too; a tampered backup is refused with 422 and the server keeps its graphs."""
    _fill(oxigraph)
    with scratch_server(tmp_path, env=_served_env(oxigraph)) as served:
        path = tmp_path / "online.nq"
        download_backup(served.url, served.admin_token, path)
        changes = (
            f"INSERT DATA {{ GRAPH <{G}after> {{ <urn:a> <urn:b> <urn:c> }} }} ;"
            f' INSERT DATA {{ GRAPH <{G}seed> {{ <urn:a> <urn:b> "changed" }} }}'
        )
        done = httpx.post(served.sparql, data={"update": changes}, headers=served.admin, timeout=60)
        assert done.status_code == 204, done.text
        late, _ = TokenStore(token_store_path(served.store)).create(steward="Late", organisation=TIT)
        with oxigraph.open() as remote:
            changed = _graphs(remote)
        assert set(changed) == {G + "seed", G + "submission/s1", G + "after", G + "meta"}  # + the record
        data = path.read_bytes()
        tampered = data.replace(b'"one"@en', b'"uno"@en')
        refused = httpx.post(
            served.url + "/admin/restore", content=tampered, headers=served.admin, timeout=120
        )
        assert refused.status_code == 422, refused.text
        with oxigraph.open() as remote:
            _same(_graphs(remote), changed)
        summary = upload_restore(served.url, served.admin_token, path)
        assert summary["quads"] == 5
        with oxigraph.open() as remote:
            _same(_graphs(remote), _expected())
        who = httpx.get(served.url + "/stewards/me", headers={"Authorization": f"Bearer {late}"}, timeout=30)
        assert who.status_code == 401
