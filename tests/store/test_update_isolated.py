"""EmbeddedStore.update_isolated: an update in a killable child process on a copy of the database."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from rdflib import URIRef

from boostkg.errors import QueryError, QueryTimeoutError, StoreError, StoreUnavailableError
from boostkg.store.embedded import EmbeddedStore

G = "http://example.org/g"


@pytest.fixture
def store(tmp_path: Path) -> EmbeddedStore:
    opened = EmbeddedStore(tmp_path / "store")
    rows = " ".join(f"<http://example.org/s{i}> <http://example.org/p> {i} ." for i in range(300))
    with opened.atomic():
        opened.update(f"INSERT DATA {{ GRAPH <{G}> {{ {rows} }} }}")
    return opened


def test_an_update_is_applied_and_the_store_stays_usable(store: EmbeddedStore) -> None:
    generation = store.generation
    with store.atomic():
        store.update_isolated(
            f"DELETE WHERE {{ GRAPH <{G}> {{ <http://example.org/s1> ?p ?o }} }}", timeout_s=30
        )
    assert store.triple_count(URIRef(G)) == 299
    assert store.generation > generation
    with store.atomic():  # and the swapped-in database takes ordinary writes
        store.update(f"INSERT DATA {{ GRAPH <{G}> {{ <http://example.org/x> <http://example.org/p> 1 }} }}")
    assert store.triple_count(URIRef(G)) == 300
    assert not (store.path / "updates").exists()


def test_an_update_past_its_deadline_is_killed_and_changes_nothing(store: EmbeddedStore) -> None:
    endless = (
        "INSERT { GRAPH <http://example.org/never> { ?a ?b ?c } } "
        "WHERE { GRAPH ?g { ?a ?b ?c . ?d ?e ?f . ?h ?i ?j . ?k ?l ?m } }"
    )
    started = time.monotonic()
    with pytest.raises(QueryTimeoutError, match="longer than 1 s"), store.atomic():
        store.update_isolated(endless, timeout_s=1)
    assert time.monotonic() - started < 10
    assert store.graph_names() == {URIRef(G)}
    assert store.triple_count() == 300


def test_a_malformed_update_says_where_and_a_rollback_undoes_the_swap(store: EmbeddedStore) -> None:
    with pytest.raises(QueryError, match=r"line 1, column \d+"), store.atomic():
        store.update_isolated("INSERT DATA { GRAPH <http://example.org/g> { <http://a> ", timeout_s=30)
    with pytest.raises(RuntimeError):
        _clear_then_fail(store)
    assert store.triple_count() == 300


def _clear_then_fail(store: EmbeddedStore) -> None:
    with store.atomic():
        store.update_isolated(f"CLEAR GRAPH <{G}>", timeout_s=30)
        assert store.triple_count() == 0
        raise RuntimeError("a later step of the unit fails")


def test_it_runs_only_inside_a_unit(store: EmbeddedStore) -> None:
    with pytest.raises(StoreError, match="atomic"):
        store.update_isolated(f"CLEAR GRAPH <{G}>", timeout_s=30)


def test_a_swap_waits_for_a_query_still_running_on_the_old_database(store: EmbeddedStore) -> None:
    """Another thread reading the old database handle keeps RocksDB's lock of the path: the swap
    waits for it to end instead of failing and leaving the store closed; meanwhile readers are
    told to come back (StoreUnavailableError, a 503), not that the store is closed."""
    started_reading = threading.Event()
    refused_once = threading.Event()
    refused: list[str] = []

    def reader() -> None:  # pyoxigraph's results belong to the thread that made them
        reading = store._db.query("SELECT * WHERE { ?s ?p ?o }", use_default_graph_as_union=True)
        next(iter(reading))  # a query under way on the current handle
        started_reading.set()
        refused_once.wait(20)  # hold the handle until a reader has been turned away
        del reading  # the query ends: the old handle goes

    def late_reader() -> None:
        deadline = time.monotonic() + 20
        while not store._swapping and time.monotonic() < deadline:
            time.sleep(0.005)
        try:
            store.triple_count()
        except StoreUnavailableError as exc:
            refused.append(str(exc))
        refused_once.set()

    threads = [threading.Thread(target=reader), threading.Thread(target=late_reader)]
    threads[0].start()
    assert started_reading.wait(10)
    threads[1].start()
    with store.atomic():
        update = f"INSERT DATA {{ GRAPH <{G}> {{ <http://example.org/y> <http://example.org/p> 1 }} }}"
        store.update_isolated(update, timeout_s=30)
    for thread in threads:
        thread.join()
    assert len(refused) == 1
    assert "swapping in a new state" in refused[0]
    assert store.triple_count(URIRef(G)) == 301
