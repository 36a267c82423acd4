"""Countries as the EU codes them: two-letter EU code -> ISO alpha-3, country IRI and English name.

The EU writes ISO 3166-1 alpha-2 codes except for Greece (``EL``, ISO ``GR``) and the United
Kingdom (``UK``, ISO ``GB``), and uses the user-assigned ``XK`` for Kosovo (alpha-3 ``XKX``, as in
the Publications Office country authority table). Every other code is looked up in pycountry. An
unknown code gives ``None`` so a caller can report the row instead of minting a wrong IRI.

>>> alpha3("EL"), alpha3("UK"), alpha3("XK"), alpha3("ro"), alpha3("XX")
('GRC', 'GBR', 'XKX', 'ROU', None)
>>> str(country_for("EE"))
'http://publications.europa.eu/resource/authority/country/EST'
>>> english_name("CZ"), english_name("EL"), english_name("XK")
('Czechia', 'Greece', 'Kosovo')
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import pycountry
from rdflib import URIRef

from boostkg.namespaces import country_iri

_EU_EXCEPTIONS: dict[str, tuple[str, str]] = {
    "EL": ("GRC", "Greece"),
    "UK": ("GBR", "United Kingdom"),
    "XK": ("XKX", "Kosovo"),
}
"""EU two-letter codes that are not ISO alpha-2 codes (or not in ISO at all)."""


@dataclass(frozen=True)
class CountryInfo:
    """A country as the EU codes it."""

    code: str
    """The EU two-letter code (``EL``, ``UK``, ``RO``)."""
    alpha3: str
    """ISO 3166-1 alpha-3 (``XKX`` for Kosovo), the last segment of :attr:`iri`."""
    iri: URIRef
    name: str
    """English short name."""


def lookup(code: str) -> CountryInfo | None:
    """Everything known about EU two-letter ``code`` (case and surrounding blanks ignored).

    >>> greece = lookup(" el ")
    >>> greece.code, greece.alpha3, greece.name, greece.iri == country_for("EL")
    ('EL', 'GRC', 'Greece', True)
    >>> lookup("ZZ") is None
    True
    """
    found = _lookup(code)
    if found is None:
        return None
    return CountryInfo(code.strip().upper(), found[0], country_iri(found[0]), found[1])


@lru_cache(maxsize=512)
def _lookup(code: str) -> tuple[str, str] | None:
    """(alpha-3, English name) for an EU two-letter code, or None."""
    key = code.strip().upper()
    if key in _EU_EXCEPTIONS:
        return _EU_EXCEPTIONS[key]
    if len(key) != 2 or not key.isalpha():
        return None
    country = pycountry.countries.get(alpha_2=key)
    if country is None:
        return None
    alpha_3 = str(country.alpha_3)
    name = str(getattr(country, "common_name", country.name))
    return alpha_3, name


def alpha3(code: str) -> str | None:
    """The ISO 3166-1 alpha-3 code for an EU two-letter country code, or None if unknown."""
    found = _lookup(code)
    return found[0] if found else None


def country_for(code: str) -> URIRef | None:
    """The EU authority IRI of the country with EU two-letter ``code``, or None if unknown."""
    found = _lookup(code)
    return country_iri(found[0]) if found else None


def english_name(code: str) -> str | None:
    """The country's English short name (pycountry's common name if any), or None if unknown."""
    found = _lookup(code)
    return found[1] if found else None


def eu_code(code: str) -> str:
    """The EU's spelling of an ISO alpha-2 code: ``GR`` -> ``EL``, ``GB`` -> ``UK``, else as is.

    >>> eu_code("GR"), eu_code("gb"), eu_code("DK")
    ('EL', 'UK', 'DK')
    """
    key = code.strip().upper()
    return {"GR": "EL", "GB": "UK"}.get(key, key)
