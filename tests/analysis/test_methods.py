"""The method's pure functions on small hand-made networks."""

from __future__ import annotations

import numpy as np
import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import RDF

from boostkg.analysis.backtest import new_ties, rank_metrics
from boostkg.analysis.corridor import Corridor, resolve
from boostkg.analysis.matching import Per, match_projection
from boostkg.analysis.methods import COMPONENTS, Method, baseline_scores, candidate_scores, features, learn
from boostkg.analysis.projection import Projection, build_projection
from boostkg.analysis.results import run_id_for, run_triples
from boostkg.errors import InputError, UnknownTermError
from boostkg.namespaces import ICF

DK = ("", "", "DK", "DK032")
RO = ("", "", "RO", "RO113")


def toy() -> Projection:
    """dk1, dk2 (Denmark); ro1, ro2, ro3 (Romania); hub (Spain) ties everyone but ro3.

    p1 (2015): dk1, hub;  p2 (2016): hub, ro1, ro2;  p3 (2016): dk2, ro1;  p4 (2017): dk1, ro1 (new tie)
    """
    rows = [
        ("dk1", "p1"),
        ("hub", "p1"),
        ("hub", "p2"),
        ("ro1", "p2"),
        ("ro2", "p2"),
        ("dk2", "p3"),
        ("ro1", "p3"),
        ("dk1", "p4"),
        ("ro1", "p4"),
        ("ro3", "p5"),
    ]
    info = {
        "dk1": ("1", "Dk One", *DK[2:]),
        "dk2": ("2", "Dk Two", *DK[2:]),
        "ro1": ("3", "Ro One", *RO[2:]),
        "ro2": ("4", "Ro Two", *RO[2:]),
        "ro3": ("5", "Ro Three", *RO[2:]),
        "hub": ("6", "Hub", "ES", "ES511"),
    }
    types = {"dk1": {"Actor", "University"}, "ro1": {"Actor", "BusinessActor", "SME"}}
    return build_projection(
        rows,
        {"p1": 2015, "p2": 2016, "p3": 2016, "p4": 2017, "p5": 2016},
        actor_info=info,
        actor_types=types,
        project_parts=[("p1", "http://t/SC1"), ("p2", "http://t/SC1"), ("p3", "http://t/LEIT")],
        known_codes=["DK", "RO", "ES", "DK03", "RO11"],
    )


def test_history_keeps_only_projects_up_to_the_cut_off() -> None:
    p = toy()
    h = learn(p, until=2016)
    ix = p.actor_index()
    assert h.adjacency[ix["dk1"], ix["ro1"]] == 0  # p4 starts in 2017
    assert learn(p, until=2017).adjacency[ix["dk1"], ix["ro1"]] == 1
    assert h.n_projects[ix["dk1"]] == 1


def test_closure_prefers_the_target_reached_through_a_shared_partner() -> None:
    p = toy()
    h = learn(p, until=2016)
    ix = p.actor_index()
    f = features(h, np.array([ix["dk1"]]), np.array([ix["ro1"], ix["ro3"]]))
    assert f["closure"][0, 0] > 0 == f["closure"][0, 1]
    assert set(f) == set(COMPONENTS)


def test_baselines_on_the_toy_network() -> None:
    p = toy()
    h = learn(p, until=2016)
    ix = p.actor_index()
    src, tgt = np.array([ix["dk1"]]), np.array([ix["ro1"], ix["ro2"], ix["ro3"]])
    assert baseline_scores(Method.common_neighbours, h, src, tgt).tolist() == [[1.0, 1.0, 0.0]]
    assert baseline_scores(Method.preferential_attachment, h, src, tgt).tolist() == [[3.0, 2.0, 0.0]]
    ra = baseline_scores(Method.resource_allocation, h, src, tgt)
    assert ra[0, 0] == pytest.approx(1 / 3)  # hub has three partners


def test_already_tied_pairs_and_self_pairs_are_never_candidates() -> None:
    p = toy()
    h = learn(p, until=2016)
    ix = p.actor_index()
    scores = candidate_scores(
        Method.corridor, h, np.array([ix["dk2"]]), np.array([ix["ro1"], ix["dk2"], ix["ro2"]])
    )
    assert np.isneginf(scores[0, 0])
    assert np.isneginf(scores[0, 1])
    assert np.isfinite(scores[0, 2])


def test_new_ties_and_metrics() -> None:
    p = toy()
    h = learn(p, until=2016)
    ix = p.actor_index()
    truth = new_ties(p, h, p.project_years == 2017, np.array([ix["dk1"]]), np.array([ix["ro1"], ix["ro2"]]))
    assert truth.toarray().tolist() == [[1.0, 0.0]]
    hits, rr, prec = rank_metrics(np.array([[0.2, 0.9]]), truth, k=1)
    assert (hits[0], rr[0], prec[0]) == (0.0, 0.5, 0.0)


def test_corridor_resolution_by_country_region_and_type() -> None:
    p = toy()
    sides = resolve(Corridor.parse("DK03", "RO"), p)
    assert sorted(p.actors[i] for i in sides.sources) == ["dk1", "dk2"]
    typed = resolve(Corridor.parse("DK", "RO", actor_types="University,SME"), p)  # on both sides
    assert [p.actors[i] for i in typed.sources] == ["dk1"]
    assert [p.actors[i] for i in typed.targets] == ["ro1"]


@pytest.mark.parametrize(
    ("sources", "targets", "kwargs", "error", "words"),
    [
        ("", "RO", {}, InputError, "source side (--from) is empty"),
        ("DK", " , ", {}, InputError, "target side (--to) is empty"),
        ("DK,XX", "RO", {}, UnknownTermError, "'XX'"),
        ("DK", "RO", {"themes": "no-such-theme"}, UnknownTermError, "unknown theme 'no-such-theme'"),
        ("DK", "RO", {"actor_types": "Dragon"}, UnknownTermError, "unknown actor type 'Dragon'"),
        ("DK", "RO", {"actor_types": "Municipality"}, InputError, "no actors on the source side"),
    ],
)
def test_bad_corridors_say_what_is_wrong(
    sources: str, targets: str, kwargs: dict[str, str], error: type[Exception], words: str
) -> None:
    with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)")):
        resolve(Corridor.parse(sources, targets, **kwargs), toy())


def test_match_explains_and_gives_evidence() -> None:
    result = match_projection(toy(), Corridor.parse("DK", "RO"), top=2, until=2016)
    first = next(c for c in result.candidates if c.source == "dk1" and c.target == "ro1")
    assert first.source_identifier == "1"
    assert first.target_identifier == "3"
    assert first.evidence["shared_partners"] == ["hub"]
    assert "p1" in first.evidence["projects"]
    assert "p2" in first.evidence["projects"]
    assert "http://t/SC1" in first.evidence["themes"]
    assert "share 1 partner" in first.explanation
    assert "Hub" in first.explanation
    assert first.score == pytest.approx(sum(first.components.values()), abs=1e-3)
    assert all((c.source, c.target) != ("dk2", "ro1") for c in result.candidates)  # tied in p3


def test_match_per_pair_ranks_overall() -> None:
    result = match_projection(toy(), Corridor.parse("DK", "RO"), top=2, per=Per.pair, until=2016)
    assert [c.rank for c in result.candidates] == [1, 2]
    assert result.candidates[0].score >= result.candidates[1].score


def test_a_corridor_whose_pairs_are_all_tied_is_an_error_not_an_empty_result() -> None:
    tied = build_projection(
        [("a", "p"), ("b", "p")], {"p": 2015}, actor_info={"a": DK, "b": RO}, known_codes=["DK", "RO"]
    )
    with pytest.raises(InputError, match="no candidate pairs"):
        match_projection(tied, Corridor.parse("DK", "RO"), top=5)


def test_run_triples_describe_run_corridor_and_candidates() -> None:
    result = match_projection(toy(), Corridor.parse("DK", "RO"), top=1, until=2016)
    graph = Graph()
    run_id = run_id_for(result)
    for triple in run_triples(result, run_id, started=result.generated, inputs=[URIRef("http://g/input")]):
        graph.add(triple)
    assert len(list(graph.subjects(RDF.type, ICF.MatchingRun))) == 1
    assert len(list(graph.subjects(RDF.type, ICF.CandidatePartnership))) == len(result.candidates)
    assert len(list(graph.subjects(RDF.type, ICF.ScoreComponent))) == len(result.candidates) * len(COMPONENTS)
    corridor = next(graph.subjects(RDF.type, ICF.Corridor))
    assert URIRef("http://publications.europa.eu/resource/authority/country/DNK") in set(
        graph.objects(corridor, ICF.corridorSource)
    )
