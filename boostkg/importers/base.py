"""The contract every importer follows: read a source file, write N-Triples, report problems.

An importer never touches the store. It streams its source and writes N-Triples lines to a text
stream; the ingest pipeline then bulk-loads that file into the importer's named graph in one
all-or-nothing step. Rows with a bad value are counted and kept as examples in the report; a
source that cannot be read at all (missing, not UTF-8, unknown or missing columns, malformed CSV)
raises an ``InputError`` naming the file, row and column, before anything reaches the store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TextIO

from rdflib import URIRef

ProgressCallback = Callable[[int], None]
"""Called with the number of source bytes (or rows) consumed since the previous call."""

MAX_PROBLEM_EXAMPLES = 20


@dataclass(frozen=True)
class RowProblem:
    """One bad value in one row: kept as an example in the report."""

    row: int
    """1-based line number in the file (the header is line 1)."""
    column: str
    value: str
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column!r}: {self.reason} (value {self.value!r})"


@dataclass
class ImportReport:
    """What an import read, wrote and rejected."""

    source: Path
    graph: URIRef
    rows_read: int = 0
    rows_imported: int = 0
    triples: int = 0
    problem_count: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    problems_by_reason: dict[str, int] = field(default_factory=dict)

    def add_problem(self, problem: RowProblem) -> None:
        """Count a problem; keep the first ``MAX_PROBLEM_EXAMPLES`` as examples."""
        self.problem_count += 1
        self.problems_by_reason[problem.reason] = self.problems_by_reason.get(problem.reason, 0) + 1
        if len(self.problems) < MAX_PROBLEM_EXAMPLES:
            self.problems.append(problem)


class Importer(Protocol):
    """Converts one kind of source file to N-Triples."""

    name: str
    """Short name used on the command line: ``boostkg import <name> FILE``."""
    graph: URIRef
    """The named graph the import replaces."""

    def convert(self, source: Path, out: TextIO, *, progress: ProgressCallback | None = None) -> ImportReport:
        """Stream ``source`` and write N-Triples to ``out``.

        Raises:
            InputNotFoundError: the file does not exist.
            EncodingError: the file is not UTF-8 (names line and byte column).
            SchemaError: unknown or missing columns (names them).
            ParseError: the file is not well-formed CSV (names the row).
        """
        ...
