"""Reading CSV sources for importers: UTF-8, header and row-shape checks with exact locations.

One entry point, :func:`read_csv`, streams a CSV (or gzip-compressed CSV) file and yields one
:class:`CsvRow` per record, each knowing the line it starts on. Everything that makes the file as a
whole unusable raises an ``InputError`` subclass naming the file, the line and the column:

- the file is missing -> :class:`~boostkg.errors.InputNotFoundError`;
- a byte sequence is not UTF-8 -> :class:`~boostkg.errors.EncodingError` with the line and the
  1-based *byte* column of the first bad byte;
- the header has unknown, missing, duplicate or empty column names -> :class:`SchemaError`
  naming them;
- the CSV is malformed -> :class:`~boostkg.errors.ParseError` with the line: an unterminated quote,
  a stray quote inside an unquoted field, a NUL byte, or a record whose number of fields differs
  from the header's.

A record with the wrong number of fields is an *error*, not a counted row problem, by design: when
fields are missing or extra, every value after the first misplaced comma sits under the wrong
column, so no value of that record can be trusted, and the import is all-or-nothing anyway. Bad
*values* in a well-formed record are the importer's business: it reports them with
:meth:`CsvRow.problem` and moves on.

Blank lines (e.g. a trailing empty line) are skipped. A UTF-8 byte-order mark before the header is
accepted and dropped. Values are passed on as written (no stripping).
"""

from __future__ import annotations

import csv
import gzip
import zlib
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from boostkg.errors import (
    EncodingError,
    InputNotFoundError,
    Location,
    ParseError,
    SchemaError,
)
from boostkg.importers.base import ProgressCallback, RowProblem

PROGRESS_EVERY_ROWS = 2000
"""How many records are read between two calls of the progress callback."""


@dataclass(frozen=True)
class CsvRow:
    """One CSV record: its values by column name and the file line it starts on."""

    line: int
    """1-based line number of the record's first line (the header is line 1)."""
    values: dict[str, str]

    def __getitem__(self, column: str) -> str:
        return self.values[column]

    def problem(self, column: str, reason: str, value: str | None = None) -> RowProblem:
        """A :class:`RowProblem` for ``column`` of this row (value defaults to the cell's text).

        >>> CsvRow(7, {"level": "4"}).problem("level", "unknown NUTS level")
        RowProblem(row=7, column='level', value='4', reason='unknown NUTS level')
        """
        text = self.values.get(column, "") if value is None else value
        return RowProblem(row=self.line, column=column, value=text, reason=reason)


def read_csv(
    path: Path,
    *,
    required: Collection[str],
    optional: Collection[str] = (),
    allow_unknown: bool = False,
    delimiter: str = ",",
    progress: ProgressCallback | None = None,
) -> Iterator[CsvRow]:
    """Stream the records of the CSV file ``path`` (``*.gz`` is decompressed on the fly).

    Args:
        path: the file; a name ending in ``.gz`` is read as gzip.
        required: columns the header must contain.
        optional: columns the header may contain; rows lack them as keys when absent.
        allow_unknown: accept (and pass through) columns that are neither required nor optional.
        delimiter: the field separator (``";"`` for CORDIS's live exports).
        progress: called with the number of *file* bytes consumed since the previous call
            (compressed bytes for ``.gz``), so a progress bar can use the file size as total.

    Yields:
        One :class:`CsvRow` per non-blank record after the header.

    Raises:
        InputNotFoundError: ``path`` does not exist or is not a regular file.
        EncodingError: a line is not UTF-8 (or the gzip stream is corrupt); names line and
            byte column.
        SchemaError: the header is empty or has unknown, missing, duplicate or empty column names.
        ParseError: the CSV is malformed (names the line): bad quoting, a NUL byte, or a record
            whose number of fields differs from the header's.
    """
    if not path.is_file():
        raise InputNotFoundError(path)
    source = str(path)
    with path.open("rb") as raw:
        stream: Iterable[bytes] = gzip.GzipFile(fileobj=raw, mode="rb") if path.suffix == ".gz" else raw
        lines = _decoded_lines(stream, source)
        reader = csv.reader(lines, delimiter=delimiter, strict=True)
        header = _next_record(reader, source, 1)
        if header is None:
            raise SchemaError("empty file: no header line", Location(source, 1))
        if header and header[0].startswith("\ufeff"):
            header[0] = header[0][1:]
        _check_header(header, required, optional, allow_unknown=allow_unknown, source=source)
        width = len(header)
        reported = 0
        count = 0
        while True:
            start = reader.line_num + 1
            record = _next_record(reader, source, start)
            if record is None:
                break
            if not record:
                continue  # a blank line
            if len(record) != width:
                raise ParseError(
                    f"record has {len(record)} fields, the header has {width}",
                    Location(source, start),
                )
            yield CsvRow(start, dict(zip(header, record, strict=True)))
            count += 1
            if progress is not None and count % PROGRESS_EVERY_ROWS == 0:
                position = raw.tell()
                progress(position - reported)
                reported = position
        if progress is not None:
            position = raw.tell()
            progress(position - reported)


def _decoded_lines(stream: Iterable[bytes], source: str) -> Iterator[str]:
    """The lines of ``stream`` decoded as UTF-8; raises EncodingError at the first bad byte."""
    number = 0
    try:
        for number, data in enumerate(stream, start=1):
            try:
                yield data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise EncodingError(
                    f"not UTF-8: byte 0x{data[exc.start]:02x} cannot be decoded ({exc.reason})",
                    Location(source, number, exc.start + 1),
                ) from exc
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise EncodingError(f"corrupt gzip stream: {exc}", Location(source, number + 1)) from exc


def _next_record(reader: Iterator[list[str]], source: str, line: int) -> list[str] | None:
    """The next record, ``None`` at the end; csv errors become ParseError at ``line``."""
    try:
        return next(reader)
    except StopIteration:
        return None
    except csv.Error as exc:
        raise ParseError(f"malformed CSV: {exc}", Location(source, line)) from exc


def _check_header(
    header: list[str],
    required: Collection[str],
    optional: Collection[str],
    *,
    allow_unknown: bool,
    source: str,
) -> None:
    """Raise SchemaError naming every unknown, missing, duplicate or empty column."""
    where = Location(source, 1)
    empty = [str(i) for i, name in enumerate(header, start=1) if not name.strip()]
    if empty:
        raise SchemaError(f"empty column name in column(s) {', '.join(empty)}", where)
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise SchemaError(f"duplicate column(s): {', '.join(duplicates)}", where)
    problems = []
    missing = [name for name in required if name not in header]
    if missing:
        problems.append(f"missing column(s): {', '.join(missing)}")
    known = set(required) | set(optional)
    unknown = [name for name in header if name not in known]
    if unknown and not allow_unknown:
        problems.append(f"unknown column(s): {', '.join(unknown)} (expected: {', '.join(sorted(known))})")
    if problems:
        raise SchemaError("; ".join(problems), where)
