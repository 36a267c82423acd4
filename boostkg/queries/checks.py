"""Running the quality checks in ``queries/checks/``: SPARQL queries that must return no rows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from boostkg.queries.catalog import read_query_text
from boostkg.store.base import KnowledgeStore, SelectResult


@dataclass(frozen=True)
class CheckResult:
    """One check, what it is about (its header comment) and the rows it returned."""

    name: str
    description: str
    rows: SelectResult

    @property
    def passed(self) -> bool:
        return len(self.rows) == 0


def _description(text: str) -> str:
    lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("#").strip())
    return " ".join(lines)


def run_checks(store: KnowledgeStore, checks_dir: Path) -> list[CheckResult]:
    """Run every ``*-violation.rq`` in ``checks_dir`` over the store, in name order.

    Raises:
        QueryError: a check is malformed.
    """
    results = []
    for path in sorted(checks_dir.glob("*-violation.rq")):
        text = read_query_text(path)
        results.append(CheckResult(path.stem, _description(text), store.select(text)))
    return results
