"""The project's namespaces and IRI minting rules; the only place IRI strings are written.

``ICF`` is closed: it lists exactly the terms that ``ontology/icf.ttl`` defines
(``tests/test_namespaces.py`` checks that both agree), so a typo such as
``ICF.partof`` fails at import time instead of producing an unknown IRI.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from urllib.parse import quote

from rdflib import Graph, Namespace, URIRef
from rdflib.namespace import (
    DCAT,
    DCTERMS,
    FOAF,
    OWL,
    PROV,
    RDF,
    RDFS,
    SH,
    SKOS,
    VOID,
    XSD,
    DefinedNamespace,
    NamespaceManager,
)

BASE = "https://w3id.org/boostkg/"
ONTOLOGY_IRI = URIRef(BASE + "icf")
ONTOLOGY_VERSION = "0.1.0"

ID = Namespace(BASE + "id/")
"""Instances: organisations, projects, participations, classifications, ..."""
THEME = Namespace(BASE + "theme/")
"""The BOOST theme scheme and the Horizon 2020 programme-part scheme."""
VOCAB = Namespace(BASE + "vocab/")
"""Controlled concepts: participation roles, scoreboards, performance groups and subgroups."""
GRAPH = Namespace(BASE + "graph/")
"""Named graphs; each says where its triples came from."""

NUTS = Namespace("http://data.europa.eu/nuts/code/")
COUNTRY = Namespace("http://publications.europa.eu/resource/authority/country/")
ORG = Namespace("http://www.w3.org/ns/org#")
ROV = Namespace("http://www.w3.org/ns/regorg#")
CPOV = Namespace("http://data.europa.eu/m8g/")
EURIO = Namespace("http://data.europa.eu/s66#")
SCHEMA = Namespace("https://schema.org/")
GEO = Namespace("http://www.opengis.net/ont/geosparql#")
LOCN = Namespace("http://www.w3.org/ns/locn#")
VANN = Namespace("http://purl.org/vocab/vann/")
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
REPORT = Namespace(BASE + "shapes/report#")
"""Terms boostkg adds to SHACL reports (``report:line``: where the focus node is written)."""


class ICF(DefinedNamespace):
    """The Interregional Collaboration Framework ontology (prefix ``icf``)."""

    _NS = Namespace(BASE + "icf#")
    _fail = True

    # --- actors (quadruple helix + intermediaries) -------------------------
    Actor: URIRef
    AcademicActor: URIRef
    University: URIRef
    ResearchOrganisation: URIRef
    BusinessActor: URIRef
    SME: URIRef
    LargeEnterprise: URIRef
    StartUp: URIRef
    PublicAuthority: URIRef
    Municipality: URIRef
    RegionalDevelopmentAgency: URIRef
    Ministry: URIRef
    CivilSocietyOrganisation: URIRef
    NGO: URIRef
    Association: URIRef
    Intermediary: URIRef
    Cluster: URIRef
    SciencePark: URIRef
    InnovationAgency: URIRef
    CorridorActor: URIRef
    # --- places ------------------------------------------------------------
    Place: URIRef
    Country: URIRef
    NUTSRegion: URIRef
    City: URIRef
    # --- collaborations ----------------------------------------------------
    Collaboration: URIRef
    Project: URIRef
    Consortium: URIRef
    Partnership: URIRef
    Corridor: URIRef
    CorridorCollaboration: URIRef  # a Corridor, or a Collaboration partOfCorridor some Corridor
    Participation: URIRef
    ParticipationRole: URIRef
    # --- themes ------------------------------------------------------------
    Theme: URIRef
    ProgrammePart: URIRef
    # --- capabilities and needs --------------------------------------------
    CapabilityStatement: URIRef
    Capability: URIRef
    Need: URIRef
    # --- funding -----------------------------------------------------------
    FundingProgramme: URIRef
    FundingInstrument: URIRef
    Grant: URIRef
    # --- innovation performance -------------------------------------------
    Scoreboard: URIRef
    PerformanceClassification: URIRef
    PerformanceGroup: URIRef
    # --- policy --------------------------------------------------------------
    ActionPlan: URIRef
    Objective: URIRef
    Action: URIRef
    Indicator: URIRef
    # --- provenance of loads -------------------------------------------------
    Load: URIRef
    StoreWrite: URIRef  # an admin's SPARQL Update or Graph Store write (a prov:Activity)
    # --- partner matching ------------------------------------------------------
    MatchingRun: URIRef
    CandidatePartnership: URIRef
    ScoreComponent: URIRef
    RunParameter: URIRef

    # === object properties ===================================================
    locatedIn: URIRef  # Actor/Place -> Place; transitive via partOf chain
    basedInCity: URIRef  # Actor -> City
    inRegion: URIRef  # Actor/City -> NUTSRegion (the most specific one known)
    inCountry: URIRef  # Actor/Place -> Country
    partOf: URIRef  # Place -> Place, transitive
    directlyPartOf: URIRef  # Place -> Place, the NUTS parent (sub-property of partOf)
    participant: URIRef  # Participation -> Actor
    inCollaboration: URIRef  # Participation -> Collaboration
    participationRole: URIRef  # Participation -> ParticipationRole
    hasParticipation: URIRef  # Actor -> Participation (inverse of participant)
    participatesIn: URIRef  # Actor -> Collaboration (shortcut, materialised)
    coordinates: URIRef  # Actor -> Collaboration (materialised from role coordinator)
    partOfCorridor: URIRef  # Collaboration -> Corridor
    corridorSource: URIRef  # Corridor -> Place (leader side)
    corridorTarget: URIRef  # Corridor -> Place (catch-up side)
    hasTheme: URIRef  # Actor/Collaboration/CapabilityStatement/Action -> Theme
    programmePart: URIRef  # Project -> ProgrammePart
    hasCapability: URIRef  # Actor -> Capability
    hasNeed: URIRef  # Actor -> Need
    fundedBy: URIRef  # Collaboration/Action -> Grant or FundingInstrument
    instrumentOf: URIRef  # FundingInstrument -> FundingProgramme
    grantInstrument: URIRef  # Grant -> FundingInstrument
    beneficiary: URIRef  # Grant -> Actor
    classifiedPlace: URIRef  # PerformanceClassification -> Place
    scoreboard: URIRef  # PerformanceClassification -> Scoreboard
    performanceGroup: URIRef  # PerformanceClassification -> PerformanceGroup
    performanceSubgroup: URIRef  # PerformanceClassification -> PerformanceGroup
    hasObjective: URIRef  # ActionPlan -> Objective
    hasAction: URIRef  # Objective -> Action
    responsibleActor: URIRef  # Action -> Actor
    hasIndicator: URIRef  # Objective/Action -> Indicator
    uncertainProperty: URIRef  # any -> rdf:Property whose value on this node is uncertain
    matchedCorridor: URIRef  # MatchingRun -> Corridor
    hasRunParameter: URIRef  # MatchingRun -> RunParameter
    candidateSource: URIRef  # CandidatePartnership -> Actor
    candidateTarget: URIRef  # CandidatePartnership -> Actor
    hasScoreComponent: URIRef  # CandidatePartnership -> ScoreComponent
    sharedPartner: URIRef  # CandidatePartnership -> Actor (evidence)
    evidenceCollaboration: URIRef  # CandidatePartnership -> Collaboration (evidence)
    evidenceTheme: URIRef  # CandidatePartnership -> skos:Concept (evidence)
    complementaryCapability: URIRef  # CandidatePartnership -> Capability or skos:Concept (evidence)
    targetGraph: URIRef  # StoreWrite -> sd:NamedGraph (a graph the write names as its target)

    # === datatype properties =================================================
    pic: URIRef  # Participant Identification Code (string of digits)
    acronym: URIRef
    nutsCode: URIRef
    nutsLevel: URIRef  # xsd:integer 0..3
    countryCode: URIRef  # two-letter code as used by the EU (EL, not GR)
    rcn: URIRef  # CORDIS record number
    grantAgreementNumber: URIRef
    startDate: URIRef  # xsd:date
    endDate: URIRef  # xsd:date
    contribution: URIRef  # xsd:decimal, EUR (EC contribution to a participant)
    totalCost: URIRef  # xsd:decimal, EUR
    maxContribution: URIRef  # xsd:decimal, EUR (EC max contribution to a project)
    amount: URIRef  # xsd:decimal, EUR (grant amount / budget)
    edition: URIRef  # xsd:gYear
    score: URIRef  # xsd:decimal, % of EU average
    targetValue: URIRef
    baselineValue: URIRef
    unit: URIRef
    sha256: URIRef
    tripleCount: URIRef  # Load/StoreWrite/prov:Entity -> xsd:nonNegativeInteger
    operation: URIRef  # StoreWrite -> xsd:string ("SPARQL Update", "Graph Store PUT", ...)
    matchScore: URIRef  # xsd:decimal, CandidatePartnership
    candidateRank: URIRef  # xsd:positiveInteger, CandidatePartnership
    componentValue: URIRef  # xsd:decimal, ScoreComponent
    parameterValue: URIRef  # xsd:string, RunParameter


def actor_iri(pic: str) -> URIRef:
    """IRI of an organisation known by its PIC (CORDIS participant identification code)."""
    return ID[f"organisation/pic-{pic}"]


def project_iri(scheme: str, local_id: str) -> URIRef:
    """IRI of a project, e.g. ``project_iri("h2020", "207027")`` for CORDIS rcn 207027."""
    return ID[f"project/{scheme}-{quote(local_id, safe='')}"]


def participation_iri(project: str, pic: str) -> URIRef:
    """IRI of the n-ary participation of organisation ``pic`` in project ``project``."""
    return ID[f"participation/{quote(project, safe='')}-pic-{pic}"]


def nuts_iri(code: str) -> URIRef:
    """The EU's IRI for a NUTS region, e.g. ``http://data.europa.eu/nuts/code/RO11``."""
    return NUTS[code]


def country_iri(alpha3: str) -> URIRef:
    """The EU Publications Office authority IRI for a country (ISO 3166-1 alpha-3)."""
    return COUNTRY[alpha3]


def graph_iri(name: str) -> URIRef:
    """IRI of one of the project's named graphs, e.g. ``graph_iri("nuts-2024")``."""
    return GRAPH[name]


META_GRAPH = GRAPH["meta"]
INFERRED_GRAPH = GRAPH["inferred"]


PREFIXES: Mapping[str, str] = MappingProxyType(
    {
        prefix: str(namespace)
        for prefix, namespace in (
            # the project's own namespaces
            ("icf", ICF),
            ("id", ID),
            ("theme", THEME),
            ("vocab", VOCAB),
            ("graph", GRAPH),
            ("report", REPORT),
            # W3C vocabularies
            ("rdf", RDF),
            ("rdfs", RDFS),
            ("owl", OWL),
            ("xsd", XSD),
            ("sh", SH),
            ("skos", SKOS),
            ("dcterms", DCTERMS),
            ("dcat", DCAT),
            ("prov", PROV),
            ("foaf", FOAF),
            ("void", VOID),
            ("sd", SD),
            ("org", ORG),
            ("rov", ROV),
            ("locn", LOCN),
            ("vann", VANN),
            ("geo", GEO),
            # other published vocabularies
            ("schema", SCHEMA),
            ("cpov", CPOV),
            ("eurio", EURIO),
            # places
            ("nuts", NUTS),
            ("country", COUNTRY),
            # shorthands for kinds of instance (narrower than ``id:``/``vocab:``)
            ("organisation", ID["organisation/"]),
            ("project", ID["project/"]),
            ("participation", ID["participation/"]),
            ("corridor", ID["corridor/"]),
            ("classification", ID["classification/"]),
            ("sb", VOCAB["scoreboard/"]),
            ("pg", VOCAB["performance-group/"]),
        )
    }
)
"""The one table of namespace prefixes, prefix -> namespace IRI, in the order they are written.

Every place that declares prefixes (Turtle pages and files, the query page, SPARQL prologues,
validation reports, CLI tables) takes a subset of it by name with :func:`prefixes`, so a prefix
always means the same namespace."""


def prefixes(*names: str) -> dict[str, str]:
    """The named subset of :data:`PREFIXES`, prefix -> namespace, in the order ``names`` gives.

    >>> prefixes("icf", "skos")
    {'icf': 'https://w3id.org/boostkg/icf#', 'skos': 'http://www.w3.org/2004/02/skos/core#'}

    Raises:
        KeyError: a name that is not in :data:`PREFIXES` (a programming error: add it there).
    """
    unknown = [name for name in names if name not in PREFIXES]
    if unknown:
        raise KeyError(f"no prefix {', '.join(unknown)} in boostkg.namespaces.PREFIXES")
    return {name: PREFIXES[name] for name in names}


def sparql_prologue(names: Iterable[str]) -> str:
    """``PREFIX`` lines declaring the named prefixes, one a line, each ending in a newline.

    >>> print(sparql_prologue(["icf", "rdfs"]), end="")
    PREFIX icf: <https://w3id.org/boostkg/icf#>
    PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>

    Raises:
        KeyError: a name that is not in :data:`PREFIXES`.
    """
    return "".join(f"PREFIX {prefix}: <{namespace}>\n" for prefix, namespace in prefixes(*names).items())


def bind_prefixes(target: Graph | NamespaceManager, names: Iterable[str]) -> None:
    """Bind the named prefixes on a graph or namespace manager (replacing what the prefix meant).

    Raises:
        KeyError: a name that is not in :data:`PREFIXES`.
    """
    for prefix, namespace in prefixes(*names).items():
        target.bind(prefix, namespace, override=True)
