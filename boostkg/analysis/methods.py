"""Link-prediction scores for actor pairs: the corridor method (named components) and the baselines.

Everything is learnt from a :class:`History`: the projects of a :class:`Projection` that started
in or before a year. Scores are computed for a block of source actors against all target actors
at once with sparse matrix products, so that a whole corridor is ranked in seconds.

The method adds eight components, each a weight times a feature grounded in the literature:

``closure``
    Triadic closure weighted by tie strength and recency: resource allocation (Zhou, Lü & Zhang
    2009) over the weighted co-participation graph, where a project of ``n`` partners gives each
    pair ``1/(n-1)`` (Newman 2001) halved every ``half_life`` years before the cut-off.
``community``
    Community structure: cosine similarity of the actors' positions in a random-projection
    embedding of the normalised graph (two and three propagation steps; FastRP, Chen et al. 2019),
    high when the two sit in the same densely tied region of the network without sharing a partner.
``bridge``
    Brokerage across the structural hole between the two regions (Burt 1992): how many partners
    the target already has in the source's country, i.e. how far it already bridges the corridor.
``theme_fit``
    Relatedness (Boschma 2005; Hidalgo et al. 2007): cosine similarity of the two actors'
    Horizon 2020 programme-part profiles.
``helix_fit``
    Complementarity of quadruple-helix kinds: log lift of ties between the two kinds in history
    (observed over expected under independence).
``country_fit``
    Institutional and geographical proximity: log lift of ties between the two countries.
``capacity``
    Absorptive capacity and preferential attachment (Barabási & Albert 1999): recency-weighted
    number of projects of the target.
``leadership``
    Coordination experience of the target (log number of projects it coordinated).

The weights are fitted by :mod:`boostkg.analysis.fitting` on an inner temporal split (projects
2014–2015 → new ties in 2016) and never on the back-test's test years. Sources with at most one
project (newcomers) get their own weights (:data:`NEWCOMER_WEIGHTS`): for them the network
components are empty and the learnt propensities of countries, kinds and themes carry the score.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from boostkg.analysis.projection import HELIX_KINDS, Projection

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

COMPONENTS: tuple[str, ...] = (
    "closure",
    "community",
    "bridge",
    "theme_fit",
    "helix_fit",
    "country_fit",
    "capacity",
    "leadership",
)
"""The method's named score components, in the order of its feature columns."""

EXPERIENCED_WEIGHTS: dict[str, float] = {
    "closure": 0.7819,
    "community": 1.0272,
    "bridge": -0.0669,
    "theme_fit": 1.4906,
    "helix_fit": 1.2963,
    "country_fit": -0.1352,
    "capacity": 0.6119,
    "leadership": 0.0917,
}
"""Weights for sources with two or more projects, as fitted by ``boostkg backtest`` on the inner
split 2014–2015 → 2016 of the wide corridor DK,EE,SE,FI,NL,BE → RO,BG,ES,HR,PL,HU,LV,SK,EL
(2,835 true pairs); never on 2017–2018."""

NEWCOMER_WEIGHTS: dict[str, float] = {
    "closure": 34.0834,
    "community": 0.4742,
    "bridge": -0.0664,
    "theme_fit": 1.6418,
    "helix_fit": 0.4874,
    "country_fit": 0.1035,
    "capacity": 0.8223,
    "leadership": -0.2236,
}
"""Weights for newcomers (at most one project before the cut-off), fitted on the same inner split
(2,436 true pairs). Closure weighs more because a newcomer's few ties are all it has."""

NEWCOMER_MAX_PROJECTS = 1
EMBEDDING_DIMS = 64


class Method(enum.Enum):
    """A way to score candidate pairs: the corridor method, the classic baselines, random."""

    corridor = "corridor"
    common_neighbours = "common-neighbours"
    adamic_adar = "adamic-adar"
    resource_allocation = "resource-allocation"
    preferential_attachment = "preferential-attachment"
    random = "random"


@dataclass(frozen=True)
class History:
    """What the scores learn from: the network of projects started up to ``until`` (inclusive).

    Matrices are actors × actors (``adjacency`` binary, ``weighted`` tie strength) or actors ×
    something; vectors are per actor.
    """

    projection: Projection
    until: int
    project_mask: npt.NDArray[np.bool_]
    incidence: sp.csr_matrix
    adjacency: sp.csr_matrix
    weighted: sp.csr_matrix
    ra_columns: sp.csc_matrix
    degree: FloatArray
    n_projects: FloatArray
    activity: FloatArray
    coordinations: FloatArray
    part_profile: FloatArray
    embedding: FloatArray
    country_of: IntArray
    countries: tuple[str, ...]
    country_lift: FloatArray
    kind_lift: FloatArray
    partners_by_country: FloatArray
    _views: dict[bytes, TargetView] = field(default_factory=dict, compare=False, repr=False)

    def view(self, targets: IntArray) -> TargetView:
        """The target-side columns every block of sources is multiplied with, sliced once per set
        of targets (kept on this History; the last few sets are remembered)."""
        key = np.ascontiguousarray(targets).tobytes()
        found = self._views.get(key)
        if found is None:
            if len(self._views) >= 4:
                self._views.pop(next(iter(self._views)))
            found = TargetView.of(self, targets)
            self._views[key] = found
        return found

    def is_newcomer(self, actors: IntArray) -> npt.NDArray[np.bool_]:
        """Which of ``actors`` have at most one project in the history."""
        return np.asarray(self.n_projects[actors] <= NEWCOMER_MAX_PROJECTS)


@dataclass(frozen=True)
class TargetView:
    """Per-target slices of a :class:`History` (columns restricted to one set of targets)."""

    targets: IntArray
    ra_columns: sp.csr_matrix
    adjacency: sp.csr_matrix
    aa_columns: sp.csr_matrix
    rai_columns: sp.csr_matrix
    embedding: FloatArray
    part_profile: FloatArray
    by_country: FloatArray
    kinds: IntArray
    country_of: IntArray
    capacity: FloatArray
    leadership: FloatArray
    degree: FloatArray

    @classmethod
    def of(cls, h: History, targets: IntArray) -> TargetView:
        deg = h.degree
        inv_log = np.divide(1.0, np.log(np.maximum(deg, 2.0)), out=np.zeros_like(deg), where=deg > 1)
        inv = np.divide(1.0, deg, out=np.zeros_like(deg), where=deg > 0)
        adjacency = sp.csr_matrix(h.adjacency[:, targets])
        return cls(
            targets=targets,
            ra_columns=sp.csr_matrix(h.ra_columns[:, targets]),
            adjacency=adjacency,
            aa_columns=sp.csr_matrix(sp.diags(inv_log) @ adjacency),
            rai_columns=sp.csr_matrix(sp.diags(inv) @ adjacency),
            embedding=np.ascontiguousarray(h.embedding[targets].T),
            part_profile=np.ascontiguousarray(h.part_profile[targets].T),
            by_country=np.log1p(np.ascontiguousarray(h.partners_by_country[targets].T)),
            kinds=h.projection.kinds.astype(np.int64)[targets],
            country_of=h.country_of[targets],
            capacity=np.log1p(h.activity[targets]),
            leadership=np.log1p(h.coordinations[targets]),
            degree=h.degree[targets],
        )


def _row_normalise(matrix: FloatArray) -> FloatArray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.asarray(np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0))


def _log_lift(
    groups: IntArray, n_groups: int, adjacency: sp.csr_matrix, active: npt.NDArray[np.bool_]
) -> FloatArray:
    """log((ties between groups g, h + 1) / (expected ties + 1)), expected from the group degrees."""
    rows = np.flatnonzero(active & (groups >= 0))
    onehot = sp.csr_matrix((np.ones(rows.size), (rows, groups[rows])), shape=(adjacency.shape[0], n_groups))
    observed = np.asarray((onehot.T @ adjacency @ onehot).todense(), dtype=np.float64)
    total = observed.sum()
    margins = observed.sum(axis=1)
    expected = np.outer(margins, margins) / total if total else np.zeros_like(observed)
    return np.asarray(np.log((observed + 1.0) / (expected + 1.0)))


def learn(
    projection: Projection, *, until: int, since: int = 0, half_life: float = 2.0, seed: int = 0
) -> History:
    """Learn a :class:`History` from the projects that started in ``since``..``until``.

    >>> from boostkg.analysis.projection import build_projection
    >>> p = build_projection([("a", "p"), ("b", "p"), ("b", "q"), ("c", "q")], {"p": 2015, "q": 2016})
    >>> h = learn(p, until=2016)
    >>> h.adjacency.toarray().astype(int).tolist()
    [[0, 1, 0], [1, 0, 1], [0, 1, 0]]
    >>> learn(p, until=2015).degree.tolist()
    [1.0, 1.0, 0.0]
    """
    years = projection.project_years
    mask = (years >= since) & (years <= until) & (years > 0)
    keep = sp.diags(mask.astype(np.float64))
    incidence = sp.csr_matrix(projection.incidence @ keep)
    size = np.asarray(incidence.sum(axis=0)).ravel()
    decay = np.where(mask, 0.5 ** ((until - years.astype(np.float64)) / half_life), 0.0)
    pair_weight = np.where(size > 1, decay / np.maximum(size - 1, 1), 0.0)
    weighted = sp.csr_matrix(incidence @ sp.diags(pair_weight) @ incidence.T)
    weighted.setdiag(0)
    weighted.eliminate_zeros()
    adjacency = weighted.copy()
    adjacency.data[:] = 1.0
    strength = np.asarray(weighted.sum(axis=1)).ravel()
    inv_strength = np.divide(1.0, strength, out=np.zeros_like(strength), where=strength > 0)
    ra_columns = sp.csc_matrix(sp.diags(inv_strength) @ weighted)
    degree = np.asarray(adjacency.sum(axis=1), dtype=np.float64).ravel()
    n_projects = np.asarray(incidence.sum(axis=1), dtype=np.float64).ravel()
    activity = np.asarray(incidence @ decay).ravel()
    coordinations = np.asarray((projection.coordination @ keep).sum(axis=1), dtype=np.float64).ravel()
    parts = np.asarray((incidence @ projection.project_parts).todense(), dtype=np.float64)
    # community: FastRP-style random projection of the degree-normalised graph, 2 and 3 steps
    inv_sqrt = np.divide(1.0, np.sqrt(strength), out=np.zeros_like(strength), where=strength > 0)
    normalised = sp.csr_matrix(sp.diags(inv_sqrt) @ weighted @ sp.diags(inv_sqrt))
    rng = np.random.default_rng(seed)
    dims = min(EMBEDDING_DIMS, max(projection.n_actors, 1))
    step1 = normalised @ rng.standard_normal((projection.n_actors, dims))
    step2 = normalised @ step1
    step3 = normalised @ step2
    embedding = _row_normalise(np.asarray(step2 + step3))
    countries = tuple(sorted({c for c in projection.countries if c}))
    country_ix = {c: i for i, c in enumerate(countries)}
    country_of = np.array([country_ix.get(c, -1) for c in projection.countries], dtype=np.int64)
    active = n_projects > 0
    rows = np.flatnonzero(country_of >= 0)
    country_onehot = sp.csr_matrix(
        (np.ones(rows.size), (rows, country_of[rows])), shape=(projection.n_actors, max(len(countries), 1))
    )
    return History(
        projection=projection,
        until=until,
        project_mask=mask,
        incidence=incidence,
        adjacency=adjacency,
        weighted=weighted,
        ra_columns=ra_columns,
        degree=degree,
        n_projects=n_projects,
        activity=activity,
        coordinations=coordinations,
        part_profile=_row_normalise(parts),
        embedding=embedding,
        country_of=country_of,
        countries=countries,
        country_lift=_log_lift(country_of, max(len(countries), 1), adjacency, active),
        kind_lift=_log_lift(projection.kinds.astype(np.int64), len(HELIX_KINDS), adjacency, active),
        partners_by_country=np.asarray((adjacency @ country_onehot).toarray(), dtype=np.float64),
    )


def _dense(matrix: sp.spmatrix | FloatArray) -> FloatArray:
    if sp.issparse(matrix):
        return np.asarray(matrix.toarray(), dtype=np.float64)  # type: ignore[union-attr]
    return np.asarray(matrix, dtype=np.float64)


def features(history: History, sources: IntArray, targets: IntArray) -> dict[str, FloatArray]:
    """The method's raw features for every (source, target) pair, one len(sources) × len(targets)
    array per component (see the module docstring)."""
    h = history
    v = h.view(targets)
    closure = _dense(h.weighted[sources] @ v.ra_columns)
    community = h.embedding[sources] @ v.embedding
    src_country = h.country_of[sources]
    bridge = np.zeros((sources.size, targets.size))
    known = src_country >= 0
    bridge[known] = v.by_country[src_country[known]]
    theme = h.part_profile[sources] @ v.part_profile
    kinds = h.projection.kinds.astype(np.int64)
    helix = h.kind_lift[np.ix_(kinds[sources], v.kinds)]
    country = np.zeros((sources.size, targets.size))
    tgt_known = v.country_of >= 0
    country[np.ix_(known, tgt_known)] = h.country_lift[np.ix_(src_country[known], v.country_of[tgt_known])]
    shape = (sources.size, targets.size)
    return {
        "closure": np.log1p(10.0 * closure),
        "community": community,
        "bridge": bridge,
        "theme_fit": theme,
        "helix_fit": helix,
        "country_fit": country,
        "capacity": np.broadcast_to(v.capacity[None, :], shape),
        "leadership": np.broadcast_to(v.leadership[None, :], shape),
    }


def pair_features(history: History, sources: IntArray, targets: IntArray) -> dict[str, FloatArray]:
    """The features of the pairs (sources[i], targets[i]) only: one value per pair and component,
    equal to the matching cell of :func:`features`.

    >>> from boostkg.analysis.projection import build_projection
    >>> rows = [("a", "p"), ("b", "p"), ("b", "q"), ("c", "q"), ("c", "r"), ("d", "r")]
    >>> h = learn(build_projection(rows, {"p": 2015, "q": 2016, "r": 2016}), until=2016)
    >>> s, t = np.array([0, 0, 1]), np.array([2, 3, 3])
    >>> grid = features(h, np.array([0, 1]), np.array([2, 3]))
    >>> pairs = pair_features(h, s, t)
    >>> all(np.allclose(pairs[n], [grid[n][0, 0], grid[n][0, 1], grid[n][1, 1]]) for n in COMPONENTS)
    True
    """
    h = history
    closure = np.asarray(h.weighted[sources].multiply(h.ra_columns[:, targets].T).sum(axis=1)).ravel()
    community = np.einsum("ij,ij->i", h.embedding[sources], h.embedding[targets])
    src_country, tgt_country = h.country_of[sources], h.country_of[targets]
    known = src_country >= 0
    bridge = np.where(known, np.log1p(h.partners_by_country[targets, np.maximum(src_country, 0)]), 0.0)
    theme = np.einsum("ij,ij->i", h.part_profile[sources], h.part_profile[targets])
    kinds = h.projection.kinds.astype(np.int64)
    both = known & (tgt_country >= 0)
    country = np.where(both, h.country_lift[np.maximum(src_country, 0), np.maximum(tgt_country, 0)], 0.0)
    return {
        "closure": np.log1p(10.0 * closure),
        "community": community,
        "bridge": bridge,
        "theme_fit": theme,
        "helix_fit": h.kind_lift[kinds[sources], kinds[targets]],
        "country_fit": country,
        "capacity": np.log1p(h.activity[targets]),
        "leadership": np.log1p(h.coordinations[targets]),
    }


def combine(
    feats: Mapping[str, FloatArray],
    newcomer: npt.NDArray[np.bool_],
    *,
    weights: Mapping[str, float] | None = None,
    newcomer_weights: Mapping[str, float] | None = None,
) -> dict[str, FloatArray]:
    """Components = weight × feature, with the newcomer weights on newcomer rows.

    >>> f = {name: np.ones((2, 1)) for name in COMPONENTS}
    >>> c = combine(f, np.array([False, True]), weights={n: 1.0 for n in COMPONENTS},
    ...             newcomer_weights={n: 2.0 for n in COMPONENTS})
    >>> c["closure"].ravel().tolist()
    [1.0, 2.0]
    """
    w = weights or EXPERIENCED_WEIGHTS
    nw = newcomer_weights or NEWCOMER_WEIGHTS
    out: dict[str, FloatArray] = {}
    for name in COMPONENTS:
        factor = np.where(newcomer, nw.get(name, 0.0), w.get(name, 0.0))[:, None]
        out[name] = feats[name] * factor
    return out


def baseline_scores(
    method: Method, history: History, sources: IntArray, targets: IntArray, *, seed: int = 0
) -> FloatArray:
    """A classic score for every (source, target) pair over the binary history graph.

    >>> from boostkg.analysis.projection import build_projection
    >>> rows = [("a", "p"), ("b", "p"), ("b", "q"), ("c", "q"), ("d", "q")]
    >>> p = build_projection(rows, {"p": 2015, "q": 2016})
    >>> h = learn(p, until=2016)
    >>> baseline_scores(Method.common_neighbours, h, np.array([0]), np.array([2, 3])).tolist()
    [[1.0, 1.0]]
    >>> baseline_scores(Method.preferential_attachment, h, np.array([0]), np.array([1, 2])).tolist()
    [[3.0, 2.0]]
    """
    rows = history.adjacency[sources]
    v = history.view(targets)
    if method is Method.common_neighbours:
        return _dense(rows @ v.adjacency)
    if method is Method.adamic_adar:
        return _dense(rows @ v.aa_columns)
    if method is Method.resource_allocation:
        return _dense(rows @ v.rai_columns)
    if method is Method.preferential_attachment:
        return np.outer(history.degree[sources], v.degree)
    if method is Method.random:
        rng = np.random.default_rng([seed, int(sources[0]) if sources.size else 0])
        return rng.random((sources.size, targets.size))
    raise ValueError(f"{method} is not a baseline")  # the corridor method has components


def method_scores(
    method: Method,
    history: History,
    sources: IntArray,
    targets: IntArray,
    *,
    weights: Mapping[str, float] | None = None,
    newcomer_weights: Mapping[str, float] | None = None,
    seed: int = 0,
) -> FloatArray:
    """Total scores of ``method`` for every (source, target) pair."""
    if method is not Method.corridor:
        return baseline_scores(method, history, sources, targets, seed=seed)
    feats = features(history, sources, targets)
    newcomer = history.is_newcomer(sources)
    w = weights or EXPERIENCED_WEIGHTS
    nw = newcomer_weights or NEWCOMER_WEIGHTS
    total = np.zeros((sources.size, targets.size))
    for name in COMPONENTS:  # in place: the block's components are never all held at once
        factor = np.where(newcomer, nw.get(name, 0.0), w.get(name, 0.0))[:, None]
        total += feats[name] * factor
    return total


def candidate_scores(
    method: Method,
    history: History,
    sources: IntArray,
    targets: IntArray,
    *,
    weights: Mapping[str, float] | None = None,
    newcomer_weights: Mapping[str, float] | None = None,
    seed: int = 0,
) -> FloatArray:
    """Scores ready to rank: ties broken at random (seeded, the same noise for every method), and
    ``-inf`` where the pair is already tied in the history or is one actor twice.

    >>> from boostkg.analysis.projection import build_projection
    >>> p = build_projection([("a", "p"), ("b", "p"), ("b", "q"), ("c", "q")], {"p": 2015, "q": 2016})
    >>> h = learn(p, until=2016)
    >>> s = candidate_scores(Method.common_neighbours, h, np.array([0]), np.array([0, 1, 2]))
    >>> np.isinf(s).tolist(), bool(s[0, 2] > 0.99)
    ([[True, True, False]], True)
    """
    scores = method_scores(
        method, history, sources, targets, weights=weights, newcomer_weights=newcomer_weights, seed=seed
    )
    finite = scores[np.isfinite(scores)]
    scale = max(1.0, float(np.abs(finite).max())) if finite.size else 1.0
    first = int(sources[0]) if sources.size else 0
    scores = scores + np.random.default_rng([seed, first, 7]).random(scores.shape) * 1e-9 * scale
    rows, cols = history.view(targets).adjacency[sources].nonzero()
    scores[rows, cols] = -np.inf
    scores[sources[:, None] == targets[None, :]] = -np.inf
    return scores
