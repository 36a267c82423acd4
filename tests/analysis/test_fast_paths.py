"""The fast paths give the same answers as the straightforward ones, on the real CORDIS graph:
the projection read with single-pattern queries equals the one read with the join queries it
replaced, and the corridor method's totals (one product, group rows, sparse closures) equal the
sum of its components and rank the same candidates."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest

from boostkg.analysis.corridor import BIG_CORRIDOR, Corridor, resolve
from boostkg.analysis.methods import (
    History,
    Method,
    candidate_scores,
    combine,
    corridor_scores,
    features,
    learn,
)
from boostkg.analysis.projection import Projection
from boostkg.store import RdfFormat, ResultFormat, open_store

pytestmark = pytest.mark.timeout(900)

JOINED_ACTORS = """PREFIX icf: <https://w3id.org/boostkg/icf#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?a ?pic ?label ?cc ?nuts WHERE { ?a a icf:Actor . OPTIONAL { ?a icf:pic ?pic }
OPTIONAL { ?a rdfs:label ?label } OPTIONAL { ?a icf:inCountry/icf:countryCode ?cc }
OPTIONAL { ?a icf:inRegion/icf:nutsCode ?nuts } }"""
JOINED_TYPES = """PREFIX icf: <https://w3id.org/boostkg/icf#>
SELECT ?a ?t WHERE { ?a a icf:Actor ; a ?t . FILTER(STRSTARTS(STR(?t), STR(icf:))) }"""


def _select(store: Path, query: str) -> list[list[str]]:
    kg = open_store(store)
    try:
        buffer = io.BytesIO()
        kg.query_to(query, buffer, result_format=ResultFormat.CSV, rdf_format=RdfFormat.NTRIPLES)
    finally:
        kg.close()
    return list(csv.reader(io.StringIO(buffer.getvalue().decode("utf-8"))))[1:]


def test_projection_equals_the_joined_queries(cordis_store: Path, cordis_projection: Projection) -> None:
    p = cordis_projection
    expected: dict[str, tuple[str, str, str, str]] = {}
    for a, pic, label, cc, nuts in _select(cordis_store, JOINED_ACTORS):
        old = expected.get(a)
        if old is None or len(nuts) > len(old[3]):
            expected[a] = (pic, label, cc, nuts)
    got = {a: (p.identifiers[i], p.labels[i], p.countries[i], p.regions[i]) for i, a in enumerate(p.actors)}
    assert len(expected) > 27_000
    assert got == expected
    types: dict[str, set[str]] = {}
    for a, t in _select(cordis_store, JOINED_TYPES):
        types.setdefault(a, set()).add(t.rsplit("#", 1)[-1])
    assert {a: set(p.actor_types[i]) for i, a in enumerate(p.actors)} == types


def _histories(p: Projection) -> list[tuple[History, np.ndarray, np.ndarray]]:
    base = learn(p, until=2018)
    out = []
    for theme in (None, "ict-digital"):
        sides = resolve(Corridor.parse(*BIG_CORRIDOR, themes=theme), p)
        h = base if sides.theme_projects is None else base.focus(sides.theme_projects, sides.declared)
        out.append((h, sides.sources[:300], sides.targets))
    return out


def test_corridor_totals_equal_the_sum_of_components(cordis_projection: Projection) -> None:
    for h, sources, targets in _histories(cordis_projection):
        w, nw = h.default_weights()
        parts = combine(features(h, sources, targets), h.is_newcomer(sources), weights=w, newcomer_weights=nw)
        slow = np.zeros((sources.size, targets.size))
        for values in parts.values():
            slow += values
        fast = corridor_scores(h, sources, targets, w, nw)
        assert np.abs(fast - slow).max() < 1e-9
        ranked = candidate_scores(Method.corridor, h, sources, targets)
        masked = np.where(np.isfinite(ranked), slow, -np.inf)  # ties and self-pairs excluded alike
        order = np.argsort(-masked, axis=1, kind="stable")
        top_slow, top_fast = order[:, :10], np.argsort(-ranked, axis=1, kind="stable")[:, :10]
        gap = np.take_along_axis(masked, order[:, 9:10], axis=1) - np.take_along_axis(
            masked, order[:, 10:11], axis=1
        )
        clear = gap.ravel() > 1e-6  # rows whose 10th and 11th candidates are not tied
        assert clear.sum() > 200
        assert (np.sort(top_slow, axis=1) == np.sort(top_fast, axis=1))[clear].all()
