"""What the corridor report reads from the store, as plain values: places, themes, coverage, ties,
actor facts, funding instruments, provenance and data dates.

Every function runs a bounded number of SPARQL queries and converts the terms to strings and
numbers here, so the rest of the report never sees an RDF term.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from boostkg.errors import InputError, UnknownTermError
from boostkg.namespaces import BASE, ICF, META_GRAPH, THEME, sparql_prologue
from boostkg.reports.corridor_model import (
    Coverage,
    CoverageCell,
    DataDates,
    Instrument,
    Place,
    ProvenanceRow,
    Side,
    ThemeRef,
)
from boostkg.store.base import KnowledgeStore, Term

PREFIXES = sparql_prologue(("icf", "rdf", "rdfs", "skos", "prov", "dcterms"))

HELICES: tuple[tuple[str, str], ...] = (
    (str(ICF.AcademicActor), "Academia"),
    (str(ICF.BusinessActor), "Business"),
    (str(ICF.PublicAuthority), "Government"),
    (str(ICF.CivilSocietyOrganisation), "Civil society"),
    (str(ICF.Intermediary), "Intermediary"),
)
"""The quadruple helix (and intermediaries), in the order the report shows them."""
UNCLASSIFIED = "Unclassified"
"""Actors of no helix class (CORDIS activity type OTH)."""
HELIX_LABELS = (*(label for _, label in HELICES), UNCLASSIFIED)
ALL_THEMES = "all"
TOP_THEME_ORDER = ("industry-cleantech-green", "health-wellbeing", "ict-digital")
"""The BOOST themes in the project's own order."""
_CODE = re.compile(r"[A-Z]{2}[A-Z0-9]{0,3}")
_SLUG = re.compile(r"[a-z0-9-]+(/[A-Za-z0-9-]+)?")


def link_url(iri: str, base: str) -> str:
    """The URL a reader opens for ``iri``: the project's own IRIs on ``base`` (the app), others as is.

    >>> link_url("https://w3id.org/boostkg/id/organisation/tit", "http://127.0.0.1:8000")
    'http://127.0.0.1:8000/id/organisation/tit'
    >>> link_url("https://w3id.org/boostkg/id/corridor/boost", "")
    '/id/corridor/boost'
    >>> link_url("http://data.europa.eu/nuts/code/RO11", "")
    'http://data.europa.eu/nuts/code/RO11'
    """
    if iri.startswith(BASE):
        return f"{base.rstrip('/')}/{iri[len(BASE) :]}"
    return iri


def _text(term: Term | None) -> str:
    return "" if term is None else str(term)


def _int(term: Term | None) -> int:
    return int(str(term)) if term is not None else 0


def _values(variable: str, iris: Iterable[str]) -> str:
    return f"VALUES ?{variable} {{ {' '.join(f'<{iri}>' for iri in iris)} }}"


def resolve_places(
    store: KnowledgeStore, codes: Sequence[str], side: Side, *, base: str
) -> tuple[Place, ...]:
    """The places named by ``codes``: two letters are a country (EU code: EL, UK), longer codes a
    NUTS region.

    Raises:
        InputError: the side is empty or a code is malformed.
        UnknownTermError: a code names no country or NUTS region in the graph.
    """
    wanted = [code.strip().upper() for code in codes if code.strip()]
    if not wanted:
        raise InputError(
            f"the {side} side of the corridor is empty: give countries or NUTS codes, e.g. DK,EE"
        )
    for code in wanted:
        if not _CODE.fullmatch(code):
            raise InputError(f"{code!r} ({side} side) is not a country or NUTS code")
    rows = store.select(
        PREFIXES
        + f"""SELECT ?code ?place (SAMPLE(?l) AS ?label) WHERE {{
  VALUES ?code {{ {" ".join(f'"{c}"' for c in wanted)} }}
  {{ ?place a icf:Country ; icf:countryCode ?code . FILTER(STRLEN(?code) = 2) }}
  UNION {{ ?place a icf:NUTSRegion ; icf:nutsCode ?code . FILTER(STRLEN(?code) > 2) }}
  OPTIONAL {{ ?place rdfs:label|skos:prefLabel ?l }}
}} GROUP BY ?code ?place"""
    )
    found = {_text(r.get("code")): r for r in rows}
    missing = [code for code in wanted if code not in found]
    if missing:
        raise UnknownTermError(
            f"unknown {'code' if len(missing) == 1 else 'codes'} on the {side} side: {', '.join(missing)} "
            "(use EU country codes such as DK, EL, or NUTS 2024 codes such as DK03)"
        )
    places = []
    for code in dict.fromkeys(wanted):
        row = found[code]
        iri = _text(row.get("place"))
        places.append(Place(code, _text(row.get("label")) or code, side, iri, link_url(iri, base)))
    return tuple(places)


def resolve_themes(store: KnowledgeStore, slugs: Sequence[str] | None, *, base: str) -> tuple[ThemeRef, ...]:
    """The themes named by ``slugs`` (``theme/<slug>`` or a full IRI); all top themes when ``None``.

    Raises:
        UnknownTermError: a slug names no concept of the BOOST theme scheme.
    """
    rows = store.select(
        PREFIXES
        + f"""SELECT ?theme (SAMPLE(?l) AS ?label) (SAMPLE(?top) AS ?isTop) WHERE {{
  ?theme skos:inScheme <{THEME.scheme}> .
  OPTIONAL {{ ?theme skos:prefLabel ?l }}
  BIND(EXISTS {{ ?theme skos:topConceptOf <{THEME.scheme}> }} AS ?top)
}} GROUP BY ?theme ORDER BY ?theme"""
    )
    known: dict[str, ThemeRef] = {}
    tops: list[str] = []
    for row in rows:
        iri = _text(row.get("theme"))
        slug = iri[len(str(THEME)) :]
        known[slug] = ThemeRef(slug, _text(row.get("label")) or slug, iri, link_url(iri, base))
        if _text(row.get("isTop")) == "true":
            tops.append(slug)
    if not slugs:
        order = {slug: i for i, slug in enumerate(TOP_THEME_ORDER)}
        return tuple(known[s] for s in sorted(tops, key=lambda s: (order.get(s, len(order)), s)))
    themes = []
    for given in slugs:
        slug = given.strip()
        slug = slug[len(str(THEME)) :] if slug.startswith(str(THEME)) else slug
        if not _SLUG.fullmatch(slug) or slug not in known:
            raise UnknownTermError(
                f"unknown theme {given!r}; use one of {', '.join(sorted(tops))} (or a narrower theme's slug)"
            )
        themes.append(known[slug])
    return tuple(dict.fromkeys(themes))


def _theme_path(theme_var: str) -> str:
    """A property path from a collaboration to its themes (explicit or via its programme part)."""
    return f"(icf:hasTheme|icf:programmePart/(skos:broadMatch|skos:closeMatch))/skos:broader* ?{theme_var}"


def coverage(store: KnowledgeStore, places: Sequence[Place], themes: Sequence[ThemeRef]) -> Coverage:
    """Actors per place × helix × theme (and for any theme), from ``icf:locatedIn`` and ``icf:hasTheme``."""
    place_values = " ".join(f'("{p.code}" <{p.iri}>)' for p in places)
    helix_values = " ".join(f"<{iri}>" for iri, _ in HELICES)
    theme_values = " ".join(f"<{t.iri}>" for t in themes)
    rows = store.select(
        PREFIXES
        + f"""SELECT ?code ?actor (GROUP_CONCAT(DISTINCT COALESCE(STR(?h), "")) AS ?helices)
       (GROUP_CONCAT(DISTINCT COALESCE(STR(?theme), "")) AS ?themes) WHERE {{
  VALUES (?code ?place) {{ {place_values} }}
  ?actor icf:locatedIn ?place ; a icf:Actor .
  OPTIONAL {{ VALUES ?h {{ {helix_values} }} ?actor a ?h }}
  OPTIONAL {{ VALUES ?theme {{ {theme_values} }} ?actor icf:hasTheme ?theme }}
}} GROUP BY ?code ?actor"""
    )
    helix_label = dict(HELICES)
    slug = {t.iri: t.slug for t in themes}
    counts: Counter[tuple[str, str, str]] = Counter()
    for r in rows:
        code = _text(r.get("code"))
        helices = [helix_label[h] for h in _text(r.get("helices")).split() if h in helix_label] or [
            UNCLASSIFIED
        ]
        active = [ALL_THEMES] + [slug[t] for t in _text(r.get("themes")).split() if t in slug]
        counts.update((code, helix, theme) for helix in helices for theme in active)
    cells = tuple(CoverageCell(code, helix, theme, n) for (code, helix, theme), n in sorted(counts.items()))
    return Coverage(places=tuple(places), helices=HELIX_LABELS, themes=tuple(themes), cells=cells)


@dataclass(frozen=True)
class Ties:
    """Source-target pairs that already share projects, per theme slug: (source, target) -> projects."""

    by_theme: dict[str, dict[tuple[str, str], int]]


def existing_ties(
    store: KnowledgeStore, source: Sequence[Place], target: Sequence[Place], themes: Sequence[ThemeRef]
) -> Ties:
    """Every source-side actor paired with every target-side actor it shares a project with, per theme."""
    rows = store.select(
        PREFIXES
        + f"""SELECT ?theme ?s ?t (COUNT(DISTINCT ?p) AS ?n) WHERE {{
  {_values("sp", (p.iri for p in source))}
  {_values("tp", (p.iri for p in target))}
  {_values("theme", (t.iri for t in themes))}
  ?s icf:locatedIn ?sp ; icf:participatesIn ?p .
  ?p {_theme_path("theme")} .
  ?t icf:participatesIn ?p ; icf:locatedIn ?tp .
  FILTER(?s != ?t)
}} GROUP BY ?theme ?s ?t"""
    )
    slug = {t.iri: t.slug for t in themes}
    by_theme: dict[str, dict[tuple[str, str], int]] = {t.slug: {} for t in themes}
    for r in rows:
        by_theme[slug[_text(r.get("theme"))]][(_text(r.get("s")), _text(r.get("t")))] = _int(r.get("n"))
    return Ties(by_theme)


@dataclass(frozen=True)
class ActorFacts:
    """What the report needs to say about an actor."""

    label: str
    identifier: str
    place: str
    helix: str
    projects: int
    named: bool = True
    """Whether the graph gives the actor a name (rdfs:label or acronym), not just a PIC."""


def actor_facts(store: KnowledgeStore, iris: Iterable[str], places: Sequence[Place]) -> dict[str, ActorFacts]:
    """Label, PIC, corridor place code, helix and number of projects of each actor in ``iris``."""
    wanted = sorted(set(iris))
    if not wanted:
        return {}
    rows = store.select(
        PREFIXES
        + f"""SELECT ?a (SAMPLE(?l) AS ?label) (SAMPLE(?pic) AS ?id) (SAMPLE(?acr) AS ?acronym)
       (GROUP_CONCAT(DISTINCT COALESCE(STR(?type), ""); separator=" ") AS ?types)
       (GROUP_CONCAT(DISTINCT COALESCE(STR(?loc), ""); separator=" ") AS ?places)
       (SUM(COALESCE(?n, 0)) AS ?projects) WHERE {{
  {_values("a", wanted)}
  {{ ?a rdfs:label ?l }} UNION {{ ?a icf:pic ?pic }} UNION {{ ?a icf:acronym ?acr }}
  UNION {{ ?a a ?type }} UNION {{ ?a icf:locatedIn ?loc }}
  UNION {{ SELECT ?a (COUNT(DISTINCT ?p) AS ?n)
           WHERE {{ {_values("a", wanted)} ?a icf:participatesIn ?p }} GROUP BY ?a }}
}} GROUP BY ?a"""
    )
    by_iri = {p.iri: p.code for p in places}
    facts: dict[str, ActorFacts] = {}
    for r in rows:
        iri = _text(r.get("a"))
        types = set(_text(r.get("types")).split())
        located = _text(r.get("places")).split()
        place = next((by_iri[x] for x in located if x in by_iri), "")
        helix = next((label for cls, label in HELICES if cls in types), UNCLASSIFIED)
        pic = _text(r.get("id"))
        label = _text(r.get("label")) or _text(r.get("acronym"))
        named = bool(label)
        if not label:
            label = f"PIC {pic} ({helix.lower()})" if pic else iri.rsplit("/", 1)[-1]
        facts[iri] = ActorFacts(label, pic, place, helix, _int(r.get("projects")), named)
    return facts


def actors_per_side(store: KnowledgeStore, places: Sequence[Place]) -> int:
    """How many actors are located in any of ``places``."""
    rows = store.select(
        PREFIXES
        + f"""SELECT (COUNT(DISTINCT ?a) AS ?n) WHERE {{
  {_values("place", (p.iri for p in places))}
  ?a icf:locatedIn ?place ; a icf:Actor .
}}"""
    )
    return _int(rows[0].get("n")) if len(rows) else 0


def instruments(store: KnowledgeStore, *, base: str) -> tuple[Instrument, ...]:
    """The funding instruments of every action plan's actions, with those actions' themes."""
    rows = store.select(
        PREFIXES
        + """SELECT ?instrument (SAMPLE(?il) AS ?label) (SAMPLE(?pl) AS ?programme)
       (GROUP_CONCAT(DISTINCT COALESCE(STR(?theme), ""); separator=" ") AS ?themes)
       (GROUP_CONCAT(DISTINCT COALESCE(?al, ""); separator="|") AS ?actions) WHERE {
  ?plan a icf:ActionPlan ; icf:hasObjective/icf:hasAction ?action .
  ?action icf:fundedBy ?instrument .
  OPTIONAL { ?action rdfs:label ?al }
  OPTIONAL { ?action icf:hasTheme/skos:broader* ?theme }
  OPTIONAL { ?instrument rdfs:label ?il }
  OPTIONAL { ?instrument icf:instrumentOf/rdfs:label ?pl }
} GROUP BY ?instrument ORDER BY ?label"""
    )
    result = []
    for r in rows:
        iri = _text(r.get("instrument"))
        themes = tuple(
            sorted(t[len(str(THEME)) :] for t in _text(r.get("themes")).split() if t.startswith(str(THEME)))
        )
        actions = tuple(a for a in _text(r.get("actions")).split("|") if a)
        result.append(
            Instrument(
                label=_text(r.get("label")) or iri.rsplit("/", 1)[-1],
                iri=iri,
                url=link_url(iri, base),
                programme=_text(r.get("programme")),
                themes=themes,
                actions=actions,
            )
        )
    return tuple(result)


def provenance(store: KnowledgeStore) -> tuple[ProvenanceRow, ...]:
    """The load record of each named graph (graph/meta), newest per graph."""
    rows = store.select(
        PREFIXES
        + f"""SELECT ?graph (SAMPLE(?src) AS ?source) (MAX(?at) AS ?loadedAt) (SAMPLE(?n) AS ?triples)
WHERE {{
  GRAPH <{META_GRAPH}> {{
    ?graph prov:wasGeneratedBy ?load .
    ?load prov:endedAtTime ?at .
    OPTIONAL {{ ?load icf:tripleCount ?n }}
    OPTIONAL {{ ?load prov:used/dcterms:source ?src }}
  }}
}} GROUP BY ?graph ORDER BY ?graph"""
    )
    return tuple(
        ProvenanceRow(
            graph=_text(r.get("graph")),
            source=_text(r.get("source")),
            loaded_at=_text(r.get("loadedAt"))[:19].replace("T", " "),
            triples=_int(r.get("triples")),
        )
        for r in rows
    )


def data_dates(store: KnowledgeStore) -> DataDates:
    """First and last start date of the CORDIS projects (those with a record number) and their count."""
    rows = store.select(
        PREFIXES
        + """SELECT (MIN(?d) AS ?first) (MAX(?d) AS ?last) (COUNT(?p) AS ?n) WHERE {
  ?p a icf:Project ; icf:rcn ?rcn ; icf:startDate ?d .
}"""
    )
    row = rows[0] if len(rows) else {}
    return DataDates(_text(row.get("first")), _text(row.get("last")), _int(row.get("n")))


def hubs(ties: dict[tuple[str, str], int]) -> tuple[dict[str, int], dict[str, int]]:
    """Distinct cross-corridor partners of each source actor and of each target actor.

    >>> hubs({("a", "x"): 2, ("a", "y"): 1, ("b", "x"): 1})
    ({'a': 2, 'b': 1}, {'x': 2, 'y': 1})
    """
    source: dict[str, int] = defaultdict(int)
    target: dict[str, int] = defaultdict(int)
    for s, t in ties:
        source[s] += 1
        target[t] += 1
    return dict(source), dict(target)
