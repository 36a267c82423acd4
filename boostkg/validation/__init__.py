"""SHACL validation of stewards' submissions: parse safely, validate in context, report.

Typical use (the shapes are parsed once and reused)::

    shapes = load_shapes(settings_shapes_dir)
    parsed = parse_submission(body, media_type="text/turtle", source_name="ro11.ttl")
    report = validate(parsed, shapes, store=kg)
    if not report.conforms: ...
"""

from __future__ import annotations

from boostkg.validation.engine import CONTEXT_PROPERTIES, Engine, fetch_context, validate
from boostkg.validation.files import ExitCode, FileOutcome, ReportFormat, exit_code, render, validate_file
from boostkg.validation.model import Issue, Severity, ValidationReport
from boostkg.validation.parsing import (
    MAX_NESTING,
    SUPPORTED_MEDIA_TYPES,
    ParsedSubmission,
    media_type_format,
    parse_submission,
)
from boostkg.validation.reference import REFERENCE_FILES, load_reference_graph
from boostkg.validation.shapes import Shapes, load_shapes

__all__ = [
    "CONTEXT_PROPERTIES",
    "MAX_NESTING",
    "REFERENCE_FILES",
    "SUPPORTED_MEDIA_TYPES",
    "Engine",
    "ExitCode",
    "FileOutcome",
    "Issue",
    "ParsedSubmission",
    "ReportFormat",
    "Severity",
    "Shapes",
    "ValidationReport",
    "exit_code",
    "fetch_context",
    "load_reference_graph",
    "load_shapes",
    "media_type_format",
    "parse_submission",
    "render",
    "validate",
    "validate_file",
]
