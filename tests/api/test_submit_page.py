"""The /submit page end to end in headless Chromium, driven over the DevTools protocol.

A steward signs in with a token, pastes an invalid file and sees the violations grouped by node
with line numbers, uploads a valid file and sees it accepted and listed, then withdraws it. The
test saves screenshots (``submit-rejected.png``, ``submit-withdrawn.png``) in its tmp_path.

The DevTools protocol is spoken over a WebSocket; a minimal client (text frames only) is below,
so the test needs nothing but Debian's ``chromium`` (installed by ``scripts/setup.sh --test``).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

from boostkg.auth import TokenStore, token_store_path

pytestmark = pytest.mark.subprocess

VERDICT = "document.getElementById('verdict') && document.getElementById('verdict').textContent"

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
EXAMPLES = Path(__file__).parents[2] / "data" / "examples"
INVALID = """@prefix icf: <https://w3id.org/boostkg/icf#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix org: <https://w3id.org/boostkg/id/organisation/> .

org:page-nameless a icf:SME ;
    icf:pic "12" .
"""


class WebSocket:
    """Just enough of RFC 6455 for the DevTools protocol: masked text frames out, frames in."""

    def __init__(self, url: str) -> None:
        parts = urlparse(url)
        self.sock = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=60)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.sock.recv(1)
        assert head.startswith(b"HTTP/1.1 101"), head

    def send(self, text: str) -> None:
        payload = text.encode()
        mask = os.urandom(4)
        size = len(payload)
        if size < 126:
            header = struct.pack("!BB", 0x81, 0x80 | size)
        elif size < 1 << 16:
            header = struct.pack("!BBH", 0x81, 0x80 | 126, size)
        else:
            header = struct.pack("!BBQ", 0x81, 0x80 | 127, size)
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def _exactly(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            assert chunk, "DevTools closed the connection"
            data += chunk
        return data

    def receive(self) -> str:
        message = b""
        while True:
            first, second = self._exactly(2)
            size = second & 0x7F
            if size == 126:
                size = struct.unpack("!H", self._exactly(2))[0]
            elif size == 127:
                size = struct.unpack("!Q", self._exactly(8))[0]
            message += self._exactly(size)
            if first & 0x80:
                return message.decode()

    def close(self) -> None:
        self.sock.close()


class Page:
    """One browser tab: DevTools commands and JavaScript evaluation."""

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self.next_id = 0

    def call(self, method: str, **params: object) -> dict[str, object]:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.receive())
            if message.get("id") == self.next_id:
                assert "error" not in message, message
                result: dict[str, object] = message["result"]
                return result

    def js(self, expression: str) -> object:
        result = self.call("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        assert "exceptionDetails" not in result, result
        value = result["result"]
        assert isinstance(value, dict)
        return value.get("value")

    def wait_for(self, expression: str, timeout: float = 60) -> object:
        deadline = time.monotonic() + timeout
        while True:
            value = self.js(expression)
            if value:
                return value
            assert time.monotonic() < deadline, f"timed out waiting for {expression}"
            time.sleep(0.1)

    def screenshot(self, path: Path) -> None:
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        path.write_bytes(base64.b64decode(str(data)))


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Page]:
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed (scripts/setup.sh --test installs Debian's 'chromium')")
    proc = subprocess.Popen(
        [
            CHROMIUM,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--remote-debugging-port=0",
            "--window-size=1200,1600",
            f"--user-data-dir={tmp_path / 'profile'}",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 60
        port = None
        while port is None:
            line = proc.stderr.readline()
            match = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", line)
            if match:
                port = int(match.group(1))
            assert line or proc.poll() is None, "chromium exited"
            assert time.monotonic() < deadline, "chromium did not start"
        targets = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
        tab = next(t for t in targets if t["type"] == "page")
        ws = WebSocket(tab["webSocketDebuggerUrl"])
        try:
            yield Page(ws)
        finally:
            ws.close()
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_steward_submits_sees_report_and_withdraws_in_the_browser(
    served: object, page: Page, tmp_path: Path
) -> None:
    url, store = served.url, served.store  # type: ignore[attr-defined]
    token, _ = TokenStore(token_store_path(store)).create(
        steward="Page Steward", organisation="https://w3id.org/boostkg/id/organisation/nwrda", region="RO11"
    )
    page.call("Page.enable")
    page.call("Page.navigate", url=url + "/submit")
    page.wait_for("document.readyState === 'complete' && !!document.getElementById('token')")

    page.js(f"document.getElementById('token').value = {json.dumps(token)}")
    page.js("document.getElementById('signin').click()")
    assert "Page Steward" in str(page.wait_for("document.getElementById('who').textContent"))

    # paste an invalid file: rejected, the violations grouped by node with the node's line
    page.js(f"document.getElementById('data').value = {json.dumps(INVALID)}")
    page.js("document.getElementById('send').click()")
    verdict = str(
        page.wait_for("document.getElementById('verdict') && document.getElementById('verdict').textContent")
    )
    assert verdict.startswith("Rejected:"), verdict
    heading = str(page.js("document.querySelector('#result .node h3').textContent"))
    assert heading == "https://w3id.org/boostkg/id/organisation/page-nameless (line 5)"
    violations = page.js("[...document.querySelectorAll('#result .node .sev.bad')].length")
    assert isinstance(violations, int)
    assert violations >= 2
    page.screenshot(tmp_path / "submit-rejected.png")

    # upload the RO11 example: accepted and listed as the organisation's submission
    document = page.call("DOM.getDocument")
    root = document["root"]["nodeId"]  # type: ignore[index]
    node = page.call("DOM.querySelector", nodeId=root, selector="#file")["nodeId"]
    page.call("DOM.setFileInputFiles", nodeId=node, files=[str(EXAMPLES / "ro11-ecosystem.ttl")])
    page.js("document.getElementById('verdict').remove(); document.getElementById('send').click()")
    verdict = str(
        page.wait_for("document.getElementById('verdict') && document.getElementById('verdict').textContent")
    )
    assert verdict.startswith("Accepted: submission "), verdict
    submission_id = verdict.split()[2].rstrip(",")
    row = f"document.querySelector('#mine tr[data-id=\"{submission_id}\"] .status')"
    assert page.wait_for(f"{row} && {row}.textContent") == "accepted"
    assert httpx.get(f"{url}/submissions/{submission_id}").json()["source"] == "ro11-ecosystem.ttl"

    # withdraw it from the list
    page.js("window.confirm = () => true")
    page.js(f"document.querySelector('#mine button.withdraw[data-id=\"{submission_id}\"]').click()")
    page.wait_for(f"{row} && {row}.textContent === 'withdrawn'")
    assert httpx.get(f"{url}/submissions/{submission_id}").json()["status"] == "withdrawn"
    page.screenshot(tmp_path / "submit-withdrawn.png")

    for name in ("submit-rejected.png", "submit-withdrawn.png"):
        png = (tmp_path / name).read_bytes()
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        assert len(png) > 10_000
