"""The front protocol's decisions are remembered per request (query string, ``Accept``, URL), not
their answers: a repeated request is decided once, a different one gets its own decision, and the
memory is bounded."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

from boostkg.api.routes import sparql_shortcuts
from boostkg.api.routes.sparql_shortcuts import FrontResponse, front_answer
from boostkg.config import Settings
from boostkg.store import ResultFormat

JSON = "application/sparql-results+json"
XML = "application/sparql-results+xml"


def _app() -> Any:
    """An app with the state front_answer reads; its inline runner declines (so a worker answers)."""
    state = SimpleNamespace(
        settings=Settings(),
        query_workers=object(),
        lookup_runner=lambda *args: None,
    )
    return SimpleNamespace(state=state)


def _ask(app: Any, query: str, accept: str = JSON, host: str = "localhost:8000") -> Any:
    return front_answer(app, urlencode({"query": query}).encode(), accept, f"http://{host}/sparql", [])


def test_a_repeated_request_reuses_its_decision_and_others_get_their_own() -> None:
    app = _app()
    first = _ask(app, "SELECT ?s WHERE { ?s ?p ?o } LIMIT 3")
    again = _ask(app, "SELECT ?s WHERE { ?s ?p ?o } LIMIT 3")
    assert isinstance(first, FrontResponse)
    assert isinstance(again, FrontResponse)
    assert again is not first  # a response of its own ...
    assert again._job is first._job  # ... from the same decision
    xml = _ask(app, "SELECT ?s WHERE { ?s ?p ?o } LIMIT 3", accept=XML)
    assert first._job.results is ResultFormat.JSON
    assert xml._job.results is ResultFormat.XML
    elsewhere = _ask(app, "SELECT ?s WHERE { ?s ?p ?o } LIMIT 3", host="kg.example.org")
    assert elsewhere._job.base_iri == "http://kg.example.org/sparql"
    assert len(app.state.front_plans) == 3


def test_declined_requests_stay_declined() -> None:
    app = _app()
    for _ in range(2):
        assert front_answer(app, b"query=ASK%7B%7D&query=ASK%7B%7D", JSON, "http://h/sparql", []) is None
        assert _ask(app, "SELECT ?s WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }") is None
        assert _ask(app, "SELECT ?s WHERE { ?s ?p ?o }", accept="image/png") is None


def test_the_memory_is_bounded_and_long_requests_are_not_kept() -> None:
    app = _app()
    limit = sparql_shortcuts._PLANS_MAX
    for n in range(limit + 5):
        assert isinstance(_ask(app, f"SELECT ?s WHERE {{ ?s ?p {n} }}"), FrontResponse)
    plans = app.state.front_plans
    assert len(plans) == limit
    oldest = urlencode({"query": "SELECT ?s WHERE { ?s ?p 0 }"}).encode()
    assert all(key[0] != oldest for key in plans)  # the first ones were forgotten
    long_query = "SELECT ?s WHERE { ?s ?p ?o } #" + "x" * sparql_shortcuts._PLANNED_BYTES_MAX
    answer = _ask(app, long_query)
    assert isinstance(answer, FrontResponse)
    assert answer._job.query == long_query
    assert all(key[0] != urlencode({"query": long_query}).encode() for key in plans)
