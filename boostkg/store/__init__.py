"""Quad stores behind one interface; the only package that imports pyoxigraph."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, overload

from boostkg.store.base import (
    GraphStats,
    KnowledgeStore,
    RdfFormat,
    ResultFormat,
    SelectResult,
    Term,
    Triple,
)
from boostkg.store.embedded import EmbeddedStore
from boostkg.store.remote import RemoteEndpoint, RemoteStore

if TYPE_CHECKING:
    from boostkg.config import Settings

__all__ = [
    "EmbeddedStore",
    "GraphStats",
    "KnowledgeStore",
    "RdfFormat",
    "RemoteEndpoint",
    "RemoteStore",
    "ResultFormat",
    "SelectResult",
    "Term",
    "Triple",
    "open_store",
    "store_location",
]


@overload
def open_store(location: Path) -> EmbeddedStore: ...
@overload
def open_store(location: RemoteEndpoint) -> RemoteStore: ...
def open_store(location: Path | RemoteEndpoint) -> EmbeddedStore | RemoteStore:
    """Open (creating if needed) the embedded store at a path, recovering an interrupted write; or
    connect to a remote SPARQL server, rolling back a unit a crashed writer left open there.

    Raises:
        StoreLockedError: another process has the embedded store open.
        StoreUnavailableError: the remote server cannot be reached.
        StoreError: the store cannot be opened.
    """
    if isinstance(location, RemoteEndpoint):
        return location.open()
    return EmbeddedStore(location)


def store_location(settings: Settings) -> Path | RemoteEndpoint:
    """The remote server ``settings.store_url`` names, if set; else the embedded store's folder."""
    if not settings.store_url:
        return settings.store
    password = settings.store_password.get_secret_value() if settings.store_password else None
    return RemoteEndpoint(
        settings.store_url,
        update_url=settings.store_update_url,
        gsp_url=settings.store_gsp_url,
        user=settings.store_user,
        password=password,
        timeout_s=settings.query_timeout_s,
        update_timeout_s=settings.update_timeout_s,
    )
