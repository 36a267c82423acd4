"""The W3C SPARQL 1.1 Graph Store HTTP Protocol tests (direct and indirect graph identification)
against a real ``boostkg serve``: ``/gsp`` is served at ``/graphs``."""

from __future__ import annotations

import httpx
import pytest

from tests.endpoint_server import Scratch
from tests.w3c.http_tests import W3C, HttpTest, read_manifest, reset, run

pytestmark = pytest.mark.subprocess

FOLDER = W3C / "graph-store-protocol"
TESTS = [
    test
    for name in ("manifest-direct.ttl", "manifest-indirect.ttl")
    if (FOLDER / name).is_file()
    for test in read_manifest(FOLDER / name)
]


def test_both_manifests_are_read() -> None:
    names = {t.name for t in TESTS}
    assert {"put_get_repeat_direct", "put_get_repeat_indirect", "post_get_new_graph"} <= names
    assert len(TESTS) == len(names) >= 12


@pytest.mark.parametrize("test", TESTS, ids=[t.name for t in TESTS])
def test_graph_store(scratch: Scratch, test: HttpTest) -> None:
    with httpx.Client(timeout=30) as client:
        reset(client, scratch.url, scratch.admin)
        problems = run(client, scratch.url, scratch.admin, test, {"/gsp": "/graphs"})
    assert not problems, f"{test.title}:\n" + "\n".join(problems)
