"""One exception hierarchy for boostkg; messages name the file, line, column, node or term.

No HTTP and no settings here: the API maps these to problem details in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class BoostKGError(Exception):
    """Root of every error boostkg raises on purpose."""


@dataclass(frozen=True)
class Location:
    """Where in an input a problem is: a file and, when known, a line/row and a column."""

    source: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        parts = [self.source]
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.column is not None:
            parts.append(f"column {self.column}")
        return ", ".join(parts)


class InputError(BoostKGError):
    """An input (file, request body, argument) cannot be used; says where and why."""

    def __init__(self, message: str, location: Location | None = None) -> None:
        self.location = location
        self.reason = message
        super().__init__(f"{location}: {message}" if location else message)


class InputNotFoundError(InputError):
    """A named input file does not exist or is not a regular file."""

    def __init__(self, path: Path | str) -> None:
        super().__init__("no such file", Location(str(path)))


class ParseError(InputError):
    """RDF or CSV text is malformed (syntax, encoding)."""


class EncodingError(ParseError):
    """An input is not valid UTF-8."""


class SchemaError(InputError):
    """A table has unknown or missing columns, or a value of the wrong kind."""


class UnknownTermError(InputError):
    """A code or IRI that must refer to a known thing (NUTS code, theme, class) does not."""


class StoreError(BoostKGError):
    """The store cannot do what was asked (locked, corrupt, query failed)."""


class StoreLockedError(StoreError):
    """Another process holds the store open."""


class StorageFullError(StoreError):
    """The device (or quota) holding the store is full: the write was rolled back, the store is as
    before it; names the store and what the system said."""


class StoreUnavailableError(StoreError):
    """A remote store cannot be reached or failed (connection refused, 5xx); names its URL."""


class QueryError(StoreError):
    """A SPARQL query or update is malformed or failed while running."""


class QueryTimeoutError(QueryError):
    """A query ran past its time limit and was stopped (or no worker was free to start it)."""


class ResultTooLargeError(QueryError):
    """A query's results grew past the configured maximum size and were cut off."""


class NotAcceptableError(BoostKGError):
    """No representation the server can produce satisfies the request's ``Accept`` header."""


class ReasoningError(BoostKGError):
    """The reasoner found the ontology and data inconsistent, or could not run."""


class QualityCheckError(BoostKGError):
    """A quality check (queries/checks/) returned rows."""


class AuthError(BoostKGError):
    """A request carries no token, an unknown token or a revoked one."""


class ForbiddenError(BoostKGError):
    """An authenticated steward asked for something outside their lane (scope rules).

    ``triples`` lists the offending triples (N-Triples-like strings), so a steward sees exactly
    what was refused.
    """

    def __init__(self, message: str, triples: tuple[str, ...] = ()) -> None:
        self.reason = message
        self.triples = triples
        super().__init__(message)


class PayloadTooLargeError(InputError):
    """A request body is larger than the configured limit."""


class UriTooLongError(PayloadTooLargeError):
    """A request URL (a GET query) is longer than the configured limit."""


class UnsupportedMediaTypeError(InputError):
    """A request body's content type is missing or not one boostkg reads."""


class BackupRejectedError(InputError):
    """A backup sent for restoring is truncated, tampered with or disagrees with its own manifest."""


class NotFoundError(BoostKGError):
    """A resource named in a request (a submission, a token) does not exist."""


class ConflictError(BoostKGError):
    """A request conflicts with the current state of a resource: e.g. replacing or withdrawing a
    submission that is no longer current (already withdrawn or replaced)."""


class NotConformingError(BoostKGError):
    """A submission breaks SHACL core shapes; ``outcome`` is the submission's JSON, carrying the
    whole validation report (every violation)."""

    def __init__(self, message: str, outcome: dict[str, object]) -> None:
        self.outcome = outcome
        super().__init__(message)
