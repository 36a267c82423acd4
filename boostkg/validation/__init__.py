"""SHACL validation of stewards' submissions: parse safely, validate in context, report.

Typical use (the shapes are parsed once and reused)::

    shapes = load_shapes(settings_shapes_dir)
    parsed = parse_submission(body, media_type="text/turtle", source_name="ro11.ttl")
    report = validate(parsed, shapes, store=kg)
    if not report.conforms: ...
"""

from __future__ import annotations

from boostkg.validation.engine import CONTEXT_PROPERTIES, fetch_context, validate
from boostkg.validation.model import Issue, Severity, ValidationReport
from boostkg.validation.parsing import (
    MAX_NESTING,
    SUPPORTED_MEDIA_TYPES,
    ParsedSubmission,
    media_type_format,
    parse_submission,
)
from boostkg.validation.shapes import Shapes, load_shapes

__all__ = [
    "CONTEXT_PROPERTIES",
    "MAX_NESTING",
    "SUPPORTED_MEDIA_TYPES",
    "Issue",
    "ParsedSubmission",
    "Severity",
    "Shapes",
    "ValidationReport",
    "fetch_context",
    "load_shapes",
    "media_type_format",
    "parse_submission",
    "validate",
]
