"""The corridor report's model: plain, frozen dataclasses of strings and numbers (no RDF terms).

The builder (:mod:`boostkg.reports.corridor_report`) fills it from the store and the matching
results; the HTML template and the JSON export read only this.

>>> place = Place(code="RO", label="Romania", side="target", iri="x", url="x")
>>> coverage = Coverage(
...     places=(place,), helices=("Business",), themes=(),
...     cells=(CoverageCell(region="RO", helix="Business", theme="all", actors=4),),
... )
>>> coverage.count("RO", "Business", "all"), coverage.count("RO", "Academic", "all")
(4, 0)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

Side = Literal["source", "target"]


@dataclass(frozen=True)
class Link:
    """Something a reader can follow: its label, its IRI and the URL to open (a local /id/ page)."""

    label: str
    iri: str
    url: str


@dataclass(frozen=True)
class Place:
    """A country or NUTS region named on one side of the corridor."""

    code: str
    label: str
    side: Side
    iri: str
    url: str


@dataclass(frozen=True)
class ThemeRef:
    """A BOOST theme (SKOS concept) by slug, label and IRI."""

    slug: str
    label: str
    iri: str
    url: str


@dataclass(frozen=True)
class ActorRef:
    """One actor as the report shows it: who, where, which helix, how much history it has."""

    iri: str
    url: str
    identifier: str
    label: str
    region: str
    helix: str
    projects: int


@dataclass(frozen=True)
class Evidence:
    """One kind of evidence behind a candidate (shared partners, projects, themes, capabilities)."""

    kind: str
    links: tuple[Link, ...]


@dataclass(frozen=True)
class CandidateRow:
    """A ranked candidate partnership within one theme, with its score broken down and explained."""

    rank: int
    theme: str
    source: ActorRef
    target: ActorRef
    score: float
    components: tuple[tuple[str, float], ...]
    explanation: str
    evidence: tuple[Evidence, ...]
    thin_evidence: bool


@dataclass(frozen=True)
class CoverageCell:
    """How many actors of one helix in one place are active in one theme (``theme="all"``: any)."""

    region: str
    helix: str
    theme: str
    actors: int


@dataclass(frozen=True)
class Coverage:
    """The coverage matrix: place × quadruple-helix actor type × theme, with actor counts."""

    places: tuple[Place, ...]
    helices: tuple[str, ...]
    themes: tuple[ThemeRef, ...]
    cells: tuple[CoverageCell, ...]
    _index: dict[tuple[str, str, str], int] = field(default_factory=dict, compare=False, repr=False)

    def count(self, region: str, helix: str, theme: str) -> int:
        """Actors in ``region`` of ``helix`` active in ``theme`` (0 when none)."""
        if not self._index and self.cells:
            self._index.update({(c.region, c.helix, c.theme): c.actors for c in self.cells})
        return self._index.get((region, helix, theme), 0)

    def total(self, region: str, theme: str) -> int:
        """Actors of every helix in ``region`` and ``theme`` (helices may overlap: an upper bound)."""
        return sum(self.count(region, helix, theme) for helix in self.helices)


@dataclass(frozen=True)
class NetworkNode:
    """An actor drawn in a theme's corridor picture."""

    iri: str
    label: str
    side: Side
    region: str
    projects: int
    url: str


@dataclass(frozen=True)
class NetworkEdge:
    """A tie in the picture: an existing one (shared projects) or a candidate one (its score)."""

    source: str
    target: str
    kind: Literal["existing", "candidate"]
    weight: float


@dataclass(frozen=True)
class ThemeNetwork:
    """The corridor of one theme: actors on both sides, existing ties and candidate ties."""

    theme: ThemeRef
    nodes: tuple[NetworkNode, ...]
    edges: tuple[NetworkEdge, ...]
    tied_pairs: int
    """Source-target pairs of the whole corridor that already share a project in this theme."""
    source_actors: int
    target_actors: int


@dataclass(frozen=True)
class Instrument:
    """A funding instrument of the action plan and the themes of the actions it funds."""

    label: str
    iri: str
    url: str
    programme: str
    themes: tuple[str, ...]
    actions: tuple[str, ...]


@dataclass(frozen=True)
class ThemeSummary:
    """The executive summary for one theme: best pairs, what could fund them, and a verdict."""

    theme: ThemeRef
    top: tuple[CandidateRow, ...]
    instruments: tuple[Instrument, ...]
    candidates: int
    verdict: str


@dataclass(frozen=True)
class Risk:
    """A gap or risk a coordinator should act on."""

    kind: str
    severity: Literal["high", "medium", "low"]
    text: str


@dataclass(frozen=True)
class ProvenanceRow:
    """Where one named graph's content came from (its load record in graph/meta)."""

    graph: str
    source: str
    loaded_at: str
    triples: int


@dataclass(frozen=True)
class DataDates:
    """The time span of the collaboration data the report rests on."""

    first_start: str
    last_start: str
    projects: int


@dataclass(frozen=True)
class BacktestRow:
    """One method's figures in the back-test (``None``: not measured)."""

    method: str
    hits_at_10: float
    mrr: float
    precision_at_10: float
    newcomer_hits_at_10: float | None = None
    newcomer_mrr: float | None = None


@dataclass(frozen=True)
class ThemedBacktestRow:
    """The back-test within one theme: only ties formed in the theme's later projects count."""

    theme: str
    label: str
    focal_actors: int
    true_pairs: int
    hits_at_10: float
    mrr: float
    blind_hits_at_10: float
    """The same method without its theme components."""
    blind_mrr: float
    best_baseline: str
    baseline_hits_at_10: float
    baseline_mrr: float


@dataclass(frozen=True)
class Backtest:
    """The back-test: learn before a cut-off, score the ties that formed after it."""

    description: str
    rows: tuple[BacktestRow, ...]
    focal_actors: int
    newcomer_actors: int
    themed: tuple[ThemedBacktestRow, ...] = ()


@dataclass(frozen=True)
class CorridorReport:
    """Everything the corridor report shows, in reading order."""

    title: str
    generated: str
    source: tuple[Place, ...]
    target: tuple[Place, ...]
    themes: tuple[ThemeRef, ...]
    actor_types: tuple[str, ...]
    headline: tuple[str, ...]
    summaries: tuple[ThemeSummary, ...]
    coverage: Coverage
    candidates: tuple[CandidateRow, ...]
    networks: tuple[ThemeNetwork, ...]
    risks: tuple[Risk, ...]
    method: tuple[str, ...]
    parameters: tuple[tuple[str, str], ...]
    data_dates: DataDates
    provenance: tuple[ProvenanceRow, ...]
    backtest: Backtest | None
    matching: bool
    """Whether candidates come from a matching run (False: the report shows the corridor only)."""

    def to_json(self) -> dict[str, object]:
        """The report as JSON-ready dicts and lists (the same content as the HTML)."""
        data = asdict(self)
        data["coverage"].pop("_index", None)
        return data
