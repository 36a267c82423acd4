"""The store as a bipartite actor–project structure: the only module that knows both RDF and matrices.

A handful of SPARQL SELECTs (written as CSV by the store, which is several times faster than
building rdflib terms for ~100k rows) become a :class:`Projection`: integer-indexed actors and
projects, a sparse actor × project incidence matrix with coordinator flags, each project's start
year, programme parts and themes, and each actor's identifier, label, country, region and helix
kind. Everything downstream (methods, matching, back-test) is pure NumPy/SciPy over it.

It reads the materialised shortcuts ``icf:participatesIn`` and ``icf:coordinates`` (ontology rules
06 and 07), so the store must have been through ``boostkg infer`` (``boostkg main`` does it).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from boostkg.namespaces import ICF, THEME, graph_iri, sparql_prologue
from boostkg.store import KnowledgeStore, RdfFormat, ResultFormat

HELIX_KINDS: tuple[str, ...] = (
    "university",
    "research",
    "intermediary",
    "public",
    "civil-society",
    "business",
    "other",
)
"""Quadruple-helix kinds (plus intermediaries), in the order a kind is chosen from an actor's types."""

_KIND_OF_CLASS: dict[str, str] = {
    "University": "university",
    "AcademicActor": "research",
    "ResearchOrganisation": "research",
    "Intermediary": "intermediary",
    "Cluster": "intermediary",
    "SciencePark": "intermediary",
    "InnovationAgency": "intermediary",
    "PublicAuthority": "public",
    "Municipality": "public",
    "RegionalDevelopmentAgency": "public",
    "Ministry": "public",
    "CivilSocietyOrganisation": "civil-society",
    "NGO": "civil-society",
    "Association": "civil-society",
    "BusinessActor": "business",
    "SME": "business",
    "LargeEnterprise": "business",
    "StartUp": "business",
}
ACTOR_TYPES: frozenset[str] = frozenset([*_KIND_OF_CLASS, "Actor"])
"""ICF actor classes an ``--actor-type`` filter may name (local names)."""

_ICF = str(ICF._NS)
GRAPH_INFERRED = str(graph_iri("inferred"))
_PREFIXES = sparql_prologue(("icf", "rdfs", "skos"))
Q_PARTICIPATES = _PREFIXES + "SELECT ?a ?p WHERE { ?a icf:participatesIn ?p }"
Q_COORDINATES = _PREFIXES + "SELECT ?a ?p WHERE { ?a icf:coordinates ?p }"
Q_PROJECTS = _PREFIXES + (
    "SELECT ?p ?start ?part WHERE { ?p a icf:Project . "
    "OPTIONAL { ?p icf:startDate ?start } OPTIONAL { ?p icf:programmePart ?part } }"
)
Q_PROJECT_THEMES = _PREFIXES + (
    f"SELECT ?p ?t WHERE {{ ?p a icf:Project ; icf:hasTheme ?t . FILTER(STRSTARTS(STR(?t), '{THEME}')) }}"
)
Q_ACTOR_CLASSES = (
    _PREFIXES
    + sparql_prologue(("owl", "rdf"))
    + "SELECT DISTINCT ?c WHERE { { ?c rdfs:subClassOf* icf:Actor } UNION "
    "{ ?c owl:equivalentClass/owl:intersectionOf/rdf:rest*/rdf:first icf:Actor } }"
)
"""The ontology's classes of actors (icf:Actor, its subclasses, and classes defined as actors that ...)."""
Q_ACTOR_TYPES = _PREFIXES + "SELECT ?a ?t WHERE {{ VALUES ?t {{ {classes} }} ?a a ?t }}"
"""Actors and their ICF classes: one index lookup per class rather than a join over every type."""
Q_PICS = _PREFIXES + "SELECT ?a ?pic WHERE { ?a icf:pic ?pic }"
Q_LABELS = _PREFIXES + "SELECT ?a ?label WHERE { ?a rdfs:label ?label }"
Q_COUNTRIES = _PREFIXES + "SELECT ?a ?c WHERE { ?a icf:inCountry ?c }"
Q_REGIONS = _PREFIXES + "SELECT ?a ?r WHERE { ?a icf:inRegion ?r }"
Q_CODES = _PREFIXES + "SELECT ?x ?code WHERE { { ?x icf:countryCode ?code } UNION { ?x icf:nutsCode ?code } }"
Q_THEMES = _PREFIXES + (
    f"SELECT ?t ?label WHERE {{ ?t a skos:Concept . OPTIONAL {{ ?t skos:prefLabel ?label }} "
    f"FILTER(STRSTARTS(STR(?t), '{THEME}')) }}"
)
Q_DECLARED_THEMES = _PREFIXES + (
    "SELECT DISTINCT ?a ?t WHERE { GRAPH ?g { ?a icf:hasTheme ?t } "
    f"FILTER(?g != <{GRAPH_INFERRED}> && STRSTARTS(STR(?t), '{THEME}')) }}"
)
"""Themes stated outside graph/inferred (seed data, submissions), not those inferred from projects;
subjects that are not actors are dropped in :func:`build_projection`."""
Q_CAPABILITIES = _PREFIXES + (
    "SELECT ?a ?kind ?c ?t WHERE { { ?a icf:hasCapability ?c BIND('capability' AS ?kind) } UNION "
    "{ ?a icf:hasNeed ?c BIND('need' AS ?kind) } OPTIONAL { ?c icf:hasTheme ?t } }"
)


@dataclass(frozen=True)
class Statement:
    """A capability or need an actor states (seed data, submissions), with its themes."""

    iri: str
    kind: str  # "capability" | "need"
    themes: frozenset[str]


@dataclass(frozen=True)
class Projection:
    """Actors × projects as integer-indexed arrays and sparse matrices (see the module docstring).

    ``incidence[a, p]`` is 1 when actor ``a`` takes part in project ``p``; ``coordination[a, p]``
    is 1 when it coordinates it. ``project_years[p]`` is 0 when the start date is unknown.
    """

    actors: tuple[str, ...]
    identifiers: tuple[str, ...]
    labels: tuple[str, ...]
    countries: tuple[str, ...]
    regions: tuple[str, ...]
    kinds: npt.NDArray[np.int8]
    actor_types: tuple[frozenset[str], ...]
    projects: tuple[str, ...]
    project_years: npt.NDArray[np.int16]
    incidence: sp.csr_matrix
    coordination: sp.csr_matrix
    parts: tuple[str, ...]
    project_parts: sp.csr_matrix
    themes: tuple[str, ...]
    project_themes: sp.csr_matrix
    known_codes: frozenset[str] = frozenset()
    theme_labels: dict[str, str] = field(default_factory=dict)
    statements: dict[str, tuple[Statement, ...]] = field(default_factory=dict)
    declared_themes: dict[str, frozenset[str]] = field(default_factory=dict)

    @property
    def n_actors(self) -> int:
        return len(self.actors)

    @property
    def n_projects(self) -> int:
        return len(self.projects)

    def actor_index(self) -> dict[str, int]:
        """IRI → row index."""
        return {iri: i for i, iri in enumerate(self.actors)}

    def sample_projects(self, fraction: float, *, seed: int = 0) -> Projection:
        """The same actors with a random ``fraction`` of the projects (for scaling benchmarks).

        >>> p = build_projection([("a", "p1"), ("b", "p1"), ("a", "p2")], {"p1": 2015, "p2": 2016})
        >>> p.sample_projects(0.5).n_projects
        1
        """
        rng = np.random.default_rng(seed)
        keep = np.sort(
            rng.choice(self.n_projects, size=max(1, round(fraction * self.n_projects)), replace=False)
        )
        return Projection(
            actors=self.actors,
            identifiers=self.identifiers,
            labels=self.labels,
            countries=self.countries,
            regions=self.regions,
            kinds=self.kinds,
            actor_types=self.actor_types,
            projects=tuple(self.projects[i] for i in keep),
            project_years=self.project_years[keep],
            incidence=sp.csr_matrix(self.incidence[:, keep]),
            coordination=sp.csr_matrix(self.coordination[:, keep]),
            parts=self.parts,
            project_parts=sp.csr_matrix(self.project_parts[keep]),
            themes=self.themes,
            project_themes=sp.csr_matrix(self.project_themes[keep]),
            known_codes=self.known_codes,
            theme_labels=self.theme_labels,
            statements=self.statements,
            declared_themes=self.declared_themes,
        )


def helix_kind(types: Iterable[str]) -> str:
    """The helix kind of an actor from the local names of its ICF classes.

    >>> helix_kind(["Actor", "BusinessActor", "Cluster"])
    'intermediary'
    >>> helix_kind(["Actor"])
    'other'
    """
    found = {_KIND_OF_CLASS[t] for t in types if t in _KIND_OF_CLASS}
    return next((k for k in HELIX_KINDS if k in found), "other")


def _index(values: Iterable[str]) -> dict[str, int]:
    index: dict[str, int] = {}
    for v in values:
        if v not in index:
            index[v] = len(index)
    return index


def _matrix(pairs: Iterable[tuple[int, int]], shape: tuple[int, int]) -> sp.csr_matrix:
    unique = sorted(set(pairs))
    rows = np.fromiter((r for r, _ in unique), dtype=np.int32, count=len(unique))
    cols = np.fromiter((c for _, c in unique), dtype=np.int32, count=len(unique))
    return sp.csr_matrix((np.ones(len(unique), dtype=np.float64), (rows, cols)), shape=shape)


def build_projection(
    participations: Sequence[tuple[str, str]],
    project_years: dict[str, int],
    *,
    coordinations: Iterable[tuple[str, str]] = (),
    project_parts: Iterable[tuple[str, str]] = (),
    project_themes: Iterable[tuple[str, str]] = (),
    actor_info: dict[str, tuple[str, str, str, str]] | None = None,
    actor_types: dict[str, set[str]] | None = None,
    known_codes: Iterable[str] = (),
    theme_labels: dict[str, str] | None = None,
    statements: dict[str, tuple[Statement, ...]] | None = None,
    declared_themes: dict[str, frozenset[str]] | None = None,
) -> Projection:
    """A :class:`Projection` from plain rows (the pure half of :func:`project`).

    ``actor_info`` maps an actor IRI to (identifier, label, country code, NUTS code); actors
    that take part in nothing are kept when listed there.

    >>> p = build_projection(
    ...     [("a", "p1"), ("b", "p1"), ("b", "p2"), ("c", "p2")],
    ...     {"p1": 2015, "p2": 2017},
    ...     actor_info={"a": ("1", "A", "DK", "DK03"), "d": ("4", "D", "RO", "")},
    ... )
    >>> p.actors, p.n_projects, p.incidence.sum()
    (('a', 'b', 'c', 'd'), 2, np.float64(4.0))
    >>> p.countries
    ('DK', '', '', 'RO')
    """
    info = actor_info or {}
    types = actor_types or {}
    actor_ix = _index([*(a for a, _ in participations), *info])
    project_ix = _index([*project_years, *(p for _, p in participations)])
    part_rows = [(p, part) for p, part in project_parts if p in project_ix]
    theme_rows = [(p, t) for p, t in project_themes if p in project_ix]
    part_ix = _index(sorted({part for _, part in part_rows}))
    theme_ix = _index(sorted({t for _, t in theme_rows}))
    n_a, n_p = len(actor_ix), len(project_ix)
    actors = tuple(actor_ix)
    return Projection(
        actors=actors,
        identifiers=tuple(info.get(a, ("", "", "", ""))[0] for a in actors),
        labels=tuple(info.get(a, ("", "", "", ""))[1] for a in actors),
        countries=tuple(info.get(a, ("", "", "", ""))[2] for a in actors),
        regions=tuple(info.get(a, ("", "", "", ""))[3] for a in actors),
        kinds=np.array([HELIX_KINDS.index(helix_kind(types.get(a, ()))) for a in actors], dtype=np.int8),
        actor_types=tuple(frozenset(types.get(a, ())) for a in actors),
        projects=tuple(project_ix),
        project_years=np.array([project_years.get(p, 0) for p in project_ix], dtype=np.int16),
        incidence=_matrix(((actor_ix[a], project_ix[p]) for a, p in participations), (n_a, n_p)),
        coordination=_matrix(
            ((actor_ix[a], project_ix[p]) for a, p in coordinations if a in actor_ix and p in project_ix),
            (n_a, n_p),
        ),
        parts=tuple(part_ix),
        project_parts=_matrix(((project_ix[p], part_ix[x]) for p, x in part_rows), (n_p, len(part_ix))),
        themes=tuple(theme_ix),
        project_themes=_matrix(((project_ix[p], theme_ix[t]) for p, t in theme_rows), (n_p, len(theme_ix))),
        known_codes=frozenset(known_codes),
        theme_labels=dict(theme_labels or {}),
        statements=dict(statements or {}),
        declared_themes={a: ts for a, ts in (declared_themes or {}).items() if a in actor_ix},
    )


def _rows(store: KnowledgeStore, query: str) -> list[list[str]]:
    """A SELECT's rows as lists of strings ('' where unbound), without the header.

    CSV quotes a field only when it holds a comma, a quote or a line break, so a result without
    any ``"`` is split on commas directly (several times faster than the csv module)."""
    buffer = io.BytesIO()
    store.query_to(query, buffer, result_format=ResultFormat.CSV, rdf_format=RdfFormat.NTRIPLES)
    text = buffer.getvalue().decode("utf-8")
    if '"' not in text:
        return [line.split(",") for line in text.split("\r\n")[1:] if line]
    return list(csv.reader(io.StringIO(text)))[1:]


def project(store: KnowledgeStore) -> Projection:
    """Read the collaboration network out of ``store`` (about 2 s of CPU for the whole CORDIS graph).

    Each query is a single triple pattern or a small union, answered from one index scan; the
    joins (actor → country code, actor → region code) are done here on plain strings. Two
    threads overlap the store's query evaluation (which runs without the GIL) with the parsing.

    Raises:
        QueryError: a query fails.
    """
    classes = " ".join(f"<{c}>" for (c,) in _rows(store, Q_ACTOR_CLASSES))
    queries = {
        "participates": Q_PARTICIPATES,
        "coordinates": Q_COORDINATES,
        "projects": Q_PROJECTS,
        "themes": Q_PROJECT_THEMES,
        "types": Q_ACTOR_TYPES.format(classes=classes or f"<{_ICF}Actor>"),
        "pics": Q_PICS,
        "labels": Q_LABELS,
        "countries": Q_COUNTRIES,
        "regions": Q_REGIONS,
        "codes": Q_CODES,
        "theme_labels": Q_THEMES,
        "capabilities": Q_CAPABILITIES,
        "declared": Q_DECLARED_THEMES,
    }
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(_rows, store, query) for name, query in queries.items()}
        rows = {name: future.result() for name, future in futures.items()}
    participations = [(a, p) for a, p in rows["participates"]]
    coordinations = [(a, p) for a, p in rows["coordinates"]]
    years: dict[str, int] = {}
    parts: list[tuple[str, str]] = []
    for p, start, part in rows["projects"]:
        if p not in years or not years[p]:
            years[p] = int(start[:4]) if start[:4].isdigit() else 0
        if part:
            parts.append((p, part))
    themes = [(p, t) for p, t in rows["themes"]]
    types: dict[str, set[str]] = {}
    for a, t in rows["types"]:
        types.setdefault(a, set()).add(t[len(_ICF) :])
    code_of = {row[0]: row[1] for row in rows["codes"]}
    pic_of = {a: pic for a, pic in reversed(rows["pics"]) if a in types}
    label_of = {a: label for a, label in reversed(rows["labels"]) if a in types}
    country_of = {a: code_of.get(c, "") for a, c in reversed(rows["countries"]) if a in types}
    region_of: dict[str, str] = {}
    for a, r in rows["regions"]:
        code = code_of.get(r, "")
        if a in types and len(code) > len(region_of.get(a, "")):
            region_of[a] = code
    info = {
        a: (pic_of.get(a, ""), label_of.get(a, ""), country_of.get(a, ""), region_of.get(a, ""))
        for a in types
        if "Actor" in types[a]
    }
    theme_labels: dict[str, str] = {}
    for t, label in rows["theme_labels"]:
        theme_labels.setdefault(t, label)
    by_statement: dict[tuple[str, str, str], set[str]] = {}
    for a, kind, c, t in rows["capabilities"]:
        by_statement.setdefault((a, kind, c), set()).update([t] if t else [])
    statements: dict[str, list[Statement]] = {}
    for (a, kind, c), ts in sorted(by_statement.items()):
        statements.setdefault(a, []).append(Statement(c, kind, frozenset(ts)))
    declared: dict[str, set[str]] = {}
    for a, t in rows["declared"]:
        declared.setdefault(a, set()).add(t)
    return build_projection(
        participations,
        years,
        coordinations=coordinations,
        project_parts=parts,
        project_themes=themes,
        actor_info=info,
        actor_types={a: ts for a, ts in types.items() if a in info},
        known_codes=code_of.values(),
        theme_labels=theme_labels,
        statements={a: tuple(s) for a, s in statements.items()},
        declared_themes={a: frozenset(ts) for a, ts in declared.items()},
    )
