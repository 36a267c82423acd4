"""Materialising the inferences queries rely on into the inferred graph, at load time.

The rules are SPARQL CONSTRUCT files in ``ontology/rules/`` (each justified by an ontology axiom);
they run over the union of all graphs until nothing new is derived, and their results replace the
inferred graph in one all-or-nothing step. HermiT checks the same axioms on the seed data in the
tests; the rules are what scales to the CORDIS network.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from boostkg.namespaces import INFERRED_GRAPH
from boostkg.reasoning.rules import Rule, load_rules
from boostkg.store.base import KnowledgeStore

MAX_ROUNDS = 10


@dataclass(frozen=True)
class InferenceReport:
    """How many triples each rule added, over how many rounds."""

    rounds: int
    added_by_rule: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.added_by_rule.values())


def materialise(
    store: KnowledgeStore,
    rules: Sequence[Rule],
    *,
    on_rule: Callable[[Rule, int], None] | None = None,
) -> InferenceReport:
    """Replace the inferred graph with the fixpoint of ``rules`` over the store."""
    added = {rule.name: 0 for rule in rules}
    rounds = 0
    with store.atomic():
        store.drop_graph(INFERRED_GRAPH)
        while rounds < MAX_ROUNDS:
            rounds += 1
            new_in_round = 0
            for rule in rules:
                count = store.construct_into(INFERRED_GRAPH, rule.query)
                added[rule.name] += count
                new_in_round += count
                if on_rule is not None:
                    on_rule(rule, count)
            if new_in_round == 0:
                break
    return InferenceReport(rounds, added)


def materialise_from(store: KnowledgeStore, rules_dir: Path) -> InferenceReport:
    """Load the rule files in ``rules_dir`` and materialise them."""
    return materialise(store, load_rules(rules_dir))
