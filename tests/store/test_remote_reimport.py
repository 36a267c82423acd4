"""Replacing a big graph on a remote server: no request outlasts a short deadline, and a crash at
any point leaves the old graph or the new one, never a mix, and no journal graph behind.

The store is opened with small thresholds (a graph of 2,000 triples is "big", deletes and uploads
go by 5,000 triples) so that ten thousand or so of generated triples take every path CORDIS's
876,525 take with the defaults, within a few seconds per server.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import pytest
from rdflib import URIRef

from boostkg.store import RdfFormat
from boostkg.store.remote import JOURNAL, RemoteStore
from tests.store.servers import Server

G = URIRef("https://w3id.org/boostkg/graph/reimport-big")
OTHER = URIRef("https://w3id.org/boostkg/graph/reimport-other")
TRIPLES = {"oxigraph": 20_000, "virtuoso": 12_000}
DEADLINE_S = 10.0
"""Each request's deadline: a one-request COPY or DROP of these graphs would need several times it
on a loaded machine; every request of the big-graph journal fits."""


class CrashError(Exception):
    """The writer process 'dies': the store is closed first, so nothing more reaches the server."""


def open_small(server: Server, *, crash_on: str | None = None, after: int = 0) -> RemoteStore:
    """A store on ``server`` with small big-graph thresholds; with ``crash_on``, the writer dies just
    before sending its ``after``-th request whose text or graph parameter contains ``crash_on``."""
    store = _CrashErroringStore if crash_on else RemoteStore
    opened = store(
        server.query_url,
        update_url=server.update_url,
        gsp_url=server.gsp_url,
        user=server.user,
        password=server.password,
        update_timeout_s=DEADLINE_S,
        big_graph_triples=2_000,
        delete_chunk=5_000,
        upload_chunk=5_000,
    )
    if isinstance(opened, _CrashErroringStore):
        opened.crash_on, opened.after = crash_on, after
    return opened


class _CrashErroringStore(RemoteStore):
    crash_on: str | None = None
    after = 0
    seen = 0

    def _request(self, method: str, url: str, **kwargs: object):  # type: ignore[no-untyped-def]
        data = kwargs.get("data") or {}
        text = f"{kwargs.get('params')} {data.get('update', '') if isinstance(data, dict) else ''}"
        if self.crash_on and self.crash_on in text:
            self.seen += 1
            if self.seen >= self.after:
                self.close()
                raise CrashError(f"killed before: {text[:120]}")
        return super()._request(method, url, **kwargs)  # type: ignore[arg-type]


def generated(path: Path, n: int, version: int, *, blank: bool = True) -> Path:
    """``n`` N-Triples lines, a tenth of them different in each version, and a blank node."""
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            value = f"v{i}-{version}" if i % 10 == 0 else f"v{i}"
            out.write(f'<https://example.org/s{i // 8}> <https://example.org/p{i % 8}> "{value}" .\n')
        if not blank:
            out.write(f'<https://example.org/s0> <https://example.org/version> "{version}" .\n')
            out.write("<https://example.org/s0> <https://example.org/q> <https://example.org/s1> .\n")
            return path
        out.write(f'_:b <https://example.org/version> "{version}" .\n')
        out.write("<https://example.org/s0> <https://example.org/q> _:b .\n")
    return path


def digest(store: RemoteStore, graph: URIRef = G) -> str:
    """A digest of a graph's triples without blank nodes (their labels change with every upload)."""
    found = store.construct(
        f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} "
        "FILTER(!isBlank(?s) && !isBlank(?o)) }"
    )
    return hashlib.sha256(
        "\n".join(sorted(" ".join(t.n3() for t in triple) for triple in found)).encode()
    ).hexdigest()


def journal_graphs(store: RemoteStore) -> int:
    """How many graphs under the journal's prefix hold triples (the records' graph included)."""
    rows = store.select(
        "SELECT (COUNT(DISTINCT ?g) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } "
        f'FILTER(STRSTARTS(STR(?g), "{JOURNAL}")) }}'
    )
    return int(str(rows[0]["n"]))


@pytest.fixture(params=["oxigraph", "virtuoso"])
def server(request: pytest.FixtureRequest) -> tuple[str, Server]:
    backend: str = request.param
    found: Server = request.getfixturevalue(backend)
    found.wipe()
    return backend, found


def test_a_big_graph_is_replaced_twice_within_a_short_deadline(
    server: tuple[str, Server], tmp_path: Path
) -> None:
    backend, found = server
    n = TRIPLES[backend]
    first, second = generated(tmp_path / "1.nt", n, 1), generated(tmp_path / "2.nt", n, 2)
    with open_small(found) as store:
        store.replace_graph(
            OTHER, b'<https://example.org/o> <https://example.org/p> "1" .\n', RdfFormat.NTRIPLES
        )
        assert store.replace_graph(G, first, RdfFormat.NTRIPLES) == n + 2
        one = digest(store)
        assert store.replace_graph(G, second, RdfFormat.NTRIPLES) == n + 2
        two = digest(store)
        assert two != one
        assert store.replace_graph(G, first, RdfFormat.NTRIPLES) == n + 2
        assert digest(store) == one
        assert store.ask(
            'ASK { ?x <https://example.org/version> "1" . <https://example.org/s0> <https://example.org/q> ?x }'  # noqa: E501
        )
        assert store.triple_count(OTHER) == 1
        assert journal_graphs(store) == 0


def test_a_graph_without_blank_nodes_is_replaced_by_its_difference(
    server: tuple[str, Server], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    backend, found = server
    n = TRIPLES[backend]
    first, second = (
        generated(tmp_path / "1.nt", n, 1, blank=False),
        generated(tmp_path / "2.nt", n, 2, blank=False),
    )
    with open_small(found) as store:
        store.replace_graph(G, first, RdfFormat.NTRIPLES)
        store.replace_graph(OTHER, second, RdfFormat.NTRIPLES)  # a fresh load, for comparison
        with caplog.at_level(logging.DEBUG, logger="boostkg.store.remote"):
            assert store.replace_graph(G, second, RdfFormat.NTRIPLES) == n + 2
        changed = n // 10 + 1  # every tenth value and the version
        assert f"{changed} triples removed" in caplog.text
        assert digest(store) == digest(store, OTHER)
        assert journal_graphs(store) == 0


def test_a_failure_after_the_big_graph_was_replaced_rolls_it_back(
    server: tuple[str, Server], tmp_path: Path
) -> None:
    backend, found = server
    n = TRIPLES[backend] // 2
    with open_small(found) as store:
        store.replace_graph(G, generated(tmp_path / "1.nt", n, 1), RdfFormat.NTRIPLES)
        before = digest(store)
        replaced = ""
        with pytest.raises(RuntimeError, match="after the replace"), store.atomic():  # noqa: PT012
            store.replace_graph(G, generated(tmp_path / "2.nt", n, 2), RdfFormat.NTRIPLES)
            replaced = digest(store)  # the unit reads its own write
            raise RuntimeError("after the replace")
        assert replaced not in ("", before)
        assert digest(store) == before
        assert journal_graphs(store) == 0


@pytest.mark.parametrize(
    ("crash_on", "after"),
    [
        ("urn:boostkg:journal:", 3),  # the backup copy is half uploaded (the graph is untouched)
        (f"DELETE {{ GRAPH <{G}>", 2),  # the old graph is half emptied
        (f"'graph': '{G}'", 3),  # the new content is half uploaded (after the backup's GET)
        (f"DELETE {{ GRAPH <{JOURNAL}:", 2),  # committed: the backup is half emptied
    ],
    ids=["copying-backup", "emptying-graph", "uploading-new", "collecting-backup"],
)
def test_a_writer_dying_mid_replace_leaves_one_whole_graph_after_reopen(
    server: tuple[str, Server], tmp_path: Path, crash_on: str, after: int
) -> None:
    backend, found = server
    n = TRIPLES[backend] // 2
    with open_small(found) as store:
        store.replace_graph(G, generated(tmp_path / "1.nt", n, 1), RdfFormat.NTRIPLES)
        old = digest(store)
    new_file = generated(tmp_path / "2.nt", n, 2)
    dying = open_small(found, crash_on=crash_on, after=after)
    with pytest.raises(CrashError):
        dying.replace_graph(G, new_file, RdfFormat.NTRIPLES)
    with open_small(found) as store:
        committed = crash_on.startswith("DELETE { GRAPH <urn:boostkg:journal:")
        if committed:
            assert store.recovered is None  # only garbage to remove: nothing was rolled back
        else:
            assert store.recovered is not None
            assert "1 graph(s)" in store.recovered
        assert store.triple_count(G) == n + 2
        assert journal_graphs(store) == 0
        if not committed:
            assert digest(store) == old
            return
        assert digest(store) != old
        assert store.ask('ASK { ?x <https://example.org/version> "2" }')
