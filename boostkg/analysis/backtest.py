"""The back-test: learn from projects up to a cut-off, rank corridor candidates, score them against
the partnerships that first formed in later projects.

Protocol (the same for every method, in one run):

- history: projects that started ``learn_from``..``cutoff``; test: projects that started
  ``cutoff+1``..``test_until``;
- candidates for a source: the target-side actors with at least one project in the history, not
  the source itself and not already tied to it in the history;
- truth for a source: the candidates it first shares a project with in the test years;
- focal actors: source-side actors with at least one true candidate; newcomers are those with at
  most one project in the history (zero included: actors the graph knows but who had no project);
- per focal actor: hits@10 (a true candidate in the top 10), reciprocal rank of the first true
  candidate, precision@10; averaged over focal actors;
- ties broken at random with the same seeded noise for every method.

The corridor method's weights are fitted on an inner split that ends before the cut-off
(``cutoff-2``..``cutoff-1`` → ``cutoff``) and never see the test years.

Themed back-test (the corridor names themes): the history is still every project (the method
switches its theme components on, :meth:`~boostkg.analysis.methods.History.focus`), but a true
pair is a first tie in a later project *of the theme*, and the focal actors are those of the
theme. One more row, ``corridor-theme-blind``, ranks with the same method without the theme
components (the shipped theme-blind weights), so the table shows what the theme adds.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from boostkg.analysis.corridor import Corridor, resolve
from boostkg.analysis.fitting import FittedWeights, fit_pooled, fit_weights
from boostkg.analysis.methods import History, IntArray, Method, candidate_scores, learn, one_blas_thread
from boostkg.analysis.projection import Projection

BLOCK = 256
K = 10
THEME_BLIND = "corridor-theme-blind"
"""The row of a themed back-test that ranks without the theme components."""


@dataclass(frozen=True)
class Scores:
    """Averages over focal actors for one method and one slice."""

    method: str
    focal: int
    hits_at_10: float
    mrr: float
    precision_at_10: float


@dataclass(frozen=True)
class BacktestResult:
    """Every method on all focal actors and on newcomers, with the protocol's figures."""

    corridor: Corridor
    learn_from: int
    cutoff: int
    test_until: int
    sources: int
    candidates: int
    true_pairs: int
    all: tuple[Scores, ...]
    newcomers: tuple[Scores, ...]
    newcomers_without_history: int
    weights: FittedWeights
    notes: tuple[str, ...] = field(default=())

    def best_baseline(self, metric: str, *, newcomers: bool = False) -> Scores:
        rows = self.newcomers if newcomers else self.all
        mine = (Method.corridor.value, Method.random.value, THEME_BLIND)
        baselines = [s for s in rows if s.method not in mine]
        return max(baselines, key=lambda s: float(getattr(s, metric)))

    def method(self, name: str, *, newcomers: bool = False) -> Scores:
        rows = self.newcomers if newcomers else self.all
        return next(s for s in rows if s.method == name)


def new_ties(
    projection: Projection,
    history: History,
    test: npt.NDArray[np.bool_],
    sources: IntArray,
    targets: IntArray,
) -> sp.csr_matrix:
    """sources × targets: 1 where the pair first shares a project among ``test`` projects.

    >>> from boostkg.analysis.projection import build_projection
    >>> p = build_projection([("a", "p"), ("b", "p"), ("a", "q"), ("b", "q"), ("c", "q")],
    ...                      {"p": 2015, "q": 2017})
    >>> h = learn(p, until=2016)
    >>> new_ties(p, h, p.project_years >= 2017, np.array([0]), np.array([1, 2])).toarray().tolist()
    [[0.0, 1.0]]
    """
    later = sp.csr_matrix(projection.incidence @ sp.diags(test.astype(np.float64)))
    together = sp.csr_matrix(later[sources] @ later[targets].T)
    together.data[:] = 1.0
    before = history.adjacency[sources][:, targets]
    fresh = sp.csr_matrix(together - together.multiply(before))
    same = sp.csr_matrix((sources[:, None] == targets[None, :]).astype(np.float64))
    fresh = sp.csr_matrix(fresh - fresh.multiply(same))
    fresh.eliminate_zeros()
    return fresh


def rank_metrics(
    scores: npt.NDArray[np.float64], truth: sp.csr_matrix, k: int = K
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Per row: hit@k, reciprocal rank of the first true column, precision@k.

    >>> s = np.array([[0.9, 0.5, 0.1], [0.2, 0.3, 0.8]])
    >>> t = sp.csr_matrix(np.array([[0, 1, 0], [0, 0, 1]]))
    >>> [x.tolist() for x in rank_metrics(s, t, k=1)]
    [[0.0, 1.0], [0.5, 1.0], [0.0, 1.0]]
    """
    dense_truth = truth.toarray() > 0
    best_true = np.where(dense_truth, scores, -np.inf).max(axis=1)
    rank = 1 + (scores > best_true[:, None]).sum(axis=1)
    kk = min(k, scores.shape[1])
    top = np.argpartition(-scores, kk - 1, axis=1)[:, :kk]
    hits_in_top = np.take_along_axis(dense_truth, top, axis=1).sum(axis=1)
    return (hits_in_top > 0).astype(np.float64), 1.0 / rank, hits_in_top / k


def _blocks(n: int, size: int = BLOCK) -> Iterator[slice]:
    for start in range(0, n, size):
        yield slice(start, min(n, start + size))


def evaluate(
    method: Method,
    history: History,
    focal: IntArray,
    candidates: IntArray,
    truth: sp.csr_matrix,
    *,
    weights: FittedWeights | None = None,
    seed: int = 0,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Per focal actor (rows of ``truth``): hit@10, reciprocal rank, precision@10."""
    parts: list[tuple[npt.NDArray[np.float64], ...]] = []
    for block in _blocks(focal.size):
        scores = candidate_scores(
            method,
            history,
            focal[block],
            candidates,
            weights=weights.experienced if weights else None,
            newcomer_weights=weights.newcomer if weights else None,
            seed=seed,
        )
        parts.append(rank_metrics(scores, truth[block]))
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(3))  # type: ignore[return-value]


def _setup(
    projection: Projection, corridor: Corridor, *, learn_from: int, cutoff: int, test_until: int
) -> tuple[History, IntArray, IntArray, sp.csr_matrix]:
    """(history, focal sources, candidates, truth); the history is focused on the corridor's
    themes and the truth restricted to the themes' projects when it names any."""
    history = learn(projection, since=learn_from, until=cutoff)
    sides = resolve(corridor, projection, history=history.project_mask)
    candidates = sides.targets[history.n_projects[sides.targets] > 0]
    years = projection.project_years
    test = (years > cutoff) & (years <= test_until)
    if sides.theme_projects is not None:
        history = history.focus(sides.theme_projects, sides.declared, sides.corridor.themes)
        test &= sides.theme_projects
    truth = new_ties(projection, history, test, sides.sources, candidates)
    has_truth = np.asarray(truth.sum(axis=1)).ravel() > 0
    return history, sides.sources[has_truth], candidates, sp.csr_matrix(truth[has_truth])


def inner_split_weights(
    projection: Projection,
    corridor: Corridor,
    *,
    themes: Sequence[str] = (),
    learn_from: int = 2014,
    cutoff: int = 2016,
    seed: int = 0,
) -> FittedWeights:
    """The weights fitted on the inner split ``learn_from``..``cutoff-1`` → ``cutoff``; with
    ``themes``, one themed split per theme, pooled (how the shipped themed weights were made:
    ``inner_split_weights(p, Corridor.parse(*BIG_CORRIDOR), themes=BOOST_THEMES)``)."""
    corridors = (
        [corridor]
        if not themes
        else [
            Corridor(corridor.sources, corridor.targets, (theme,), corridor.actor_types) for theme in themes
        ]
    )
    splits = [
        _setup(projection, c, learn_from=learn_from, cutoff=cutoff - 1, test_until=cutoff) for c in corridors
    ]
    return fit_pooled(splits, seed=seed)


def backtest(
    projection: Projection,
    corridor: Corridor,
    *,
    learn_from: int = 2014,
    cutoff: int = 2016,
    test_until: int = 2018,
    methods: Sequence[Method] = tuple(Method),
    seed: int = 0,
) -> BacktestResult:
    """Run the protocol of the module docstring for every method.

    Raises:
        UnknownTermError, InputError: the corridor is invalid or has no actors.
        InputError: no partnership formed in the test years.
    """
    from boostkg.errors import InputError

    inner_hist, inner_focal, inner_cands, inner_truth = _setup(
        projection, corridor, learn_from=learn_from, cutoff=cutoff - 1, test_until=cutoff
    )
    weights = fit_weights(inner_hist, inner_focal, inner_cands, inner_truth, seed=seed)
    history, focal, candidates, truth = _setup(
        projection, corridor, learn_from=learn_from, cutoff=cutoff, test_until=test_until
    )
    if focal.size == 0:
        raise InputError(f"no new partnerships in {corridor.describe()} in {cutoff + 1}–{test_until}")
    newcomer = history.is_newcomer(focal)
    rows_all: list[Scores] = []
    rows_new: list[Scores] = []
    runs: list[tuple[str, Method, History, FittedWeights | None]] = [
        (m.value, m, history, weights) for m in methods
    ]
    if history.themed and Method.corridor in methods:
        blind = learn(projection, since=learn_from, until=cutoff)
        runs.insert(1, (THEME_BLIND, Method.corridor, blind, None))
    for name, method, hist, fitted in runs:
        with one_blas_thread():
            hits, rr, prec = evaluate(method, hist, focal, candidates, truth, weights=fitted, seed=seed)
        rows_all.append(Scores(name, int(focal.size), hits.mean(), rr.mean(), prec.mean()))
        if newcomer.any():
            rows_new.append(
                Scores(
                    name,
                    int(newcomer.sum()),
                    hits[newcomer].mean(),
                    rr[newcomer].mean(),
                    prec[newcomer].mean(),
                )
            )
    return BacktestResult(
        corridor=corridor,
        learn_from=learn_from,
        cutoff=cutoff,
        test_until=test_until,
        sources=int(focal.size),
        candidates=int(candidates.size),
        true_pairs=int(truth.nnz),
        all=tuple(rows_all),
        newcomers=tuple(rows_new),
        newcomers_without_history=int((history.n_projects[focal] == 0).sum()),
        weights=weights,
        notes=(
            f"weights fitted on {learn_from}–{cutoff - 1} → {cutoff} (inner split), "
            f"{inner_focal.size} focal actors, {inner_truth.nnz} new pairs",
            *(
                [
                    f"themed: a true pair is a first tie in a {cutoff + 1}–{test_until} project of "
                    f"{', '.join(t.rsplit('/', 1)[-1] for t in history.themes)}; "
                    f"{THEME_BLIND} ranks without the theme components"
                ]
                if history.themed
                else []
            ),
        ),
    )
