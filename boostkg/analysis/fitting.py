"""Fit the corridor method's component weights on a temporal split (a listwise ranking loss).

For each true (source, target) pair of the split, the target competes with negatives sampled
from the source's other candidates (half uniformly, half in proportion to the candidates'
degree, so that the weights do not merely learn "pick busy actors"); the weights minimise the
softmax cross-entropy of the true target with an L2 penalty (L-BFGS). Newcomer sources and
experienced sources are fitted separately. Fitted on an inner split only, never on test years.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.optimize import minimize

from boostkg.analysis.methods import (
    COMPONENTS,
    History,
    IntArray,
    features,
)

NEGATIVES = 64
MIN_POSITIVES = 30
L2 = 1e-3
BLOCK = 256


@dataclass(frozen=True)
class FittedWeights:
    """Component weights for experienced and newcomer sources, and how many true pairs fed each."""

    experienced: dict[str, float]
    newcomer: dict[str, float]
    positives: tuple[int, int] = (0, 0)


def softmax_fit(
    positive: npt.NDArray[np.float64], negative: npt.NDArray[np.float64], *, l2: float = L2
) -> npt.NDArray[np.float64]:
    """Weights ``w`` maximising the softmax probability of each positive row among its negatives.

    ``positive`` is G × F, ``negative`` G × M × F; features are standardised inside and the
    weights returned on the original scale.

    >>> rng = np.random.default_rng(0)
    >>> neg = rng.normal(size=(200, 20, 2))
    >>> pos = rng.normal(size=(200, 2)) + np.array([2.0, 0.0])
    >>> w = softmax_fit(pos, neg)
    >>> bool(w[0] > 1.0 and abs(w[1]) < 0.5)
    True
    """
    stacked = np.concatenate([positive[:, None, :], negative], axis=1)  # G × (1+M) × F
    flat = stacked.reshape(-1, stacked.shape[-1])
    mean, std = flat.mean(axis=0), flat.std(axis=0)
    std = np.where(std > 1e-12, std, 1.0)
    x = (stacked - mean) / std
    groups = x.shape[0]

    def loss(w: npt.NDArray[np.float64]) -> tuple[float, npt.NDArray[np.float64]]:
        logits = x @ w  # G × (1+M)
        top = logits.max(axis=1, keepdims=True)
        exp = np.exp(logits - top)
        total = exp.sum(axis=1, keepdims=True)
        value = float((np.log(total).ravel() + top.ravel() - logits[:, 0]).sum()) / groups
        prob = exp / total
        grad = (np.einsum("gm,gmf->f", prob, x) - x[:, 0, :].sum(axis=0)) / groups
        return value + l2 * float(w @ w), grad + 2 * l2 * w

    result = minimize(loss, np.zeros(x.shape[-1]), jac=True, method="L-BFGS-B")
    return np.asarray(result.x / std)


def _training_rows(
    history: History, focal: IntArray, candidates: IntArray, truth: sp.csr_matrix, seed: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    rng = np.random.default_rng(seed)
    degree = history.degree[candidates] + 1.0
    by_degree = degree / degree.sum()
    positives: list[npt.NDArray[np.float64]] = []
    negatives: list[npt.NDArray[np.float64]] = []
    newcomer: list[bool] = []
    is_new = history.is_newcomer(focal)
    for start in range(0, focal.size, BLOCK):
        rows = focal[start : start + BLOCK]
        feats = features(history, rows, candidates)
        stack = np.stack([feats[name] for name in COMPONENTS], axis=-1)  # b × C × F
        tied = history.view(candidates).adjacency[rows].toarray() > 0
        block_truth = truth[start : start + BLOCK].toarray() > 0
        for i in range(rows.size):
            true_cols = np.flatnonzero(block_truth[i])
            allowed = ~(tied[i] | block_truth[i])
            half = NEGATIVES // 2
            uniform = rng.choice(candidates.size, size=half)
            weighted = rng.choice(candidates.size, size=NEGATIVES - half, p=by_degree)
            neg_cols = np.concatenate([uniform, weighted])
            neg_cols = neg_cols[allowed[neg_cols]]
            if neg_cols.size == 0:
                continue
            neg_cols = np.resize(neg_cols, NEGATIVES)
            for col in true_cols:
                positives.append(stack[i, col])
                negatives.append(stack[i, neg_cols])
                newcomer.append(bool(is_new[start + i]))
    if not positives:
        empty = np.zeros((0, len(COMPONENTS)))
        return empty, np.zeros((0, NEGATIVES, len(COMPONENTS))), np.zeros(0, dtype=bool)
    return np.array(positives), np.array(negatives), np.array(newcomer)


Split = tuple[History, IntArray, IntArray, sp.csr_matrix]
"""(history, focal sources, candidate targets, truth: focal × candidates, 1 for a true new pair)."""


def fit_weights(
    history: History, focal: IntArray, candidates: IntArray, truth: sp.csr_matrix, *, seed: int = 0
) -> FittedWeights:
    """Fit experienced and newcomer weights on one split (see the module docstring); a group with
    fewer than :data:`MIN_POSITIVES` true pairs keeps the history's shipped defaults."""
    return fit_pooled([(history, focal, candidates, truth)], seed=seed)


def fit_pooled(splits: Sequence[Split], *, seed: int = 0) -> FittedWeights:
    """Fit one set of weights on the true pairs of several splits together (e.g. one per theme,
    each with its own focused history); defaults are those of the first split's history."""
    rows = [_training_rows(h, f, c, t, seed + i) for i, (h, f, c, t) in enumerate(splits)]
    pos = np.concatenate([r[0] for r in rows])
    neg = np.concatenate([r[1] for r in rows])
    new = np.concatenate([r[2] for r in rows])
    experienced, newcomer = splits[0][0].default_weights() if splits else ({}, {})
    fitted: list[dict[str, float]] = []
    for group, default in ((~new, experienced), (new, newcomer)):
        if int(group.sum()) < MIN_POSITIVES:
            fitted.append(dict(default))
            continue
        w = softmax_fit(pos[group], neg[group])
        fitted.append({name: round(float(v), 4) for name, v in zip(COMPONENTS, w, strict=True)})
    return FittedWeights(fitted[0], fitted[1], (int((~new).sum()), int(new.sum())))
