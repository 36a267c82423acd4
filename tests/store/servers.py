"""SPARQL servers started on 127.0.0.1 for the store tests: each gives a factory of RemoteStores."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from boostkg.store.remote import RemoteStore

OXIGRAPH = Path(sys.executable).with_name("oxigraph")


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Server:
    """A running server's endpoints and credentials."""

    query_url: str
    update_url: str
    gsp_url: str | None
    user: str | None = None
    password: str | None = None

    def open(self) -> RemoteStore:
        return RemoteStore(
            self.query_url,
            update_url=self.update_url,
            gsp_url=self.gsp_url,
            user=self.user,
            password=self.password,
        )

    def wipe(self) -> None:
        """Remove every named graph (tests start from an empty store)."""
        with self.open() as store:
            for graph in store.graph_names():
                store.drop_graph(graph)
            store.update("DROP SILENT GRAPH <urn:boostkg:journal>")


def _wait(url: str, process: subprocess.Popen[bytes], log: Path, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"{process.args!r} exited with {process.returncode}: {log.read_text()[-2000:]}"
            )
        try:
            if httpx.get(url, params={"query": "ASK {}"}, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"no answer from {url} within {seconds} s: {log.read_text()[-2000:]}")


class OxigraphProcess:
    """``oxigraph serve`` (the binary of the ``oxigraph`` package) on a fixed port, with its data
    in ``folder``: can be killed and started again on the same data."""

    def __init__(self, folder: Path) -> None:
        if not OXIGRAPH.exists():
            raise RuntimeError(f"no {OXIGRAPH}: install the test extras (pip install oxigraph)")
        self.folder = folder
        self.port = free_port()
        base = f"http://127.0.0.1:{self.port}"
        self.server = Server(f"{base}/query", f"{base}/update", f"{base}/store")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Server:
        log = self.folder / "oxigraph.log"
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [
                    str(OXIGRAPH),
                    "serve",
                    "--location",
                    str(self.folder / "data"),
                    "--bind",
                    f"127.0.0.1:{self.port}",
                    "--union-default-graph",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        _wait(self.server.query_url, self.process, log)
        return self.server

    def kill(self) -> None:
        """SIGKILL: the server dies mid-whatever, as in a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


def oxigraph_server(folder: Path) -> Iterator[Server]:
    """A running Oxigraph server with its data in ``folder``, stopped when the generator closes."""
    process = OxigraphProcess(folder)
    try:
        yield process.start()
    finally:
        process.stop()


VIRTUOSO_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "virtuoso-server.sh"


def virtuoso_server(folder: Path) -> Iterator[Server]:
    """Virtuoso Open Source started by ``scripts/virtuoso-server.sh`` in ``folder``: queries on
    /sparql (anonymous), updates and Graph Store writes as dba with Digest credentials."""
    started = subprocess.run(
        ["bash", str(VIRTUOSO_SCRIPT), "start", str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if started.returncode != 0:
        raise RuntimeError(f"virtuoso did not start: {started.stderr[-2000:]}")
    env = dict(line.split("=", 1) for line in started.stdout.splitlines() if line.startswith("BOOSTKG_"))
    try:
        yield Server(
            env["BOOSTKG_STORE_URL"],
            env["BOOSTKG_STORE_UPDATE_URL"],
            env["BOOSTKG_STORE_GSP_URL"],
            env["BOOSTKG_STORE_USER"],
            env["BOOSTKG_STORE_PASSWORD"],
        )
    finally:
        subprocess.run(["bash", str(VIRTUOSO_SCRIPT), "stop", str(folder)], capture_output=True, check=False)
