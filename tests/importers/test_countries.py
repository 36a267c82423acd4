"""EU two-letter country codes -> ISO alpha-3 country IRIs and names."""

from __future__ import annotations

import pytest

from boostkg.importers.countries import alpha3, country_for, english_name, eu_code
from boostkg.namespaces import COUNTRY

EU27 = [
    "AT",
    "BE",
    "BG",
    "CY",
    "CZ",
    "DE",
    "DK",
    "EE",
    "EL",
    "ES",
    "FI",
    "FR",
    "HR",
    "HU",
    "IE",
    "IT",
    "LT",
    "LU",
    "LV",
    "MT",
    "NL",
    "PL",
    "PT",
    "RO",
    "SE",
    "SI",
    "SK",
]


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("EL", "GRC"),
        ("UK", "GBR"),
        ("XK", "XKX"),
        ("RO", "ROU"),
        ("DK", "DNK"),
        ("bg", "BGR"),
    ],
)
def test_eu_codes_map_to_alpha3(code: str, expected: str) -> None:
    assert alpha3(code) == expected
    assert country_for(code) == COUNTRY[expected]


@pytest.mark.parametrize("code", ["XX", "", "E", "EST", "1A", "GR1"])
def test_unknown_or_malformed_code_gives_none(code: str) -> None:
    assert alpha3(code) is None
    assert country_for(code) is None
    assert english_name(code) is None


def test_every_eu27_code_has_a_distinct_country() -> None:
    found = {alpha3(code) for code in EU27}
    assert None not in found
    assert len(found) == 27


def test_english_names() -> None:
    assert english_name("EE") == "Estonia"
    assert english_name("EL") == "Greece"
    assert english_name("UK") == "United Kingdom"
    assert english_name("CZ") == "Czechia"


def test_iso_codes_become_eu_codes() -> None:
    assert [eu_code(c) for c in ("GR", "GB", "ee")] == ["EL", "UK", "EE"]
