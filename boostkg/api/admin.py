"""Who may write through the SPARQL endpoint and the Graph Store Protocol: administrators only."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from boostkg.api.deps import get_app_settings
from boostkg.api.routes.submissions import SubmissionState, get_state
from boostkg.auth import Steward
from boostkg.errors import ForbiddenError
from boostkg.store import EmbeddedStore


def write_state(request: Request) -> SubmissionState:
    """The app's shared write state: the token register and the one write lock every store write
    (submissions, withdrawals, SPARQL Update, Graph Store writes) takes."""
    return get_state(request, get_app_settings(request))


async def require_admin(request: Request, action: str) -> Steward:
    """The administrator the request's bearer token speaks for.

    Raises:
        AuthError: no token, or an unknown or revoked one (401).
        ForbiddenError: a valid token that is not an administrator's (403).
    """
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    token = value.strip() if scheme.lower() == "bearer" else None
    steward = await run_in_threadpool(write_state(request).tokens.verify, token)
    if not steward.admin:
        raise ForbiddenError(f"{action} is for administrators; token {steward.token_id} is not an admin's")
    return steward


def committed_snapshots(app: Any, store: EmbeddedStore) -> Callable[[], Path]:
    """Checkpoints for the query workers, taken only between write units: while a write holds the
    write lock, queries read the checkpoint of the last committed state (never a write half done,
    never the database while an update swaps it in); once the write is over, the next query
    reads a checkpoint that includes it. Takes the first checkpoint now (call before writes start)."""
    lock = write_state(Request({"type": "http", "app": app})).write_lock
    last = [store.reader_snapshot()]

    def snapshot() -> Path:
        if lock.acquire(blocking=False):
            try:
                last[0] = store.reader_snapshot()
            finally:
                lock.release()
        return last[0]

    return snapshot
