"""Horizon 2020 participations (CORDIS, as compiled in zambujo/eunets) -> N-Triples.

Source: a directory holding ``participations-*.csv[.gz]`` and ``programme-parts-*.csv[.gz]``, or
the participations file itself (the programme-parts file is then the one given to the importer,
or the single ``programme-parts-*`` file next to it, or none). Both files are streamed; only the
small map rcn -> programme parts and the sets of identifiers already written stay in memory.

Each participations row gives three nodes, each written once:

- the organisation ``actor_iri(pic)``: its class from the CORDIS activity type
  (:data:`ACTIVITY_CLASSES`), ``icf:pic`` and ``icf:inCountry``;
- the project ``project_iri("h2020", rcn)``: ``icf:Project`` with ``icf:rcn``,
  ``dcterms:identifier``, dates, ``icf:maxContribution``, ``icf:totalCost`` and one
  ``icf:programmePart`` per programme part of the rcn (a project may have several);
- the participation ``participation_iri(f"h2020-{rcn}", pic)``: participant, project, role,
  ``icf:contribution`` and the project's dates.

``NA`` means "not available" and is not a problem: the triple is left out. What is done with bad
values (each counted as a :class:`RowProblem` with the file line and column):

- row skipped: empty or non-numeric ``rcn`` or ``pic``; a second row for the same (rcn, pic).
- row kept, value left out: an unknown role (no ``icf:participationRole``), a bad number, a bad
  date, an end date before the start date (the end date is left out), an unknown country code.
- row kept, value replaced: an unknown activity type types the organisation as ``icf:Actor``.
- conflicts: when a later row gives an organisation another activity type or country, or a project
  other dates or amounts, the first row's values are kept and the conflict is counted.
- country ``NA``: read as Namibia (ISO code NA; every such row is in group ``tc``, third
  countries), but it may be R's "not available" written back as text, so the organisation also
  gets ``icf:uncertainProperty icf:inCountry`` and a ``skos:editorialNote``; counted as a problem
  so that the report shows it.

The graph also describes itself (source, licence, derivation) in a few triples.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import TextIO

from rdflib import URIRef
from rdflib.namespace import DCAT, DCTERMS, PROV, RDF, SKOS

from boostkg.errors import InputNotFoundError
from boostkg.importers.base import ImportReport, ProgressCallback
from boostkg.importers.countries import country_for
from boostkg.importers.ntriples import XSD_DATE, XSD_DECIMAL, iri, literal, triple
from boostkg.importers.tabular import CsvRow, read_csv
from boostkg.namespaces import (
    ICF,
    THEME,
    VOCAB,
    actor_iri,
    country_iri,
    graph_iri,
    participation_iri,
    project_iri,
)

NOT_AVAILABLE = "NA"

PARTICIPATION_COLUMNS = (
    "rcn",
    "role",
    "pic",
    "type",
    "contribution",
    "country",
    "start_date",
    "end_date",
    "max_contribution",
    "total_cost",
    "start_year",
    "end_year",
    "duration",
    "group",
    "nunique",
)
"""The columns of the participations file; the last five are derived and not converted."""
PROGRAMME_PART_COLUMNS = ("rcn", "programme_part")

PROGRAMME_PARTS = frozenset(
    ["ERC", "MSCA", "FET", "RI", "LEIT", "Innovation in SMEs", "SEWP", "SWAFS", "Euratom", "ARF"]
    + [f"SC{i}" for i in range(1, 8)]
)
"""Horizon 2020 programme parts as written in the file; the concept is theme/h2020/<code>."""

ACTIVITY_CLASSES: dict[str, URIRef] = {
    "HES": ICF.University,
    "REC": ICF.ResearchOrganisation,
    "PRC": ICF.BusinessActor,
    "PUB": ICF.PublicAuthority,
    "OTH": ICF.Actor,
}
"""CORDIS activity type -> ICF class of the organisation."""

ROLES: dict[str, URIRef] = {name: VOCAB[f"role/{name}"] for name in ("coordinator", "participant", "partner")}
"""Participation roles as written in CORDIS -> concept in the role vocabulary."""

CC_BY_4 = URIRef("https://creativecommons.org/licenses/by/4.0/")
CORDIS_H2020_DATASET = URIRef("https://data.europa.eu/data/datasets/cordish2020projects")
EUNETS_REPOSITORY = URIRef("https://github.com/zambujo/eunets")

_DIGITS = re.compile(r"[0-9]+")
_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

# --- pre-formatted terms ----------------------------------------------------------------------
T_TYPE = iri(RDF.type)
P_PIC = iri(ICF.pic)
P_IN_COUNTRY = iri(ICF.inCountry)
P_UNCERTAIN = iri(ICF.uncertainProperty)
P_EDITORIAL_NOTE = iri(SKOS.editorialNote)
P_RCN = iri(ICF.rcn)
P_IDENTIFIER = iri(DCTERMS.identifier)
P_START = iri(ICF.startDate)
P_END = iri(ICF.endDate)
P_MAX_CONTRIBUTION = iri(ICF.maxContribution)
P_TOTAL_COST = iri(ICF.totalCost)
P_PROGRAMME_PART = iri(ICF.programmePart)
P_PARTICIPANT = iri(ICF.participant)
P_IN_COLLABORATION = iri(ICF.inCollaboration)
P_ROLE = iri(ICF.participationRole)
P_CONTRIBUTION = iri(ICF.contribution)
C_PROJECT = iri(ICF.Project)
C_PARTICIPATION = iri(ICF.Participation)
C_ACTOR = iri(ICF.Actor)


def country_term(code: str) -> str | None:
    """The formatted country IRI for an EU two-letter code (EL, UK), ``None`` if unknown.

    >>> country_term("EL")
    '<http://publications.europa.eu/resource/authority/country/GRC>'
    >>> country_term("ZZ") is None
    True
    """
    return _country_term(code)


@lru_cache(maxsize=512)
def _country_term(code: str) -> str | None:
    found = country_for(code)
    return None if found is None else iri(found)


@lru_cache(maxsize=4096)
def parse_date(text: str) -> str | None:
    """An ``xsd:date`` literal for an ISO date, ``None`` when ``text`` is not one.

    >>> parse_date("2017-01-01")
    '"2017-01-01"^^<http://www.w3.org/2001/XMLSchema#date>'
    >>> parse_date("2017-02-30") is None
    True
    """
    if not _ISO_DATE.fullmatch(text):
        return None
    try:
        date.fromisoformat(text)
    except ValueError:
        return None
    return literal(text, datatype=XSD_DATE)


def parse_decimal(text: str) -> str | None:
    """An ``xsd:decimal`` literal for a plain decimal number, ``None`` when it is not one.

    >>> parse_decimal("3990206.25")
    '"3990206.25"^^<http://www.w3.org/2001/XMLSchema#decimal>'
    >>> parse_decimal("12,5") is None
    True
    """
    if not _DECIMAL.fullmatch(text):
        return None
    return literal(text, datatype=XSD_DECIMAL)


def programme_part_term(code: str) -> str:
    """The formatted IRI of a programme part's concept (spaces become '-')."""
    return iri(THEME["h2020/" + code.replace(" ", "-")])


def dataset_description(
    graph: URIRef, *, title: str, description: str, source: URIRef, derived_from: URIRef | None
) -> list[str]:
    """A few N-Triples lines describing an imported graph: title, source, licence, derivation."""
    subject = iri(graph)
    lines = [
        triple(subject, T_TYPE, iri(DCAT.Dataset)),
        triple(subject, iri(DCTERMS.title), literal(title, lang="en")),
        triple(subject, iri(DCTERMS.description), literal(description, lang="en")),
        triple(subject, iri(DCTERMS.source), iri(source)),
        triple(subject, iri(DCTERMS.license), iri(CC_BY_4)),
        triple(
            subject,
            iri(DCTERMS.rights),
            literal(
                "Data from CORDIS, (c) European Union; reused under the EU reuse policy "
                "(Commission Decision 2011/833/EU), CC BY 4.0.",
                lang="en",
            ),
        ),
    ]
    if derived_from is not None:
        lines.append(triple(subject, iri(PROV.wasDerivedFrom), iri(derived_from)))
    return lines


@dataclass(frozen=True)
class CordisSources:
    """The two files of a CORDIS Horizon 2020 import."""

    participations: Path
    programme_parts: Path | None


def find_sources(source: Path, programme_parts: Path | None = None) -> CordisSources:
    """Locate the participations and programme-parts files for ``source``.

    Raises:
        InputNotFoundError: ``source`` (or ``programme_parts``, or the participations file in a
            directory) does not exist.
    """
    if programme_parts is not None and not programme_parts.is_file():
        raise InputNotFoundError(programme_parts)
    if source.is_dir():
        participations = _single(source, "participations-*.csv*")
        if participations is None:
            raise InputNotFoundError(source / "participations-*.csv[.gz]")
        parts = programme_parts or _single(source, "programme-parts-*.csv*")
        return CordisSources(participations, parts)
    if not source.is_file():
        raise InputNotFoundError(source)
    return CordisSources(source, programme_parts or _single(source.parent, "programme-parts-*.csv*"))


def _single(directory: Path, pattern: str) -> Path | None:
    found = sorted(p for p in directory.glob(pattern) if p.suffix in (".csv", ".gz"))
    return found[0] if len(found) == 1 else None


class CordisH2020Importer:
    """Horizon 2020 participations and programme parts -> graph/cordis-h2020."""

    name = "cordis"
    graph = graph_iri("cordis-h2020")

    def __init__(self, *, programme_parts: Path | None = None) -> None:
        self.programme_parts = programme_parts

    def total_bytes(self, source: Path) -> int:
        """Bytes the progress callback will report in all (for a progress bar's total).

        Raises:
            InputNotFoundError: as :func:`find_sources`.
        """
        files = find_sources(source, self.programme_parts)
        total = files.participations.stat().st_size
        if files.programme_parts is not None:
            total += files.programme_parts.stat().st_size
        return total

    def convert(self, source: Path, out: TextIO, *, progress: ProgressCallback | None = None) -> ImportReport:
        """Stream the CORDIS files under ``source`` and write N-Triples to ``out``.

        ``progress`` receives file bytes read (compressed bytes for ``.gz``), programme parts
        first; their sum is :meth:`total_bytes`.

        Raises:
            InputNotFoundError: a file does not exist.
            EncodingError: a file is not UTF-8.
            SchemaError: unknown or missing columns.
            ParseError: malformed CSV, or a record with the wrong number of fields.
        """
        files = find_sources(source, self.programme_parts)
        report = ImportReport(source=files.participations, graph=self.graph)
        parts: dict[str, list[str]] = {}
        if files.programme_parts is not None:
            parts = _read_programme_parts(files.programme_parts, report, progress)
        writer = _H2020Writer(out, report, parts)
        writer.emit(
            dataset_description(
                self.graph,
                title="Horizon 2020 participations, projects started 2014-2018 (CORDIS)",
                description=(
                    "Organisations, projects and participations of Horizon 2020 projects that "
                    "started in 2014-2018, from the CORDIS project and organisation exports."
                ),
                source=CORDIS_H2020_DATASET,
                derived_from=EUNETS_REPOSITORY,
            )
        )
        rows = read_csv(files.participations, required=PARTICIPATION_COLUMNS, progress=progress)
        for row in rows:
            writer.row(row)
        writer.flush()
        return report


def _read_programme_parts(
    path: Path, report: ImportReport, progress: ProgressCallback | None
) -> dict[str, list[str]]:
    """rcn -> formatted programme-part IRIs; unknown parts and bad rcns are counted problems."""
    parts: dict[str, list[str]] = {}
    for row in read_csv(path, required=PROGRAMME_PART_COLUMNS, progress=progress):
        rcn, code = row["rcn"], row["programme_part"]
        if not _DIGITS.fullmatch(rcn):
            report.add_problem(row.problem("rcn", f"{path.name}: rcn is not a number"))
            continue
        if code not in PROGRAMME_PARTS:
            report.add_problem(
                row.problem("programme_part", f"{path.name}: unknown Horizon 2020 programme part")
            )
            continue
        term = programme_part_term(code)
        known = parts.setdefault(rcn, [])
        if term not in known:
            known.append(term)
    return parts


_BUFFER_LINES = 20_000


class _H2020Writer:
    """Turns participations rows into N-Triples lines, remembering what it already wrote."""

    def __init__(self, out: TextIO, report: ImportReport, parts: dict[str, list[str]]) -> None:
        self.out = out
        self.report = report
        self.parts = parts
        self.buffer: list[str] = []
        self.organisations: dict[str, tuple[str, str]] = {}
        self.projects: dict[str, tuple[str, str, str, str]] = {}
        self.pairs: set[tuple[str, str]] = set()

    def emit(self, lines: list[str]) -> None:
        self.buffer.extend(lines)

    def flush(self) -> None:
        self.report.triples += len(self.buffer)
        self.out.write("".join(self.buffer))
        self.buffer.clear()

    def problem(self, row: CsvRow, column: str, reason: str) -> None:
        self.report.add_problem(row.problem(column, reason))

    def row(self, row: CsvRow) -> None:
        self.report.rows_read += 1
        values = row.values
        rcn, pic = values["rcn"], values["pic"]
        if not _DIGITS.fullmatch(rcn):
            self.problem(row, "rcn", "empty or non-numeric rcn; row skipped")
            return
        if not _DIGITS.fullmatch(pic):
            self.problem(row, "pic", "empty or non-numeric PIC; row skipped")
            return
        if (rcn, pic) in self.pairs:
            self.problem(row, "pic", "second row for this project and PIC; row skipped")
            return
        self.pairs.add((rcn, pic))
        self.report.rows_imported += 1
        # rcn and pic are digits only, so the minted IRIs need no character check
        organisation = f"<{actor_iri(pic)}>"
        project = f"<{project_iri('h2020', rcn)}>"
        self._organisation(row, organisation, pic)
        start, end = self._dates(row)
        self._project(row, project, rcn, start, end)
        self._participation(
            row, f"<{participation_iri(f'h2020-{rcn}', pic)}>", organisation, project, start, end
        )
        if len(self.buffer) >= _BUFFER_LINES:
            self.flush()

    def _organisation(self, row: CsvRow, subject: str, pic: str) -> None:
        kind, country = row.values["type"], row.values["country"]
        first = self.organisations.get(pic)
        if first is not None:
            if first[0] != kind:
                self.problem(row, "type", "differs from an earlier row of this organisation; first kept")
            if first[1] != country:
                self.problem(row, "country", "differs from an earlier row of this organisation; first kept")
            return
        self.organisations[pic] = (kind, country)
        buffer = self.buffer
        cls = ACTIVITY_CLASSES.get(kind)
        if cls is None:
            self.problem(row, "type", "unknown CORDIS activity type; typed icf:Actor")
            buffer.append(triple(subject, T_TYPE, C_ACTOR))
        else:
            buffer.append(triple(subject, T_TYPE, iri(cls)))
        buffer.append(triple(subject, P_PIC, literal(pic)))
        if country == NOT_AVAILABLE:
            self.problem(row, "country", "'NA' read as Namibia, marked uncertain (may mean not available)")
            buffer.append(triple(subject, P_IN_COUNTRY, _NAMIBIA))
            buffer.append(triple(subject, P_UNCERTAIN, P_IN_COUNTRY))
            buffer.append(
                triple(
                    subject,
                    P_EDITORIAL_NOTE,
                    literal(
                        "The source gives the country code 'NA': Namibia, or a value that was "
                        "not available and written as NA.",
                        lang="en",
                    ),
                )
            )
            return
        term = _country_term(country)
        if term is None:
            self.problem(row, "country", "unknown country code; icf:inCountry left out")
        else:
            buffer.append(triple(subject, P_IN_COUNTRY, term))

    def _dates(self, row: CsvRow) -> tuple[str | None, str | None]:
        """The row's start and end date literals (None when NA or bad; bad ones counted)."""
        start = self._optional(row, "start_date", parse_date, "not an ISO date (YYYY-MM-DD)")
        end = self._optional(row, "end_date", parse_date, "not an ISO date (YYYY-MM-DD)")
        if start is not None and end is not None and row["end_date"] < row["start_date"]:
            self.problem(row, "end_date", "end date before start date; end date left out")
            end = None
        return start, end

    def _optional(
        self, row: CsvRow, column: str, parse: Callable[[str], str | None], reason: str
    ) -> str | None:
        text = row.values[column]
        if text == NOT_AVAILABLE:
            return None
        term = parse(text)
        if term is None:
            self.problem(row, column, f"{reason}; left out")
        return term

    def _project(self, row: CsvRow, subject: str, rcn: str, start: str | None, end: str | None) -> None:
        values = row.values
        key = (values["start_date"], values["end_date"], values["max_contribution"], values["total_cost"])
        first = self.projects.get(rcn)
        if first is not None:
            if first != key:
                differing = [
                    name
                    for name, old, new in zip(
                        ("start_date", "end_date", "max_contribution", "total_cost"), first, key, strict=True
                    )
                    if old != new
                ]
                self.problem(row, differing[0], "differs from an earlier row of this project; first kept")
            return
        self.projects[rcn] = key
        buffer = self.buffer
        number = literal(rcn)
        buffer.append(triple(subject, T_TYPE, C_PROJECT))
        buffer.append(triple(subject, P_RCN, number))
        buffer.append(triple(subject, P_IDENTIFIER, number))
        if start is not None:
            buffer.append(triple(subject, P_START, start))
        if end is not None:
            buffer.append(triple(subject, P_END, end))
        amount = self._optional(row, "max_contribution", parse_decimal, "not a decimal number")
        if amount is not None:
            buffer.append(triple(subject, P_MAX_CONTRIBUTION, amount))
        amount = self._optional(row, "total_cost", parse_decimal, "not a decimal number")
        if amount is not None:
            buffer.append(triple(subject, P_TOTAL_COST, amount))
        for part in self.parts.get(rcn, ()):
            buffer.append(triple(subject, P_PROGRAMME_PART, part))

    def _participation(
        self,
        row: CsvRow,
        subject: str,
        organisation: str,
        project: str,
        start: str | None,
        end: str | None,
    ) -> None:
        buffer = self.buffer
        buffer.append(triple(subject, T_TYPE, C_PARTICIPATION))
        buffer.append(triple(subject, P_PARTICIPANT, organisation))
        buffer.append(triple(subject, P_IN_COLLABORATION, project))
        role = _ROLE_TERMS.get(row.values["role"])
        if role is None:
            self.problem(row, "role", "unknown participation role; icf:participationRole left out")
        else:
            buffer.append(triple(subject, P_ROLE, role))
        amount = self._optional(row, "contribution", parse_decimal, "not a decimal number")
        if amount is not None:
            buffer.append(triple(subject, P_CONTRIBUTION, amount))
        if start is not None:
            buffer.append(triple(subject, P_START, start))
        if end is not None:
            buffer.append(triple(subject, P_END, end))


_NAMIBIA = iri(country_iri("NAM"))
_ROLE_TERMS = {name: iri(concept) for name, concept in ROLES.items()}
