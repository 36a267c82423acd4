"""Validating submission files on disk (``boostkg validate``): one outcome per file, rendered."""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rdflib import Graph

from boostkg.errors import InputError, InputNotFoundError, Location
from boostkg.store.base import KnowledgeStore, RdfFormat
from boostkg.validation.engine import validate
from boostkg.validation.model import ValidationReport
from boostkg.validation.parsing import parse_submission
from boostkg.validation.shapes import Shapes


class ReportFormat(enum.Enum):
    """How ``boostkg validate`` prints its reports."""

    text = "text"
    json = "json"
    turtle = "turtle"


class ExitCode(enum.IntEnum):
    """``boostkg validate``'s exit codes (the worst file decides)."""

    CONFORMS = 0
    VIOLATIONS = 1
    UNREADABLE = 2


@dataclass(frozen=True)
class FileOutcome:
    """A file's report, or the error that kept it from being validated."""

    path: Path
    report: ValidationReport | None
    error: InputError | None

    @property
    def exit_code(self) -> ExitCode:
        if self.report is None:
            return ExitCode.UNREADABLE
        return ExitCode.CONFORMS if self.report.conforms else ExitCode.VIOLATIONS


def validate_file(
    path: Path, shapes: Shapes, *, store: KnowledgeStore | None = None, reference: Graph | None = None
) -> FileOutcome:
    """Read, parse and validate one file (format from its suffix); never raises InputError."""
    try:
        if not path.is_file():
            raise InputNotFoundError(path)
        rdf_format = RdfFormat.from_path(path)
        if rdf_format is None or rdf_format.has_graphs:
            raise InputError(
                "cannot tell a submission format from the file name (.ttl, .nt, .jsonld, .rdf)",
                Location(str(path)),
            )
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read: {exc.strerror}", Location(str(path))) from exc
        parsed = parse_submission(data, media_type=rdf_format.media_type, source_name=str(path))
        return FileOutcome(path, validate(parsed, shapes, store=store, reference=reference), None)
    except InputError as exc:
        return FileOutcome(path, None, exc)


def exit_code(outcomes: Sequence[FileOutcome]) -> ExitCode:
    """2 if a file could not be read or parsed, else 1 if one has violations, else 0."""
    return max((o.exit_code for o in outcomes), default=ExitCode.CONFORMS)


def render(outcomes: Sequence[FileOutcome], report_format: ReportFormat) -> str:
    """The outcomes for standard output: text blocks or Turtle reports one after another (files
    that could not be read are left to the caller's error output), or one JSON array of every
    file (with ``error`` for unreadable ones)."""
    if report_format is ReportFormat.json:
        items: list[dict[str, object]] = []
        for outcome in outcomes:
            if outcome.report is not None:
                items.append({"file": str(outcome.path), **outcome.report.to_json()})
            else:
                items.append({"file": str(outcome.path), "error": str(outcome.error)})
        return json.dumps(items, indent=2, ensure_ascii=False) + "\n"
    parts: list[str] = []
    for outcome in outcomes:
        if outcome.report is None:
            continue
        if report_format is ReportFormat.turtle:
            parts.append(f"# {outcome.path}\n{outcome.report.to_turtle()}")
        else:
            parts.append(outcome.report.to_text(str(outcome.path)))
    return "".join(parts)
