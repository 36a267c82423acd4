"""Fast N-Triples line writing for importers (plain string formatting, no rdflib term objects).

>>> iri("https://w3id.org/boostkg/id/x")
'<https://w3id.org/boostkg/id/x>'
>>> literal('say "hi"\\n', lang="en")
'"say \\\\"hi\\\\"\\\\n"@en'
>>> literal("12.5", datatype=XSD_DECIMAL)
'"12.5"^^<http://www.w3.org/2001/XMLSchema#decimal>'
"""

from __future__ import annotations

XSD = "http://www.w3.org/2001/XMLSchema#"
XSD_STRING = XSD + "string"
XSD_DECIMAL = XSD + "decimal"
XSD_INTEGER = XSD + "integer"
XSD_DATE = XSD + "date"
XSD_GYEAR = XSD + "gYear"
XSD_BOOLEAN = XSD + "boolean"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"

_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"})
_IRI_FORBIDDEN = frozenset('<>"{}|^`\\ ')


def iri(value: str) -> str:
    """An IRI term; raises ValueError when ``value`` holds a character IRIs may not contain."""
    if any(ch in _IRI_FORBIDDEN or ord(ch) <= 0x20 for ch in value):
        raise ValueError(f"not a valid IRI: {value!r}")
    return f"<{value}>"


def literal(value: str, *, datatype: str | None = None, lang: str | None = None) -> str:
    """A literal term, escaped; plain strings are written without a datatype (xsd:string)."""
    text = f'"{value.translate(_ESCAPES)}"'
    if lang:
        return f"{text}@{lang}"
    if datatype and datatype != XSD_STRING:
        return f"{text}^^<{datatype}>"
    return text


def triple(subject: str, predicate: str, obj: str) -> str:
    """One N-Triples line (terms already formatted), with its newline."""
    return f"{subject} {predicate} {obj} .\n"
