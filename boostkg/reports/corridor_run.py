"""One corridor report from start to finish: check the request, match each theme, optionally replay
the back-test, build the report; with the time each step took.

The CLI (``boostkg report``) and the app (``/reports``) call :func:`make_report`; the matching and
the back-test are the analysis package's, run once per theme on one projection of the store.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import scipy.sparse as sp

from boostkg.analysis.backtest import THEME_BLIND
from boostkg.analysis.backtest import backtest as run_backtest
from boostkg.analysis.corridor import Corridor, side_mask
from boostkg.analysis.matching import MAX_TOP, Candidate, Per, match
from boostkg.analysis.methods import learn
from boostkg.analysis.projection import Projection, project
from boostkg.errors import InputError, UnknownTermError
from boostkg.reports import corridor_data as data
from boostkg.reports.corridor_model import (
    Backtest,
    BacktestRow,
    CorridorReport,
    Coverage,
    CoverageCell,
    Place,
    ThemedBacktestRow,
    ThemeRef,
)
from boostkg.reports.corridor_report import ReportRequest, build_report
from boostkg.store.base import KnowledgeStore

DEFAULT_TOP = 20
"""Candidate pairs ranked per theme."""


class ScoresLike(Protocol):
    """One method's averages in a back-test (``boostkg.analysis.backtest.Scores``)."""

    @property
    def method(self) -> str: ...
    @property
    def focal(self) -> int: ...
    @property
    def hits_at_10(self) -> float: ...
    @property
    def mrr(self) -> float: ...
    @property
    def precision_at_10(self) -> float: ...


class BacktestLike(Protocol):
    """What the report reads from a back-test (``boostkg.analysis.backtest.BacktestResult``)."""

    @property
    def learn_from(self) -> int: ...
    @property
    def cutoff(self) -> int: ...
    @property
    def test_until(self) -> int: ...
    @property
    def all(self) -> Sequence[ScoresLike]: ...
    @property
    def newcomers(self) -> Sequence[ScoresLike]: ...


def backtest_model(result: BacktestLike, corridor: str) -> Backtest:
    """The report's back-test section from a back-test result (every method, newcomer slice beside)."""
    newcomer = {s.method: s for s in result.newcomers}
    rows = tuple(
        BacktestRow(
            method=s.method,
            hits_at_10=round(float(s.hits_at_10), 4),
            mrr=round(float(s.mrr), 4),
            precision_at_10=round(float(s.precision_at_10), 4),
            newcomer_hits_at_10=round(float(newcomer[s.method].hits_at_10), 4)
            if s.method in newcomer
            else None,
            newcomer_mrr=round(float(newcomer[s.method].mrr), 4) if s.method in newcomer else None,
        )
        for s in result.all
    )
    focal = result.all[0].focal if result.all else 0
    newcomers = result.newcomers[0].focal if result.newcomers else 0
    return Backtest(
        description=(
            f"Corridor {corridor}: every method learnt only from projects that started "
            f"{result.learn_from}–{result.cutoff} and ranked, for each source actor, the target actors it "
            f"was not yet tied to; the figures score those rankings against the partnerships that actually "
            f"formed in projects starting {result.cutoff + 1}–{result.test_until} (hits@10: share of "
            "actors with a real new partner in their top 10; MRR: mean reciprocal rank of the first one)."
        ),
        rows=rows,
        focal_actors=int(focal),
        newcomer_actors=int(newcomers),
    )


def themed_backtest_row(
    projection: Projection, request: ReportRequest, theme: ThemeRef
) -> ThemedBacktestRow | None:
    """The back-test within ``theme`` (truth: first ties in its 2017–2018 projects), or ``None``
    when no such tie formed in the corridor or a side has no actor in the theme."""
    corridor = Corridor.parse(
        request.sources, request.targets, themes=theme.slug, actor_types=request.actor_types or None
    )
    try:
        result = run_backtest(projection, corridor)
    except InputError:
        return None
    mine, blind = result.method("corridor"), result.method(THEME_BLIND)
    best_hits, best_mrr = result.best_baseline("hits_at_10"), result.best_baseline("mrr")
    return ThemedBacktestRow(
        theme=theme.slug,
        label=theme.label,
        focal_actors=int(result.sources),
        true_pairs=int(result.true_pairs),
        hits_at_10=round(float(mine.hits_at_10), 4),
        mrr=round(float(mine.mrr), 4),
        blind_hits_at_10=round(float(blind.hits_at_10), 4),
        blind_mrr=round(float(blind.mrr), 4),
        best_baseline=best_mrr.method,
        baseline_hits_at_10=round(float(best_hits.hits_at_10), 4),
        baseline_mrr=round(float(best_mrr.mrr), 4),
    )


def ties_from_projection(
    projection: Projection, request: ReportRequest, themes: Sequence[ThemeRef]
) -> data.Ties:
    """Existing source-target ties per theme (shared projects of the theme), from the sparse
    actor × project incidence of ``projection`` rather than a SPARQL aggregate."""
    sources = np.flatnonzero(side_mask(request.sources, projection))
    targets = np.flatnonzero(side_mask(request.targets, projection))
    incidence = sp.csr_matrix(projection.incidence, dtype=np.float64)
    incidence.data[:] = 1.0
    by_theme: dict[str, dict[tuple[str, str], int]] = {}
    for theme in themes:
        if theme.iri not in projection.themes:
            by_theme[theme.slug] = {}
            continue
        column = projection.themes.index(theme.iri)
        in_theme = np.asarray(projection.project_themes[:, column].todense()).ravel() > 0
        within = sp.csr_matrix(incidence[:, in_theme])
        shared = sp.coo_matrix(within[sources] @ within[targets].T)
        pairs: dict[tuple[str, str], int] = {}
        for i, j, n in zip(shared.row, shared.col, shared.data, strict=True):
            s, t = int(sources[i]), int(targets[j])
            if s != t and n > 0:
                pairs[(projection.actors[s], projection.actors[t])] = int(n)
        by_theme[theme.slug] = pairs
    return data.Ties(by_theme)


def coverage_from_projection(
    projection: Projection, places: Sequence[Place], themes: Sequence[ThemeRef]
) -> Coverage:
    """The coverage matrix (place × helix × theme) from the projection's actors, their types and
    their projects' themes: the same counts as :func:`boostkg.reports.corridor_data.coverage`."""
    helix_of = {cls.rsplit("#", 1)[-1]: label for cls, label in data.HELICES}
    columns = [projection.themes.index(t.iri) if t.iri in projection.themes else -1 for t in themes]
    incidence = sp.csr_matrix(projection.incidence, dtype=np.float64)
    incidence.data[:] = 1.0
    counts: Counter[tuple[str, str, str]] = Counter()
    for place in places:
        members = np.flatnonzero(side_mask((place.code,), projection))
        if members.size == 0:
            continue
        active = []
        for column in columns:
            if column < 0:
                active.append(np.zeros(members.size, dtype=bool))
                continue
            in_theme = np.asarray(projection.project_themes[:, column].todense()).ravel() > 0
            active.append(np.asarray(incidence[members][:, in_theme].sum(axis=1)).ravel() > 0)
        for k, actor in enumerate(members):
            helices = [helix_of[t] for t in projection.actor_types[actor] if t in helix_of] or [
                data.UNCLASSIFIED
            ]
            keys = [data.ALL_THEMES] + [t.slug for t, on in zip(themes, active, strict=True) if on[k]]
            counts.update((place.code, helix, key) for helix in helices for key in keys)
    cells = tuple(CoverageCell(code, helix, theme, n) for (code, helix, theme), n in sorted(counts.items()))
    return Coverage(places=tuple(places), helices=data.HELIX_LABELS, themes=tuple(themes), cells=cells)


@dataclass(frozen=True)
class Timings:
    """Seconds spent in each step."""

    projection: float
    matching: float
    backtest: float
    report: float


def make_report(
    store: KnowledgeStore,
    request: ReportRequest,
    *,
    top: int = DEFAULT_TOP,
    per: Per = Per.pair,
    with_backtest: bool = False,
    link_base: str = "",
) -> tuple[CorridorReport, Timings]:
    """Match every theme of ``request``, optionally back-test the corridor, and build the report.

    Raises:
        InputError: an empty side, a side without actors, ``top`` out of range.
        UnknownTermError: an unknown code, theme or actor type.
    """
    if not 1 <= top <= MAX_TOP:
        raise InputError(f"--top must be between 1 and {MAX_TOP}, not {top}")
    places = (
        *data.resolve_places(store, request.sources, "source", base=link_base),
        *data.resolve_places(store, request.targets, "target", base=link_base),
    )
    themes = data.resolve_themes(store, request.themes or None, base=link_base)
    started = time.perf_counter()
    projection = project(store)
    years = projection.project_years[projection.project_years > 0]
    history = learn(projection, until=int(years.max())) if years.size else None  # once for every theme
    projected = time.perf_counter()
    matches: dict[str, list[Candidate]] = {}
    notes: list[tuple[str, str]] = []
    for theme in themes:
        corridor = Corridor.parse(
            request.sources, request.targets, themes=theme.slug, actor_types=request.actor_types or None
        )
        try:
            result = match(store, corridor, top=top, per=per, projection=projection, history=history)
        except UnknownTermError:
            raise
        except InputError as exc:  # a side without actors in this theme: a gap, not a failure
            matches[theme.slug] = []
            notes.append((f"no match in {theme.label}", str(exc)))
            continue
        matches[theme.slug] = list(result.candidates)
    matched = time.perf_counter()
    backtest = None
    if with_backtest:
        corridor = Corridor.parse(request.sources, request.targets, actor_types=request.actor_types or None)
        backtest = backtest_model(run_backtest(projection, corridor), request.describe())
        themed = tuple(
            row for theme in themes if (row := themed_backtest_row(projection, request, theme)) is not None
        )
        backtest = dataclasses.replace(backtest, themed=themed)
    tested = time.perf_counter()
    parameters = [
        ("method", "corridor method (boostkg.analysis), learnt on the whole history"),
        ("candidates per theme", f"top {top} {'pairs overall' if per is Per.pair else 'per source actor'}"),
        ("actor types", ", ".join(request.actor_types) or "all"),
        *notes,
    ]
    report = build_report(
        store,
        request,
        matches=matches,
        backtest=backtest,
        parameters=parameters,
        link_base=link_base,
        ties=ties_from_projection(projection, request, themes),
        coverage=coverage_from_projection(projection, places, themes),
    )
    done = time.perf_counter()
    return report, Timings(projected - started, matched - projected, tested - matched, done - tested)
