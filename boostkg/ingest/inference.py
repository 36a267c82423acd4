"""Materialising the inferences queries rely on into the inferred graph, at load time.

The rules are SPARQL CONSTRUCT files in ``ontology/rules/`` (each justified by an ontology axiom);
they run over all the other graphs in one pass, and their results replace the inferred graph in
one all-or-nothing step. HermiT checks the same axioms on the seed data in the tests; the rules
are what scales to the CORDIS network.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from boostkg.ingest.provenance import forget_current_update, new_record, now, record_triples, sha256_of
from boostkg.namespaces import INFERRED_GRAPH, META_GRAPH
from boostkg.reasoning.rules import Rule, load_rules
from boostkg.store.base import KnowledgeStore

RULES_SOURCE = "ontology/rules/*.rq"
"""How the inferred graph's load record names its source (its SHA-256 covers every rule's text)."""


@dataclass(frozen=True)
class InferenceReport:
    """How many triples each rule derived (a triple derived by two rules counts for both)."""

    derived_by_rule: dict[str, int]
    total: int
    """Distinct triples in the inferred graph."""


def materialise(store: KnowledgeStore, rules: Sequence[Rule]) -> InferenceReport:
    """Replace the inferred graph with what ``rules`` derive from all other graphs, in one pass.

    Each rule is complete on its own (transitive closures inside the rule), so one pass is the
    fixpoint; ``tests/test_reasoning.py`` checks that a second pass adds nothing. The rules never
    read the old inferred graph, so a fact whose premises were removed disappears.
    """
    started = now()
    with store.atomic():
        counts = store.replace_graph_by_queries(INFERRED_GRAPH, [rule.query for rule in rules])
        total = store.triple_count(INFERRED_GRAPH)
        rules_text = "\n".join(f"# {rule.name}\n{rule.query}" for rule in rules).encode("utf-8")
        record = new_record(INFERRED_GRAPH, RULES_SOURCE, sha256_of(rules_text), started, total)
        store.update(forget_current_update(INFERRED_GRAPH, META_GRAPH))
        store.add_triples(META_GRAPH, record_triples(record))
    return InferenceReport(
        derived_by_rule={rule.name: n for rule, n in zip(rules, counts, strict=True)},
        total=total,
    )


def materialise_from(store: KnowledgeStore, rules_dir: Path) -> InferenceReport:
    """Load the rule files in ``rules_dir`` and materialise them."""
    return materialise(store, load_rules(rules_dir))
