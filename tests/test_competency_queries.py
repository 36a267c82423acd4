"""The competency questions (queries/*.rq): complete headers, parseable, and the expected answer of
each on the loaded store (ontology, vocabularies, NUTS, EIS, seed, inferences).

``EXPECTED`` maps every query file to its answer with its parameters at their defaults: for a
SELECT the exact multiset of rows over the listed columns (IRIs written with the short prefixes of
``SHORT``), for an ASK the boolean, for a CONSTRUCT the exact set of triples, or a function that
checks the rows when the answer depends on counts that other files decide (graph sizes).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDFS
from rdflib.plugins.sparql import prepareQuery
from rdflib.term import Node

from boostkg.config import Settings
from boostkg.ingest.inference import materialise_from
from boostkg.namespaces import COUNTRY, GRAPH, ICF, ID, NUTS, THEME, VOCAB, graph_iri
from boostkg.store import EmbeddedStore, open_store
from boostkg.store.base import RdfFormat
from tests.competency_support import (
    AUDIENCES,
    GYEAR,
    PARAM_TYPES,
    QUERIES_DIR,
    REQUIRED_KEYS,
    CompetencyQuery,
    all_queries,
    bind,
    read_query,
)

PROJECT_ROOT = QUERIES_DIR.parent
SEED = PROJECT_ROOT / "data" / "seed.ttl"
DOCS = PROJECT_ROOT / "docs" / "competency-questions.md"
CORDIS_SAMPLE = Path(__file__).parent / "data" / "queries" / "cordis-sample.ttl"

SHORT: dict[str, str] = {
    str(ID): "id:",
    str(ICF._NS): "icf:",
    str(THEME): "theme:",
    str(VOCAB): "vocab:",
    str(NUTS): "nuts:",
    str(COUNTRY): "country:",
    str(GRAPH): "graph:",
    str(DCTERMS): "dcterms:",
}

Row = Mapping[str, Node]


def short(term: Node | None) -> str | None:
    """A term as a short string: prefixed IRI, or the literal's lexical form."""
    if term is None:
        return None
    text = str(term)
    if isinstance(term, URIRef):
        for namespace, prefix in SHORT.items():
            if text.startswith(namespace):
                return prefix + text[len(namespace) :]
    return text


@dataclass(frozen=True)
class Rows:
    """The exact multiset of rows of a SELECT, projected on ``columns``."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str | None, ...], ...]
    bound: tuple[str, ...] = ()
    """Columns that must be bound in every row (checked in addition to the projection)."""

    def check(self, actual: Sequence[Row]) -> None:
        got = Counter(tuple(short(row.get(c)) for c in self.columns) for row in actual)
        assert got == Counter(self.rows), _diff(got, Counter(self.rows))
        for column in self.bound:
            assert all(row.get(column) is not None for row in actual), f"{column} unbound in a row"


def _diff(got: Counter[tuple[str | None, ...]], want: Counter[tuple[str | None, ...]]) -> str:
    unexpected = sorted((got - want).elements(), key=str)
    missing = sorted((want - got).elements(), key=str)
    return f"unexpected rows {unexpected}; missing rows {missing}"


@dataclass(frozen=True)
class Triples:
    """The exact set of triples of a CONSTRUCT (short form)."""

    triples: frozenset[tuple[str | None, str | None, str | None]]


Check = Callable[[Sequence[Row]], None]
Expected = Rows | bool | Triples | Check


def _seed_triple_count() -> int:
    return len(Graph().parse(SEED, format="turtle"))


def _check_triples_per_graph(rows: Sequence[Row]) -> None:
    counts = {short(row["graph"]): int(row["triples"]) for row in rows}  # type: ignore[call-overload]
    assert {
        "graph:ontology",
        "graph:vocab",
        "graph:themes",
        "graph:nuts-2024",
        "graph:eis",
        "graph:seed",
    } <= set(counts)
    assert "graph:inferred" in counts
    assert counts["graph:seed"] == _seed_triple_count()
    assert all(n > 0 for n in counts.values())
    assert all(row.get("modified") is not None for row in rows)


def _check_graphs_stating_tit(rows: Sequence[Row]) -> None:
    counts = {short(row["graph"]): int(row["triples"]) for row in rows}  # type: ignore[call-overload]
    seed_triples = len(
        set(Graph().parse(SEED, format="turtle").triples((ID["organisation/tit"], None, None)))
    )
    assert set(counts) == {"graph:seed", "graph:inferred"}
    assert counts["graph:seed"] == seed_triples
    assert counts["graph:inferred"] > 0


def _check_loads(rows: Sequence[Row]) -> None:
    by_graph = {short(row["graph"]): row for row in rows}
    assert {g: str(r["source"]) for g, r in by_graph.items()} == {
        "graph:ontology": "ontology/icf.ttl",
        "graph:vocab": "ontology/vocab.ttl",
        "graph:themes": "ontology/themes.ttl",
        "graph:nuts-2024": "data/nuts-2024.ttl",
        "graph:eis": "data/eis.ttl",
        "graph:seed": "data/seed.ttl",
        "graph:inferred": "ontology/rules/*.rq",
    }
    assert int(by_graph["graph:seed"]["triples"]) == _seed_triple_count()  # type: ignore[call-overload]
    assert all(row.get("loadedAt") is not None for row in rows)


def _check_vk_profile(rows: Sequence[Row]) -> None:
    assert len(rows) == 1
    row = rows[0]
    assert (short(row["label"]), short(row["acronym"])) == ("Vejle Municipality", "VK")
    assert (short(row["city"]), short(row["region"]), short(row["country"])) == (
        "id:city/dk-vejle",
        "nuts:DK03",
        "country:DNK",
    )
    types = {short(URIRef(t)) for t in str(row["types"]).split()}
    assert types == {"icf:Municipality", "icf:PublicAuthority", "icf:Actor", "icf:CorridorActor"}
    assert str(row["collaborations"]).split() == [str(ID["project/boost"])]


P = "id:organisation/"
ACRONYM_NOTE_NODES = ("tit", "nwrda", "bbf", "cldi", "vk", "tsp")
CATALUNYA_2023 = ("nuts:ES51", "vocab:scoreboard/RIS", "105.9")

EXPECTED: dict[str, Expected] = {
    # --- data stewards -----------------------------------------------------------------------
    "select-uncertain-facts.rq": Rows(
        ("node", "property", "value"),
        (
            ("id:action-plan/boost", "icf:startDate", "2024-06-01"),
            ("id:action-plan/boost", "icf:endDate", "2029-05-31"),
            ("id:grant/boost", "dcterms:subject", "id:funding-instrument/horizon-eie-2021-connect-01-01"),
            ("id:project/boost", "icf:amount", "499968"),
            ("id:participation/boost-tit", "icf:contribution", "91434.25"),
            (P + "bbf", "icf:basedInCity", "id:city/bg-varna"),
            (P + "cldi", "icf:basedInCity", "id:city/es-barcelona"),
            (P + "tit", "icf:acronym", "TIT"),
            (P + "nwrda", "icf:acronym", "NWRDA"),
            (P + "bbf", "icf:acronym", "BBF"),
            (P + "cldi", "icf:acronym", "CLDI"),
            (P + "vk", "icf:acronym", "VK"),
            (P + "tsp", "icf:acronym", "TSP"),
        ),
        bound=("label", "note"),
    ),
    "select-illustrative-statements.rq": Rows(
        ("node", "kind"),
        (
            *(
                (f"id:capability/{c}", "icf:Capability")
                for c in (
                    "tit-ict-cluster-services",
                    "nwrda-ris3-funding",
                    "bbf-sme-outreach",
                    "cldi-digital-cluster-services",
                    "vk-green-transition",
                    "vk-welfare-technology",
                    "tsp-health-tech-incubation",
                    "tsp-startup-acceleration",
                )
            ),
            *(
                (f"id:need/{n}", "icf:Need")
                for n in (
                    "tit-green-know-how",
                    "nwrda-health-ecosystem-models",
                    "bbf-digital-support",
                    "bbf-green-know-how",
                    "cldi-health-market-access",
                    "vk-digital-municipal-services",
                    "tsp-industry40-partners",
                )
            ),
            *((f"id:objective/boost-{o}", "icf:Objective") for o in ("green", "health", "ict")),
            *(
                (f"id:action/boost-{a}", "icf:Action")
                for a in (
                    "green-i3-value-chain",
                    "green-policy-learning",
                    "health-testbed-network",
                    "ict-cluster-exchange",
                )
            ),
            *(
                (f"id:indicator/boost-{i}", "icf:Indicator")
                for i in (
                    "green-joint-investments",
                    "health-testbed-users",
                    "ict-smes-supported",
                )
            ),
        ),
        bound=("label", "why"),
    ),
    "select-triples-per-graph.rq": _check_triples_per_graph,
    "select-graphs-stating-node.rq": _check_graphs_stating_tit,
    "select-graph-loads.rq": _check_loads,
    "select-corridor-regions-without-ris-score.rq": Rows(
        ("region", "code"), (("nuts:DK03", "DK03"), ("nuts:EE00", "EE00")), bound=("note",)
    ),
    "ask-every-actor-located.rq": True,
    # --- researchers ------------------------------------------------------------------------
    "select-places-in-performance-group.rq": Rows(
        ("place", "scoreboard", "score"),
        (
            *(
                (f"country:{c}", "vocab:scoreboard/EIS", None)
                for c in ("AUT", "DEU", "LUX", "IRL", "CYP", "FRA")
            ),
            CATALUNYA_2023,
        ),
    ),
    "select-places-changing-group.rq": Rows(
        ("place", "fromEdition", "fromGroup", "toEdition", "toGroup"),
        tuple(
            (f"country:{c}", a, f"vocab:performance-group/{g1}", b, f"vocab:performance-group/{g2}")
            for c, a, g1, b, g2 in (
                ("EST", "2021", "Strong", "2023", "Moderate"),
                ("NLD", "2021", "Strong", "2023", "Leader"),
                ("CYP", "2021", "Moderate", "2023", "Strong"),
                ("HUN", "2021", "Emerging", "2023", "Moderate"),
                ("BEL", "2023", "Leader", "2024", "Strong"),
                ("EST", "2023", "Moderate", "2024", "Strong"),
            )
        ),
    ),
    "select-performance-history.rq": Rows(
        ("scoreboard", "edition", "group"),
        tuple(
            ("vocab:scoreboard/EIS", e, f"vocab:performance-group/{g}")
            for e, g in (("2021", "Strong"), ("2023", "Moderate"), ("2024", "Strong"))
        ),
    ),
    "ask-place-changed-group.rq": True,
    "select-nuts2-regions-of-country.rq": Rows(
        ("code",), tuple((c,) for c in ("RO11", "RO12", "RO21", "RO22", "RO31", "RO32", "RO41", "RO42"))
    ),
    "select-actors-located-in-place.rq": Rows(("actor",), ((P + "tit",), (P + "nwrda",))),
    "select-projects-by-theme.rq": Rows(("project", "startDate"), (("id:project/boost", "2022-06-01"),)),
    # answered on CORDIS data: none in the seed (see test_cordis_questions for a real answer)
    "select-h2020-projects-by-programme-part-in-catch-up-countries.rq": Rows(("programmePart",), ()),
    "select-research-organisations-in-catch-up-countries-by-theme.rq": Rows(("actor",), ()),
    # --- coordinators -----------------------------------------------------------------------
    "select-coordinators.rq": Rows(("collaboration", "coordinator"), (("id:project/boost", P + "tit"),)),
    "select-partners-by-helix.rq": Rows(
        ("actor", "acronym", "role", "helix"),
        (
            (P + "tit", "TIT", "vocab:role/coordinator", "icf:BusinessActor"),
            (P + "cldi", "CLDI", "vocab:role/participant", "icf:BusinessActor"),
            (P + "nwrda", "NWRDA", "vocab:role/participant", "icf:PublicAuthority"),
            (P + "vk", "VK", "vocab:role/participant", "icf:PublicAuthority"),
            (P + "bbf", "BBF", "vocab:role/participant", "icf:CivilSocietyOrganisation"),
            (P + "tsp", "TSP", "vocab:role/participant", "icf:Intermediary"),
        ),
    ),
    "select-actors-by-corridor-side.rq": Rows(
        ("side", "region", "actor"),
        (
            ("source", "nuts:DK03", P + "vk"),
            ("source", "nuts:EE00", P + "tsp"),
            ("target", "nuts:RO11", P + "tit"),
            ("target", "nuts:RO11", P + "nwrda"),
            ("target", "nuts:BG33", P + "bbf"),
            ("target", "nuts:ES51", P + "cldi"),
        ),
    ),
    "select-corridor-regions.rq": Rows(
        ("side", "region", "code", "label", "country"),
        (
            ("source", "nuts:DK03", "DK03", "Syddanmark", "country:DNK"),
            ("source", "nuts:EE00", "EE00", "Eesti", "country:EST"),
            ("target", "nuts:RO11", "RO11", "Nord-Vest", "country:ROU"),
            ("target", "nuts:BG33", "BG33", "Severoiztochen", "country:BGR"),
            ("target", "nuts:ES51", "ES51", "Cataluña", "country:ESP"),
        ),
    ),
    "select-complementary-partners.rq": Rows(
        ("provider", "seeker", "theme"),
        tuple(
            (P + a, P + b, f"theme:{t}")
            for a, b, t in (
                # leader side offers, catch-up side needs
                ("vk", "tit", "industry-cleantech-green"),
                ("vk", "bbf", "industry-cleantech-green"),
                ("vk", "nwrda", "health-wellbeing"),
                ("vk", "cldi", "health-wellbeing"),
                ("tsp", "nwrda", "health-wellbeing"),
                ("tsp", "cldi", "health-wellbeing"),
                ("tsp", "bbf", "ict-digital"),
                # catch-up side offers, leader side needs
                ("tit", "vk", "ict-digital"),
                ("cldi", "vk", "ict-digital"),
                ("nwrda", "tsp", "industry-cleantech-green"),
                ("bbf", "tsp", "industry-cleantech-green"),
            )
        ),
    ),
    "select-capabilities-and-needs-by-theme.rq": Rows(
        ("kind", "actor", "statement"),
        (
            ("offers", P + "vk", "id:capability/vk-welfare-technology"),
            ("offers", P + "tsp", "id:capability/tsp-health-tech-incubation"),
            ("needs", P + "nwrda", "id:need/nwrda-health-ecosystem-models"),
            ("needs", P + "cldi", "id:need/cldi-health-market-access"),
        ),
    ),
    "select-actor-count-per-helix-per-region.rq": Rows(
        ("region", "helix", "actors"),
        (
            ("nuts:RO11", "icf:BusinessActor", "1"),
            ("nuts:RO11", "icf:PublicAuthority", "1"),
            ("nuts:RO11", "icf:Intermediary", "1"),
            ("nuts:BG33", "icf:CivilSocietyOrganisation", "1"),
            ("nuts:ES51", "icf:BusinessActor", "1"),
            ("nuts:ES51", "icf:Intermediary", "1"),
            ("nuts:DK03", "icf:PublicAuthority", "1"),
            ("nuts:EE00", "icf:Intermediary", "1"),
        ),
    ),
    "select-action-plan-funding-instruments.rq": Rows(
        ("instrument", "programme", "actions"),
        (
            ("id:funding-instrument/i3", "id:funding-programme/erdf", "1"),
            ("id:funding-instrument/interreg-europe", "id:funding-programme/erdf", "1"),
            ("id:funding-instrument/erdf-regional-programmes", "id:funding-programme/erdf", "1"),
            (
                "id:funding-instrument/horizon-europe-eie-calls",
                "id:funding-programme/horizon-europe-eie",
                "1",
            ),
        ),
    ),
    "select-action-plan-overview.rq": Rows(
        ("objective", "theme", "action", "startDate", "endDate"),
        (
            (
                "id:objective/boost-green",
                "theme:industry-cleantech-green",
                "id:action/boost-green-i3-value-chain",
                "2025-01-01",
                "2027-12-31",
            ),
            (
                "id:objective/boost-green",
                "theme:industry-cleantech-green",
                "id:action/boost-green-policy-learning",
                "2024-09-01",
                "2028-08-31",
            ),
            (
                "id:objective/boost-health",
                "theme:health-wellbeing",
                "id:action/boost-health-testbed-network",
                "2025-03-01",
                "2029-02-28",
            ),
            (
                "id:objective/boost-ict",
                "theme:ict-digital",
                "id:action/boost-ict-cluster-exchange",
                "2024-06-01",
                "2029-05-31",
            ),
        ),
        bound=("actionLabel", "responsible"),
    ),
    "select-actor-profile.rq": _check_vk_profile,
    "ask-coordinator-in-catch-up-region.rq": True,
    "construct-corridor-network.rq": Triples(
        frozenset(
            {
                ("id:corridor/boost", "icf:corridorSource", "nuts:DK03"),
                ("id:corridor/boost", "icf:corridorSource", "nuts:EE00"),
                ("id:corridor/boost", "icf:corridorTarget", "nuts:RO11"),
                ("id:corridor/boost", "icf:corridorTarget", "nuts:BG33"),
                ("id:corridor/boost", "icf:corridorTarget", "nuts:ES51"),
                ("id:project/boost", "icf:partOfCorridor", "id:corridor/boost"),
                ("id:project/boost", str(RDFS.label), "BOOST: Boosting Smart Regional Innovation Ecosystems"),
                *(
                    t
                    for a, label, region in (
                        ("tit", "Transilvania IT Cluster", "RO11"),
                        ("nwrda", "North-West Regional Development Agency", "RO11"),
                        ("bbf", "Bulgarian Business Forums", "BG33"),
                        ("cldi", "Cluster Digital de Catalunya", "ES51"),
                        ("vk", "Vejle Municipality", "DK03"),
                        ("tsp", "Tartu Science Park", "EE00"),
                    )
                    for t in (
                        (P + a, "icf:participatesIn", "id:project/boost"),
                        (P + a, "icf:inRegion", f"nuts:{region}"),
                        (P + a, str(RDFS.label), label),
                    )
                ),
            }
        )
    ),
}


def _query_ids() -> list[str]:
    return [path.name for path in all_queries()]


@pytest.fixture(scope="module")
def queries() -> dict[str, CompetencyQuery]:
    return {path.name: read_query(path) for path in all_queries()}


def answer_matches(
    expected: Expected, store: EmbeddedStore, query: CompetencyQuery, text: str | None = None
) -> None:
    """Assert that the query's answer on ``store`` is ``expected``."""
    sparql = text if text is not None else query.bound()
    if isinstance(expected, bool):
        assert query.name.startswith("ask-")
        assert store.ask(sparql) is expected
    elif isinstance(expected, Triples):
        got = frozenset((short(s), short(p), short(o)) for s, p, o in store.construct(sparql))
        unexpected = sorted(got - expected.triples, key=str)
        missing = sorted(expected.triples - got, key=str)
        assert got == expected.triples, f"unexpected {unexpected}; missing {missing}"
    elif isinstance(expected, Rows):
        expected.check(list(store.select(sparql)))
    else:
        expected(list(store.select(sparql)))


# --- the files themselves ------------------------------------------------------------------


def test_there_are_at_least_twenty_competency_questions() -> None:
    assert len(all_queries()) >= 20


@pytest.mark.parametrize("name", _query_ids())
def test_query_has_a_complete_header(name: str, queries: dict[str, CompetencyQuery]) -> None:
    query = queries[name]
    for key in REQUIRED_KEYS:
        assert query.header.get(key), f"{name}: header lacks '# {key}:'"
    assert query.header["audience"] in AUDIENCES
    assert query.header["question"].endswith("?")
    assert name.split("-", 1)[0] in ("select", "ask", "construct")
    for param in query.parameters:
        assert param.type in PARAM_TYPES, f"{name}: parameter {param.name} has unknown type {param.type}"
        param.default_term()  # raises on a default that does not fit its type
        assert f"?{param.name}" in query.text.split("WHERE", 1)[1], f"{name}: ?{param.name} not used"


@pytest.mark.parametrize("name", _query_ids())
def test_query_parses_and_has_the_operation_of_its_name(
    name: str, queries: dict[str, CompetencyQuery]
) -> None:
    query = queries[name]
    for text in (query.text, query.bound()):
        parsed = prepareQuery(text)
        operation = {"SelectQuery": "select", "AskQuery": "ask", "ConstructQuery": "construct"}
        assert operation[parsed.algebra.name] == name.split("-", 1)[0]


def test_every_query_has_an_expected_answer() -> None:
    assert set(EXPECTED) == set(_query_ids())


def test_every_audience_has_questions(queries: dict[str, CompetencyQuery]) -> None:
    assert {q.header["audience"] for q in queries.values()} == AUDIENCES


def test_docs_list_every_question(queries: dict[str, CompetencyQuery]) -> None:
    docs = DOCS.read_text(encoding="utf-8")
    for name, query in queries.items():
        assert f"`{name}`" in docs, f"{name} missing from {DOCS.name}"
        assert query.header["question"] in docs, f"{name}: its question is not in {DOCS.name}"


# --- reading headers and binding parameters -------------------------------------------------


def test_read_query_rejects_a_malformed_param_line(tmp_path: Path) -> None:
    path = tmp_path / "select-x.rq"
    path.write_text("# title: x\n# param: theme iri\nSELECT * WHERE { ?s ?p ?o }\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 2"):
        read_query(path)


def test_bind_puts_values_at_the_start_of_the_outer_where() -> None:
    text = "SELECT ?s WHERE { ?s ?p ?o }"
    bound = bind(text, {"p": URIRef("urn:x"), "o": Literal(2023)})
    assert bound.startswith("SELECT ?s WHERE {\n  VALUES (?p ?o) { (<urn:x> ")
    assert bind(text, {}) == text


def test_a_year_parameter_default_must_be_a_year(tmp_path: Path) -> None:
    path = tmp_path / "select-x.rq"
    path.write_text("# title: x\n# param: edition year twenty Edition\nSELECT * WHERE { ?s ?p ?edition }\n")
    (param,) = read_query(path).parameters
    with pytest.raises(ValueError, match="not a valid year"):
        param.default_term()


# --- the answers on the loaded store --------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_competency_query_answer(
    name: str, queries: dict[str, CompetencyQuery], loaded_store: EmbeddedStore
) -> None:
    answer_matches(EXPECTED[name], loaded_store, queries[name])


@pytest.mark.parametrize(
    ("name", "values", "expected"),
    [
        (
            "select-nuts2-regions-of-country.rq",
            {"country": COUNTRY["BGR"]},
            Rows(("code",), tuple((c,) for c in ("BG31", "BG32", "BG33", "BG34", "BG41", "BG42"))),
        ),
        (
            "select-places-in-performance-group.rq",
            {"group": VOCAB["performance-group/Leader"], "edition": Literal("2024", datatype=GYEAR)},
            Rows(("place",), tuple((f"country:{c}",) for c in ("DNK", "SWE", "FIN", "NLD"))),
        ),
        (
            "select-places-changing-group.rq",
            {"scoreboard": VOCAB["scoreboard/RIS"]},
            Rows(
                ("place", "fromEdition", "fromGroup", "toEdition", "toGroup"),
                (
                    (
                        "nuts:ES51",
                        "2021",
                        "vocab:performance-group/Moderate",
                        "2023",
                        "vocab:performance-group/Strong",
                    ),
                ),
            ),
        ),
        (
            "select-actors-located-in-place.rq",
            {"place": COUNTRY["EST"]},
            Rows(("actor",), ((P + "tsp",),)),
        ),
        (
            "select-complementary-partners.rq",
            {"corridor": ID["corridor/none"]},
            Rows(("provider",), ()),
        ),
        ("ask-place-changed-group.rq", {"place": COUNTRY["DNK"]}, False),
        ("ask-coordinator-in-catch-up-region.rq", {"project": ID["project/none"]}, False),
    ],
)
def test_parameters_change_the_answer(
    name: str,
    values: dict[str, Node],
    expected: Expected,
    queries: dict[str, CompetencyQuery],
    loaded_store: EmbeddedStore,
) -> None:
    query = queries[name]
    defaults = {p.name: p.default_term() for p in query.parameters}
    assert set(values) <= set(defaults)
    answer_matches(expected, loaded_store, query, bind(query.text, {**defaults, **values}))


# --- questions that need CORDIS data: a small network in the importer's shape ---------------


@pytest.fixture(scope="module")
def cordis_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedStore]:
    """Ontology, vocabularies, themes, EIS and tests/data/queries/cordis-sample.ttl, with inferences."""
    defaults = Settings()
    kg = open_store(tmp_path_factory.mktemp("cordis") / "store")
    files = [
        (defaults.ontology_dir / "icf.ttl", "ontology"),
        (defaults.ontology_dir / "vocab.ttl", "vocab"),
        (defaults.ontology_dir / "themes.ttl", "themes"),
        (defaults.data_dir / "eis.ttl", "eis"),
        (CORDIS_SAMPLE, "cordis-h2020"),
    ]
    for path, graph in files:
        kg.replace_graph(graph_iri(graph), path, RdfFormat.TURTLE)
    materialise_from(kg, defaults.ontology_dir / "rules")
    yield kg
    kg.close()


H2020 = "theme:h2020/"
ORG = "id:organisation/pic-90000000"


@pytest.mark.parametrize(
    ("name", "values", "expected"),
    [
        (
            "select-h2020-projects-by-programme-part-in-catch-up-countries.rq",
            {},  # EIS 2021: Romania and Bulgaria are catch-up countries, Estonia is not
            Rows(
                ("programmePart", "projects"), tuple((H2020 + p, "1") for p in ("SC1", "LEIT", "SC5", "SC3"))
            ),
        ),
        (
            "select-h2020-projects-by-programme-part-in-catch-up-countries.rq",
            {"edition": Literal("2023", datatype=GYEAR)},
            Rows(
                ("programmePart", "projects"),
                ((H2020 + "SC1", "2"), (H2020 + "LEIT", "1"), (H2020 + "SC5", "1"), (H2020 + "SC3", "1")),
            ),
        ),
        (
            "select-research-organisations-in-catch-up-countries-by-theme.rq",
            {},  # EIS 2023: Estonia is a catch-up country; green = SC3, SC5 and LEIT projects
            Rows(
                ("actor", "country", "projects"),
                (
                    (ORG + "1", "country:ROU", "2"),
                    (ORG + "3", "country:BGR", "1"),
                    (ORG + "5", "country:EST", "1"),
                ),
            ),
        ),
        (
            "select-research-organisations-in-catch-up-countries-by-theme.rq",
            {"edition": Literal("2021", datatype=GYEAR)},
            Rows(
                ("actor", "country", "projects"),
                ((ORG + "1", "country:ROU", "2"), (ORG + "3", "country:BGR", "1")),
            ),
        ),
        (
            "select-projects-by-theme.rq",
            {},  # health: SC1 projects
            Rows(
                ("project", "startDate"),
                (
                    ("id:project/h2020-1", "2015-01-01"),
                    ("id:project/h2020-4", "2018-01-01"),
                    ("id:project/h2020-6", "2018-09-01"),
                ),
            ),
        ),
    ],
)
def test_cordis_questions(
    name: str,
    values: dict[str, Node],
    expected: Expected,
    queries: dict[str, CompetencyQuery],
    cordis_store: EmbeddedStore,
) -> None:
    query = queries[name]
    defaults = {p.name: p.default_term() for p in query.parameters}
    answer_matches(expected, cordis_store, query, bind(query.text, {**defaults, **values}))


# --- the seed data itself -------------------------------------------------------------------


def test_every_seed_node_has_a_label() -> None:
    seed = Graph().parse(SEED, format="turtle")
    external = (str(NUTS), str(COUNTRY))
    unlabelled = {
        s for s in seed.subjects() if isinstance(s, URIRef) and not str(s).startswith(external)
    } - set(seed.subjects(RDFS.label, None))
    assert not unlabelled


def test_every_place_the_seed_names_is_a_known_nuts_region_or_country(loaded_store: EmbeddedStore) -> None:
    rows = loaded_store.select(
        """
        PREFIX icf: <https://w3id.org/boostkg/icf#>
        SELECT DISTINCT ?place WHERE {
          GRAPH <https://w3id.org/boostkg/graph/seed> {
            ?s ?p ?place .
            FILTER (STRSTARTS(STR(?place), "http://data.europa.eu/nuts/code/")
                    || STRSTARTS(STR(?place), "http://publications.europa.eu/resource/authority/country/"))
          }
          FILTER NOT EXISTS { ?place a icf:NUTSRegion }
          FILTER NOT EXISTS { ?place a icf:Country }
        }
        """
    )
    assert [row["place"] for row in rows] == []


def test_every_uncertain_property_is_explained_by_a_note_naming_it(loaded_store: EmbeddedStore) -> None:
    rows = loaded_store.select(
        """
        PREFIX icf: <https://w3id.org/boostkg/icf#>
        PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
        SELECT ?node ?property WHERE {
          GRAPH <https://w3id.org/boostkg/graph/seed> { ?node icf:uncertainProperty ?property }
          FILTER NOT EXISTS {
            ?node skos:editorialNote ?note .
            FILTER (CONTAINS(STR(?note), REPLACE(STR(?property), "^.*[#/]", "")))
          }
        }
        """
    )
    assert [(row["node"], row["property"]) for row in rows] == []
