"""The EIS importer: European Innovation Scoreboard country groups -> performance classifications.

Source: a CSV with columns ``eis_edition,country_code,performance_group,source``, one row per
(edition, country). Output, in graph ``graph/eis``: per row one ``icf:PerformanceClassification``
at ``id/classification/eis-<edition>-<CC>`` (CC the EU code, e.g. ``EL``) with
``icf:classifiedPlace`` the country, ``icf:scoreboard`` ``vocab/scoreboard/EIS``, ``icf:edition``
(xsd:gYear), ``icf:performanceGroup`` ``vocab/performance-group/<Leader|Strong|Moderate|Emerging>``,
``dcterms:source`` and an English ``rdfs:label``; plus a dataset description of the graph.

A group may be written with or without "Innovator" ("Strong", "Strong Innovator", "Innovation
Leader"), in any case. "Modest" is the pre-2021 name of "Emerging": it is mapped to Emerging and the
classification gets a ``skos:editorialNote`` saying so. The ``source`` cell becomes an IRI when it
is a URL; when it is a URL followed by a remark, the URL is the ``dcterms:source`` and the whole
text a ``skos:editorialNote``; otherwise it is a literal.

Bad values are counted row problems (the row is skipped): an edition that is not a year from 2001
(the first scoreboard) on, an unknown country code, an unknown group, or a second row for the same
edition and country.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TextIO

from rdflib import URIRef
from rdflib.namespace import DCAT, DCTERMS, RDFS, SKOS, VOID

from boostkg.importers import countries
from boostkg.importers.base import ImportReport, ProgressCallback
from boostkg.importers.ntriples import RDF_TYPE, XSD_GYEAR, iri, literal, triple
from boostkg.importers.tabular import CsvRow, read_csv
from boostkg.namespaces import ICF, ID, VOCAB, graph_iri

COLUMNS = ("eis_edition", "country_code", "performance_group", "source")
FIRST_EDITION = 2001
GROUP_LABELS: dict[str, str] = {
    "Leader": "Innovation Leader",
    "Strong": "Strong Innovator",
    "Moderate": "Moderate Innovator",
    "Emerging": "Emerging Innovator",
}
"""The current performance groups (local names under vocab/performance-group/) and their labels."""
MODEST_NOTE = (
    "The source calls this group 'Modest Innovator', the name used before the 2021 edition for "
    "what is now 'Emerging Innovator'; recorded as Emerging."
)
EIS_PAGE = (
    "https://research-and-innovation.ec.europa.eu/statistics/performance-indicators/"
    "european-innovation-scoreboard_en"
)
CC_BY_4 = "https://creativecommons.org/licenses/by/4.0/"
CORPORATE_BODY = "http://publications.europa.eu/resource/authority/corporate-body/"
ATTRIBUTION = (
    "Source: European Commission, European Innovation Scoreboard (performance groups of the EU "
    "member states), (c) European Union.\n"
    "Reused under the European Commission's reuse policy (Decision 2011/833/EU), licence "
    "CC BY 4.0: https://creativecommons.org/licenses/by/4.0/\n"
    "Each classification cites the text it was taken from (dcterms:source); converted to RDF by "
    "boostkg."
)

_URL = re.compile(r"https?://\S+")
_YEAR = re.compile(r"[0-9]{4}")

_TYPE = iri(RDF_TYPE)
_CLASSIFICATION = iri(str(ICF.PerformanceClassification))
_PLACE_P = iri(str(ICF.classifiedPlace))
_SCOREBOARD_P = iri(str(ICF.scoreboard))
_EDITION_P = iri(str(ICF.edition))
_GROUP_P = iri(str(ICF.performanceGroup))
_SOURCE_P = iri(str(DCTERMS.source))
_LABEL_P = iri(str(RDFS.label))
_EDITORIAL_P = iri(str(SKOS.editorialNote))
_EIS = iri(str(VOCAB["scoreboard/EIS"]))


def normalise_group(text: str) -> tuple[str, bool] | None:
    """(current group name, whether the source used the old name "Modest"), or None if unknown.

    >>> normalise_group("Strong"), normalise_group("innovation leader")
    (('Strong', False), ('Leader', False))
    >>> normalise_group(" Modest Innovator "), normalise_group("Champion")
    (('Emerging', True), None)
    """
    words = text.strip().lower().split()
    words = [word for word in words if word not in {"innovator", "innovators", "innovation"}]
    if len(words) != 1:
        return None
    word = words[0]
    if word == "modest":
        return "Emerging", True
    for group in GROUP_LABELS:
        if word in {group.lower(), group.lower() + "s"}:
            return group, False
    return None


def classification_iri(edition: int, country_code: str) -> URIRef:
    """IRI of the EIS classification of a country in an edition.

    >>> str(classification_iri(2021, "EE"))
    'https://w3id.org/boostkg/id/classification/eis-2021-EE'
    """
    return ID[f"classification/eis-{edition}-{country_code}"]


class EisImporter:
    """Converts the EIS country groups table to N-Triples for graph ``graph/eis``."""

    name: str = "eis"
    graph: URIRef = graph_iri("eis")
    attribution: str = ATTRIBUTION

    def convert(self, source: Path, out: TextIO, *, progress: ProgressCallback | None = None) -> ImportReport:
        """Read ``source`` and write one performance classification per good row to ``out``.

        Raises:
            InputNotFoundError: the file does not exist.
            EncodingError: the file is not UTF-8 (names line and byte column).
            SchemaError: unknown or missing columns (names them).
            ParseError: the file is not well-formed CSV (names the line).
        """
        report = ImportReport(source=source, graph=self.graph)
        seen: set[tuple[int, str]] = set()
        triples = 0
        for row in read_csv(source, required=COLUMNS, progress=progress):
            report.rows_read += 1
            written = _convert_row(row, out, report, seen)
            if written:
                triples += written
                report.rows_imported += 1
        triples += _write_dataset(out, self.graph)
        report.triples = triples
        return report


def _convert_row(row: CsvRow, out: TextIO, report: ImportReport, seen: set[tuple[int, str]]) -> int:
    """Write one classification; returns the number of triples (0 after reporting a problem)."""
    edition_text = row["eis_edition"].strip()
    country = countries.lookup(row["country_code"])
    group = normalise_group(row["performance_group"])
    if not _YEAR.fullmatch(edition_text) or int(edition_text) < FIRST_EDITION:
        report.add_problem(row.problem("eis_edition", f"not an EIS edition year (>= {FIRST_EDITION})"))
        return 0
    if country is None:
        report.add_problem(row.problem("country_code", "unknown country code"))
        return 0
    if group is None:
        report.add_problem(
            row.problem("performance_group", "unknown performance group"),
        )
        return 0
    edition = int(edition_text)
    if (edition, country.code) in seen:
        report.add_problem(row.problem("country_code", "second classification in this edition"))
        return 0
    seen.add((edition, country.code))
    group_name, modest = group
    subject = iri(str(classification_iri(edition, country.code)))
    label = f"{country.name}: {GROUP_LABELS[group_name]} (EIS {edition})"
    lines = [
        triple(subject, _TYPE, _CLASSIFICATION),
        triple(subject, _PLACE_P, iri(str(country.iri))),
        triple(subject, _SCOREBOARD_P, _EIS),
        triple(subject, _EDITION_P, literal(str(edition), datatype=XSD_GYEAR)),
        triple(subject, _GROUP_P, iri(str(VOCAB[f"performance-group/{group_name}"]))),
        triple(subject, _LABEL_P, literal(label, lang="en")),
    ]
    if modest:
        lines.append(triple(subject, _EDITORIAL_P, literal(MODEST_NOTE, lang="en")))
    lines.extend(_source_triples(subject, row["source"].strip()))
    out.writelines(lines)
    return len(lines)


def _source_triples(subject: str, text: str) -> list[str]:
    """dcterms:source as an IRI when ``text`` is or starts with a URL, else as a literal."""
    if not text:
        return []
    match = _URL.match(text)
    if match is None:
        return [triple(subject, _SOURCE_P, literal(text))]
    try:
        url = iri(match.group(0))
    except ValueError:  # a URL with characters IRIs may not hold: keep the text
        return [triple(subject, _SOURCE_P, literal(text))]
    lines = [triple(subject, _SOURCE_P, url)]
    if match.end() < len(text):
        lines.append(triple(subject, _EDITORIAL_P, literal(f"Source: {text}")))
    return lines


def _write_dataset(out: TextIO, graph: URIRef) -> int:
    """Describe the graph as a dataset: title, source, licence, publisher, attribution."""
    subject = iri(str(graph))
    lines = [
        triple(subject, _TYPE, iri(str(VOID.Dataset))),
        triple(subject, _TYPE, iri(str(DCAT.Dataset))),
        triple(
            subject,
            iri(str(DCTERMS.title)),
            literal("European Innovation Scoreboard: performance groups of countries", lang="en"),
        ),
        triple(
            subject,
            iri(str(DCTERMS.description)),
            literal(
                "The performance group (Innovation Leader, Strong, Moderate or Emerging "
                "Innovator) the European Commission's European Innovation Scoreboard gives each "
                "EU member state, one classification per edition.",
                lang="en",
            ),
        ),
        triple(subject, _SOURCE_P, iri(EIS_PAGE)),
        triple(subject, iri(str(DCTERMS.license)), iri(CC_BY_4)),
        triple(subject, iri(str(DCTERMS.publisher)), iri(CORPORATE_BODY + "COM")),
        triple(subject, iri(str(DCTERMS.rightsHolder)), iri(CORPORATE_BODY + "COM")),
        triple(subject, iri(str(DCTERMS.rights)), literal(ATTRIBUTION.replace("\n", " "))),
    ]
    out.writelines(lines)
    return len(lines)
