"""A query stream cut off at its deadline after its first MiB went out is one warning line in the
server's log, naming the request id, instead of two tracebacks (the middleware's and uvicorn's
*Exception in ASGI application*); the client still gets an incomplete response and /metrics still
counts the timeout. Other errors keep their tracebacks (the filter drops only the cut-off's records).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import httpx
import pytest

from boostkg.api.observability import QuietCutOffs, StreamCutOffError
from tests.endpoint_server import Scratch, scratch_server

pytestmark = pytest.mark.subprocess

DATA_GRAPH = "http://example.org/graph/cutoff"
# millions of rows streamed from the start: the 2 s deadline strikes after the response started
STREAM_THEN_STALL = "SELECT * WHERE { ?s ?p ?o . ?a ?b ?c }"
REQUEST_ID = "cutoff-test-7f3a"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scratch]:
    env = {"BOOSTKG_QUERY_TIMEOUT_S": "2", "BOOSTKG_QUERY_WORKERS": "1"}
    with scratch_server(tmp_path_factory.mktemp("cutoff"), env) as running:
        padding = "x" * 500
        data = "".join(
            f'<http://example.org/s{i}> <http://example.org/p> "{i} {padding}" .\n' for i in range(2000)
        )
        put = httpx.put(
            running.url + "/graphs",
            params={"graph": DATA_GRAPH},
            content=data.encode(),
            headers={**running.admin, "Content-Type": "application/n-triples"},
        )
        assert put.status_code == 201, put.text
        yield running


def test_a_stream_cut_at_the_deadline_is_one_warning_line_with_the_request_id(server: Scratch) -> None:
    error = ""
    with httpx.stream(  # a POST: a plain GET may be answered by the front protocol, which logs nothing
        "POST",
        server.sparql,
        data={"query": STREAM_THEN_STALL},
        headers={"X-Request-ID": REQUEST_ID},
        timeout=60,
    ) as response:
        assert response.status_code == 200
        try:
            for _ in response.iter_bytes():
                pass
        except httpx.RemoteProtocolError as exc:
            error = str(exc)
    assert "incomplete chunked read" in error  # the client still fails loudly
    deadline = time.monotonic() + 10
    lines: list[str] = []
    while time.monotonic() < deadline:
        lines = [line for line in server.log.read_text().splitlines() if REQUEST_ID in line]
        if lines:
            break
        time.sleep(0.1)
    log = server.log.read_text()
    assert len(lines) == 1, lines
    assert "WARNING" in lines[0]
    assert "cut off after its response started" in lines[0]
    assert "longer than 2 s" in lines[0]
    assert "Traceback" not in log
    assert "Exception in ASGI application" not in log
    metrics = httpx.get(server.url + "/metrics", timeout=10).text
    assert 'boostkg_query_timeouts_total{route="/sparql"} 1.0' in metrics  # still counted as a timeout


def _record(exc: BaseException) -> logging.LogRecord:
    info = (type(exc), exc, None)
    return logging.LogRecord(
        "uvicorn.error", logging.ERROR, __file__, 1, "Exception in ASGI application", (), info
    )


def test_only_the_cut_off_records_are_dropped() -> None:
    quiet = QuietCutOffs()
    assert quiet.filter(_record(StreamCutOffError("the query ran longer than 2 s"))) is False
    assert quiet.filter(_record(RuntimeError("a real bug"))) is True
    plain = logging.LogRecord("boostkg", logging.WARNING, __file__, 1, "no exception", (), None)
    assert quiet.filter(plain) is True
