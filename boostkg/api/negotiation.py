"""HTTP content negotiation: the offered media type an ``Accept`` header likes best (RFC 9110).

>>> choose("text/csv;q=0.5, application/sparql-results+json", ["application/sparql-results+xml",
...        "application/sparql-results+json", "text/csv"])
'application/sparql-results+json'
>>> choose("text/*;q=0.9, */*;q=0.1", ["application/json", "text/csv"])
'text/csv'
>>> choose("image/png", ["text/turtle"]) is None
True
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache


@lru_cache(maxsize=256)
def _ranges(accept: str) -> tuple[tuple[str, str, float, int], ...]:
    """(type, subtype, q, position) for each media range of an Accept header (q=0 ones dropped)."""
    ranges = []
    for position, part in enumerate(accept.split(",")):
        media, *params = part.split(";")
        media = media.strip().lower()
        if not media:
            continue
        kind, _, sub = media.partition("/")
        q = 1.0
        for param in params:
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > 0:
            ranges.append((kind, sub or "*", q, position))
    return tuple(ranges)


def quality(accept: str, media: str) -> float:
    """How much ``accept`` likes ``media`` (0 when not at all); an empty header likes everything."""
    if not accept.strip():
        return 1.0
    kind, _, sub = media.lower().partition("/")
    best, best_specificity = 0.0, -1
    for r_kind, r_sub, q, _ in _ranges(accept):
        if r_kind == "*" or (r_kind == kind and r_sub in ("*", sub)):
            specificity = (r_kind != "*") + (r_sub != "*")
            if specificity > best_specificity:
                best, best_specificity = q, specificity
    return best


def choose(accept: str, offers: Sequence[str]) -> str | None:
    """The offer ``accept`` likes best (ties: the earlier offer), or ``None`` if it likes none."""
    best: str | None = None
    best_q = 0.0
    for offer in offers:
        q = quality(accept, offer)
        if q > best_q:
            best, best_q = offer, q
    return best
