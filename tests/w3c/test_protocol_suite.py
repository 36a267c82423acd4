"""The W3C SPARQL 1.1 Protocol test suite (34 tests) against a real ``boostkg serve``."""

from __future__ import annotations

import httpx
import pytest

from tests.endpoint_server import Scratch
from tests.w3c.http_tests import W3C, HttpTest, load_data, read_manifest, reset, run

pytestmark = pytest.mark.subprocess

MANIFEST = W3C / "protocol" / "manifest.ttl"
TESTS = read_manifest(MANIFEST) if MANIFEST.is_file() else []


def test_the_manifest_has_34_protocol_tests() -> None:
    assert len(TESTS) == 34
    assert len({t.name for t in TESTS}) == 34


@pytest.mark.parametrize("test", TESTS, ids=[t.name for t in TESTS])
def test_protocol(scratch: Scratch, test: HttpTest) -> None:
    with httpx.Client(timeout=30) as client:
        reset(client, scratch.url, scratch.admin)
        load_data(client, scratch.url, scratch.admin, test, MANIFEST.parent)
        problems = run(client, scratch.url, scratch.admin, test, {"/sparql/": "/sparql"})
    assert not problems, f"{test.title}:\n" + "\n".join(problems)
