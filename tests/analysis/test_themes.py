"""The theme enters the score: on the real CORDIS graph, each BOOST theme of the BOOST corridor
DK,EE → RO,BG,ES gets its own top candidates, with evidence in that theme; the themed back-test
scores against ties formed in the theme's projects."""

from __future__ import annotations

import numpy as np
import pytest

from boostkg.analysis.backtest import THEME_BLIND, backtest
from boostkg.analysis.corridor import BIG_CORRIDOR, BOOST_THEMES, Corridor
from boostkg.analysis.matching import Per, match_projection
from boostkg.analysis.methods import THEME_COMPONENTS
from boostkg.analysis.projection import Projection
from boostkg.namespaces import THEME

pytestmark = pytest.mark.timeout(900)


def _theme_projects(p: Projection, slug: str) -> set[str]:
    column = p.themes.index(str(THEME) + slug)
    rows = np.flatnonzero(p.project_themes[:, column].toarray().ravel())
    return {p.projects[j] for j in rows}


def test_each_boost_theme_has_its_own_top_candidates_with_evidence_in_it(
    cordis_projection: Projection,
) -> None:
    p = cordis_projection
    tops: dict[str, list[tuple[str, str]]] = {}
    for slug in BOOST_THEMES:
        corridor = Corridor.parse("DK,EE", "RO,BG,ES", themes=slug)
        result = match_projection(p, corridor, top=10, per=Per.pair)
        in_theme = _theme_projects(p, slug)
        assert len(result.candidates) == 10
        for c in result.candidates:
            assert c.components["theme_focus"] > 0, c
            assert set(c.evidence["projects"]) & in_theme, (slug, c.evidence["projects"])
            assert c.evidence["themes"][0] == str(THEME) + slug
            assert p.theme_labels[str(THEME) + slug] in c.explanation
        assert result.parameters["themes"] == [str(THEME) + slug]
        tops[slug] = [(c.source, c.target) for c in result.candidates]
    firsts = {pairs[0] for pairs in tops.values()}
    assert len(firsts) == len(BOOST_THEMES), tops
    for a in BOOST_THEMES:
        for b in BOOST_THEMES:
            if a < b:
                assert len(set(tops[a]) & set(tops[b])) <= 5, (a, b)


def test_without_a_theme_the_theme_components_are_zero(cordis_projection: Projection) -> None:
    result = match_projection(cordis_projection, Corridor.parse("DK,EE", "RO,BG,ES"), top=3)
    assert all(c.components[name] == 0 for c in result.candidates for name in THEME_COMPONENTS)


@pytest.mark.parametrize("slug", BOOST_THEMES)
def test_themed_backtest_scores_ties_in_the_theme(cordis_projection: Projection, slug: str) -> None:
    plain = backtest(cordis_projection, Corridor.parse(*BIG_CORRIDOR), methods=())
    themed = backtest(cordis_projection, Corridor.parse(*BIG_CORRIDOR, themes=slug))
    assert 0 < themed.true_pairs < plain.true_pairs
    mine, blind = themed.method("corridor"), themed.method(THEME_BLIND)
    assert mine.mrr > blind.mrr  # the theme components add to the same method without them
    assert mine.hits_at_10 > themed.best_baseline("hits_at_10").hits_at_10
    assert themed.best_baseline("mrr").method not in ("corridor", THEME_BLIND, "random")
