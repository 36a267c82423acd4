"""Shared CSV reading: every way a file can be unusable names the file, line and column."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from boostkg.errors import EncodingError, InputNotFoundError, ParseError, SchemaError
from boostkg.importers.tabular import CsvRow, read_csv

BAD = Path(__file__).resolve().parent.parent / "data" / "importers"
NUTS_COLUMNS = ("nuts_code", "country_code", "level", "label", "label_latin")


def _read(path: Path) -> list[CsvRow]:
    return list(read_csv(path, required=NUTS_COLUMNS))


def test_rows_carry_values_and_start_line(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text('a,b\n1,"two\nlines"\n\n3,4\n', encoding="utf-8")
    rows = list(read_csv(path, required=("a", "b")))
    assert [(r.line, r.values) for r in rows] == [
        (2, {"a": "1", "b": "two\nlines"}),
        (5, {"a": "3", "b": "4"}),
    ]


def test_byte_order_mark_and_crlf_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(b"\xef\xbb\xbfa,b\r\n1,2\r\n")
    assert [r.values for r in read_csv(path, required=("a", "b"))] == [{"a": "1", "b": "2"}]


def test_gzip_is_read_and_progress_sums_to_file_size(tmp_path: Path) -> None:
    path = tmp_path / "t.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write("a;b\n" + "".join(f"{i};x\n" for i in range(5000)))
    seen: list[int] = []
    rows = list(read_csv(path, required=("a", "b"), delimiter=";", progress=seen.append))
    assert len(rows) == 5000
    assert rows[-1].line == 5001
    assert len(seen) >= 2
    assert sum(seen) == path.stat().st_size


def test_optional_and_allowed_unknown_columns(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a,extra\n1,2\n", encoding="utf-8")
    rows = list(read_csv(path, required=("a",), optional=("b",), allow_unknown=True))
    assert rows[0].values == {"a": "1", "extra": "2"}


def test_missing_file() -> None:
    with pytest.raises(InputNotFoundError, match=r"no-such\.csv"):
        _read(BAD / "no-such.csv")


def test_not_utf8_names_line_and_column() -> None:
    with pytest.raises(EncodingError) as info:
        _read(BAD / "nuts-not-utf8.csv")
    assert info.value.location is not None
    assert (info.value.location.line, info.value.location.column) == (3, 21)
    assert "nuts-not-utf8.csv, line 3, column 21" in str(info.value)
    assert "0xf6" in str(info.value)


def test_unknown_column_is_named() -> None:
    with pytest.raises(SchemaError, match=r"unknown column\(s\): population"):
        _read(BAD / "nuts-unknown-column.csv")


def test_missing_column_is_named() -> None:
    with pytest.raises(SchemaError, match=r"missing column\(s\): label_latin") as info:
        _read(BAD / "nuts-missing-column.csv")
    assert "nuts-missing-column.csv, line 1" in str(info.value)


def test_duplicate_column_is_named(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a,b,a\n1,2,3\n", encoding="utf-8")
    with pytest.raises(SchemaError, match=r"duplicate column\(s\): a"):
        list(read_csv(path, required=("a", "b")))


def test_empty_file_has_no_header(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(b"")
    with pytest.raises(SchemaError, match="no header"):
        list(read_csv(path, required=("a",)))


def test_wrong_field_count_is_a_parse_error_naming_the_line() -> None:
    with pytest.raises(ParseError, match="record has 4 fields, the header has 5") as info:
        _read(BAD / "nuts-wrong-field-count.csv")
    assert info.value.location is not None
    assert info.value.location.line == 3


def test_unterminated_quote_is_a_parse_error_naming_the_record_line() -> None:
    with pytest.raises(ParseError, match="malformed CSV") as info:
        _read(BAD / "nuts-unterminated-quote.csv")
    assert info.value.location is not None
    assert info.value.location.line == 3


def test_row_problem_points_at_row_and_column() -> None:
    problem = CsvRow(12, {"level": "9"}).problem("level", "unknown NUTS level")
    assert str(problem) == "row 12, column 'level': unknown NUTS level (value '9')"
