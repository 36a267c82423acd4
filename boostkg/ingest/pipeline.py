"""The one orchestrator of stewards' submissions: parse → scope → validate in context → provenance
→ commit, in one all-or-nothing store unit; plus withdrawing a submission.

A submission is decided outside the write lock and committed under it. Parsing needs no store.
What the decision reads from the store (the organisation's current submissions, the one replaced,
the scope lookups, the validation context) is read while no write is under way, and the next write
waits until it is read (:class:`WriteLock`), so every decision rests on one committed state;
validation then runs on what was read, without the store. A refusal (403, 404, 409, 422) is
answered from there: it waits at most for one commit, never for the lock's queue of submissions
and their validation. An accepted submission takes the lock and, if anything was written since
its reading, reads the state again under it — the rules decide exactly as they would have for a
submission that came after the other (403 for subjects another steward took meanwhile, 409 for a
submission replaced meanwhile) — and validates again only if the context it was validated in
changed; then the commit, all or nothing.
"""

from __future__ import annotations

import errno
import json
import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from rdflib import Dataset, Graph, URIRef
from rdflib.exceptions import ParserError as RdflibParserError
from rdflib.namespace import DCAT, VOID

from boostkg.auth import Steward
from boostkg.errors import (
    ConflictError,
    ForbiddenError,
    InputError,
    NotConformingError,
    ParseError,
    PayloadTooLargeError,
    StorageFullError,
    StoreError,
    UnsupportedMediaTypeError,
)
from boostkg.ingest.provenance import now, sha256_of
from boostkg.ingest.scope import check_scope, is_reserved
from boostkg.ingest.submissions import (
    NewSubmission,
    Status,
    SubmissionRecord,
    current_of,
    get_submission,
    list_submissions,
    new_submission_id,
    record_triples,
    submission_graph,
    withdrawal_triples,
)
from boostkg.namespaces import META_GRAPH
from boostkg.store.base import KnowledgeStore, Triple
from boostkg.store.parsing import ParsedTriples
from boostkg.validation import (
    ParsedSubmission,
    Shapes,
    ValidationReport,
    fetch_context,
    parse_submission,
    validate,
)

TRIPLE_MEDIA_TYPES = {
    "text/turtle": "text/turtle",
    "application/x-turtle": "text/turtle",
    "application/ld+json": "application/ld+json",
    "application/n-triples": "application/n-triples",
    "application/json": "application/ld+json",
    "application/rdf+xml": "application/rdf+xml",
}
"""Media types a submission may have (aliases to the canonical one)."""
QUAD_MEDIA_TYPES = {"application/trig": "trig", "application/n-quads": "nquads"}
"""Read only to refuse data addressed to named graphs; their default graph is accepted."""
SUFFIX_MEDIA_TYPES = {
    ".ttl": "text/turtle",
    ".jsonld": "application/ld+json",
    ".json": "application/ld+json",
    ".nt": "application/n-triples",
    ".rdf": "application/rdf+xml",
    ".xml": "application/rdf+xml",
    ".owl": "application/rdf+xml",
    ".trig": "application/trig",
    ".nq": "application/n-quads",
}
DATASET_CLASSES = (VOID.Dataset, DCAT.Dataset)
ARCHIVE_DIR = "submissions"
"""Folder of the store directory keeping each accepted submission's source and report (written by
:func:`submit`; read by the API and backed up with the store)."""


class WriteLock:
    """The one lock every write to the store takes, counting the writes, and letting submissions
    read one committed state without taking it.

    ``with lock:`` is a write; the count moves when one starts and again when it ends. A reader
    outside the lock registers (:meth:`reading`): it waits for the write under way, if any, and the
    next write waits for it to end; readers that come while a write waits wait for that write, so
    neither side waits for more than one turn of the other, and a reading never sees a write half
    done (nor a database being swapped or rolled back under it). ``acquire()`` / ``release()`` only
    exclude, as ``threading.Lock``'s do (for readers that must not overlap a write: lookups,
    checkpoints), and so does :meth:`exclusive`, inside which :meth:`writing` marks the write.
    """

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._state = threading.Condition(threading.Lock())
        self._count = 0
        self._readers = 0
        self._writer_waits = False

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        return self._mutex.acquire(blocking, timeout)

    def release(self) -> None:
        self._mutex.release()

    def locked(self) -> bool:
        return self._mutex.locked()

    def __enter__(self) -> WriteLock:
        self._mutex.acquire()
        try:
            self._start_write()
        except BaseException:
            self._mutex.release()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._end_write()
        finally:
            self._mutex.release()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the lock without writing yet (reads that must see no write start)."""
        with self._mutex:
            yield

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Mark a write, inside :meth:`exclusive`; it starts once registered readers are done."""
        self._start_write()
        try:
            yield
        finally:
            self._end_write()

    @contextmanager
    def reading(self) -> Iterator[int]:
        """Read one committed state outside the lock, holding the next write back; yields the count."""
        with self._state:
            self._state.wait_for(lambda: self._count % 2 == 0 and not self._writer_waits)
            self._readers += 1
            count = self._count
        try:
            yield count
        finally:
            with self._state:
                self._readers -= 1
                self._state.notify_all()

    def _start_write(self) -> None:
        with self._state:
            self._writer_waits = True
            try:
                self._state.wait_for(lambda: self._readers == 0)
            finally:
                self._writer_waits = False
                self._state.notify_all()
            self._count += 1

    def _end_write(self) -> None:
        with self._state:
            self._count += 1
            self._state.notify_all()

    @property
    def count(self) -> int:
        """Writes started plus writes ended."""
        return self._count


@dataclass(frozen=True)
class SubmissionRequest:
    """A submission as received: its bytes, declared media type and file name."""

    data: bytes
    media_type: str | None
    source_name: str
    replaces: str | None = None


@dataclass(frozen=True)
class SubmissionOutcome:
    """What became of a submission; ``to_json`` is the API's response body."""

    id: str | None
    status: Status
    report: ValidationReport
    graph: URIRef | None
    dataset: URIRef | None
    replaced: str | None

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "status": self.status.value,
            "conforms": self.report.conforms,
            "warnings": len(self.report.warnings()),
            "triples": self.report.triples,
            "graph": str(self.graph) if self.graph else None,
            "dataset": str(self.dataset) if self.dataset else None,
            "replaces": self.replaced,
            "report": self.report.to_json(),
        }


def media_type_of(declared: str | None, source_name: str | None = None) -> str:
    """The canonical media type of a submission: the declared one, or for an upload declared as
    ``application/octet-stream`` (browsers do that for unknown suffixes) the file name's.

    Raises:
        UnsupportedMediaTypeError: none given, or not one boostkg reads.
    """
    media = (declared or "").split(";")[0].strip().lower()
    if media == "application/octet-stream" and source_name:  # a browser upload of an unknown type
        media = SUFFIX_MEDIA_TYPES.get(Path(source_name).suffix.lower(), media)
    if media in TRIPLE_MEDIA_TYPES:
        return TRIPLE_MEDIA_TYPES[media]
    if media in QUAD_MEDIA_TYPES:
        return media
    known = ", ".join(sorted(TRIPLE_MEDIA_TYPES))
    if not media:
        raise UnsupportedMediaTypeError(f"no content type; send one of {known}")
    raise UnsupportedMediaTypeError(f"unsupported content type {media!r}; send one of {known}")


def check_size(size: int, limit: int) -> None:
    """Raises PayloadTooLargeError when ``size`` bytes exceed ``limit``."""
    if size > limit:
        raise PayloadTooLargeError(
            f"submission of {size:,} bytes exceeds the limit of {limit:,} bytes "
            "(BOOSTKG_MAX_SUBMISSION_BYTES)"
        )


_NOT_IN_IRI = re.compile(r'[<>"{}|\\^`\s]')
"""Characters an IRI may not hold (RFC 3987), as rdflib checks before writing one."""


def _default_graph_of_quads(data: bytes, fmt: str, source: str) -> bytes:
    """The default graph of a TriG / N-Quads body as N-Triples; refuses any named graph.

    Raises:
        ParseError: malformed. ForbiddenError: data addressed to a named graph (reserved or not).
    """
    dataset = Dataset()
    try:
        dataset.parse(data=data.decode("utf-8"), format=fmt)
    except UnicodeDecodeError as exc:
        raise ParseError(f"not valid UTF-8 (byte {exc.start})") from exc
    # rdflib's TriG/N-Quads parsers raise these; the TriG one also an IndexError on some truncated
    # input (b"0" for one; found by tests/security/test_fuzz.py)
    except (SyntaxError, ValueError, IndexError, RdflibParserError) as exc:
        raise ParseError(f"malformed {fmt}: {' '.join(str(exc).split())}") from exc
    names = [graph.identifier for graph in dataset.graphs()]
    for term in (*names, *(t for quad in dataset.quads((None, None, None, None)) for t in quad[:3])):
        # rdflib's TriG parser lets some of these through, then cannot write them back
        if isinstance(term, URIRef) and _NOT_IN_IRI.search(term):
            raise ParseError(f"malformed {fmt}: {' '.join(repr(str(term)).split())} is not an IRI")
    offending = []
    for graph in dataset.graphs():
        if graph.identifier == dataset.default_graph.identifier or len(graph) == 0:
            continue
        why = "a reserved graph" if is_reserved(graph.identifier) else "not the submission's own graph"
        offending += [f"{s.n3()} {p.n3()} {o.n3()} {graph.identifier.n3()} .  # {why}" for s, p, o in graph]
    if offending:
        raise ForbiddenError(
            f"{source}: {len(offending)} triple(s) addressed to named graphs; a submission fills only "
            f"its own graph: {offending[0]}",
            tuple(offending[:50]),
        )
    out: bytes = dataset.default_graph.serialize(format="nt", encoding="utf-8")
    return out


def declared_dataset(data: ParsedTriples, source: str) -> URIRef | None:
    """The IRI of the dataset the submission declares (a void:Dataset or dcat:Dataset), if any.

    Raises:
        InputError: it declares more than one.
    """
    found = {s for s, _cls in data.instances(DATASET_CLASSES) if isinstance(s, URIRef)}
    if len(found) > 1:
        listed = ", ".join(sorted(found))
        raise InputError(f"declares {len(found)} datasets ({listed}); a submission declares at most one")
    return next(iter(found), None)


def _replaced(
    store: KnowledgeStore,
    steward: Steward,
    current: list[SubmissionRecord],
    replaces: str | None,
    dataset: URIRef | None,
) -> SubmissionRecord | None:
    if replaces is not None:
        old = get_submission(store, replaces)
        if old.organisation != steward.organisation and not steward.admin:
            raise ForbiddenError(
                f"submission {replaces} belongs to {old.organisation}, not to your organisation"
            )
        if old.status is not Status.accepted:
            raise ConflictError(
                f"submission {replaces} is {old.status.value}; only a current one can be replaced"
            )
        return old
    if dataset is None:
        return None
    pool = list_submissions(store, status=Status.accepted) if steward.admin else current
    matches = [r for r in pool if r.dataset == dataset]
    return matches[-1] if matches else None


@contextmanager
def _archived(
    archive: Path | None, submission_id: str, request: SubmissionRequest, outcome: dict[str, object]
) -> Iterator[None]:
    """Keep the source and its report beside the store; removed again if the commit fails. (A
    process killed mid-commit leaves a folder no record points to: harmless.)"""
    if archive is None:
        yield
        return
    folder = archive / submission_id
    made = False
    try:
        folder.mkdir(parents=True, exist_ok=False)
        made = True
        (folder / "source").write_bytes(request.data)
        (folder / "outcome.json").write_text(json.dumps(outcome, indent=1), encoding="utf-8")
    except OSError as exc:
        if made:  # never another submission's folder
            shutil.rmtree(folder, ignore_errors=True)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise StorageFullError(
                f"{folder}: the disk is full ({exc.strerror}); the submission was not stored: "
                "free some space and try again"
            ) from exc
        raise StoreError(f"{folder}: cannot archive the submission: {exc.strerror or exc}") from exc
    try:
        yield
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _read_state(
    store: KnowledgeStore,
    steward: Steward,
    parsed: ParsedSubmission,
    replaces: str | None,
    dataset: URIRef | None,
) -> tuple[SubmissionRecord | None, frozenset[Triple]]:
    """Replacement and scope, decided on the store's state; the validation context read from it.

    Raises:
        ForbiddenError, NotFoundError, ConflictError: as :func:`submit`.
    """
    current = current_of(store, steward.organisation)
    old = _replaced(store, steward, current, replaces, dataset)
    own = frozenset(r.graph for r in current) | ({old.graph} if old else frozenset())
    check_scope(store, steward, parsed.content, own_graphs=own)
    return old, frozenset(fetch_context(parsed.referenced, store=store, reference=None))


def _validate_in(parsed: ParsedSubmission, shapes: Shapes, context: frozenset[Triple]) -> ValidationReport:
    """Validation in the context read from the store (the same triples ``validate`` would fetch)."""
    reference = Graph()
    for triple in context:
        reference.add(triple)
    return validate(parsed, shapes, reference=reference)


def _refuse(
    request: SubmissionRequest, report: ValidationReport, dataset: URIRef | None, old: SubmissionRecord | None
) -> NotConformingError:
    rejected = SubmissionOutcome(None, Status.rejected, report, None, dataset, old.id if old else None)
    return NotConformingError(
        f"{request.source_name}: {len(report.violations())} violation(s) of the core shapes; "
        "nothing was stored",
        rejected.to_json(),
    )


def submit(
    store: KnowledgeStore,
    shapes: Shapes,
    steward: Steward,
    request: SubmissionRequest,
    *,
    max_bytes: int,
    write_lock: WriteLock | None = None,
    archive: Path | None = None,
) -> SubmissionOutcome:
    """Validate a steward's submission and, if it conforms and stays in their lane, commit it into
    its own named graph with its PROV-O record — all or nothing.

    Concurrent calls share ``write_lock`` (see the module doc: refusals never take it; accepted
    submissions take it only to re-check and commit). Without one, the call assumes it is alone.

    Raises:
        PayloadTooLargeError, UnsupportedMediaTypeError: refused before reading.
        InputError / ParseError / EncodingError: empty, unreadable or malformed (line, column).
        ForbiddenError: triples outside the steward's lane (named), or replacing another's submission.
        NotFoundError: ``replaces`` names no submission.
        ConflictError: ``replaces`` names a submission that is no longer current.
        NotConformingError: core shapes are broken; carries the outcome with every violation.
    """
    started = now()
    lock = write_lock if write_lock is not None else WriteLock()
    check_size(len(request.data), max_bytes)
    media = media_type_of(request.media_type, request.source_name)
    if not request.data.strip():
        raise InputError("empty submission", None)
    data = request.data
    if media in QUAD_MEDIA_TYPES:
        data = _default_graph_of_quads(data, QUAD_MEDIA_TYPES[media], request.source_name)
        media = "application/n-triples"
    parsed = parse_submission(data, media_type=media, source_name=request.source_name)
    if parsed.triples == 0:
        raise InputError("the submission holds no triples", None)
    dataset = declared_dataset(parsed.content, request.source_name)

    def read() -> tuple[SubmissionRecord | None, frozenset[Triple]]:
        return _read_state(store, steward, parsed, request.replaces, dataset)

    with lock.reading() as count:  # one committed state; the next write waits for this
        old, context = read()
    report = _validate_in(parsed, shapes, context)
    if not report.conforms:
        raise _refuse(request, report, dataset, old)
    with lock.exclusive():
        if lock.count != count:  # written meanwhile: decide again on the state now
            old, now_context = read()
            if now_context != context:
                report = _validate_in(parsed, shapes, now_context)
                if not report.conforms:
                    raise _refuse(request, report, dataset, old)
        submission_id = new_submission_id(started)
        graph = submission_graph(submission_id)
        outcome = SubmissionOutcome(
            submission_id, Status.accepted, report, graph, dataset, old.id if old else None
        )
        new = NewSubmission(
            id=submission_id,
            steward=steward,
            source=request.source_name,
            sha256=sha256_of(request.data),
            shapes_version=report.shapes_version,
            triples=parsed.triples,
            started=started,
            ended=now(),
            dataset=dataset,
            replaces=old,
        )
        with lock.writing(), _archived(archive, submission_id, request, outcome.to_json()), store.atomic():
            if old is not None:
                store.drop_graph(old.graph)
            store.add_triples(graph, parsed.content)
            store.add_triples(META_GRAPH, record_triples(new))
    return outcome


def withdraw(
    store: KnowledgeStore,
    steward: Steward,
    submission_id: str,
    *,
    write_lock: WriteLock | None = None,
    when: datetime | None = None,
) -> SubmissionRecord:
    """Withdraw a current submission: its graph is dropped, its record stays, marked withdrawn.

    Raises:
        NotFoundError: no such submission.
        ForbiddenError: it belongs to another organisation (admins may withdraw any).
        ConflictError: it is no longer current (already withdrawn or replaced).
    """
    lock = write_lock if write_lock is not None else WriteLock()
    with lock.exclusive():
        record = get_submission(store, submission_id)
        if record.organisation != steward.organisation and not steward.admin:
            raise ForbiddenError(
                f"submission {submission_id} belongs to {record.organisation}, not to your organisation"
            )
        if record.status is not Status.accepted:
            raise ConflictError(f"submission {submission_id} is already {record.status.value}")
        with lock.writing(), store.atomic():
            store.drop_graph(record.graph)
            store.add_triples(META_GRAPH, withdrawal_triples(record, steward, when or now()))
        return get_submission(store, submission_id)
