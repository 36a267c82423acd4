"""Loading RDF files and importer output into named graphs, atomically, with provenance."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rdflib import URIRef

from boostkg.errors import InputError, InputNotFoundError, Location, UnknownTermError
from boostkg.importers.base import Importer, ImportReport, ProgressCallback
from boostkg.ingest.provenance import (
    LoadRecord,
    forget_current_update,
    new_record,
    now,
    record_triples,
    sha256_of,
)
from boostkg.namespaces import ICF, META_GRAPH, NUTS, graph_iri
from boostkg.store.base import KnowledgeStore, RdfFormat

NUTS_GRAPH = graph_iri("nuts-2024")


@dataclass(frozen=True)
class ImportOutcome:
    """An import's report (rows, problems) and the record of its load."""

    report: ImportReport
    record: LoadRecord


def guess_format(path: Path, rdf_format: RdfFormat | None) -> RdfFormat:
    """The given format, or the one the file name says.

    Raises:
        InputError: the suffix is unknown and no format was given.
    """
    if rdf_format is not None:
        return rdf_format
    fmt = RdfFormat.from_path(path)
    if fmt is None:
        raise InputError("cannot tell the RDF format from the file name; pass --format", Location(str(path)))
    return fmt


def _line_of(path: Path, code: str) -> Location:
    """Where a NUTS code is first written in a text file (full IRI or prefixed name)."""
    pattern = re.compile(rf"(?:code/|:){re.escape(code)}(?![A-Za-z0-9])")
    try:
        with path.open(encoding="utf-8", errors="replace") as fh:
            for number, line in enumerate(fh, start=1):
                match = pattern.search(line)
                if match:
                    return Location(str(path), number, match.start() + 1)
    except OSError:
        pass
    return Location(str(path))


def unknown_nuts_codes(store: KnowledgeStore, graph: URIRef) -> list[str]:
    """NUTS codes that ``graph`` refers to but the NUTS reference graph does not define."""
    rows = store.select(
        f"""SELECT DISTINCT ?r WHERE {{
              GRAPH <{graph}> {{ {{ ?r ?p ?o }} UNION {{ ?s ?p ?r }} }}
              FILTER(isIRI(?r) && STRSTARTS(STR(?r), "{NUTS}"))
              FILTER NOT EXISTS {{ GRAPH <{NUTS_GRAPH}> {{ ?r <{ICF.nutsCode}> ?code }} }}
            }} ORDER BY ?r"""
    )
    return [str(row["r"])[len(str(NUTS)) :] for row in rows]


_NUTS_IRI = re.compile(rb"<" + re.escape(str(NUTS).encode()) + rb"([^>\s]*)>")
_NUTS_CODE = re.compile(r"[A-Z0-9]+")


def nuts_codes_in_ntriples(path: Path) -> set[str]:
    """The NUTS codes an N-Triples file writes as IRIs, found by scanning its text (no parsing).

    N-Triples always writes IRIs in full and one triple per line, so a byte-level search finds
    every NUTS IRI (except one written with \\u escapes, which the bulk loader would still accept).
    """
    found: set[bytes] = set()
    rest = b""
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            block = rest + block
            cut = block.rfind(b"\n") + 1
            found.update(_NUTS_IRI.findall(block, 0, cut))
            rest = block[cut:]
    found.update(_NUTS_IRI.findall(rest))
    return {code.decode("utf-8", "replace") for code in found}


def unknown_among(store: KnowledgeStore, codes: set[str]) -> list[str]:
    """Those of ``codes`` that the NUTS reference graph does not define (sorted)."""
    unknown = sorted(code for code in codes if not _NUTS_CODE.fullmatch(code))
    candidates = sorted(code for code in codes if _NUTS_CODE.fullmatch(code))
    if candidates:
        values = " ".join(f"<{NUTS}{code}>" for code in candidates)
        rows = store.select(
            f"""SELECT ?r WHERE {{ VALUES ?r {{ {values} }}
                  FILTER NOT EXISTS {{ GRAPH <{NUTS_GRAPH}> {{ ?r <{ICF.nutsCode}> ?code }} }}
                }} ORDER BY ?r"""
        )
        unknown += [str(row["r"])[len(str(NUTS)) :] for row in rows]
    return sorted(unknown)


def _raise_unknown(path: Path, unknown: list[str]) -> None:
    listed = ", ".join(unknown[:10]) + (" ..." if len(unknown) > 10 else "")
    raise UnknownTermError(
        f"unknown NUTS code {unknown[0]} (not in NUTS 2024; all unknown: {listed})",
        _line_of(path, unknown[0]),
    )


def _nuts_loaded(store: KnowledgeStore) -> bool:
    return store.ask(f"ASK {{ GRAPH <{NUTS_GRAPH}> {{ ?r <{ICF.nutsCode}> ?c }} }}")


def load_file(
    store: KnowledgeStore,
    path: Path,
    graph: URIRef,
    *,
    rdf_format: RdfFormat | None = None,
    source_label: str | None = None,
    check_references: bool = True,
) -> LoadRecord:
    """Replace ``graph`` with the content of ``path`` and record the load in the metadata graph.

    All or nothing: on any error the store is left as it was.

    Raises:
        InputNotFoundError: no such file.
        InputError: the format cannot be told from the file name.
        ParseError / EncodingError: the file is malformed or not UTF-8 (names line and column).
        UnknownTermError: the file refers to a NUTS code that does not exist (names file and line).
    """
    if not path.is_file():
        raise InputNotFoundError(path)
    fmt = guess_format(path, rdf_format)
    started = now()
    digest = sha256_of(path)
    check = check_references and graph != NUTS_GRAPH and _nuts_loaded(store)
    if check and fmt is RdfFormat.NTRIPLES:
        # Big files are N-Triples: scanning the text costs ~0.1 s per million triples, where asking
        # the loaded graph costs ~20 s (every term's string is decoded). Fails before any write.
        unknown = unknown_among(store, nuts_codes_in_ntriples(path))
        if unknown:
            _raise_unknown(path, unknown)
        check = False
    with store.atomic():
        triples = store.replace_graph(graph, path, fmt)
        if check:
            unknown = unknown_nuts_codes(store, graph)
            if unknown:
                _raise_unknown(path, unknown)
        record = new_record(graph, source_label or str(path), digest, started, triples)
        store.update(forget_current_update(graph, META_GRAPH))
        store.add_triples(META_GRAPH, record_triples(record))
    return record


def run_import(
    store: KnowledgeStore,
    importer: Importer,
    source: Path,
    *,
    progress: ProgressCallback | None = None,
    on_converted: Callable[[ImportReport], None] | None = None,
    scratch_dir: Path | None = None,
) -> ImportOutcome:
    """Convert ``source`` with ``importer`` and replace the importer's graph with the result.

    The conversion is streamed to a temporary N-Triples file, which is then bulk-loaded; nothing
    reaches the store unless the whole conversion succeeded.

    Raises:
        InputError and its subclasses: the source cannot be read (see the importer).
    """
    if not source.exists():
        raise InputNotFoundError(source)
    with tempfile.TemporaryDirectory(dir=scratch_dir, prefix="boostkg-import-") as tmp:
        nt = Path(tmp) / f"{importer.name}.nt"
        with nt.open("w", encoding="utf-8") as out:
            report = importer.convert(source, out, progress=progress)
        if on_converted is not None:
            on_converted(report)
        started = now()
        digest = sha256_of(source) if source.is_file() else sha256_of(nt)
        with store.atomic():
            triples = store.replace_graph(importer.graph, nt, RdfFormat.NTRIPLES)
            record = new_record(importer.graph, str(source), digest, started, triples)
            store.update(forget_current_update(importer.graph, META_GRAPH))
            store.add_triples(META_GRAPH, record_triples(record))
    report.triples = triples
    return ImportOutcome(report, record)
