"""The front protocol remembers what to do with a request head (its plan), not the answer: a
repeated request is planned once, a different one gets its own plan, declined requests stay
declined, and the memory is bounded."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

from uvicorn.config import Config
from uvicorn.server import ServerState

from boostkg.api import front
from boostkg.api.front import front_protocol
from boostkg.api.routes.sparql_shortcuts import FrontResponse
from boostkg.config import Settings
from boostkg.store import ResultFormat

JSON = "application/sparql-results+json"
XML = "application/sparql-results+xml"


def _protocol() -> Any:
    """A front protocol over an app whose inline runner declines (so a worker would answer)."""
    state = SimpleNamespace(settings=Settings(), query_workers=object(), lookup_runner=lambda *args: None)
    app = SimpleNamespace(state=state)

    async def asgi(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("not reached: only heads are planned here")

    config = Config(app=asgi)
    config.load()
    loop = asyncio.new_event_loop()
    return front_protocol(app)(config=config, server_state=ServerState(), app_state={}, _loop=loop)


def _head(query: str, accept: str = JSON, host: str = "localhost:8000", extra: str = "") -> bytes:
    target = "/sparql?" + urlencode({"query": query})
    return f"GET {target} HTTP/1.1\r\nHost: {host}\r\nAccept: {accept}{extra}".encode()


def test_a_repeated_head_reuses_its_plan_and_others_get_their_own() -> None:
    protocol = _protocol()
    query = "SELECT ?s WHERE { ?s ?p ?o } LIMIT 3"
    first = protocol._front(_head(query))
    again = protocol._front(_head(query))
    assert isinstance(first, FrontResponse)
    assert isinstance(again, FrontResponse)
    assert again is not first  # a response of its own ...
    assert again._job is first._job  # ... from the same plan
    xml = protocol._front(_head(query, accept=XML))
    assert first._job.results is ResultFormat.JSON
    assert xml._job.results is ResultFormat.XML
    elsewhere = protocol._front(_head(query, host="kg.example.org"))
    assert elsewhere._job.base_iri == "http://kg.example.org/sparql"
    assert len(protocol.plans) == 3
    assert len(_protocol().plans) == 0  # each server has its own


def test_declined_heads_stay_declined() -> None:
    protocol = _protocol()
    declined = [
        b"GET /sparql?query=ASK%7B%7D&query=ASK%7B%7D HTTP/1.1\r\nHost: h",  # the query twice
        _head("SELECT ?s WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }"),  # SERVICE refused
        _head("SELECT ?s WHERE { ?s ?p ?o }", accept="image/png"),  # nothing acceptable: a 406
        _head("SELECT ?s WHERE { ?s ?p ?o }", extra="\r\nOrigin: http://elsewhere.example"),  # CORS
    ]
    for _ in range(2):
        for head in declined:
            assert protocol._front(head) is None
    assert list(protocol.plans.values()) == [None] * len(declined)


def test_the_memory_is_bounded_and_long_heads_are_not_kept() -> None:
    protocol = _protocol()
    for n in range(front.PLANS_MAX + 5):
        assert isinstance(protocol._front(_head(f"SELECT ?s WHERE {{ ?s ?p {n} }}")), FrontResponse)
    assert len(protocol.plans) == front.PLANS_MAX
    assert _head("SELECT ?s WHERE { ?s ?p 0 }") not in protocol.plans  # the first ones were forgotten
    assert _head(f"SELECT ?s WHERE {{ ?s ?p {front.PLANS_MAX + 4} }}") in protocol.plans
    long_query = "SELECT ?s WHERE { ?s ?p ?o } #" + "x" * front.PLANNED_HEAD_MAX
    answer = protocol._front(_head(long_query))
    assert isinstance(answer, FrontResponse)
    assert answer._job.query == long_query
    assert _head(long_query) not in protocol.plans
