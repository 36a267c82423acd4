"""What the pipeline tests submit: the Turtle prologue of their documents and their stewards."""

from __future__ import annotations

from rdflib import URIRef

from boostkg.auth import Steward

ID = "https://w3id.org/boostkg/id/"
HEAD = """@prefix icf: <https://w3id.org/boostkg/icf#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
@prefix void: <http://rdfs.org/ns/void#> .
@prefix theme: <https://w3id.org/boostkg/theme/> .
@prefix nuts: <http://data.europa.eu/nuts/code/> .
@prefix org: <https://w3id.org/boostkg/id/organisation/> .
"""
TIT = Steward("0000a001", "Ana", URIRef(ID + "organisation/tit"), "RO11")
"""Ana, a steward of TIT (Nord-Vest)."""
TIT_NO_REGION = Steward("0000a002", "Ioana", URIRef(ID + "organisation/tit"))
"""Ana's colleague at TIT, without a region."""
