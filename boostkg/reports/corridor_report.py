"""The corridor report: build its model from the store and the matching results, write HTML + JSON.

:func:`build_report` reads the corridor's places, themes, coverage, existing ties, funding
instruments and provenance from the store (:mod:`boostkg.reports.corridor_data`), takes the ranked
candidates of a matching run per theme (anything shaped like :class:`CandidateLike`), and derives
the executive summary, the network pictures and the gaps and risks. :func:`write_report` renders
one self-contained HTML file (inline CSS and SVG, no external requests) and its JSON.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from jinja2 import Environment, PackageLoader, select_autoescape

from boostkg.errors import InputError
from boostkg.namespaces import BASE, THEME
from boostkg.reports import corridor_data as data
from boostkg.reports.charts import component_bars, grouped_bars
from boostkg.reports.corridor_model import (
    ActorRef,
    Backtest,
    CandidateRow,
    CorridorReport,
    Coverage,
    Evidence,
    Instrument,
    Link,
    NetworkEdge,
    NetworkNode,
    Place,
    Risk,
    Side,
    ThemeNetwork,
    ThemeRef,
    ThemeSummary,
)
from boostkg.reports.network import corridor_svg
from boostkg.store.base import KnowledgeStore

TOP_PER_THEME = 3
"""Pairs per theme in the executive summary."""
NETWORK_CANDIDATES = 10
"""Candidate ties drawn per theme."""
NETWORK_HUBS = 2
"""Best-connected actors drawn per place besides the candidates' actors."""
HUB_POOL = 40
"""Best-connected actors per side looked up, among which each place's hubs are chosen."""
THIN_EVIDENCE_PROJECTS = 2
"""An actor with at most this many projects in the graph is a newcomer with thin evidence."""
CONCENTRATION_SHARE = 0.3
"""A risk when one actor takes part in more than this share of a theme's candidates."""
EVIDENCE_LINKS = 12
"""Links shown per kind of evidence."""


class CandidateLike(Protocol):
    """What the report reads from a matching candidate (``boostkg.analysis.Candidate``)."""

    @property
    def source(self) -> str: ...
    @property
    def target(self) -> str: ...
    @property
    def score(self) -> float: ...
    @property
    def components(self) -> Mapping[str, float]: ...
    @property
    def explanation(self) -> str: ...
    @property
    def evidence(self) -> Mapping[str, Sequence[str]]: ...


@dataclass(frozen=True)
class ReportRequest:
    """The corridor asked for: codes of each side, optional theme slugs and actor types."""

    sources: tuple[str, ...]
    targets: tuple[str, ...]
    themes: tuple[str, ...] = ()
    actor_types: tuple[str, ...] = ()

    def describe(self) -> str:
        """``DK,EE → RO,BG,ES``."""
        return f"{','.join(self.sources)} → {','.join(self.targets)}"


def _label_for(iri: str, facts: Mapping[str, data.ActorFacts], themes: Mapping[str, str]) -> str:
    if iri in facts:
        return facts[iri].label
    if iri in themes:
        return themes[iri]
    tail = iri[len(BASE) :] if iri.startswith(BASE) else iri.rsplit("/", 1)[-1]
    if tail.startswith("id/project/h2020-"):
        return "H2020 project " + tail.removeprefix("id/project/h2020-")
    if tail.startswith("theme/"):
        return tail.removeprefix("theme/")
    return tail.rsplit("/", 1)[-1].replace("-", " ")


def _actor(iri: str, facts: Mapping[str, data.ActorFacts], base: str) -> ActorRef:
    fact = facts.get(iri) or data.ActorFacts(iri.rsplit("/", 1)[-1], "", "", data.UNCLASSIFIED, 0)
    return ActorRef(
        iri=iri,
        url=data.link_url(iri, base),
        identifier=fact.identifier,
        label=fact.label,
        region=fact.place,
        helix=fact.helix,
        projects=fact.projects,
    )


def _rows(
    theme: ThemeRef,
    candidates: Sequence[CandidateLike],
    facts: Mapping[str, data.ActorFacts],
    theme_labels: Mapping[str, str],
    base: str,
) -> list[CandidateRow]:
    rows = []
    for rank, cand in enumerate(sorted(candidates, key=lambda c: -c.score), start=1):
        evidence = tuple(
            Evidence(
                kind=kind,
                links=tuple(
                    Link(_label_for(iri, facts, theme_labels), iri, data.link_url(iri, base))
                    for iri in iris[:EVIDENCE_LINKS]
                ),
            )
            for kind, iris in cand.evidence.items()
            if iris
        )
        source, target = _actor(cand.source, facts, base), _actor(cand.target, facts, base)
        rows.append(
            CandidateRow(
                rank=rank,
                theme=theme.slug,
                source=source,
                target=target,
                score=round(float(cand.score), 4),
                components=tuple((name, round(float(v), 4)) for name, v in cand.components.items()),
                explanation=cand.explanation,
                evidence=evidence,
                thin_evidence=min(source.projects, target.projects) <= THIN_EVIDENCE_PROJECTS
                or bool(getattr(cand, "newcomer", False)),
            )
        )
    return rows


def _network(
    theme: ThemeRef,
    ties: dict[tuple[str, str], int],
    rows: Sequence[CandidateRow],
    facts: Mapping[str, data.ActorFacts],
    base: str,
) -> ThemeNetwork:
    source_hubs, target_hubs = data.hubs(ties)
    drawn = rows[:NETWORK_CANDIDATES]
    sources = list(dict.fromkeys(r.source.iri for r in drawn))
    targets = list(dict.fromkeys(r.target.iri for r in drawn))
    for shown, side_hubs in ((sources, source_hubs), (targets, target_hubs)):
        per_place: Counter[str] = Counter()
        for hub in sorted(side_hubs, key=lambda a: (-side_hubs[a], a))[:HUB_POOL]:
            place = facts[hub].place if hub in facts else ""
            if hub not in shown and per_place[place] < NETWORK_HUBS:
                shown.append(hub)
                per_place[place] += 1
    sides: tuple[tuple[Side, list[str]], ...] = (("source", sources), ("target", targets))
    nodes = [
        NetworkNode(
            iri,
            _actor(iri, facts, base).label,
            side,
            facts[iri].place if iri in facts else "",
            facts[iri].projects if iri in facts else 0,
            data.link_url(iri, base),
        )
        for side, iris in sides
        for iri in iris
    ]
    shown_s, shown_t = set(sources), set(targets)
    edges = [
        NetworkEdge(s, t, "existing", float(n))
        for (s, t), n in sorted(ties.items())
        if s in shown_s and t in shown_t
    ]
    edges += [NetworkEdge(r.source.iri, r.target.iri, "candidate", r.score) for r in drawn]
    return ThemeNetwork(
        theme=theme,
        nodes=tuple(nodes),
        edges=tuple(edges),
        tied_pairs=len(ties),
        source_actors=len(source_hubs),
        target_actors=len(target_hubs),
    )


def _instruments_for(theme: ThemeRef, instruments: Sequence[Instrument]) -> tuple[Instrument, ...]:
    return tuple(i for i in instruments if theme.slug in i.themes)


def _risks(
    report_themes: Sequence[ThemeRef],
    targets: Sequence[Place],
    sources: Sequence[Place],
    rows_by_theme: Mapping[str, Sequence[CandidateRow]],
    coverage_total: Mapping[tuple[str, str], int],
    matching: bool,
) -> list[Risk]:
    risks: list[Risk] = []
    for place in (*sources, *targets):
        empty = [t.label for t in report_themes if coverage_total.get((place.code, t.slug), 0) == 0]
        if empty:
            risks.append(
                Risk(
                    "coverage-gap",
                    "high" if place.side == "target" else "medium",
                    f"{place.label} ({place.code}, {place.side} side) has no actor active in: "
                    f"{'; '.join(empty)}.",
                )
            )
    if not matching:
        return risks
    for theme in report_themes:
        rows = rows_by_theme.get(theme.slug, ())
        if not rows:
            risks.append(
                Risk("no-candidate", "high", f"{theme.label}: no viable candidate pair in this corridor.")
            )
            continue
        reached = {r.target.region for r in rows}
        for place in targets:
            if place.code not in reached:
                risks.append(
                    Risk(
                        "no-candidate",
                        "high",
                        f"{theme.label}: no candidate partner in {place.label} ({place.code}) among the "
                        f"{len(rows)} ranked pairs.",
                    )
                )
        thin = [r for r in rows if r.thin_evidence]
        if thin:
            names = ", ".join(
                dict.fromkeys(
                    (r.target.label if r.target.projects <= THIN_EVIDENCE_PROJECTS else r.source.label)
                    for r in thin[:5]
                )
            )
            risks.append(
                Risk(
                    "thin-evidence",
                    "medium",
                    f"{theme.label}: {len(thin)} of {len(rows)} candidates involve a newcomer with at most "
                    f"{THIN_EVIDENCE_PROJECTS} projects in the graph ({names}); check them before a call.",
                )
            )
        counts = Counter([r.source.iri for r in rows] + [r.target.iri for r in rows])
        actor, n = counts.most_common(1)[0]
        if len(rows) >= 5 and n / len(rows) > CONCENTRATION_SHARE:
            who = next(
                r.source if r.source.iri == actor else r.target
                for r in rows
                if actor in (r.source.iri, r.target.iri)
            )
            risks.append(
                Risk(
                    "concentration",
                    "medium",
                    f"{theme.label}: {who.label} ({who.region}) is in {n} of {len(rows)} candidate pairs "
                    f"({n / len(rows):.0%}); the corridor leans on one incumbent.",
                )
            )
    order = {"high": 0, "medium": 1, "low": 2}
    return sorted(risks, key=lambda r: order[r.severity])


def _unnamed(
    rows_by_theme: Mapping[str, Sequence[CandidateRow]], facts: Mapping[str, data.ActorFacts]
) -> list[Risk]:
    """A note on candidate actors the graph knows only by PIC (CORDIS participations carry no names;
    names come from graph/cordis-organisations, CORDIS's organisation export, where imported)."""
    actors = {a.iri for rows in rows_by_theme.values() for r in rows for a in (r.source, r.target)}
    unnamed = sorted(a for a in actors if a in facts and not facts[a].named)
    if not unnamed:
        return []
    return [
        Risk(
            "unnamed-actors",
            "low",
            f"{len(unnamed)} of the {len(actors)} actors in the candidate pairs have no name in the graph "
            "and are shown by PIC: the Horizon 2020 participations carry none. Import CORDIS's organisation "
            "export (boostkg import cordis-organisations organization.csv) to name them, or look a PIC up "
            "in the EU Funding & Tenders portal.",
        )
    ]


def _verdict(theme: ThemeRef, rows: Sequence[CandidateRow], network: ThemeNetwork, matching: bool) -> str:
    tied = f"{network.tied_pairs:,} source–target pairs already share a project in this theme"
    if not matching:
        return f"{tied}; no matching run was given, so no candidates are ranked."
    if not rows:
        return f"{tied}; no viable candidate was found."
    newcomers = sum(r.thin_evidence for r in rows)
    return (
        f"{len(rows)} candidate pairs ranked; {tied}. "
        f"{newcomers} of the candidates involve a newcomer with thin evidence."
    )


METHOD = (
    "Candidates are actor pairs across the corridor (one actor on the source side, one on the target side) "
    "that do not yet share a project; each is scored by the matching method, whose score is the sum of the "
    "named components shown beside it, and explained in words with the evidence behind it "
    "(shared partners, projects, themes, capabilities), every item a link to the graph.",
    "Each theme is ranked on its own: beside the network components (closure: shared partners; community; "
    "bridge: ties the target already has in the source country; theme_fit: similar programme-part "
    "profiles; helix and country fit; capacity; leadership), two components exist only within a theme. "
    "theme_focus is the geometric mean of the two actors' theme shares: the recent-project weight of each "
    "that lies in projects whose Horizon 2020 programme part maps to the theme (themes.ttl "
    "skos:broadMatch/closeMatch; an actor that declares the theme itself counts at least one half). "
    "theme_closure counts the shared partners met in the theme's own projects. Their weights were fitted, "
    "with the others, on first ties formed in 2016 projects of the three themes (learning from "
    "2014–2015), never on later years. The evidence lists each pair's latest projects in the theme.",
    "Actors, projects and themes come from the knowledge graph: Horizon 2020 participations imported from "
    "CORDIS (organisations identified by their PIC, located by country), the BOOST seed data (partners "
    "located by NUTS region, capabilities and needs, the action plan and its funding instruments) and the "
    "inferred closure (an actor's themes are those of its projects' programme parts, mapped to the BOOST "
    "themes).",
    "The coverage matrix counts distinct actors located in each place, by quadruple-helix type "
    "(academia, business, government, civil society; intermediaries apart), active in each theme. "
    "An actor may belong to two types (a cluster is business and intermediary), so rows can overlap.",
    "A newcomer has at most two projects in the graph: its candidates rest on thin evidence. "
    "Concentration is flagged when one actor is in more than 30 % of a theme's candidate pairs.",
)


def build_report(
    store: KnowledgeStore,
    request: ReportRequest,
    *,
    matches: Mapping[str, Sequence[CandidateLike]] | None = None,
    backtest: Backtest | None = None,
    parameters: Sequence[tuple[str, str]] = (),
    method: Sequence[str] = (),
    link_base: str = "",
    title: str | None = None,
    ties: data.Ties | None = None,
    coverage: Coverage | None = None,
) -> CorridorReport:
    """The report's model for ``request``; ``matches`` maps theme slugs to a matching run's candidates.

    ``ties`` (the existing source-target ties per theme slug) and ``coverage`` may come from a
    projection already in memory; otherwise they are read from the store.

    Raises:
        InputError: a side is empty or has no actors at all.
        UnknownTermError: an unknown country/NUTS code or theme.
    """
    sources = data.resolve_places(store, request.sources, "source", base=link_base)
    targets = data.resolve_places(store, request.targets, "target", base=link_base)
    themes = data.resolve_themes(store, request.themes or None, base=link_base)
    places = (*sources, *targets)
    if coverage is None or coverage.places != places or coverage.themes != themes:
        coverage = data.coverage(store, places, themes)
    for side, side_places in (("source", sources), ("target", targets)):
        if not any(coverage.count(p.code, h, data.ALL_THEMES) for p in side_places for h in coverage.helices):
            codes = ",".join(p.code for p in side_places)
            raise InputError(f"no actors are located in {codes} (the {side} side): nothing to report on")
    if matches is not None:
        unknown = set(matches) - {t.slug for t in themes}
        if unknown:
            raise InputError(f"matches given for themes outside the report: {', '.join(sorted(unknown))}")
    if ties is None or set(ties.by_theme) != {t.slug for t in themes}:
        ties = data.existing_ties(store, sources, targets, themes)

    wanted: set[str] = set()
    for cands in (matches or {}).values():
        for c in cands:
            wanted.update((c.source, c.target))
            wanted.update(i for iris in c.evidence.values() for i in iris if "/id/organisation/" in i)
    for theme in themes:
        s_hubs, t_hubs = data.hubs(ties.by_theme[theme.slug])
        wanted.update(sorted(s_hubs, key=lambda a: (-s_hubs[a], a))[:HUB_POOL])
        wanted.update(sorted(t_hubs, key=lambda a: (-t_hubs[a], a))[:HUB_POOL])
    facts = data.actor_facts(store, wanted, places)
    theme_labels = {t.iri: t.label for t in themes}

    rows_by_theme = {
        t.slug: _rows(t, (matches or {}).get(t.slug, ()), facts, theme_labels, link_base) for t in themes
    }
    networks = tuple(
        _network(t, ties.by_theme[t.slug], rows_by_theme[t.slug], facts, link_base) for t in themes
    )
    all_instruments = data.instruments(store, base=link_base)
    matching = matches is not None
    summaries = tuple(
        ThemeSummary(
            theme=t,
            top=tuple(rows_by_theme[t.slug][:TOP_PER_THEME]),
            instruments=_instruments_for(t, all_instruments),
            candidates=len(rows_by_theme[t.slug]),
            verdict=_verdict(t, rows_by_theme[t.slug], net, matching),
        )
        for t, net in zip(themes, networks, strict=True)
    )
    totals = {
        (p.code, t.slug): sum(coverage.count(p.code, h, t.slug) for h in coverage.helices)
        for p in places
        for t in themes
    }
    risks = (
        *_risks(themes, targets, sources, rows_by_theme, totals, matching),
        *_unnamed(rows_by_theme, facts),
    )
    candidates = tuple(r for t in themes for r in rows_by_theme[t.slug])
    high = sum(r.severity == "high" for r in risks)
    headline = (
        f"Corridor {request.describe()}: {len(sources)} source and {len(targets)} target places, "
        f"{len(themes)} theme{'s' if len(themes) != 1 else ''}.",
        (
            f"{len(candidates)} candidate partnerships ranked; "
            f"{sum(1 for s in summaries if s.candidates)} of {len(themes)} themes have viable candidates."
            if matching
            else "No matching run: this report shows the corridor's coverage and existing ties only."
        ),
        f"{len(risks)} gaps and risks, {high} of them high.",
    )
    return CorridorReport(
        title=title or f"Corridor report {request.describe()}",
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        source=sources,
        target=targets,
        themes=themes,
        actor_types=request.actor_types,
        headline=headline,
        summaries=summaries,
        coverage=coverage,
        candidates=candidates,
        networks=networks,
        risks=risks,
        method=tuple(method) + METHOD,
        parameters=tuple(parameters),
        data_dates=data.data_dates(store),
        provenance=data.provenance(store),
        backtest=backtest,
        matching=matching,
    )


def report_pairs(rows: Sequence[CandidateRow]) -> list[tuple[str, Sequence[tuple[str, float]]]]:
    """Chart rows for :func:`component_bars`: ``"source → target"`` and the score's components."""
    return [(f"{r.source.label} → {r.target.label}", r.components) for r in rows]


def backtest_groups(backtest: Backtest) -> list[tuple[str, list[tuple[str, float]]]]:
    """Chart groups for :func:`grouped_bars`: hits@10 and MRR of every method."""
    return [
        ("hits@10", [(r.method, r.hits_at_10) for r in backtest.rows]),
        ("MRR", [(r.method, r.mrr) for r in backtest.rows]),
    ]


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("boostkg.reports"), autoescape=select_autoescape())
    env.globals.update(
        network_svg=corridor_svg,
        component_bars=component_bars,
        grouped_bars=grouped_bars,
        report_pairs=report_pairs,
        backtest_groups=backtest_groups,
        theme_base=str(THEME),
    )
    return env


def render_html(report: CorridorReport) -> str:
    """The report as one self-contained HTML page."""
    return _environment().get_template("corridor-report.html.j2").render(report=report)


def write_report(report: CorridorReport, out_dir: Path) -> tuple[Path, Path]:
    """Write ``report.html`` and ``report.json`` into ``out_dir``; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in (
        ("report.html", render_html(report)),
        ("report.json", json.dumps(report.to_json(), indent=2, ensure_ascii=False)),
    ):
        path = out_dir / name
        tmp = path.with_name(name + ".part")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        written.append(path)
    return written[0], written[1]
