"""The one place that maps boostkg errors to HTTP: RFC 9457 problem details."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from boostkg.errors import (
    BoostKGError,
    InputError,
    InputNotFoundError,
    QueryError,
    StoreLockedError,
    UnknownTermError,
)

PROBLEM_JSON = "application/problem+json"

_STATUS: tuple[tuple[type[BoostKGError], int, str], ...] = (
    (InputNotFoundError, 404, "not-found"),
    (UnknownTermError, 422, "unknown-term"),
    (QueryError, 400, "bad-query"),
    (InputError, 400, "bad-input"),
    (StoreLockedError, 503, "store-locked"),
    (BoostKGError, 500, "internal"),
)


def status_for(exc: BoostKGError) -> tuple[int, str]:
    """HTTP status and problem type slug for an error (most specific class first)."""
    for cls, status, slug in _STATUS:
        if isinstance(exc, cls):
            return status, slug
    return 500, "internal"


def problem(status: int, slug: str, detail: str, instance: str) -> JSONResponse:
    """A problem-details response."""
    body = {
        "type": f"https://w3id.org/boostkg/problems/{slug}",
        "title": slug.replace("-", " "),
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    async def handle(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, BoostKGError)
        status, slug = status_for(exc)
        return problem(status, slug, str(exc), str(request.url.path))

    app.add_exception_handler(BoostKGError, handle)
