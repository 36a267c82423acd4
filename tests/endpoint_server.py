"""A scratch ``boostkg serve`` for endpoint tests: an empty (or given) store, an administrator's
token, settings through BOOSTKG_ variables; started on a free port, stopped by the caller."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.cli_in_process import boostkg_in_process

BOOSTKG = Path(sys.executable).with_name("boostkg")
STARTUP_S = 60.0
TIT = "https://w3id.org/boostkg/id/organisation/tit"


@dataclass(frozen=True)
class Scratch:
    """A running scratch server: base URL, store directory, admin and steward tokens, log file."""

    url: str
    store: Path
    admin_token: str
    steward_token: str
    log: Path

    @property
    def sparql(self) -> str:
        return self.url + "/sparql"

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}

    def pid(self) -> int:
        """The ``boostkg serve`` process (the server, not its lookup processes or workers)."""
        port = self.url.rsplit(":", 1)[1].encode()
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    args = (entry / "cmdline").read_bytes().split(b"\0")
                except OSError:
                    continue
                if b"serve" in args and port in args:
                    return int(entry.name)
        raise AssertionError(f"no boostkg serve on {self.url}")

    def lookup_pids(self) -> list[int]:
        """The server's lookup (or, on a remote store, relay) processes running now."""
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    cmdline = (entry / "cmdline").read_bytes()
                except OSError:
                    continue
                if b"boostkg.api.lookups" in cmdline and str(self.store).encode() in cmdline:
                    found.append(int(entry.name))
        return found


def cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a `boostkg` subprocess: no inherited BOOSTKG_ settings, plain output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOSTKG_")}
    env.update(COLUMNS="200", NO_COLOR="1", TERM="dumb")
    env.update(extra or {})
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def create_token(store: Path, *, admin: bool) -> str:
    """A new token from ``boostkg token create`` (what it prints on standard output), run through
    the console script's entry point in this process: two subprocess start-ups (~3 s of CPU) fewer
    per scratch server; tests/api/test_steward_cli.py runs ``token create`` as a real subprocess."""
    args = ["token", "create", "--steward", "Ada Admin" if admin else "Sam Steward"]
    args += ["--organisation", TIT, "--store", str(store)]
    if admin:
        args.append("--admin")
    done = boostkg_in_process(*args, cwd=Path.cwd())
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@contextmanager
def scratch_server(
    base: Path, env: dict[str, str] | None = None, store: Path | None = None
) -> Iterator[Scratch]:
    """Serve ``store`` (a new empty one under ``base`` by default) until the block ends."""
    store = store or base / "store"
    admin, steward = create_token(store, admin=True), create_token(store, admin=False)
    port = free_port()
    log_path = base / f"serve-{port}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [str(BOOSTKG), "serve", "--store", str(store), "--host", "127.0.0.1", "--port", str(port)],
            cwd=base,
            env=cli_env(env or {}),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + STARTUP_S
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"boostkg serve exited with {proc.returncode}:\n{log_path.read_text()}"
                    )
                try:
                    if httpx.get(url + "/health", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"boostkg serve did not start:\n{log_path.read_text()}")
                time.sleep(0.1)
            yield Scratch(url, store, admin, steward, log_path)
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
