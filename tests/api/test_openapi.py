"""The OpenAPI document of the real server reads well: an overview, every operation under one of
the declared tags (in their order) with a written summary."""

from __future__ import annotations

import re

import httpx
import pytest

from boostkg.api.openapi import TAGS
from tests.api.conftest import Served

pytestmark = pytest.mark.subprocess


@pytest.fixture(scope="module")
def served(served_for_readers: Served) -> Served:
    """This module only reads: the server it shares with the other reading modules."""
    return served_for_readers


GENERATED = re.compile(r"[A-Z][a-z]*( [A-Z][a-z]*)?")
"""FastAPI's summary from a one- or two-word function name (``Health``, ``Get One``)."""


def test_every_operation_is_tagged_and_summarised(served: Served) -> None:
    doc = httpx.get(served.url + "/openapi.json", timeout=30).json()
    assert "/void" in doc["info"]["description"]
    assert [t["name"] for t in doc["tags"]] == [name for name, _ in TAGS]
    declared = {name for name, _ in TAGS}
    seen: set[str] = set()
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            assert len(operation["tags"]) == 1, (method, path)
            assert operation["tags"][0] in declared, (method, path)
            seen.add(operation["tags"][0])
            assert not GENERATED.fullmatch(operation["summary"]), (method, path, operation["summary"])
    assert {"Named queries", "Dataset description", "Linked data", "Submissions"} <= seen
    assert doc["paths"]["/queries/{name}"]["get"]["tags"] == ["Named queries"]
    docs = httpx.get(served.url + "/docs", timeout=30)
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()
