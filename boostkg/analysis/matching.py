"""Ranked, scored and explained candidate partnerships for a corridor.

:func:`match` reads the store once (:func:`~boostkg.analysis.projection.project`), learns the
history from every project, scores all source × target pairs block by block with the corridor
method (:mod:`boostkg.analysis.methods`), keeps the top candidates per source or overall, and
explains each: its score components, a plain-language sentence and the evidence (shared
partners, the projects that tie them, shared themes and programme parts, complementary
capabilities) as IRIs.
"""

from __future__ import annotations

import enum
import heapq
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from boostkg.analysis.corridor import Corridor, Sides, resolve
from boostkg.analysis.explanation import Explainer, actor_label, actor_place
from boostkg.analysis.methods import (
    COMPONENTS,
    History,
    IntArray,
    Method,
    candidate_scores,
    combine,
    learn,
    one_blas_thread,
    pair_features,
)
from boostkg.analysis.projection import HELIX_KINDS, Projection, project
from boostkg.errors import InputError
from boostkg.store import KnowledgeStore

BLOCK = 256
MAX_TOP = 1000


class Per(enum.Enum):
    """Top candidates for each source actor, or the top pairs overall."""

    source = "source"
    pair = "pair"


@dataclass(frozen=True)
class Candidate:
    """One candidate partnership: who, how strong, why, and the evidence a reader can follow."""

    source: str
    target: str
    source_identifier: str
    target_identifier: str
    source_label: str
    target_label: str
    source_region: str
    target_region: str
    score: float
    components: dict[str, float]
    explanation: str
    evidence: dict[str, list[str]]
    source_kind: str = ""
    target_kind: str = ""
    rank: int = 0
    newcomer: bool = False


@dataclass(frozen=True)
class MatchResult:
    """The candidates of one matching run, with what produced them."""

    corridor: Corridor
    candidates: tuple[Candidate, ...]
    parameters: dict[str, object]
    data_years: tuple[int, int]
    source_actors: int
    target_actors: int
    generated: datetime = field(default_factory=lambda: datetime.now(UTC))


def _top_per_source(scores: npt.NDArray[np.float64], top: int) -> npt.NDArray[np.int64]:
    k = min(top, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    return np.asarray(np.take_along_axis(part, order, axis=1), dtype=np.int64)


def rank_pairs(
    history: History,
    sources: IntArray,
    targets: IntArray,
    *,
    top: int,
    per: Per,
    weights: Mapping[str, float] | None = None,
    newcomer_weights: Mapping[str, float] | None = None,
) -> list[tuple[int, int, float]]:
    """(source, target, score) of the best candidates, per source (best first within each source)
    or overall (best first); pairs already tied and ``-inf`` scores are never returned.

    >>> from boostkg.analysis.projection import build_projection
    >>> rows = [("a", "p"), ("b", "p"), ("b", "q"), ("c", "q"), ("d", "q"), ("d", "r"), ("e", "r")]
    >>> h = learn(build_projection(rows, {"p": 2015, "q": 2016, "r": 2016}), until=2016)
    >>> best = rank_pairs(h, np.array([0]), np.array([2, 3, 4]), top=2, per=Per.source)
    >>> sorted((s, t) for s, t, _ in best)  # c and d share partner b with a; e is two steps further
    [(0, 2), (0, 3)]
    """
    with one_blas_thread():
        return _rank_pairs(history, sources, targets, top, per, weights, newcomer_weights)


def _rank_pairs(
    history: History,
    sources: IntArray,
    targets: IntArray,
    top: int,
    per: Per,
    weights: Mapping[str, float] | None,
    newcomer_weights: Mapping[str, float] | None,
) -> list[tuple[int, int, float]]:
    chosen: list[tuple[int, int, float]] = []
    best: list[tuple[float, int, int]] = []  # a min-heap of the overall top pairs
    for start in range(0, sources.size, BLOCK):
        rows = sources[start : start + BLOCK]
        scores = candidate_scores(
            Method.corridor, history, rows, targets, weights=weights, newcomer_weights=newcomer_weights
        )
        if per is Per.source:
            cols = _top_per_source(scores, top)
            for i, s in enumerate(rows):
                for c in cols[i]:
                    if np.isfinite(scores[i, c]):
                        chosen.append((int(s), int(targets[c]), float(scores[i, c])))
        else:
            flat = scores.ravel()
            k = min(top, flat.size)
            idx = np.argpartition(-flat, k - 1)[:k]
            for j in idx:
                value = float(flat[j])
                if not np.isfinite(value):
                    continue
                item = (value, int(rows[j // targets.size]), int(targets[j % targets.size]))
                if len(best) < top:
                    heapq.heappush(best, item)
                elif item > best[0]:
                    heapq.heapreplace(best, item)
    if per is Per.pair:
        chosen = [(s, t, v) for v, s, t in sorted(best, reverse=True)]
    return chosen


def match_projection(
    projection: Projection,
    corridor: Corridor,
    *,
    top: int = 10,
    per: Per = Per.source,
    until: int | None = None,
    weights: Mapping[str, float] | None = None,
    newcomer_weights: Mapping[str, float] | None = None,
    explain: bool = True,
    history: History | None = None,
) -> MatchResult:
    """Rank, score and explain the corridor's candidates over a projection (the pure half of
    :func:`match`). ``history``, when given, is ``learn(projection, until=...)`` already made (a
    report matching several themes learns once).

    Raises:
        InputError: ``top`` is not between 1 and 1000; or the corridor has no actors.
        UnknownTermError: an unknown code, theme or actor type.
    """
    if not 1 <= top <= MAX_TOP:
        raise InputError(f"--top must be between 1 and {MAX_TOP}, not {top}")
    sides = resolve(corridor, projection)  # first: an unknown code or theme is refused before learning
    years = projection.project_years[projection.project_years > 0]
    last = int(until if until is not None else (years.max() if years.size else 0))
    if history is None or history.projection is not projection or history.until != last:
        history = learn(projection, until=last)
    if sides.theme_projects is not None:
        history = history.focus(sides.theme_projects, sides.declared, sides.corridor.themes)
    default, default_new = history.default_weights()
    w = dict(weights or default)
    nw = dict(newcomer_weights or default_new)
    pairs = rank_pairs(
        history, sides.sources, sides.targets, top=top, per=per, weights=w, newcomer_weights=nw
    )
    if not pairs:
        raise InputError(
            f"no candidate pairs in corridor {sides.corridor.describe()}: every one of its "
            f"{sides.sources.size} source and {sides.targets.size} target actors' pairs is already tied"
        )
    candidates = _candidates(history, pairs, w, nw, explain=explain, per=per)
    return MatchResult(
        corridor=sides.corridor,
        candidates=tuple(candidates),
        parameters={
            "method": "corridor",
            "top": top,
            "per": per.value,
            "history_until": last,
            "themes": list(sides.corridor.themes),
            "half_life_years": 2.0,
            "weights": w,
            "newcomer_weights": nw,
        },
        data_years=(int(years.min()) if years.size else 0, int(years.max()) if years.size else 0),
        source_actors=int(sides.sources.size),
        target_actors=int(sides.targets.size),
    )


def _candidates(
    history: History,
    pairs: list[tuple[int, int, float]],
    weights: Mapping[str, float],
    newcomer_weights: Mapping[str, float],
    *,
    explain: bool,
    per: Per,
) -> list[Candidate]:
    p = history.projection
    if not pairs:
        return []
    src = np.array([s for s, _, _ in pairs], dtype=np.int64)
    tgt = np.array([t for _, t, _ in pairs], dtype=np.int64)
    comps = combine(
        {name: values[:, None] for name, values in pair_features(history, src, tgt).items()},
        history.is_newcomer(src),
        weights=weights,
        newcomer_weights=newcomer_weights,
    )
    columns = {name: comps[name][:, 0].tolist() for name in COMPONENTS}  # Python floats, once
    explainer = Explainer(history) if explain else None
    empty: dict[str, list[str]] = {"shared_partners": [], "projects": [], "themes": [], "capabilities": []}
    out: list[Candidate] = []
    rank_in_source: dict[int, int] = {}
    for i, (s, t, _) in enumerate(pairs):
        rank_in_source[s] = rank_in_source.get(s, 0) + 1
        components = {name: round(columns[name][i], 4) for name in COMPONENTS}
        evidence, text = empty, ""
        if explainer is not None:
            evidence, shared = explainer.evidence(s, t)
            text = explainer.explain(s, t, components, evidence, shared)
        out.append(
            Candidate(
                source=p.actors[s],
                target=p.actors[t],
                source_identifier=p.identifiers[s],
                target_identifier=p.identifiers[t],
                source_label=actor_label(p, s),
                target_label=actor_label(p, t),
                source_region=actor_place(p, s),
                target_region=actor_place(p, t),
                score=round(float(sum(components.values())), 4),
                components=components,
                explanation=text,
                evidence=evidence,
                source_kind=HELIX_KINDS[int(p.kinds[s])],
                target_kind=HELIX_KINDS[int(p.kinds[t])],
                rank=rank_in_source[s] if per is Per.source else i + 1,
                newcomer=bool(history.n_projects[s] <= 1),
            )
        )
    return out


def match(
    store: KnowledgeStore,
    corridor: Corridor,
    *,
    top: int = 10,
    per: Per = Per.source,
    explain: bool = True,
    projection: Projection | None = None,
    history: History | None = None,
) -> MatchResult:
    """Ranked, scored, explained candidates for ``corridor`` from the store's whole history.

    Raises:
        UnknownTermError: an unknown country or NUTS code, theme or actor type.
        InputError: an empty side, a side with no actors, ``top`` out of range.
        QueryError: the store cannot be read.
    """
    return match_projection(
        projection or project(store), corridor, top=top, per=per, explain=explain, history=history
    )


__all__ = ["Candidate", "Corridor", "MatchResult", "Per", "Sides", "match", "match_projection"]
