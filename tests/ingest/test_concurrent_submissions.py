"""Concurrent submissions in-process: refusals are decided outside the write lock, on one committed
state, and conflicting submissions still resolve as README's answer table says (403 / 409).

Threads are paused at chosen points with events (a store that stops in a given call, or a paused
validation), so each test fixes the order of events and asserts it, not durations.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from rdflib import URIRef

from boostkg.auth import Steward
from boostkg.config import Settings
from boostkg.errors import BoostKGError, ConflictError, ForbiddenError, NotConformingError
from boostkg.ingest import pipeline
from boostkg.ingest.pipeline import SubmissionOutcome, SubmissionRequest, WriteLock, submit
from boostkg.ingest.submissions import Status, get_submission, list_submissions
from boostkg.namespaces import META_GRAPH
from boostkg.store import EmbeddedStore
from boostkg.store.base import Triple
from boostkg.validation import Shapes, ValidationReport, load_shapes
from tests.ingest.samples import HEAD, ID
from tests.ingest.samples import TIT as ANA
from tests.ingest.samples import TIT_NO_REGION as IOANA

DANA = Steward("0000d001", "Dana", URIRef(ID + "organisation/bbf"))
"""A steward of another organisation, without a region."""
WAIT_S = 120.0
"""How long a test waits for a thread it expects to finish (a deadlock fails, it does not hang)."""


def sme(slug: str, region: str = "RO11") -> str:
    return (
        f'org:{slug} a icf:SME ; rdfs:label "{slug}"@en ; icf:inRegion nuts:{region} ;\n'
        f'  dcterms:description "An SME."@en ; foaf:homepage <https://example.org/{slug}> ;\n'
        "  icf:hasTheme theme:ict-digital .\n"
    )


NAMELESS = "org:nameless a icf:SME .\n"
"""Breaks a core shape (an SME without a name): 422."""


class PausingStore(EmbeddedStore):
    """An embedded store that calls a hook (per thread name) before chosen reads and writes."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.before_construct: dict[str, Callable[[], None]] = {}
        self.before_meta_write: dict[str, Callable[[], None]] = {}

    def construct(self, query: str) -> list[Triple]:
        hook = self.before_construct.pop(threading.current_thread().name, None)
        if hook is not None:
            hook()
        return super().construct(query)

    def add_triples(self, graph: URIRef, triples: Iterable[Triple]) -> None:
        if graph == META_GRAPH:
            hook = self.before_meta_write.pop(threading.current_thread().name, None)
            if hook is not None:
                hook()
        super().add_triples(graph, triples)


class WatchedLock(WriteLock):
    """A write lock that notes which threads held it."""

    def __init__(self) -> None:
        super().__init__()
        self.holders: list[str] = []

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with super().exclusive():
            self.holders.append(threading.current_thread().name)
            yield


class Call(threading.Thread):
    """A submission in a thread of its own; its outcome or error, and the shared order of ends."""

    def __init__(self, name: str, order: list[str], run: Callable[[], SubmissionOutcome]) -> None:
        super().__init__(name=name, daemon=True)
        self._order = order
        self._run = run
        self.outcome: SubmissionOutcome | None = None
        self.error: BoostKGError | None = None

    def run(self) -> None:
        try:
            self.outcome = self._run()
        except BoostKGError as exc:
            self.error = exc
        self._order.append(self.name)

    def finish(self) -> None:
        self.join(WAIT_S)
        assert not self.is_alive(), f"{self.name} did not finish"


@pytest.fixture(scope="module")
def shapes() -> Shapes:
    return load_shapes(Settings().shapes_dir)


@pytest.fixture
def kg(loaded_store: EmbeddedStore, tmp_path: Path) -> Iterator[PausingStore]:
    copy = tmp_path / "store"
    shutil.copytree(loaded_store.reader_snapshot(), copy / "db")
    store = PausingStore(copy)
    yield store
    store.close()


def sender(
    kg: EmbeddedStore, shapes: Shapes, lock: WriteLock, who: Steward, text: str, replaces: str | None = None
) -> Callable[[], SubmissionOutcome]:
    request = SubmissionRequest((HEAD + text).encode(), "text/turtle", "t.ttl", replaces)
    return lambda: submit(kg, shapes, who, request, max_bytes=10**7, write_lock=lock)


@pytest.mark.parametrize(
    ("text", "refusal"),
    [(NAMELESS, NotConformingError), ('org:bbf rdfs:comment "mine"@en .\n', ForbiddenError)],
    ids=["422", "403"],
)
def test_a_refusal_is_answered_while_another_submission_holds_the_write_lock(
    kg: PausingStore, shapes: Shapes, text: str, refusal: type[BoostKGError]
) -> None:
    lock = WatchedLock()
    order: list[str] = []
    refused = Call("refused", order, sender(kg, shapes, lock, ANA, text))
    with lock.exclusive():  # what an accepted submission holds while it re-checks and commits
        refused.start()
        refused.finish()
        order.append("lock released")
    assert order == ["refused", "lock released"]
    assert isinstance(refused.error, refusal)


def test_a_refusal_does_not_wait_for_a_large_valid_submission_being_validated(
    kg: PausingStore, shapes: Shapes
) -> None:
    """Before, the large one was validated under the write lock and the refusal queued behind it."""
    lock = WatchedLock()
    order: list[str] = []
    large = "".join(sme(f"bulk-{i:04d}") for i in range(400))  # 2,400 triples
    reading, go = threading.Event(), threading.Event()

    def pause() -> None:
        reading.set()
        go.wait(WAIT_S)

    kg.before_construct["large"] = pause  # the large one stops while it reads its context
    accepted = Call("large", order, sender(kg, shapes, lock, ANA, large))
    refused = Call("refused", order, sender(kg, shapes, lock, IOANA, NAMELESS))
    accepted.start()
    assert reading.wait(WAIT_S)
    refused.start()
    refused.finish()
    go.set()
    accepted.finish()
    assert order == ["refused", "large"]
    assert isinstance(refused.error, NotConformingError)
    assert lock.holders == ["large"]
    assert accepted.outcome is not None
    assert accepted.outcome.status is Status.accepted
    assert accepted.outcome.report.triples == 2400


def test_a_decision_is_never_read_from_a_half_written_commit(kg: PausingStore, shapes: Shapes) -> None:
    """Ana replaces her submission about org:shared; her colleague Ioana extends org:shared while
    the replacement is half written (its new graph stored, its record not yet). On that state
    org:shared looks like another source's; Ioana's submission waits for the commit to end and is
    accepted, as it is before or after the replacement."""
    lock = WatchedLock()
    first = submit(
        kg,
        shapes,
        ANA,
        SubmissionRequest((HEAD + sme("shared")).encode(), "text/turtle", "t.ttl"),
        max_bytes=10**6,
        write_lock=lock,
    )
    assert first.id is not None
    order: list[str] = []
    half, go = threading.Event(), threading.Event()

    def pause() -> None:
        half.set()
        go.wait(WAIT_S)

    kg.before_meta_write["replace"] = pause
    replace = Call("replace", order, sender(kg, shapes, lock, ANA, sme("shared"), replaces=first.id))
    extend = Call("extend", order, sender(kg, shapes, lock, IOANA, 'org:shared rdfs:comment "more"@en .\n'))
    replace.start()
    assert half.wait(WAIT_S)
    extend.start()
    extend.join(2.0)  # time enough to decide, had it read the half-written state
    order.append("commit released")
    go.set()
    replace.finish()
    extend.finish()
    assert order == ["commit released", "replace", "extend"]
    assert extend.error is None, extend.error
    assert replace.outcome is not None
    assert extend.outcome is not None
    assert get_submission(kg, first.id).status is Status.replaced


def _paused_validation(
    monkeypatch: pytest.MonkeyPatch, thread: str
) -> tuple[threading.Event, threading.Event]:
    """Pause ``thread`` after it read the store, in validation: (validating, go)."""
    validating, go = threading.Event(), threading.Event()
    real = pipeline._validate_in

    def validate_in(*args: object) -> ValidationReport:
        if threading.current_thread().name == thread and not go.is_set():
            validating.set()
            go.wait(WAIT_S)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "_validate_in", validate_in)
    return validating, go


def test_two_stewards_describing_one_new_subject_at_once_one_wins_and_the_other_gets_403(
    kg: PausingStore, shapes: Shapes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both read the store while org:contested is new; Dana's commit comes first, so Ioana's
    decision, re-checked under the lock, refuses it as another organisation's (as before)."""
    lock = WatchedLock()
    order: list[str] = []
    validating, go = _paused_validation(monkeypatch, "ioana")
    ioana = Call("ioana", order, sender(kg, shapes, lock, IOANA, sme("contested")))
    dana = Call("dana", order, sender(kg, shapes, lock, DANA, sme("contested")))
    ioana.start()
    assert validating.wait(WAIT_S)  # Ioana has read: org:contested is described nowhere
    dana.start()
    dana.finish()
    go.set()
    ioana.finish()
    assert order == ["dana", "ioana"]
    assert lock.holders == ["dana", "ioana"]  # Ioana's decision was taken again under the lock
    assert dana.outcome is not None
    assert dana.outcome.status is Status.accepted
    assert isinstance(ioana.error, ForbiddenError)
    assert "organisation/contested" in str(ioana.error)
    graphs = kg.select(f"SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ <{ID}organisation/contested> ?p ?o }} }}")
    assert [str(row["g"]) for row in graphs] == [str(dana.outcome.graph)]


def test_two_replacements_of_one_submission_at_once_one_wins_and_the_other_gets_409(
    kg: PausingStore, shapes: Shapes, monkeypatch: pytest.MonkeyPatch
) -> None:
    lock = WatchedLock()
    first = submit(
        kg,
        shapes,
        ANA,
        SubmissionRequest((HEAD + sme("v1")).encode(), "text/turtle", "t.ttl"),
        max_bytes=10**6,
        write_lock=lock,
    )
    assert first.id is not None
    order: list[str] = []
    validating, go = _paused_validation(monkeypatch, "ana")
    ana = Call("ana", order, sender(kg, shapes, lock, ANA, sme("v2a"), replaces=first.id))
    ioana = Call("ioana", order, sender(kg, shapes, lock, IOANA, sme("v2b"), replaces=first.id))
    ana.start()
    assert validating.wait(WAIT_S)  # Ana has read: the first submission is current
    ioana.start()
    ioana.finish()
    go.set()
    ana.finish()
    assert order == ["ioana", "ana"]
    assert lock.holders == ["MainThread", "ioana", "ana"]
    assert ioana.outcome is not None
    assert ioana.outcome.replaced == first.id
    assert isinstance(ana.error, ConflictError)
    assert "replaced" in str(ana.error)
    statuses = {r.id: r.status for r in list_submissions(kg)}
    assert statuses == {first.id: Status.replaced, ioana.outcome.id: Status.accepted}


def test_a_commit_waits_for_a_reading_under_way_which_is_then_decided_again_under_the_lock(
    kg: PausingStore, shapes: Shapes
) -> None:
    """Ioana is reading while org:late is new; Dana's commit of org:late waits until that reading
    is done (never a state half written under a reading); Ioana's decision, taken on the state
    before Dana's commit, is taken again under the lock and refused (403), as before."""
    lock = WatchedLock()
    order: list[str] = []
    reading, go = threading.Event(), threading.Event()

    def pause() -> None:
        reading.set()
        go.wait(WAIT_S)

    kg.before_construct["ioana"] = pause
    ioana = Call("ioana", order, sender(kg, shapes, lock, IOANA, sme("late")))
    dana = Call("dana", order, sender(kg, shapes, lock, DANA, sme("late")))
    ioana.start()
    assert reading.wait(WAIT_S)
    dana.start()
    for _ in range(int(WAIT_S * 100)):  # until Dana holds the lock and waits to write
        if lock._writer_waits:
            break
        dana.join(0.01)
    assert lock._writer_waits
    assert dana.is_alive()
    order.append("reading released")
    go.set()
    dana.finish()
    ioana.finish()
    assert order == ["reading released", "dana", "ioana"]
    assert lock.holders == ["dana", "ioana"]
    assert isinstance(ioana.error, ForbiddenError)
    assert dana.outcome is not None
    assert dana.outcome.status is Status.accepted


# --- the write lock itself ------------------------------------------------------------------------


def test_write_lock_counts_writes_and_a_reader_waits_for_the_write_under_way() -> None:
    lock = WriteLock()
    order: list[str] = []

    def reader() -> None:
        with lock.reading() as count:
            order.append(f"reads at {count}")

    assert lock.count == 0
    with lock:
        assert lock.count == 1  # odd: a write is under way
        waiter = threading.Thread(target=reader)
        waiter.start()
        waiter.join(0.5)
        order.append("write ends")
    waiter.join(WAIT_S)
    assert order == ["write ends", "reads at 2"]
    with lock.exclusive():  # excludes other writers but writes nothing
        assert lock.locked()
        assert lock.count == 2
        with lock.reading() as count:  # so readers go on
            assert count == 2
    assert lock.acquire(blocking=False)
    lock.release()


def test_a_write_waits_for_a_registered_reading_and_later_readers_wait_for_that_write() -> None:
    lock = WriteLock()
    order: list[str] = []
    reading, done = threading.Event(), threading.Event()

    def reader() -> None:
        with lock.reading() as count:
            order.append(f"reader 1 reads at {count}")
            reading.set()
            done.wait(WAIT_S)
            order.append("reader 1 done")

    def writer() -> None:
        with lock:
            order.append("write")

    def late_reader() -> None:
        with lock.reading() as count:
            order.append(f"reader 2 reads at {count}")

    first = threading.Thread(target=reader)
    first.start()
    assert reading.wait(WAIT_S)
    write = threading.Thread(target=writer)
    write.start()
    for _ in range(int(WAIT_S * 100)):  # until the writer holds the mutex and waits for reader 1
        if lock._writer_waits:
            break
        write.join(0.01)
    assert lock._writer_waits
    second = threading.Thread(target=late_reader)
    second.start()
    second.join(0.5)
    order.append("reader 1 released")
    done.set()
    for thread in (first, write, second):
        thread.join(WAIT_S)
        assert not thread.is_alive()
    assert order == [
        "reader 1 reads at 0",
        "reader 1 released",
        "reader 1 done",
        "write",
        "reader 2 reads at 2",
    ]
