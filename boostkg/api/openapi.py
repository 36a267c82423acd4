"""How the API reads at ``/docs``: an overview, one tag per area in a sensible order, and a summary
for every operation (routes that set their own keep them)."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI

OVERVIEW = """The knowledge graph of the BOOST Interregional Collaboration Framework.

* **SPARQL 1.1** at [`/sparql`](/sparql) (query for everyone, update for administrators) and the
  **Graph Store Protocol** at `/graphs`; the default graph is the union of all named graphs.
* **Query page** at [`/query`](/query) and **named queries** at [`/queries`](/queries).
* **Dataset description** (VoID, with statistics per named graph) at [`/void`](/void).
* **Linked data**: every IRI under `https://w3id.org/boostkg/` is served at the same path here
  (`/id/…`, `/theme/…`, `/vocab/…`, `/graph/…`), HTML or RDF by `Accept`; the ontology at
  [`/icf`](/icf), the stewards' shapes at [`/shapes`](/shapes).
* **Matching and reports** for coordinators: [`/matches`](/docs#/Matching%20and%20reports) and
  [`/reports`](/reports).
* **Submissions** by data stewards (bearer token) at `/submissions`, in the browser at
  [`/submit`](/submit).

Errors are RFC 9457 problem details (`application/problem+json`).
"""

TAGS: tuple[tuple[str, str], ...] = (
    ("Service", "Landing page and health check."),
    ("SPARQL endpoint", "SPARQL 1.1 Protocol: queries for everyone, updates with an admin token."),
    ("Graph Store Protocol", "SPARQL 1.1 Graph Store HTTP Protocol: read graphs; write with an admin token."),
    ("Query page", "The query editor in the browser."),
    ("Named queries", "The project's curated queries from queries/, with typed parameters."),
    ("Dataset description", "VoID description of the dataset with statistics per named graph."),
    ("Linked data", "Pages for every resource of the graph, the ontology and the shapes."),
    ("Submissions", "Data stewards submit, list and withdraw their datasets."),
    ("Matching and reports", "Corridor partner matching and corridor reports for coordinators."),
)

_TAG_BY_PREFIX: tuple[tuple[str, str], ...] = (
    ("/sparql", "SPARQL endpoint"),
    ("/graphs", "Graph Store Protocol"),
    ("/queries", "Named queries"),
    ("/query", "Query page"),
    ("/submissions", "Submissions"),
    ("/submit", "Submissions"),
    ("/stewards", "Submissions"),
    ("/reports", "Matching and reports"),
    ("/matches", "Matching and reports"),
    ("/health", "Service"),
)

SUMMARIES: dict[tuple[str, str], str] = {
    ("GET", "/"): "Landing page: what the graph holds",
    ("GET", "/health"): "Liveness and the number of quads",
    ("POST", "/submissions"): "Submit a dataset (steward token)",
    ("GET", "/submissions"): "List submissions (filter by steward, status, date)",
    ("GET", "/submissions/{submission_id}"): "One submission: JSON, Turtle or HTML",
    ("DELETE", "/submissions/{submission_id}"): "Withdraw a submission (its steward or an admin)",
    ("GET", "/stewards/me"): "Who a token belongs to",
    ("GET", "/submit"): "Submission page for stewards (browser)",
    ("GET", "/matches"): "Candidate partners across a corridor (JSON or CSV)",
}


def tag_for(path: str) -> str:
    """The tag of a path (``Service`` for anything unmatched).

    >>> tag_for("/graphs/x"), tag_for("/queries/select-foo"), tag_for("/query"), tag_for("/")
    ('Graph Store Protocol', 'Named queries', 'Query page', 'Service')
    """
    for prefix, tag in _TAG_BY_PREFIX:
        if path == prefix or path.startswith(prefix + "/"):
            return tag
    return "Service"


_AUTO_SUMMARY = re.compile(r"[A-Z][a-z]*( [A-Z][a-z]*)*")
"""What FastAPI makes of a function name (``get_one`` -> ``Get One``) when a route sets no summary."""
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def polish(schema: dict[str, Any]) -> None:
    """Tag every operation that has no tag (by its path) and replace FastAPI's generated summaries
    of the routes listed in :data:`SUMMARIES`."""
    paths = schema.get("paths", {})
    for path, operations in paths.items():
        for method, operation in operations.items():
            if method not in _METHODS or not isinstance(operation, dict):
                continue
            if not operation.get("tags"):
                operation["tags"] = [tag_for(path)]
            summary = SUMMARIES.get((method.upper(), path))
            current = operation.get("summary")
            if summary and (current is None or _AUTO_SUMMARY.fullmatch(str(current))):
                operation["summary"] = summary


def describe(app: FastAPI) -> None:
    """Give ``app``'s OpenAPI document its overview, ordered tags and a summary per operation."""
    app.description = OVERVIEW
    app.openapi_tags = [{"name": name, "description": text} for name, text in TAGS]
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            polish(generate())
        return app.openapi_schema or generate()

    app.openapi = openapi  # type: ignore[method-assign]
