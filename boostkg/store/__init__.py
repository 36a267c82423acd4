"""Quad stores behind one interface; the only package that imports pyoxigraph."""

from __future__ import annotations

from pathlib import Path

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

__all__ = [
    "EmbeddedStore",
    "GraphStats",
    "KnowledgeStore",
    "RdfFormat",
    "ResultFormat",
    "SelectResult",
    "Term",
    "Triple",
    "open_store",
]


def open_store(path: Path) -> EmbeddedStore:
    """Open (creating if needed) the embedded store at ``path``, recovering an interrupted write.

    Raises:
        StoreLockedError: another process has the store open.
        StoreError: the store cannot be opened.
    """
    return EmbeddedStore(path)
