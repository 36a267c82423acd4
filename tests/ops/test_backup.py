"""Backup and restore: an exact round trip of the loaded store, its tokens and its submissions
archive (byte-exact); damaged files, tampered archive files and non-empty stores refused with the
store unchanged; the commands through the console script."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from rdflib import URIRef

from boostkg.auth import TokenStore, token_store_path
from boostkg.backup import (
    DATA_LINE,
    FILE_LINE,
    TRAILER,
    check_backup,
    download_backup,
    restore_backup,
    write_backup,
)
from boostkg.errors import AuthError, BackupRejectedError, ConflictError, InputError
from boostkg.store import EmbeddedStore, RdfFormat, open_store
from tests.cli_in_process import boostkg_in_process
from tests.endpoint_server import BOOSTKG, TIT, cli_env

KEPT = URIRef("https://w3id.org/boostkg/graph/kept")


def _nquads(store: EmbeddedStore) -> list[bytes]:
    out = io.BytesIO()
    store.dump(out, RdfFormat.NQUADS)
    return sorted(out.getvalue().splitlines())


@pytest.fixture(scope="module")
def source_tokens(tmp_path_factory: pytest.TempPathFactory) -> tuple[TokenStore, str, str]:
    """A token register beside (not inside) the shared loaded store: one active token, one revoked."""
    register = TokenStore(tmp_path_factory.mktemp("tokens") / "tokens.sqlite")
    active, _ = register.create(steward="Ada Admin", organisation=TIT, admin=True)
    revoked, who = register.create(steward="Sam Steward", organisation=TIT, region="DK03")
    register.revoke(who.token_id)
    return register, active, revoked


@pytest.fixture(scope="module", params=["backup.nq", "backup.nq.gz"])
def backup_file(
    request: pytest.FixtureRequest,
    loaded_store: EmbeddedStore,
    source_tokens: tuple[TokenStore, str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    path: Path = tmp_path_factory.mktemp("backup") / request.param
    write_backup(loaded_store, source_tokens[0], path)
    return path


@pytest.fixture(scope="module")
def loaded_nquads(loaded_store: EmbeddedStore) -> list[bytes]:
    return _nquads(loaded_store)


def test_round_trip_gives_back_the_same_quads_and_tokens(
    backup_file: Path,
    loaded_store: EmbeddedStore,
    loaded_nquads: list[bytes],
    source_tokens: tuple[TokenStore, str, str],
    tmp_path: Path,
) -> None:
    _, active, revoked = source_tokens
    with open_store(tmp_path / "restored") as restored:
        tokens = TokenStore(token_store_path(restored.path))
        manifest = restore_backup(restored, tokens, backup_file)
        assert manifest.quads == len(loaded_nquads) > 10_000
        assert _nquads(restored) == loaded_nquads  # blank-node labels included
        assert restored.graphs() == loaded_store.graphs()  # empty named graphs included
        assert tokens.verify(active).name == "Ada Admin"
        with pytest.raises(AuthError, match="revoked"):
            tokens.verify(revoked)


def test_gzip_file_is_compressed_and_plain_file_is_nquads(backup_file: Path) -> None:
    head = backup_file.read_bytes()[:2]
    if backup_file.name.endswith(".gz"):
        assert head == b"\x1f\x8b"
        lines = gzip.decompress(backup_file.read_bytes()).splitlines()
    else:
        lines = backup_file.read_bytes().splitlines()
    assert lines[0].startswith(b"# boostkg backup")
    assert lines[-1].startswith(TRAILER)
    assert all(line.endswith(b" .") for line in lines[1:-1])


def _damaged(backup_file: Path, tmp_path: Path, how: str) -> Path:
    raw = backup_file.read_bytes()
    data = gzip.decompress(raw) if backup_file.name.endswith(".gz") else raw
    if how == "truncated":
        data = data[: len(data) // 2]
    elif how == "corrupt":  # one character of one literal changed, the manifest as it was
        at = data.index(b'"', 200) + 1
        data = data[:at] + (b"Y" if data[at : at + 1] != b"Y" else b"Z") + data[at + 1 :]
    elif how == "gzip-cut":
        out = tmp_path / "cut.nq.gz"
        packed = gzip.compress(data)
        out.write_bytes(packed[: len(packed) // 2])
        return out
    out = tmp_path / f"{how}.nq"
    out.write_bytes(data)
    return out


@pytest.mark.parametrize("how", ["truncated", "corrupt", "gzip-cut"])
def test_damaged_file_is_refused_naming_it_and_the_store_is_unchanged(
    backup_file: Path, tmp_path: Path, how: str
) -> None:
    damaged = _damaged(backup_file, tmp_path, how)
    with open_store(tmp_path / "store") as kg:
        _fill(kg)
        tokens = TokenStore(token_store_path(kg.path))
        token, _ = tokens.create(steward="Kept", organisation=TIT)
        before = _nquads(kg), kg.graph_names()
        with pytest.raises(InputError) as caught:
            restore_backup(kg, tokens, damaged, force=True)
        assert str(damaged) in str(caught.value)
        assert (_nquads(kg), kg.graph_names()) == before
        assert KEPT in kg.graph_names()
        assert tokens.verify(token).name == "Kept"


def _fill(kg: EmbeddedStore) -> None:
    kg.load_into(
        KEPT, b"<https://example.org/s> <https://example.org/p> _:b .", RdfFormat.NTRIPLES, replace=True
    )


def test_non_empty_store_is_refused_without_force(backup_file: Path, tmp_path: Path) -> None:
    with open_store(tmp_path / "store") as kg:
        tokens = TokenStore(token_store_path(kg.path))
        tokens.create(steward="Only a token", organisation=TIT)
        with pytest.raises(ConflictError, match="--force"):
            restore_backup(kg, tokens, backup_file)
        assert not kg.graph_names()


def test_forced_restore_that_fails_late_rolls_everything_back(backup_file: Path, tmp_path: Path) -> None:
    """A file that checks (its hash is right) but whose manifest promises other counts: the quads
    are loaded, the counts differ, and the whole write unit (quads and tokens) is undone."""
    raw = backup_file.read_bytes()
    data = gzip.decompress(raw) if backup_file.name.endswith(".gz") else raw
    body, trailer = (
        data[: data.rindex(b"\n", 0, len(data) - 1) + 1],
        data[data.rindex(b"\n", 0, len(data) - 1) + 1 :],
    )
    manifest = json.loads(trailer[len(TRAILER) :])
    manifest["quads"] += 1
    lying = tmp_path / "lying.nq"
    lying.write_bytes(body + TRAILER + json.dumps(manifest).encode() + b"\n")
    check_backup(lying)  # whole, as far as the bytes go
    with open_store(tmp_path / "store") as kg:
        _fill(kg)
        tokens = TokenStore(token_store_path(kg.path))
        token, _ = tokens.create(steward="Kept", organisation=TIT)
        before = _nquads(kg), kg.graph_names()
        with pytest.raises(BackupRejectedError, match="unchanged"):
            restore_backup(kg, tokens, lying, force=True)
        assert (_nquads(kg), kg.graph_names()) == before
        assert tokens.verify(token).name == "Kept"


def test_commands_back_up_and_restore_through_the_console_script(tmp_path: Path) -> None:
    """``boostkg backup`` / ``restore`` as an operator runs them: a real process for the backup,
    the entry point in-process for the rest; a token made before the backup works after restore."""
    source = tmp_path / "source"
    data = tmp_path / "data.ttl"
    data.write_text("<https://example.org/s> <https://example.org/p> [ <https://example.org/q> 1 ] .\n")
    env = cli_env()
    subprocess.run(
        [
            str(BOOSTKG),
            "load",
            str(data),
            "--graph",
            "https://w3id.org/boostkg/graph/seed",
            "--store",
            str(source),
        ],
        check=True,
        env=env,
        capture_output=True,
    )
    token = boostkg_in_process(
        "token", "create", "--steward", "Ada", "--organisation", TIT, "--store", source, cwd=tmp_path
    ).stdout.strip()
    done = subprocess.run(
        [str(BOOSTKG), "backup", "kg.nq.gz", "--store", str(source)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    with open_store(source) as kg:
        quads, graphs = kg.triple_count(), len(kg.graph_names())
    assert quads >= 2
    assert f"backed up {quads} quads in {graphs} named graphs, 0 archive files and 1 tokens" in done.stdout

    checked = boostkg_in_process("restore", "--check", "kg.nq.gz", cwd=tmp_path)
    assert checked.returncode == 0
    assert f"is whole: {quads} quads" in checked.stdout

    target = tmp_path / "target"
    restored = boostkg_in_process("restore", "kg.nq.gz", "--store", target, cwd=tmp_path)
    assert restored.returncode == 0, restored.stderr
    assert TokenStore(token_store_path(target)).verify(token).name == "Ada"
    with open_store(source) as a, open_store(target) as b:
        assert _nquads(a) == _nquads(b)

    again = boostkg_in_process("restore", "kg.nq.gz", "--store", target, cwd=tmp_path)
    assert again.returncode == 1
    assert "is not empty" in again.stderr
    assert "--force" in again.stderr
    forced = boostkg_in_process("restore", "kg.nq.gz", "--force", "--store", target, cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr


# --- the submissions archive ---------------------------------------------------------------------

BINARY = "20261125T230000-aaaa/source"


def _archive(base: Path) -> Path:
    """An archive like the server's: per submission a source and an outcome, one source binary and
    longer than a data line (CR LF, NUL, every byte value), one empty file."""
    archive = base / "submissions"
    files = {
        BINARY: bytes(range(256)) * 400 + b"\r\n\x00end",
        "20261125T230000-aaaa/outcome.json": b'{"status": "accepted"}',
        "20261125T230100-bbbb/source": '<urn:s> <urn:p> "Cluj \u0219" .\n'.encode(),
        "20261125T230100-bbbb/outcome.json": b"",
    }
    for rel, data in files.items():
        (archive / rel).parent.mkdir(parents=True, exist_ok=True)
        (archive / rel).write_bytes(data)
    return archive


def _files(archive: Path) -> dict[str, bytes]:
    return {p.relative_to(archive).as_posix(): p.read_bytes() for p in archive.rglob("*") if p.is_file()}


def _backup_with_archive(tmp_path: Path, name: str) -> tuple[Path, dict[str, bytes]]:
    source = tmp_path / "source"
    with open_store(source / "store") as kg:
        _fill(kg)
        archive = _archive(source)
        path = tmp_path / name
        manifest = write_backup(kg, TokenStore(token_store_path(kg.path)), path, archive=archive)
    files = _files(archive)
    assert {f.path: (f.size, f.sha256) for f in manifest.files} == {
        rel: (len(data), hashlib.sha256(data).hexdigest()) for rel, data in files.items()
    }
    return path, files


@pytest.mark.parametrize("name", ["archive.nq", "archive.nq.gz"])
def test_archive_files_round_trip_byte_exact(tmp_path: Path, name: str) -> None:
    path, files = _backup_with_archive(tmp_path, name)
    assert check_backup(path).quads == 1
    target = tmp_path / "target"
    with open_store(target / "store") as kg:
        tokens = TokenStore(token_store_path(kg.path))
        manifest = restore_backup(kg, tokens, path, archive=target / "submissions")
        assert KEPT in kg.graph_names()
    assert len(manifest.files) == 4
    assert _files(target / "submissions") == files
    assert sorted(p.name for p in target.iterdir()) == ["store", "submissions"]  # no staging left


def _tampered(path: Path, tmp_path: Path) -> Path:
    """``path`` with one byte of the binary archive file changed (valid base64, manifest as it was)."""
    lines = path.read_bytes().split(b"\n")
    start = lines.index(FILE_LINE + b'{"path": "' + BINARY.encode() + b'"}')
    data = bytearray(base64.b64decode(lines[start + 1][len(DATA_LINE) :]))
    data[1000] ^= 0xFF
    lines[start + 1] = DATA_LINE + base64.b64encode(bytes(data))
    out = tmp_path / "tampered.nq"
    out.write_bytes(b"\n".join(lines))
    return out


def test_tampered_archive_file_is_refused_by_check_naming_it(tmp_path: Path) -> None:
    path, _ = _backup_with_archive(tmp_path, "archive.nq")
    tampered = _tampered(path, tmp_path)
    checked = boostkg_in_process("restore", "--check", tampered, cwd=tmp_path)
    assert checked.returncode == 1
    assert f"archive file {BINARY} is corrupt" in checked.stderr
    assert str(tampered) in checked.stderr
    target = tmp_path / "target"
    kept = _archive(target)
    before = _files(kept)
    with open_store(target / "store") as kg:
        _fill(kg)
        with pytest.raises(InputError, match=f"archive file {BINARY} is corrupt"):
            restore_backup(kg, TokenStore(token_store_path(kg.path)), tampered, archive=kept, force=True)
    assert _files(kept) == before
    assert sorted(p.name for p in target.iterdir()) == ["store", "submissions"]


def test_crafted_archive_path_outside_the_folder_is_refused(tmp_path: Path) -> None:
    path, _ = _backup_with_archive(tmp_path, "archive.nq")
    crafted = tmp_path / "crafted.nq"
    crafted.write_bytes(
        path.read_bytes().replace(b'"path": "20261125T230100-bbbb/source"', b'"path": "../../evil"')
    )
    with pytest.raises(InputError, match="not a plain relative path"):
        check_backup(crafted)
    with open_store(tmp_path / "target" / "store") as kg, pytest.raises(InputError):
        restore_backup(kg, TokenStore(token_store_path(kg.path)), crafted, archive=tmp_path / "target" / "a")
    assert not (tmp_path / "evil").exists()


def test_forced_restore_replaces_the_archive_and_a_late_failure_keeps_the_old_one(tmp_path: Path) -> None:
    path, files = _backup_with_archive(tmp_path, "archive.nq")
    data = path.read_bytes()
    cut = data.rindex(b"\n", 0, len(data) - 1) + 1
    manifest = json.loads(data[cut + len(TRAILER) :])
    manifest["graphs"][str(KEPT)] += 1  # the counts will not match after loading: rolled back
    lying = tmp_path / "lying.nq"
    lying.write_bytes(data[:cut] + TRAILER + json.dumps(manifest).encode() + b"\n")
    target = tmp_path / "target"
    old = target / "submissions" / "old-submission" / "source"
    old.parent.mkdir(parents=True)
    old.write_bytes(b"kept")
    with open_store(target / "store") as kg:
        tokens = TokenStore(token_store_path(kg.path))
        with pytest.raises(BackupRejectedError, match="unchanged"):
            restore_backup(kg, tokens, lying, archive=target / "submissions", force=True)
        assert _files(target / "submissions") == {"old-submission/source": b"kept"}
        assert not kg.graph_names()
        with pytest.raises(ConflictError, match="not empty"):  # an archive alone makes it non-empty
            restore_backup(kg, tokens, path, archive=target / "submissions")
        restore_backup(kg, tokens, path, archive=target / "submissions", force=True)
        assert KEPT in kg.graph_names()
    assert _files(target / "submissions") == files
    assert sorted(p.name for p in target.iterdir()) == ["store", "submissions"]


# --- the client of a server's backup --------------------------------------------------------------


class _Serving:
    """An HTTP server on 127.0.0.1 answering every GET with ``body`` (status 200)."""

    def __init__(self, body: bytes) -> None:
        payload = body

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/n-quads")
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        return self.url

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("how", ["truncated", "corrupt", "whole"])
def test_download_keeps_only_a_whole_backup(tmp_path: Path, how: str) -> None:
    """A stream cut short (a server stopped mid-backup) or corrupt leaves no file and no .part."""
    path, _ = _backup_with_archive(tmp_path / "made", "archive.nq")
    data = path.read_bytes()
    if how == "truncated":
        data = data[: len(data) * 2 // 3]
    elif how == "corrupt":  # the quad's predicate changed, the manifest as it was
        data = data.replace(b"<https://example.org/p>", b"<https://example.org/q>", 1)
    target = tmp_path / "got" / "kg.nq.gz"
    target.parent.mkdir()
    with _Serving(data) as url:
        if how == "whole":
            manifest = download_backup(url, "bkg_any", target)
            assert manifest.quads == 1
            assert gzip.decompress(target.read_bytes()) == data
            return
        with pytest.raises(InputError, match="truncated" if how == "truncated" else "corrupt"):
            download_backup(url, "bkg_any", target)
    assert list(target.parent.iterdir()) == []
