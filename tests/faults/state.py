"""What a fault test compares before and after: per-graph counts and a digest of small graphs."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from boostkg.store import RdfFormat
from boostkg.store.base import KnowledgeStore

SMALL = 50_000
"""Graphs up to this many triples are compared quad by quad (a digest of their sorted N-Triples)."""


@dataclass(frozen=True)
class StoreState:
    """Every named graph's triple count, and a SHA-256 of the sorted N-Triples of the small ones."""

    counts: dict[str, int]
    digests: dict[str, str]


def store_state(kg: KnowledgeStore, *, small: int = SMALL) -> StoreState:
    counts = {str(stats.graph): stats.triples for stats in kg.graphs()}
    digests: dict[str, str] = {}
    for stats in kg.graphs():
        if stats.triples > small:
            continue
        buffer = io.BytesIO()
        kg.dump(buffer, RdfFormat.NTRIPLES, graph=stats.graph)
        lines = sorted(line for line in buffer.getvalue().splitlines() if line.strip())
        digests[str(stats.graph)] = hashlib.sha256(b"\n".join(lines)).hexdigest()
    return StoreState(counts, digests)
