"""The corridor report's model and builder: plain values only, real counts from the seed graph,
gaps and risks, the network picture, and clear errors for bad input."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from boostkg.errors import InputError, UnknownTermError
from boostkg.reports.corridor_model import (
    ActorRef,
    CandidateRow,
    NetworkEdge,
    NetworkNode,
    Place,
    ThemeNetwork,
    ThemeRef,
)
from boostkg.reports.corridor_report import ReportRequest, _risks, build_report, render_html
from boostkg.reports.network import corridor_svg
from boostkg.store import EmbeddedStore

ORG = "https://w3id.org/boostkg/id/organisation/"
BOOST = ReportRequest(("DK03", "EE00"), ("RO11", "BG33", "ES51"))


@dataclass(frozen=True)
class FakeCandidate:
    source: str
    target: str
    score: float
    components: dict[str, float]
    explanation: str
    evidence: dict[str, list[str]] = field(default_factory=dict)


TSP_TIT = FakeCandidate(
    ORG + "tsp",
    ORG + "tit",
    1.25,
    {"closure": 1.0, "theme_fit": 0.25},
    "Both took part in BOOST; TIT needs what TSP offers.",
    {"shared_partners": [ORG + "vk"], "projects": ["https://w3id.org/boostkg/id/project/boost"]},
)


def _plain(value: object) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return all(_plain(v) for v in value)
    return value is None or type(value) in (str, int, float, bool)


def test_report_on_the_boost_corridor_holds_real_counts_and_plain_values(loaded_store: EmbeddedStore) -> None:
    report = build_report(loaded_store, BOOST, matches={"ict-digital": [TSP_TIT]}, link_base="http://kg.test")
    assert [p.code for p in report.source] == ["DK03", "EE00"]
    assert [p.label for p in report.target] == ["Nord-Vest", "Severoiztochen", "Cataluña"]
    assert [t.slug for t in report.themes] == ["industry-cleantech-green", "health-wellbeing", "ict-digital"]
    # TIT (cluster: business + intermediary) and NWRDA (development agency: government) are in RO11
    assert report.coverage.count("RO11", "Business", "all") == 1
    assert report.coverage.count("RO11", "Government", "all") == 1
    assert report.coverage.count("RO11", "Intermediary", "ict-digital") == 1
    assert report.coverage.count("RO11", "Academia", "all") == 0
    # the candidate, with the seed facts and links on the given base
    (row,) = report.candidates
    assert (row.source.label, row.source.region, row.target.label, row.target.region) == (
        "Tartu Science Park",
        "EE00",
        "Transilvania IT Cluster",
        "RO11",
    )
    assert row.source.url == "http://kg.test/id/organisation/tsp"
    assert row.components == (("closure", 1.0), ("theme_fit", 0.25))
    assert {e.kind for e in row.evidence} == {"shared_partners", "projects"}
    assert row.evidence[0].links[0].label == "Vejle Municipality"
    # funding instruments come from the action plan, by theme
    by_theme = {s.theme.slug: {i.label for i in s.instruments} for s in report.summaries}
    assert by_theme["ict-digital"] == {"ERDF regional programmes of the partner regions"}
    assert by_theme["industry-cleantech-green"] == {
        "Interreg Europe",
        "Interregional Innovation Investments (I3)",
    }
    assert by_theme["health-wellbeing"] == {"Horizon Europe European Innovation Ecosystems calls"}
    # themes without candidates are gaps; the BOOST project ties every partner already
    kinds = {(r.kind, r.severity) for r in report.risks}
    assert ("no-candidate", "high") in kinds
    assert any("Health and Well-being: no viable candidate" in r.text for r in report.risks)
    ict = next(n for n in report.networks if n.theme.slug == "ict-digital")
    assert ict.tied_pairs == 8  # VK, TSP × TIT, NWRDA, BBF, CLDI: every pair shares BOOST
    assert [e.kind for e in ict.edges].count("candidate") == 1
    data = report.to_json()
    assert _plain(data)
    json.dumps(data)


def test_html_is_self_contained_and_shows_every_section(loaded_store: EmbeddedStore) -> None:
    html = render_html(build_report(loaded_store, BOOST, matches={"ict-digital": [TSP_TIT]}))
    for section in ("summary", "coverage", "candidates", "networks", "risks", "backtest", "method"):
        assert f'<section id="{section}">' in html
    assert "<script" not in html
    assert "<link" not in html
    assert "<img" not in html
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg"') >= 4  # 3 networks + component chart
    assert "Tartu Science Park" in html
    assert "Interreg Europe" in html


def test_report_without_matching_says_so(loaded_store: EmbeddedStore) -> None:
    report = build_report(loaded_store, BOOST, link_base="")
    assert not report.matching
    assert report.candidates == ()
    assert "No matching run" in report.headline[1]
    assert "no candidates are ranked" in report.summaries[0].verdict


@pytest.mark.parametrize(
    ("request_", "error", "words"),
    [
        (ReportRequest(("XX",), ("RO",)), UnknownTermError, "unknown code on the source side: XX"),
        (ReportRequest(("DK",), ("RO99",)), UnknownTermError, "unknown code on the target side: RO99"),
        (ReportRequest((), ("RO",)), InputError, "the source side of the corridor is empty"),
        (ReportRequest(("DK",), ("RO",), themes=("space",)), UnknownTermError, "unknown theme 'space'"),
        (ReportRequest(("MT",), ("RO11",)), InputError, "no actors are located in MT (the source side)"),
        (ReportRequest(("DK1!",), ("RO",)), InputError, "is not a country or NUTS code"),
    ],
)
def test_bad_input_is_a_clear_error_not_an_empty_report(
    loaded_store: EmbeddedStore, request_: ReportRequest, error: type[Exception], words: str
) -> None:
    with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)")):
        build_report(loaded_store, request_)


def test_matches_for_a_theme_outside_the_report_are_refused(loaded_store: EmbeddedStore) -> None:
    with pytest.raises(InputError, match="outside the report: ict-digital"):
        build_report(
            loaded_store,
            ReportRequest(BOOST.sources, BOOST.targets, themes=("health-wellbeing",)),
            matches={"ict-digital": [TSP_TIT]},
        )


def _actor(name: str, region: str, projects: int) -> ActorRef:
    return ActorRef(name, "/" + name, "", name, region, "Business", projects)


def _row(source: ActorRef, target: ActorRef, theme: str = "t", thin: bool = False) -> CandidateRow:
    return CandidateRow(1, theme, source, target, 1.0, (), "", (), thin)


def test_risks_name_thin_evidence_concentration_and_unreached_places() -> None:
    theme = ThemeRef("t", "Theme", "iri", "url")
    hub = _actor("Hub", "DK", 40)
    rows = [_row(hub, _actor(f"T{i}", "RO", 1 if i < 2 else 9), thin=i < 2) for i in range(6)]
    targets = (Place("RO", "Romania", "target", "r", "r"), Place("BG", "Bulgaria", "target", "b", "b"))
    sources = (Place("DK", "Denmark", "source", "d", "d"),)
    totals = {("DK", "t"): 5, ("RO", "t"): 9, ("BG", "t"): 0}
    risks = _risks([theme], targets, sources, {"t": rows}, totals, True)
    texts = [r.text for r in risks]
    assert risks[0].severity == "high"
    assert "Bulgaria (BG, target side) has no actor active in: Theme." in texts
    assert any("no candidate partner in Bulgaria (BG)" in t for t in texts)
    assert any(r.kind == "thin-evidence" and "2 of 6 candidates" in r.text for r in risks)
    assert any(r.kind == "concentration" and "Hub (DK) is in 6 of 6" in r.text for r in risks)


def test_network_picture_draws_both_sides_and_highlights_candidates() -> None:
    nodes = (
        NetworkNode("a", "Aarhus Uni", "source", "DK", 30, "/a"),
        NetworkNode("b", "Babes-Bolyai", "target", "RO", 10, "/b"),
        NetworkNode("c", "Sofia Tech", "target", "BG", 0, "/c"),
    )
    edges = (NetworkEdge("a", "b", "existing", 4.0), NetworkEdge("a", "c", "candidate", 0.7))
    svg = corridor_svg(ThemeNetwork(ThemeRef("t", "T", "i", "u"), nodes, edges, 1, 1, 1))
    assert svg.count("<circle") == 3
    assert svg.count('class="existing"') == 1
    assert svg.count('class="candidate"') == 1
    assert "4 shared projects" in svg
    assert "score 0.700" in svg
    assert 'href="/c"' in svg
    assert "Sofia Tech · BG" in svg


def test_coverage_and_ties_from_the_projection_equal_the_sparql_reads(loaded_store: EmbeddedStore) -> None:
    from boostkg.analysis.projection import project
    from boostkg.reports import corridor_data as data
    from boostkg.reports.corridor_run import coverage_from_projection, ties_from_projection

    projection = project(loaded_store)
    sources = data.resolve_places(loaded_store, BOOST.sources, "source", base="")
    targets = data.resolve_places(loaded_store, BOOST.targets, "target", base="")
    themes = data.resolve_themes(loaded_store, None, base="")
    fast = coverage_from_projection(projection, (*sources, *targets), themes)
    slow = data.coverage(loaded_store, (*sources, *targets), themes)
    assert set(fast.cells) == set(slow.cells)
    assert len(fast.cells) > 20
    assert ties_from_projection(projection, BOOST, themes) == data.existing_ties(
        loaded_store, sources, targets, themes
    )
