"""Link-prediction scores for actor pairs: the corridor method (named components) and the baselines.

Everything is learnt from a :class:`History`: the projects of a :class:`Projection` that started
in or before a year. Scores are computed for a block of source actors against all target actors
at once with sparse matrix products, so that a whole corridor is ranked in seconds.

The method adds ten components, each a weight times a feature grounded in the literature:

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
``theme_focus``
    Only when the corridor names themes (:meth:`History.focus`). Cognitive proximity in the
    theme (Boschma 2005) and regional specialisation (Balland et al. 2019): the geometric mean of
    the two actors' theme shares, the recency-weighted share of each one's projects whose
    programme part maps to one of the themes (themes.ttl ``skos:broadMatch``/``skos:closeMatch``);
    an actor that declares the theme itself (seed data, submissions) has a share of at least
    :data:`DECLARED_SHARE`.
``theme_closure``
    Only when the corridor names themes. Triadic closure inside the theme: the ``closure``
    feature computed over the ties of the theme's projects only, so that shared partners met in
    the theme count and those met elsewhere do not.

The weights are fitted by :mod:`boostkg.analysis.fitting` on an inner temporal split (projects
2014–2015 → new ties in 2016) and never on the back-test's test years. Sources with at most one
project (newcomers) get their own weights (:data:`NEWCOMER_WEIGHTS`): for them the network
components are empty and the learnt propensities of countries, kinds and themes carry the score.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

try:
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]
except ImportError:  # optional: without it the products use OpenBLAS's own thread count
    threadpool_limits = None

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
    "theme_focus",
    "theme_closure",
)
"""The method's named score components, in the order of its feature columns."""
THEME_COMPONENTS: tuple[str, ...] = ("theme_focus", "theme_closure")
"""Components that are zero unless the corridor names themes."""
DECLARED_SHARE = 0.5
"""The least theme share of an actor that declares the theme itself."""

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

THEMED_WEIGHTS: dict[str, float] = {
    "closure": -1.3803,
    "community": 1.1019,
    "bridge": 0.0321,
    "theme_fit": 0.8872,
    "helix_fit": 0.9158,
    "country_fit": -0.237,
    "capacity": 0.599,
    "leadership": -0.0838,
    "theme_focus": 0.9171,
    "theme_closure": 7.8372,
}
"""Weights for experienced sources when the corridor names themes, fitted on the inner split
2014–2015 → 2016 of the wide corridor with the three BOOST themes pooled (a true pair is a first
tie in a 2016 project of the theme; 1,358 true pairs), never on 2017–2018:
``backtest.inner_split_weights(p, Corridor.parse(*BIG_CORRIDOR), themes=BOOST_THEMES)``. Closure
inside the theme takes over from closure anywhere, whose weight turns negative once the former
is known (shared partners met only outside the theme are a weaker sign)."""

THEMED_NEWCOMER_WEIGHTS: dict[str, float] = {
    "closure": 17.624,
    "community": 0.7657,
    "bridge": -0.0402,
    "theme_fit": 1.7325,
    "helix_fit": 0.5631,
    "country_fit": 1.2938,
    "capacity": 0.834,
    "leadership": -0.2066,
    "theme_focus": 0.7833,
    "theme_closure": 2.633,
}
"""Newcomer weights when the corridor names themes, fitted on the same pooled inner split (316
true pairs)."""

NEWCOMER_MAX_PROJECTS = 1
EMBEDDING_DIMS = 64


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run the block products on one BLAS thread: they are a few hundred rows each, and on a
    shared 2-core machine OpenBLAS's second thread spins waiting for a core more than it helps
    (ranking the wide corridor: 1.65 s of CPU with two threads, 0.90 s with one)."""
    if threadpool_limits is None:
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


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
    project_decay: FloatArray
    pair_weight: FloatArray
    themes: tuple[str, ...] = ()
    theme_mask: npt.NDArray[np.bool_] | None = None
    theme_share: FloatArray | None = None
    theme_weighted: sp.csr_matrix | None = None
    theme_ra_columns: sp.csc_matrix | None = None
    _views: dict[bytes, TargetView] = field(default_factory=dict, compare=False, repr=False)

    @property
    def themed(self) -> bool:
        """Whether the theme components are on (see :meth:`focus`)."""
        return self.theme_share is not None

    def default_weights(self) -> tuple[dict[str, float], dict[str, float]]:
        """The shipped (experienced, newcomer) weights for this history: themed or not."""
        if self.themed:
            return THEMED_WEIGHTS, THEMED_NEWCOMER_WEIGHTS
        return EXPERIENCED_WEIGHTS, NEWCOMER_WEIGHTS

    def focus(
        self,
        in_theme: npt.NDArray[np.bool_],
        declared: npt.NDArray[np.bool_] | None = None,
        themes: tuple[str, ...] = (),
    ) -> History:
        """This history with the theme components switched on for the projects ``in_theme`` (a
        mask over the projection's projects) and the actors that ``declared`` the theme.

        >>> from boostkg.analysis.projection import build_projection
        >>> rows = [("a", "p"), ("b", "p"), ("b", "q"), ("c", "q")]
        >>> h = learn(build_projection(rows, {"p": 2016, "q": 2016}), until=2016)
        >>> f = h.focus(np.array([True, False]), np.array([False, False, True]))
        >>> f.theme_share.tolist()  # a: all in the theme, b: half, c: none but declares it
        [1.0, 0.5, 0.5]
        >>> f.theme_weighted.toarray().tolist()
        [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
        """
        mask = self.project_mask & in_theme
        theme_incidence = sp.csr_matrix(self.incidence @ sp.diags(mask.astype(np.float64)))
        theme_activity = np.asarray(theme_incidence @ self.project_decay).ravel()
        share = np.divide(
            theme_activity, self.activity, out=np.zeros_like(theme_activity), where=self.activity > 0
        )
        if declared is not None:
            share = np.where(declared, np.maximum(share, DECLARED_SHARE), share)
        weighted = sp.csr_matrix(theme_incidence @ sp.diags(self.pair_weight) @ theme_incidence.T)
        weighted.setdiag(0)
        weighted.eliminate_zeros()
        strength = np.asarray(weighted.sum(axis=1)).ravel()
        inv = np.divide(1.0, strength, out=np.zeros_like(strength), where=strength > 0)
        return dataclasses.replace(
            self,
            themes=themes,
            theme_mask=mask,
            theme_share=share,
            theme_weighted=weighted,
            theme_ra_columns=sp.csc_matrix(sp.diags(inv) @ weighted),
            _views={},
        )

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
    theme_share_root: FloatArray | None
    theme_ra_columns: sp.csr_matrix | None
    bilinear: FloatArray
    """Rows stacked for the one matrix product of :func:`corridor_scores`: embedding, programme-part
    profile, square root of the theme share (zeros when not themed)."""
    country_table: FloatArray
    """countries × targets: country_lift of (source country, target country), 0 for unknown."""
    kind_table: FloatArray
    """helix kinds × targets: kind_lift of (source kind, target kind)."""

    @classmethod
    def of(cls, h: History, targets: IntArray) -> TargetView:
        deg = h.degree
        inv_log = np.divide(1.0, np.log(np.maximum(deg, 2.0)), out=np.zeros_like(deg), where=deg > 1)
        inv = np.divide(1.0, deg, out=np.zeros_like(deg), where=deg > 0)
        adjacency = sp.csr_matrix(h.adjacency[:, targets])
        embedding = np.ascontiguousarray(h.embedding[targets].T)
        part_profile = np.ascontiguousarray(h.part_profile[targets].T)
        share_root = None if h.theme_share is None else np.sqrt(h.theme_share[targets])
        country_of = h.country_of[targets]
        country_table = np.where(country_of[None, :] >= 0, h.country_lift[:, np.maximum(country_of, 0)], 0.0)
        kinds = h.projection.kinds.astype(np.int64)[targets]
        return cls(
            targets=targets,
            ra_columns=sp.csr_matrix(h.ra_columns[:, targets]),
            adjacency=adjacency,
            aa_columns=sp.csr_matrix(sp.diags(inv_log) @ adjacency),
            rai_columns=sp.csr_matrix(sp.diags(inv) @ adjacency),
            embedding=embedding,
            part_profile=part_profile,
            by_country=np.log1p(np.ascontiguousarray(h.partners_by_country[targets].T)),
            kinds=kinds,
            country_of=country_of,
            capacity=np.log1p(h.activity[targets]),
            leadership=np.log1p(h.coordinations[targets]),
            degree=h.degree[targets],
            theme_share_root=share_root,
            theme_ra_columns=None
            if h.theme_ra_columns is None
            else sp.csr_matrix(h.theme_ra_columns[:, targets]),
            bilinear=np.ascontiguousarray(
                np.vstack(
                    [embedding, part_profile, np.zeros(targets.size) if share_root is None else share_root]
                )
            ),
            country_table=np.ascontiguousarray(country_table),
            kind_table=np.ascontiguousarray(h.kind_lift[:, kinds]),
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
        project_decay=decay,
        pair_weight=pair_weight,
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
    zero = np.broadcast_to(np.zeros(1), shape)
    focus, theme_closure = zero, zero
    if (
        h.theme_share is not None
        and h.theme_weighted is not None
        and v.theme_share_root is not None
        and v.theme_ra_columns is not None
    ):
        focus = np.sqrt(h.theme_share[sources])[:, None] * v.theme_share_root[None, :]
        theme_closure = np.log1p(10.0 * _dense(h.theme_weighted[sources] @ v.theme_ra_columns))
    return {
        "closure": np.log1p(10.0 * closure),
        "community": community,
        "bridge": bridge,
        "theme_fit": theme,
        "helix_fit": helix,
        "country_fit": country,
        "capacity": np.broadcast_to(v.capacity[None, :], shape),
        "leadership": np.broadcast_to(v.leadership[None, :], shape),
        "theme_focus": focus,
        "theme_closure": theme_closure,
    }


def _pair_closure(
    weighted: sp.csr_matrix, ra_columns: sp.csc_matrix, sources: IntArray, targets: IntArray
) -> FloatArray:
    """``(weighted @ ra_columns)[sources[i], targets[i]]`` for each i, one product per block of
    distinct sources (a source's row is not copied once per pair)."""
    out = np.zeros(sources.size)
    if sources.size == 0:
        return out
    unique, inverse = np.unique(sources, return_inverse=True)
    inverse = inverse.ravel()
    block_of = inverse // PAIR_BLOCK
    order = np.argsort(block_of, kind="stable")
    bounds = np.searchsorted(block_of[order], np.arange(block_of.max() + 2))
    for b in range(bounds.size - 1):
        sel = order[bounds[b] : bounds[b + 1]]
        if sel.size == 0:
            continue
        rows = unique[b * PAIR_BLOCK : (b + 1) * PAIR_BLOCK]
        cols, col_of = np.unique(targets[sel], return_inverse=True)
        product = sp.csr_matrix(weighted[rows] @ ra_columns[:, cols])
        out[sel] = np.asarray(product[inverse[sel] - b * PAIR_BLOCK, col_of.ravel()]).ravel()
    return out


PAIR_BLOCK = 512


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
    closure = _pair_closure(h.weighted, h.ra_columns, sources, targets)
    community = np.einsum("ij,ij->i", h.embedding[sources], h.embedding[targets])
    src_country, tgt_country = h.country_of[sources], h.country_of[targets]
    known = src_country >= 0
    bridge = np.where(known, np.log1p(h.partners_by_country[targets, np.maximum(src_country, 0)]), 0.0)
    theme = np.einsum("ij,ij->i", h.part_profile[sources], h.part_profile[targets])
    kinds = h.projection.kinds.astype(np.int64)
    both = known & (tgt_country >= 0)
    country = np.where(both, h.country_lift[np.maximum(src_country, 0), np.maximum(tgt_country, 0)], 0.0)
    focus = theme_closure = np.zeros(sources.size)
    if h.theme_share is not None and h.theme_weighted is not None and h.theme_ra_columns is not None:
        focus = np.sqrt(h.theme_share[sources] * h.theme_share[targets])
        theme_closure = np.log1p(10.0 * _pair_closure(h.theme_weighted, h.theme_ra_columns, sources, targets))
    return {
        "closure": np.log1p(10.0 * closure),
        "community": community,
        "bridge": bridge,
        "theme_fit": theme,
        "helix_fit": h.kind_lift[kinds[sources], kinds[targets]],
        "country_fit": country,
        "capacity": np.log1p(h.activity[targets]),
        "leadership": np.log1p(h.coordinations[targets]),
        "theme_focus": focus,
        "theme_closure": theme_closure,
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
    default, default_new = history.default_weights()
    return corridor_scores(history, sources, targets, weights or default, newcomer_weights or default_new)


def corridor_scores(
    history: History,
    sources: IntArray,
    targets: IntArray,
    weights: Mapping[str, float],
    newcomer_weights: Mapping[str, float],
) -> FloatArray:
    """The corridor method's total scores, equal to summing :func:`combine` over :func:`features`
    but without a dense array per component: the three bilinear components (community, theme_fit,
    theme_focus) are one matrix product with the weights folded into the source rows; the
    components that depend on the source only through its country, kind and newcomer status
    (bridge, country_fit, helix_fit, capacity, leadership) are one row per such group, gathered;
    the two closures are added on their non-zero cells only.

    >>> from boostkg.analysis.projection import build_projection
    >>> rows = [("a", "p"), ("b", "p"), ("b", "q"), ("c", "q"), ("c", "r"), ("d", "r"), ("e", "r")]
    >>> info = {x: ("", "", cc, "") for x, cc in zip("abcde", ["DK", "DK", "RO", "EE", "RO"])}
    >>> h = learn(build_projection(rows, {"p": 2015, "q": 2016, "r": 2016}, actor_info=info), until=2016)
    >>> s, t = np.array([0, 1, 3]), np.arange(5)
    >>> slow = sum(combine(features(h, s, t), h.is_newcomer(s)).values())
    >>> bool(np.allclose(corridor_scores(h, s, t, EXPERIENCED_WEIGHTS, NEWCOMER_WEIGHTS), slow))
    True
    """
    h = history
    v = h.view(targets)
    newcomer = h.is_newcomer(sources)

    def per_row(name: str) -> FloatArray:
        return np.where(newcomer, newcomer_weights.get(name, 0.0), weights.get(name, 0.0))

    share_root = np.sqrt(h.theme_share[sources]) if h.theme_share is not None else np.zeros(sources.size)
    left = np.hstack(
        [
            h.embedding[sources] * per_row("community")[:, None],
            h.part_profile[sources] * per_row("theme_fit")[:, None],
            (share_root * per_row("theme_focus"))[:, None],
        ]
    )
    total = left @ v.bilinear
    src_country = h.country_of[sources]
    kinds = h.projection.kinds.astype(np.int64)[sources]
    groups, group_of = np.unique(
        np.stack([src_country, kinds, newcomer.astype(np.int64)], axis=1), axis=0, return_inverse=True
    )
    target_only = v.capacity, v.leadership
    table = np.empty((len(groups), targets.size))
    for g, (country, kind, new) in enumerate(groups):
        w = newcomer_weights if new else weights
        row = w.get("helix_fit", 0.0) * v.kind_table[kind]
        row = row + w.get("capacity", 0.0) * target_only[0] + w.get("leadership", 0.0) * target_only[1]
        if country >= 0:
            row = (
                row
                + w.get("bridge", 0.0) * v.by_country[country]
                + w.get("country_fit", 0.0) * v.country_table[country]
            )
        table[g] = row
    total += table[group_of.ravel()]
    closures = [("closure", h.weighted, v.ra_columns)]
    if h.theme_weighted is not None and v.theme_ra_columns is not None:
        closures.append(("theme_closure", h.theme_weighted, v.theme_ra_columns))
    for name, weighted, columns in closures:
        found = sp.coo_matrix(weighted[sources] @ columns)
        total[found.row, found.col] += np.log1p(10.0 * found.data) * per_row(name)[found.row]
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
    largest = float(np.abs(scores).max()) if scores.size else 0.0
    if not np.isfinite(largest):  # only then is the finite part worth a copy
        finite = scores[np.isfinite(scores)]
        largest = float(np.abs(finite).max()) if finite.size else 0.0
    scale = max(1.0, largest)
    first = int(sources[0]) if sources.size else 0
    noise = np.random.default_rng([seed, first, 7]).random(scores.shape)
    noise *= 1e-9  # in two steps, as (r * 1e-9) * scale was computed before
    noise *= scale
    scores += noise
    rows, cols = history.view(targets).adjacency[sources].nonzero()
    scores[rows, cols] = -np.inf
    if targets.size and bool(np.all(targets[1:] > targets[:-1])):  # sorted: find each source once
        at = np.minimum(np.searchsorted(targets, sources), targets.size - 1)
        same = np.flatnonzero(targets[at] == sources)
        scores[same, at[same]] = -np.inf
    else:
        scores[sources[:, None] == targets[None, :]] = -np.inf
    return scores
