"""/ready, /metrics, request ids and JSON logs, through a real ``boostkg serve``."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

import boostkg
from boostkg.api.app import create_app
from boostkg.config import Settings
from tests.endpoint_server import Scratch, scratch_server

pytestmark = pytest.mark.subprocess

SLOW_QUERY = (
    "SELECT (COUNT(*) AS ?n) WHERE { "
    + " ".join(f"VALUES ?{v} {{ {' '.join(str(i) for i in range(1, 121))} }}" for v in "xyz")
    + ' FILTER(SHA512(STR(?x * ?y * ?z)) = "never") }'
)
"""1.7 million SHA-512s: far past the 0.3 s deadline the server below is given, on any machine."""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scratch]:
    """A scratch server writing JSON log lines, one per request, with a short query deadline."""
    env = {
        "BOOSTKG_LOG_FORMAT": "json",
        "BOOSTKG_ACCESS_LOG": "true",
        "BOOSTKG_QUERY_TIMEOUT_S": "0.3",
        "BOOSTKG_QUERY_WORKERS": "1",
        "BOOSTKG_METRICS_STORE_MAX_AGE_S": "0.001",  # recount on every scrape
    }
    with scratch_server(tmp_path_factory.mktemp("observed"), env) as scratch:
        yield scratch


def _metrics(server: Scratch) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = httpx.get(server.url + "/metrics", timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def _count(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_ready_answers_200_when_store_and_workers_answer(server: Scratch) -> None:
    response = httpx.get(server.url + "/ready", timeout=30)
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"store": "ok", "query_workers": "ok"}}


def test_ready_is_503_with_retry_after_before_the_store_is_open(tmp_path: Path) -> None:
    """No lifespan ran (no store, no workers): not ready, and says why."""
    app = create_app(Settings(store=tmp_path / "store"))
    response = TestClient(app).get("/ready")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json()["checks"] == {"store": "not open", "query_workers": "not started"}


def test_metrics_parse_and_count_a_request_made(server: Scratch) -> None:
    before = _metrics(server)
    for _ in range(3):
        assert httpx.get(server.url + "/submissions/no-such-id", timeout=30).status_code == 404
    after = _metrics(server)
    key = {"method": "GET", "route": "/submissions/{submission_id}", "status": "404"}
    assert (
        _count(after, "boostkg_http_requests_total", **key)
        - _count(before, "boostkg_http_requests_total", **key)
        == 3
    )
    timed = {"method": "GET", "route": "/submissions/{submission_id}"}
    assert _count(after, "boostkg_http_request_duration_seconds_count", **timed) >= 3
    assert _count(after, "boostkg_http_request_duration_seconds_bucket", le="+Inf", **timed) >= 3
    assert _count(after, "boostkg_query_workers") == 1
    assert ("boostkg_build_info", (("version", boostkg.__version__),)) in after


def test_store_quads_gauge_counts_the_quads_written(server: Scratch) -> None:
    data = "<urn:x:a> <urn:x:p> 1 , 2 , 3 .\n"
    put = httpx.put(
        server.url + "/graphs",
        params={"graph": "urn:x:metrics"},
        content=data,
        headers={"Content-Type": "text/turtle", "Authorization": f"Bearer {server.admin_token}"},
        timeout=60,
    )
    assert put.status_code in (200, 201, 204), put.text
    counted = httpx.post(
        server.url + "/sparql",
        data={"query": "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"},
        headers={"Accept": "application/sparql-results+json"},
        timeout=60,
    ).json()["results"]["bindings"][0]["n"]["value"]
    gauge = _count(_metrics(server), "boostkg_store_quads")
    assert gauge >= 3  # the three written, plus the write's provenance record in graph/meta
    assert gauge == int(counted)


def test_query_stopped_at_its_deadline_is_counted(server: Scratch) -> None:
    before = _count(_metrics(server), "boostkg_query_timeouts_total", route="/sparql")
    response = httpx.post(server.sparql, data={"query": SLOW_QUERY}, timeout=60)
    assert response.status_code == 503
    assert response.json()["type"].endswith("/query-timeout")
    assert _count(_metrics(server), "boostkg_query_timeouts_total", route="/sparql") == before + 1


def test_rejected_and_unauthorised_submissions_are_counted(server: Scratch) -> None:
    before = _metrics(server)
    malformed = httpx.post(
        server.url + "/submissions",
        content=b"<https://example.org/a> <https://example.org/b> .",
        headers={"Content-Type": "text/turtle", "Authorization": f"Bearer {server.steward_token}"},
        timeout=60,
    )
    assert malformed.status_code == 400
    anonymous = httpx.post(
        server.url + "/submissions", content=b"", headers={"Content-Type": "text/turtle"}, timeout=60
    )
    assert anonymous.status_code == 401
    after = _metrics(server)
    for status in ("400", "401"):
        labels = {"outcome": "rejected", "status": status}
        assert _count(after, "boostkg_submissions_total", **labels) == (
            _count(before, "boostkg_submissions_total", **labels) + 1
        )


def _log_lines(server: Scratch) -> list[dict[str, object]]:
    lines = []
    for line in server.log.read_text(encoding="utf-8").splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def _logged(server: Scratch, request_id: str) -> list[dict[str, object]]:
    """The log lines of ``request_id``: the server may write its line just after the answer went
    out, so wait for one to appear (5 s at most)."""
    deadline = time.monotonic() + 5
    while True:
        entries = [e for e in _log_lines(server) if e.get("request_id") == request_id]
        if entries or time.monotonic() > deadline:
            return entries
        time.sleep(0.05)


def test_request_id_is_echoed_and_carried_by_the_log_line(server: Scratch) -> None:
    response = httpx.get(server.url + "/health", headers={"X-Request-ID": "drill-42.a"}, timeout=30)
    assert response.headers["x-request-id"] == "drill-42.a"
    entries = _logged(server, "drill-42.a")
    assert len(entries) == 1
    entry = entries[0]
    assert entry["logger"] == "boostkg.request"
    assert entry["level"] == "info"
    assert entry["http"] == {
        "method": "GET",
        "path": "/health",
        "route": "/health",
        "status": 200,
        "duration_ms": entry["http"]["duration_ms"],  # type: ignore[index]
        "client": "127.0.0.1",
    }


def test_request_id_is_generated_when_missing_or_unsafe(server: Scratch) -> None:
    plain = httpx.get(server.url + "/health", timeout=30).headers["x-request-id"]
    unsafe = httpx.get(server.url + "/health", headers={"X-Request-ID": "a b\tc"}, timeout=30)
    assert re.fullmatch(r"[0-9a-f]{32}", plain)
    assert unsafe.headers["x-request-id"] not in ("a b\tc", plain)
    assert plain in {e.get("request_id") for e in _logged(server, plain)}


def test_request_counts_and_durations_are_exposed_as_prometheus_writes_them() -> None:
    """The request counter and histogram are kept by boostkg itself: the same exposition (names,
    labels, cumulative ``le`` buckets with a bound's own value counted in it, +Inf, count, sum)
    as prometheus_client's Counter and Histogram give for the same observations."""
    from prometheus_client import CollectorRegistry, Counter, Histogram
    from prometheus_client.exposition import generate_latest

    from boostkg.api.observability import LATENCY_BUCKETS, Metrics

    ours = Metrics()
    registry = CollectorRegistry()
    counter = Counter("boostkg_http_requests", "x", ["method", "route", "status"], registry=registry)
    histogram = Histogram(
        "boostkg_http_request_duration_seconds",
        "x",
        ["method", "route"],
        buckets=LATENCY_BUCKETS,
        registry=registry,
    )
    observed = [("GET", "/sparql", 200, s) for s in (0.0004, 0.001, 0.0011, 0.25, 0.9, 60.0, 500.0)]
    observed += [("POST", "/submissions", 422, 0.04), ("GET", "/sparql", 406, 0.002)]
    for method, route, status, seconds in observed:
        ours.observe(method, route, status, seconds)
        counter.labels(method, route, str(status)).inc()
        histogram.labels(method, route).observe(seconds)

    def samples(text: bytes) -> set[tuple[str, tuple[tuple[str, str], ...], float]]:
        return {
            (sample.name, tuple(sorted(sample.labels.items())), round(sample.value, 9))
            for family in text_string_to_metric_families(text.decode())
            if family.name in ("boostkg_http_requests", "boostkg_http_request_duration_seconds")
            for sample in family.samples
            if not sample.name.endswith("_created")
        }

    expected = samples(generate_latest(registry))
    assert len(expected) > 40
    assert samples(ours.render()) == expected
