"""The one place that maps boostkg errors to HTTP: RFC 9457 problem details."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from boostkg.errors import (
    AuthError,
    BackupRejectedError,
    BoostKGError,
    ConflictError,
    ForbiddenError,
    InputError,
    InputNotFoundError,
    NotAcceptableError,
    NotConformingError,
    NotFoundError,
    PayloadTooLargeError,
    QueryError,
    QueryTimeoutError,
    ResultTooLargeError,
    StorageFullError,
    StoreLockedError,
    StoreUnavailableError,
    UnknownTermError,
    UnsupportedMediaTypeError,
    UriTooLongError,
)

PROBLEM_JSON = "application/problem+json"
RETRY_AFTER_S = 5
"""Seconds a client is told to wait (``Retry-After``) when the remote store is unavailable."""

_STATUS: tuple[tuple[type[BoostKGError], int, str], ...] = (
    (InputNotFoundError, 404, "not-found"),
    (NotFoundError, 404, "not-found"),
    (ConflictError, 409, "conflict"),
    (AuthError, 401, "unauthorized"),
    (ForbiddenError, 403, "forbidden"),
    (UriTooLongError, 414, "uri-too-long"),
    (PayloadTooLargeError, 413, "payload-too-large"),
    (UnsupportedMediaTypeError, 415, "unsupported-media-type"),
    (NotConformingError, 422, "not-conforming"),
    (UnknownTermError, 422, "unknown-term"),
    (BackupRejectedError, 422, "bad-backup"),
    (NotAcceptableError, 406, "not-acceptable"),
    (QueryTimeoutError, 503, "query-timeout"),
    (ResultTooLargeError, 400, "result-too-large"),
    (QueryError, 400, "bad-query"),
    (InputError, 400, "bad-input"),
    (StorageFullError, 507, "insufficient-storage"),
    (StoreLockedError, 503, "store-locked"),
    (StoreUnavailableError, 503, "store-unavailable"),
    (BoostKGError, 500, "internal"),
)


def status_for(exc: BoostKGError) -> tuple[int, str]:
    """HTTP status and problem type slug for an error (most specific class first)."""
    for cls, status, slug in _STATUS:
        if isinstance(exc, cls):
            return status, slug
    return 500, "internal"


def problem(
    status: int, slug: str, detail: str, instance: str, extra: dict[str, object] | None = None
) -> JSONResponse:
    """A problem-details response (``extra``: extension members, e.g. the refused triples)."""
    body: dict[str, object] = {
        "type": f"https://w3id.org/boostkg/problems/{slug}",
        "title": slug.replace("-", " "),
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    body.update(extra or {})
    headers = {"WWW-Authenticate": 'Bearer realm="boostkg"'} if status == 401 else None
    if slug == "store-unavailable":
        headers = {"Retry-After": str(RETRY_AFTER_S)}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def not_conforming(exc: NotConformingError) -> JSONResponse:
    """422 for a submission that breaks core shapes: the submission's own JSON (the same fields as
    a 201: id, status, conforms, warnings, triples, graph, report with every violation) plus the
    problem's type, title and detail. Its ``status`` member is the submission's ("rejected"), so the
    media type is plain JSON rather than problem+json."""
    body: dict[str, object] = {
        "type": "https://w3id.org/boostkg/problems/not-conforming",
        "title": "not conforming",
        "detail": str(exc),
    }
    body.update(exc.outcome)
    return JSONResponse(body, status_code=422)


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    async def handle(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, BoostKGError)
        if isinstance(exc, NotConformingError):
            return not_conforming(exc)
        status, slug = status_for(exc)
        extra: dict[str, object] = {"triples": list(exc.triples)} if isinstance(exc, ForbiddenError) else {}
        return problem(status, slug, str(exc), str(request.url.path), extra)

    app.add_exception_handler(BoostKGError, handle)
