"""CORDIS's official ``organization.csv`` export (one row per organisation in a project) -> N-Triples.

The delimiter is detected from the header (``;`` in the live export, ``,`` in some copies); fields
may be quoted. ``organisationID`` is the PIC, so organisations merge with the Horizon 2020 network
(:mod:`boostkg.importers.cordis`) on ``actor_iri(pic)``. Written for each row, each node once:

- the organisation: class from ``activityType`` (plus ``icf:SME`` when ``SME`` is ``True``),
  ``icf:pic``, ``rdfs:label`` and ``skos:prefLabel`` (name), ``icf:acronym`` (shortName; but
  ``skos:altLabel`` when it has a space or is long: CORDIS puts English names there too),
  ``schema:vatID``, ``schema:url``, ``icf:inCountry``, ``icf:basedInCity``, ``icf:inRegion`` (the
  NUTS region), ``locn:address`` -> a ``locn:Address`` (``locn:thoroughfare``, ``locn:postCode``,
  ``locn:postName``) and ``geo:hasGeometry`` -> a ``geo:Geometry`` with ``geo:asWKT``
  ``"POINT(lon lat)"`` (the CSV gives "lat,lon");
- the city ``id/city/<CC>-<slug>``: ``icf:City``, ``rdfs:label`` (first spelling seen),
  ``icf:inCountry``;
- the project ``project_iri("cordis", projectID)`` (projectID is the grant agreement number):
  ``icf:grantAgreementNumber``, ``icf:acronym``, ``dcterms:identifier``;
- the participation ``participation_iri(f"cordis-{projectID}", pic)``: participant, project,
  role, ``icf:contribution`` (ecContribution) and ``icf:totalCost``.

Empty cells mean "not given". Odd values are counted :class:`RowProblem` s:

- row skipped: empty or non-numeric ``organisationID`` or ``projectID``; a second row for the same
  project and PIC (CORDIS lists a third party once per beneficiary it is linked to).
- value normalised and kept: a decimal comma (``771225,1`` -> 771225.1); a URL without a scheme
  (``www.x.org`` -> ``http://www.x.org``).
- value left out: a bad number, a bad geolocation (not two numbers, or out of range), a URL that
  is not an IRI, a NUTS code that is not well formed or not in the organisation's country, an
  unknown country, a ``SME`` value other than True/False, a role outside the role vocabulary
  (``thirdParty``, ``internationalPartner``).
- value replaced: an unknown activity type types the organisation as ``icf:Actor``.
- conflicts: when a later row describes an organisation differently (name, type, SME flag,
  country, city, address, geolocation, URL, VAT), the first row is kept and the conflict counted.
"""

from __future__ import annotations

import csv
import gzip
import re
import unicodedata
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

from rdflib import URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, SKOS

from boostkg.errors import InputNotFoundError
from boostkg.importers.base import ImportReport, ProgressCallback
from boostkg.importers.cordis import (
    ACTIVITY_CLASSES,
    ROLES,
    country_term,
    dataset_description,
)
from boostkg.importers.ntriples import XSD_DECIMAL, iri, literal, triple
from boostkg.importers.tabular import CsvRow, read_csv
from boostkg.namespaces import (
    GEO,
    ICF,
    ID,
    LOCN,
    SCHEMA,
    actor_iri,
    graph_iri,
    nuts_iri,
    participation_iri,
    project_iri,
)

REQUIRED_COLUMNS = (
    "projectID",
    "projectAcronym",
    "organisationID",
    "name",
    "activityType",
    "country",
    "role",
)
OPTIONAL_COLUMNS = (
    "vatNumber",
    "shortName",
    "SME",
    "street",
    "postCode",
    "city",
    "nutsCode",
    "geolocation",
    "organizationURL",
    "contactForm",
    "contentUpdateDate",
    "rcn",
    "order",
    "ecContribution",
    "netEcContribution",
    "totalCost",
    "endOfParticipation",
    "active",
)
"""Columns of the official layout that may be absent; ``contactForm``, ``contentUpdateDate``,
``rcn`` (the organisation record's), ``order``, ``netEcContribution``, ``endOfParticipation`` and
``active`` are read but not converted."""

CORDIS_PORTAL = URIRef("https://cordis.europa.eu/")
DELIMITERS = (";", ",")
MAX_ACRONYM_LENGTH = 25
"""A ``shortName`` longer than this, or with a space, is a short name, not an acronym."""
NOT_APPLICABLE_VAT = frozenset({"", "NOTAPPLICABLE", "NA", "N/A"})

_DIGITS = re.compile(r"[0-9]+")
_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_DECIMAL_COMMA = re.compile(r"-?[0-9]+,[0-9]{1,2}")
_NUTS = re.compile(r"[A-Z]{2}[A-Z0-9]{0,3}")
_NUMBER = r"\s*(-?[0-9]+(?:\.[0-9]+)?)\s*"
_LAT_LON = re.compile(_NUMBER + "," + _NUMBER)
_HOST_LIKE = re.compile(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+(/\S*)?")

WKT_LITERAL = str(GEO.wktLiteral)

T_TYPE = iri(RDF.type)
C_SME = iri(ICF.SME)
C_ACTOR = iri(ICF.Actor)
C_CITY = iri(ICF.City)
C_PROJECT = iri(ICF.Project)
C_PARTICIPATION = iri(ICF.Participation)
C_ADDRESS = iri(LOCN.Address)
C_GEOMETRY = iri(GEO.Geometry)
P_PIC = iri(ICF.pic)
P_LABEL = iri(RDFS.label)
P_PREF_LABEL = iri(SKOS.prefLabel)
P_ALT_LABEL = iri(SKOS.altLabel)
P_ACRONYM = iri(ICF.acronym)
P_VAT = iri(SCHEMA.vatID)
P_URL = iri(SCHEMA.url)
P_IN_COUNTRY = iri(ICF.inCountry)
P_IN_REGION = iri(ICF.inRegion)
P_BASED_IN_CITY = iri(ICF.basedInCity)
P_ADDRESS = iri(LOCN.address)
P_THOROUGHFARE = iri(LOCN.thoroughfare)
P_POST_CODE = iri(LOCN.postCode)
P_POST_NAME = iri(LOCN.postName)
P_HAS_GEOMETRY = iri(GEO.hasGeometry)
P_AS_WKT = iri(GEO.asWKT)
P_GRANT = iri(ICF.grantAgreementNumber)
P_IDENTIFIER = iri(DCTERMS.identifier)
P_PARTICIPANT = iri(ICF.participant)
P_IN_COLLABORATION = iri(ICF.inCollaboration)
P_ROLE = iri(ICF.participationRole)
P_CONTRIBUTION = iri(ICF.contribution)
P_TOTAL_COST = iri(ICF.totalCost)

_ROLE_TERMS = {name: iri(concept) for name, concept in ROLES.items()}
_ORGANISATION_FIELDS = (
    "name",
    "shortName",
    "vatNumber",
    "activityType",
    "SME",
    "country",
    "street",
    "postCode",
    "city",
    "nutsCode",
    "geolocation",
    "organizationURL",
)


def detect_delimiter(path: Path) -> str:
    """``;`` or ``,``: whichever splits the header line into more known column names.

    Raises:
        InputNotFoundError: ``path`` does not exist.
    """
    if not path.is_file():
        raise InputNotFoundError(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as stream:
        first = stream.readline()
    text = first.decode("utf-8", errors="replace").lstrip("\ufeff")
    known = set(REQUIRED_COLUMNS) | set(OPTIONAL_COLUMNS)

    def score(delimiter: str) -> int:
        header = next(csv.reader([text], delimiter=delimiter), [])
        return sum(1 for name in header if name.strip() in known)

    return max(DELIMITERS, key=score)


def city_slug(name: str) -> str:
    """A city name as an IRI segment: ASCII, lower case, '-' between words.

    >>> city_slug("TRES CANTOS MADRID"), city_slug("Málaga"), city_slug("Cluj-Napoca ")
    ('tres-cantos-madrid', 'malaga', 'cluj-napoca')
    """
    ascii_text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def wkt_point(geolocation: str) -> str | None:
    """``"POINT(lon lat)"`` for a CORDIS ``"lat,lon"`` cell, ``None`` when it is not one.

    >>> wkt_point("59.4044539,17.9453627")
    'POINT(17.9453627 59.4044539)'
    >>> wkt_point("95.1,10") is None, wkt_point("52,2") is None
    (True, True)
    """
    match = _LAT_LON.fullmatch(geolocation)
    if match is None:
        return None
    lat, lon = match.group(1), match.group(2)
    if not (-90 <= float(lat) <= 90 and -180 <= float(lon) <= 180):
        return None
    if "." not in lat and "." not in lon:
        return None  # "52,2" is more likely one number with a decimal comma than a position
    return f"POINT({lon} {lat})"


class CordisOrganisationsImporter:
    """CORDIS ``organization.csv`` (official layout) -> graph/cordis-organisations."""

    name = "cordis-organisations"
    graph = graph_iri("cordis-organisations")

    def total_bytes(self, source: Path) -> int:
        """Bytes the progress callback will report in all (the file's size).

        Raises:
            InputNotFoundError: ``source`` does not exist.
        """
        if not source.is_file():
            raise InputNotFoundError(source)
        return source.stat().st_size

    def convert(self, source: Path, out: TextIO, *, progress: ProgressCallback | None = None) -> ImportReport:
        """Stream ``source`` and write N-Triples to ``out``.

        Raises:
            InputNotFoundError: the file does not exist.
            EncodingError: the file is not UTF-8.
            SchemaError: unknown or missing columns.
            ParseError: malformed CSV, or a record with the wrong number of fields.
        """
        delimiter = detect_delimiter(source)
        report = ImportReport(source=source, graph=self.graph)
        writer = _OrganisationWriter(report)
        writer.lines.extend(
            dataset_description(
                self.graph,
                title="Organisations in EU-funded projects (CORDIS organization.csv)",
                description=(
                    "Organisations, their addresses and positions, and their participations in "
                    "projects, from CORDIS's organisation export."
                ),
                source=CORDIS_PORTAL,
                derived_from=None,
            )
        )
        rows = read_csv(
            source,
            required=REQUIRED_COLUMNS,
            optional=OPTIONAL_COLUMNS,
            delimiter=delimiter,
            progress=progress,
        )
        for row in rows:
            writer.row(row)
            if len(writer.lines) >= 20_000:
                writer.flush(out)
        writer.flush(out)
        return report


class _OrganisationWriter:
    """Turns organisation rows into N-Triples lines, remembering what it already wrote."""

    def __init__(self, report: ImportReport) -> None:
        self.report = report
        self.lines: list[str] = []
        self.organisations: dict[str, tuple[str, ...]] = {}
        self.cities: set[str] = set()
        self.projects: set[str] = set()
        self.pairs: set[tuple[str, str]] = set()

    def flush(self, out: TextIO) -> None:
        self.report.triples += len(self.lines)
        out.write("".join(self.lines))
        self.lines.clear()

    def add(self, subject: str, predicate: str, obj: str) -> None:
        self.lines.append(triple(subject, predicate, obj))

    def problem(self, row: CsvRow, column: str, reason: str) -> None:
        self.report.add_problem(row.problem(column, reason))

    def row(self, row: CsvRow) -> None:
        self.report.rows_read += 1
        pic, project_id = row["organisationID"], row["projectID"]
        if not _DIGITS.fullmatch(pic):
            self.problem(row, "organisationID", "empty or non-numeric PIC; row skipped")
            return
        if not _DIGITS.fullmatch(project_id):
            self.problem(row, "projectID", "empty or non-numeric project ID; row skipped")
            return
        if (project_id, pic) in self.pairs:
            self.problem(row, "organisationID", "second row for this project and PIC; row skipped")
            return
        self.pairs.add((project_id, pic))
        self.report.rows_imported += 1
        # both are digits only, so the minted IRIs need no character check
        organisation = f"<{actor_iri(pic)}>"
        project = f"<{project_iri('cordis', project_id)}>"
        self.organisation(row, organisation, pic)
        self.project(row, project, project_id)
        self.participation(row, f"<{participation_iri(f'cordis-{project_id}', pic)}>", organisation, project)

    def organisation(self, row: CsvRow, subject: str, pic: str) -> None:
        values = row.values
        key = tuple(values.get(name, "") for name in _ORGANISATION_FIELDS)
        first = self.organisations.get(pic)
        if first is not None:
            for name, old, new in zip(_ORGANISATION_FIELDS, first, key, strict=True):
                if old != new:
                    self.problem(row, name, "differs from an earlier row of this organisation; first kept")
            return
        self.organisations[pic] = key
        kind = values["activityType"]
        cls = ACTIVITY_CLASSES.get(kind)
        if cls is None:
            self.problem(row, "activityType", "unknown CORDIS activity type; typed icf:Actor")
            self.add(subject, T_TYPE, C_ACTOR)
        else:
            self.add(subject, T_TYPE, iri(cls))
        sme = values.get("SME", "")
        if sme == "True":
            self.add(subject, T_TYPE, C_SME)
        elif sme not in ("False", ""):
            self.problem(row, "SME", "not True or False; left out")
        self.add(subject, P_PIC, literal(pic))
        name = values["name"].strip()
        if name:
            self.add(subject, P_LABEL, literal(name))
            self.add(subject, P_PREF_LABEL, literal(name))
        short = values.get("shortName", "").strip()
        if short:
            looks_like_acronym = len(short) <= MAX_ACRONYM_LENGTH and not any(ch.isspace() for ch in short)
            self.add(subject, P_ACRONYM if looks_like_acronym else P_ALT_LABEL, literal(short))
        vat = values.get("vatNumber", "").strip()
        if vat.upper() not in NOT_APPLICABLE_VAT:
            self.add(subject, P_VAT, literal(vat))
        self.url(row, subject)
        country_code = values["country"].strip()
        country = country_term(country_code) if country_code else None
        if country_code and country is None:
            self.problem(row, "country", "unknown country code; icf:inCountry left out")
        if country is not None:
            self.add(subject, P_IN_COUNTRY, country)
        self.city(row, subject, country_code, country)
        self.region(row, subject, country_code)
        self.address(row, subject)
        self.geometry(row, subject)

    def url(self, row: CsvRow, subject: str) -> None:
        text = row.values.get("organizationURL", "").strip()
        if not text:
            return
        if not re.match(r"https?://", text, re.IGNORECASE):
            if not _HOST_LIKE.fullmatch(text):
                self.problem(row, "organizationURL", "not a web address; left out")
                return
            self.problem(row, "organizationURL", "URL without scheme; http:// assumed")
            text = "http://" + text
        try:
            if not urlsplit(text).hostname:
                raise ValueError("no host")
            term = iri(text)
        except ValueError:
            self.problem(row, "organizationURL", "URL is not a valid IRI; left out")
            return
        self.add(subject, P_URL, term)

    def city(self, row: CsvRow, subject: str, country_code: str, country: str | None) -> None:
        name = row.values.get("city", "").strip()
        slug = city_slug(name)
        if not slug or not country_code:
            return
        city = iri(ID[f"city/{country_code}-{slug}"])
        self.add(subject, P_BASED_IN_CITY, city)
        if city in self.cities:
            return
        self.cities.add(city)
        self.add(city, T_TYPE, C_CITY)
        self.add(city, P_LABEL, literal(name))
        if country is not None:
            self.add(city, P_IN_COUNTRY, country)

    def region(self, row: CsvRow, subject: str, country_code: str) -> None:
        code = row.values.get("nutsCode", "").strip()
        if not code:
            return
        if not _NUTS.fullmatch(code):
            self.problem(row, "nutsCode", "not a well-formed NUTS code; left out")
        elif country_code and code[:2] != country_code:
            self.problem(row, "nutsCode", "NUTS code outside the organisation's country; left out")
        else:
            self.add(subject, P_IN_REGION, iri(nuts_iri(code)))

    def address(self, row: CsvRow, subject: str) -> None:
        values = row.values
        parts = [
            (P_THOROUGHFARE, values.get("street", "").strip()),
            (P_POST_CODE, values.get("postCode", "").strip()),
            (P_POST_NAME, values.get("city", "").strip()),
        ]
        if not any(text for _, text in parts):
            return
        node = _part_iri(subject, "address")
        self.add(subject, P_ADDRESS, node)
        self.add(node, T_TYPE, C_ADDRESS)
        for predicate, text in parts:
            if text:
                self.add(node, predicate, literal(text))

    def geometry(self, row: CsvRow, subject: str) -> None:
        text = row.values.get("geolocation", "").strip()
        if not text:
            return
        point = wkt_point(text)
        if point is None:
            self.problem(row, "geolocation", "not a 'lat,lon' position; left out")
            return
        node = _part_iri(subject, "geometry")
        self.add(subject, P_HAS_GEOMETRY, node)
        self.add(node, T_TYPE, C_GEOMETRY)
        self.add(node, P_AS_WKT, literal(point, datatype=WKT_LITERAL))

    def project(self, row: CsvRow, subject: str, project_id: str) -> None:
        if project_id in self.projects:
            return
        self.projects.add(project_id)
        number = literal(project_id)
        self.add(subject, T_TYPE, C_PROJECT)
        self.add(subject, P_GRANT, number)
        self.add(subject, P_IDENTIFIER, number)
        acronym = row.values["projectAcronym"].strip()
        if acronym:
            self.add(subject, P_ACRONYM, literal(acronym))

    def participation(self, row: CsvRow, subject: str, organisation: str, project: str) -> None:
        self.add(subject, T_TYPE, C_PARTICIPATION)
        self.add(subject, P_PARTICIPANT, organisation)
        self.add(subject, P_IN_COLLABORATION, project)
        role = _ROLE_TERMS.get(row.values["role"])
        if role is None:
            self.problem(row, "role", "role not in the role vocabulary; left out")
        else:
            self.add(subject, P_ROLE, role)
        for column, predicate in (("ecContribution", P_CONTRIBUTION), ("totalCost", P_TOTAL_COST)):
            amount = self.decimal(row, column)
            if amount is not None:
                self.add(subject, predicate, amount)

    def decimal(self, row: CsvRow, column: str) -> str | None:
        text = row.values.get(column, "").strip()
        if not text:
            return None
        if _DECIMAL.fullmatch(text):
            return literal(text, datatype=XSD_DECIMAL)
        if _DECIMAL_COMMA.fullmatch(text):
            self.problem(row, column, "decimal comma; read as a decimal point")
            return literal(text.replace(",", "."), datatype=XSD_DECIMAL)
        self.problem(row, column, "not a decimal number; left out")
        return None


def _part_iri(subject: str, part: str) -> str:
    """A formatted IRI for a part (address, geometry) of the node ``subject`` (formatted)."""
    return iri(URIRef(subject[1:-1] + "/" + part))
