"""Evidence and plain-language explanations for candidate pairs.

Evidence is what a reader can follow in the graph: the shared partners (strongest ties first),
the latest project in which each side met the strongest shared partner, the themes and
programme parts both work in, and complementary capabilities: stated capabilities of one side
that meet a stated need of the other on a theme, then programme parts only the target works in.
Work is per pair on sorted CSR rows with boolean masks reused across a source's candidates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from boostkg.analysis.methods import History
from boostkg.analysis.projection import HELIX_KINDS, Projection

EVIDENCE_LIMIT = 5
_H2020 = "/h2020/"


def actor_label(projection: Projection, i: int) -> str:
    """A readable name: the label, else ``PIC <pic>``, else the IRI's last segment.

    >>> from boostkg.analysis.projection import build_projection
    >>> info = {"http://x/a": ("123", "", "DK", ""), "http://x/b": ("", "", "", "")}
    >>> p = build_projection([], {}, actor_info=info)
    >>> actor_label(p, 0), actor_label(p, 1)
    ('PIC 123', 'b')
    """
    label = projection.labels[i]
    if label:
        return label
    ident = projection.identifiers[i]
    return f"PIC {ident}" if ident else projection.actors[i].rsplit("/", 1)[-1]


def actor_place(projection: Projection, i: int) -> str:
    """The most specific NUTS code known for an actor, else its country code."""
    return projection.regions[i] or projection.countries[i]


def p_label(projection: Projection, theme: str) -> str:
    """A theme's label, else its last IRI segment."""
    return projection.theme_labels.get(theme) or theme.rsplit("/", 1)[-1]


def _sorted(matrix: sp.csr_matrix) -> sp.csr_matrix:
    m: sp.csr_matrix = sp.csr_matrix(matrix)
    m.sort_indices()
    return m


_PHRASES = {
    "closure": "they already share {partners} partner(s){example}",
    "community": "they sit in the same densely tied part of the collaboration network",
    "bridge": "{target} already works with {bridge} partner(s) in {source_country}",
    "theme_fit": "both work in the same Horizon 2020 programme parts{parts}",
    "helix_fit": "{source_kind} and {target_kind} actors team up more often than chance",
    "country_fit": "actors from {source_country} and {target_country} team up more often than chance",
    "capacity": "{target} is an active partner ({projects} project(s) in the history)",
    "leadership": "{target} has coordinated {coordinations} project(s)",
}
"""Sentences for the network components; the theme components get a sentence of their own."""


@dataclass
class Explainer:
    """Evidence and sentences for pairs of one :class:`History`."""

    history: History

    def __post_init__(self) -> None:
        h = self.history
        self.p = h.projection
        self.incidence = _sorted(h.incidence)
        self.adjacency = _sorted(h.adjacency)
        self.weighted = _sorted(h.weighted)
        self.part_rows = _sorted(h.incidence @ self.p.project_parts)
        self.theme_rows = _sorted(h.incidence @ self.p.project_themes)
        self.with_statements = {i for i, a in enumerate(self.p.actors) if a in self.p.statements}
        self.theme_mask = h.theme_mask
        self.theme_weighted = None if h.theme_weighted is None else _sorted(h.theme_weighted)
        self.theme_names = ", ".join(p_label(self.p, t) for t in h.themes)
        self._source = -1
        self._neighbour_mask = np.zeros(self.p.n_actors, dtype=bool)
        self._project_mask = np.zeros(self.p.n_projects, dtype=bool)
        self._target_projects = np.zeros(self.p.n_projects, dtype=bool)
        self._profiles: dict[int, tuple[frozenset[int], frozenset[int]]] = {}

    def _profile(self, i: int) -> tuple[frozenset[int], frozenset[int]]:
        """(programme parts, themes) an actor works in, remembered per actor."""
        found = self._profiles.get(i)
        if found is None:
            found = (
                frozenset(self._row(self.part_rows, i).tolist()),
                frozenset(self._row(self.theme_rows, i).tolist()),
            )
            self._profiles[i] = found
        return found

    def _row(self, m: sp.csr_matrix, i: int) -> npt.NDArray[np.int32]:
        return np.asarray(m.indices[m.indptr[i] : m.indptr[i + 1]])

    def _values(self, m: sp.csr_matrix, i: int, cols: npt.NDArray[np.int32]) -> npt.NDArray[np.float64]:
        lo, hi = m.indptr[i], m.indptr[i + 1]
        return np.asarray(m.data[lo + np.searchsorted(m.indices[lo:hi], cols)])

    def _focus(self, s: int) -> None:
        if s == self._source:
            return
        if self._source >= 0:
            self._neighbour_mask[self._row(self.adjacency, self._source)] = False
            self._project_mask[self._row(self.incidence, self._source)] = False
        self._neighbour_mask[self._row(self.adjacency, s)] = True
        self._project_mask[self._row(self.incidence, s)] = True
        self._source = s

    def shared_partners(self, s: int, t: int) -> npt.NDArray[np.int32]:
        """Partners of both, strongest combined tie first."""
        self._focus(s)
        t_partners = self._row(self.adjacency, t)
        shared = t_partners[self._neighbour_mask[t_partners]]
        if shared.size > 1:
            strength = self._values(self.weighted, s, shared) * self._values(self.weighted, t, shared)
            if self.theme_weighted is not None:  # partners met in the theme first
                strength = strength + self._theme_strength(s, t, shared) * (1.0 + strength.max())
            shared = shared[np.argsort(-strength, kind="stable")]
        return shared

    def _theme_strength(self, s: int, t: int, partners: npt.NDArray[np.int32]) -> npt.NDArray[np.float64]:
        """Product of the two actors' tie strengths to each partner within the theme (0 if none)."""
        m = self.theme_weighted
        assert m is not None
        out = np.ones(partners.size)
        for i in (s, t):
            lo, hi = m.indptr[i], m.indptr[i + 1]
            if hi == lo:
                return np.zeros(partners.size)
            pos = np.minimum(np.searchsorted(m.indices[lo:hi], partners), hi - lo - 1)
            found = m.indices[lo + pos] == partners
            out *= np.where(found, m.data[lo + pos], 0.0)
        return out

    def theme_partners(self, s: int, t: int, shared: npt.NDArray[np.int32]) -> npt.NDArray[np.int32]:
        """Shared partners each side has met in a project of the theme."""
        if self.theme_weighted is None or shared.size == 0:
            return shared[:0]
        return shared[self._theme_strength(s, t, shared) > 0]

    def evidence(self, s: int, t: int) -> tuple[dict[str, list[str]], npt.NDArray[np.int32]]:
        """The evidence IRIs of a pair, and all their shared partners (row indices)."""
        p = self.p
        shared = self.shared_partners(s, t)
        projects: list[int] = []
        themed = self.theme_mask
        if shared.size:
            z_projects = self._row(self.incidence, int(shared[0]))
            t_projects = self._row(self.incidence, t)
            self._target_projects[t_projects] = True
            for common in (
                z_projects[self._project_mask[z_projects]],
                z_projects[self._target_projects[z_projects]],
            ):
                if themed is not None and themed[common].any():
                    common = common[themed[common]]
                if common.size:
                    projects.append(int(common[np.argmax(p.project_years[common])]))
            self._target_projects[t_projects] = False
        if themed is not None:  # each side's latest project in the theme
            for actor in (t, s):
                own = self._row(self.incidence, actor)
                own = own[themed[own]]
                if own.size:
                    projects.append(int(own[np.argmax(p.project_years[own])]))
        s_parts, s_themes = self._profile(s)
        t_parts, t_themes = self._profile(t)
        themes = [p.themes[i] for i in sorted(s_themes & t_themes)]
        if h_themes := self.history.themes:  # the corridor's themes first
            themes = [x for x in themes if x in h_themes] + [x for x in themes if x not in h_themes]
        themes += [p.parts[i] for i in sorted(s_parts & t_parts)]
        capabilities = self._statements(s, t) + [p.parts[i] for i in sorted(t_parts - s_parts)]
        return (
            {
                "shared_partners": [p.actors[z] for z in shared[:EVIDENCE_LIMIT]],
                "projects": [p.projects[j] for j in dict.fromkeys(projects)],
                "themes": themes,
                "capabilities": capabilities[: 2 * EVIDENCE_LIMIT],
            },
            shared,
        )

    def _statements(self, s: int, t: int) -> list[str]:
        """Capabilities of one side that meet a need of the other on a theme."""
        if s not in self.with_statements and t not in self.with_statements:
            return []
        p = self.p
        found: list[str] = []
        for a, b in ((s, t), (t, s)):
            needs = [st for st in p.statements.get(p.actors[a], ()) if st.kind == "need"]
            for st in p.statements.get(p.actors[b], ()):
                if st.kind == "capability" and any(st.themes & need.themes for need in needs):
                    found.append(st.iri)
        return found

    def explain(
        self,
        s: int,
        t: int,
        components: Mapping[str, float],
        evidence: Mapping[str, list[str]],
        shared: npt.NDArray[np.int32],
    ) -> str:
        """One paragraph: who the target is, the (up to three) strongest positive components in
        words, and a warning when the source has little history."""
        p, h = self.p, self.history
        target, source = actor_label(p, t), actor_label(p, s)
        reasons: list[str] = []
        for name, value in sorted(components.items(), key=lambda kv: -kv[1]):
            if value <= 0.05 or len(reasons) == 3:
                break
            if name not in _PHRASES:  # theme_focus, theme_closure: said in the theme sentence below
                continue
            reasons.append(_PHRASES[name].format(**self._values_for(name, s, t, evidence, shared)))
        text = (
            f"{target} ({actor_place(p, t)}, {HELIX_KINDS[int(p.kinds[t])]}) is not yet a partner of "
            f"{source} ({actor_place(p, s)}, {HELIX_KINDS[int(p.kinds[s])]})"
        )
        text += (": " + "; ".join(reasons) + ".") if reasons else "."
        if h.theme_share is not None:
            partners = self.theme_partners(s, t, shared)
            met = (
                f"they share {partners.size} partner(s) met in its projects, "
                f"e.g. {actor_label(p, int(partners[0]))}"
                if partners.size
                else "they have no partner in its projects in common yet"
            )
            text += (
                f" In {self.theme_names}: {h.theme_share[t]:.0%} of {target}'s and {h.theme_share[s]:.0%} of "
                f"{source}'s recent project weight lies in the theme, and {met}."
            )
        if h.n_projects[s] <= 1:
            text += (
                f" {source} has little history ({int(h.n_projects[s])} project(s)), so the ranking leans on"
                " what actors of its kind, country and themes usually do."
            )
        return text

    def _values_for(
        self, name: str, s: int, t: int, evidence: Mapping[str, list[str]], shared: npt.NDArray[np.int32]
    ) -> dict[str, object]:
        p, h = self.p, self.history
        values: dict[str, object] = {
            "target": actor_label(p, t),
            "source_country": p.countries[s] or "the source country",
            "target_country": p.countries[t] or "the target country",
            "source_kind": HELIX_KINDS[int(p.kinds[s])],
            "target_kind": HELIX_KINDS[int(p.kinds[t])],
        }
        if name == "closure":
            values["partners"] = int(shared.size)
            values["example"] = f", e.g. {actor_label(p, int(shared[0]))}" if shared.size else ""
        elif name == "bridge":
            c = h.country_of[s]
            values["bridge"] = int(h.partners_by_country[t, c]) if c >= 0 else 0
        elif name == "theme_fit":
            parts = [x.rsplit("/", 1)[-1] for x in evidence["themes"] if _H2020 in x]
            values["parts"] = f" ({', '.join(parts[:6])})" if parts else ""
        elif name == "capacity":
            values["projects"] = int(h.n_projects[t])
        elif name == "leadership":
            values["coordinations"] = int(h.coordinations[t])
        return values
