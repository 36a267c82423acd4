"""Content negotiation for the data pages: a ``format`` parameter, else the ``Accept`` header (q-values
weighed by :func:`boostkg.api.negotiation.choose`), picks one of the representations a route offers."""

from __future__ import annotations

import enum

from boostkg.api.negotiation import choose
from boostkg.errors import InputError, NotAcceptableError


class Representation(enum.Enum):
    """What a data page can be rendered as: media type and the ``format`` names that ask for it."""

    HTML = ("text/html", ("html",))
    TURTLE = ("text/turtle", ("turtle", "ttl"))
    NTRIPLES = ("application/n-triples", ("nt", "ntriples", "n-triples"))
    JSONLD = ("application/ld+json", ("jsonld", "json-ld"))
    RDFXML = ("application/rdf+xml", ("rdfxml", "xml", "rdf"))
    TRIG = ("application/trig", ("trig",))
    NQUADS = ("application/n-quads", ("nq", "nquads", "n-quads"))
    JSON = ("application/json", ("json",))
    SPARQL_JSON = ("application/sparql-results+json", ("srj", "sparql-json"))
    SPARQL_XML = ("application/sparql-results+xml", ("srx", "sparql-xml"))
    CSV = ("text/csv", ("csv",))
    TSV = ("text/tab-separated-values", ("tsv",))
    SPARQL_QUERY = ("application/sparql-query", ("rq", "sparql"))

    def __init__(self, media_type: str, names: tuple[str, ...]) -> None:
        self.media_type = media_type
        self.names = names

    @property
    def rdflib_format(self) -> str:
        """The serializer name rdflib knows this representation by (RDF ones only)."""
        return {
            Representation.TURTLE: "turtle",
            Representation.NTRIPLES: "nt",
            Representation.JSONLD: "json-ld",
            Representation.RDFXML: "xml",
            Representation.TRIG: "trig",
            Representation.NQUADS: "nquads",
        }[self]


RDF_TRIPLES = (Representation.TURTLE, Representation.JSONLD, Representation.NTRIPLES, Representation.RDFXML)
RDF_QUADS = (Representation.TRIG, Representation.NQUADS)


def negotiate(
    offers: tuple[Representation, ...], *, accept: str | None, format_name: str | None = None
) -> Representation:
    """The representation to send: the one ``format_name`` names, else the offer with the highest
    q-value in ``accept`` (ties go to the earlier offer); the first offer when there is no header.

    >>> negotiate((Representation.TURTLE, Representation.HTML), accept="text/html,*/*;q=0.8")
    <Representation.HTML: ('text/html', ('html',))>
    >>> negotiate((Representation.TURTLE, Representation.HTML), accept="*/*")
    <Representation.TURTLE: ('text/turtle', ('turtle', 'ttl'))>

    Raises:
        InputError: ``format_name`` names no offered representation.
        NotAcceptableError: ``accept`` excludes every offer (406).
    """
    if format_name:
        wanted = format_name.strip().lower()
        for offer in offers:
            if wanted in offer.names or wanted == offer.media_type:
                return offer
        known = ", ".join(name for offer in offers for name in offer.names[:1])
        raise InputError(f"format {format_name!r} is not offered here; use one of {known}")
    if not accept or not accept.strip():
        return offers[0]
    chosen = choose(accept, [offer.media_type for offer in offers])
    if chosen is None:
        offered = ", ".join(offer.media_type for offer in offers)
        raise NotAcceptableError(f"nothing here satisfies Accept: {accept}; offered: {offered}")
    return next(offer for offer in offers if offer.media_type == chosen)
