"""The Jinja2 environment of the data pages (VoID, named queries, resources), with the filters that
turn IRIs into short names and links: the project's IRIs link to their local pages, other IRIs the
store describes to ``/resource?iri=``, the rest to themselves."""

from __future__ import annotations

from urllib.parse import quote

from jinja2 import Environment, PackageLoader, select_autoescape
from rdflib import BNode, Literal, URIRef

from boostkg.namespaces import prefixes
from boostkg.publishing.resources import local_path

PREFIXES: tuple[tuple[str, str], ...] = tuple(
    prefixes(
        "icf",
        "id",
        "theme",
        "vocab",
        "graph",
        "rdf",
        "rdfs",
        "owl",
        "xsd",
        "skos",
        "dcterms",
        "prov",
        "foaf",
        "void",
        "sd",
        "schema",
        "org",
        "rov",
        "cpov",
        "eurio",
        "geo",
        "locn",
        "vann",
        "nuts",
        "country",
    ).items()
)


def short(iri: object) -> str:
    """A prefixed name for an IRI when a known namespace fits, else the IRI.

    >>> short("https://w3id.org/boostkg/icf#Actor")
    'icf:Actor'
    """
    text = str(iri)
    best = ("", "")
    for prefix, namespace in PREFIXES:
        if text.startswith(namespace) and len(namespace) > len(best[1]):
            best = (prefix, namespace)
    if best[0] and text != best[1]:
        return f"{best[0]}:{text[len(best[1]) :]}"
    return text


def href(iri: object, described: frozenset[str] | set[str] = frozenset()) -> str:
    """Where a link to ``iri`` goes: its local page for the project's IRIs, ``/resource?iri=`` for
    other IRIs the store describes, else the IRI itself.

    >>> href("https://w3id.org/boostkg/theme/ict-digital")
    '/theme/ict-digital'
    >>> href("http://data.europa.eu/nuts/code/RO11", {"http://data.europa.eu/nuts/code/RO11"})
    '/resource?iri=http%3A%2F%2Fdata.europa.eu%2Fnuts%2Fcode%2FRO11'
    """
    text = str(iri)
    local = local_path(text)
    if local is not None:
        return local
    if text in described:
        return "/resource?iri=" + quote(text, safe="")
    return text


def kind(term: object) -> str:
    """``iri``, ``blank`` or ``literal`` (for templates)."""
    if isinstance(term, URIRef):
        return "iri"
    if isinstance(term, BNode):
        return "blank"
    return "literal"


def literal_note(term: object) -> str:
    """A literal's language tag or short datatype, for display beside its value."""
    if isinstance(term, Literal):
        if term.language:
            return f"@{term.language}"
        if term.datatype:
            return short(term.datatype)
    return ""


def environment() -> Environment:
    """The environment, autoescaping every template (``.j2`` included)."""
    env = Environment(
        loader=PackageLoader("boostkg.api", "templates"),
        autoescape=select_autoescape(["j2", "html"], default_for_string=True, default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(short=short, href=href, kind=kind, literal_note=literal_note, urlquote=quote)
    return env


TEMPLATES = environment()
"""Read-only after import (templates load lazily and are cached by Jinja2, which is thread-safe)."""
