"""The endpoint's server hop on a remote store (:class:`RemoteQueries`), against real servers: the
server's bytes passed through untouched, kept-alive connections reused (and never reused with an
unread body on them), big answers in pieces, outages, timeouts, refusals and Digest credentials."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlencode

import httpx
import pytest
from rdflib import URIRef

from boostkg.errors import QueryError, QueryTimeoutError, StoreError, StoreUnavailableError
from boostkg.store import RdfFormat, ResultFormat
from boostkg.store.remote_queries import GET_MAX, RemoteQueries
from boostkg.store.workers import QueryJob
from tests.store.servers import OxigraphProcess, Server
from tests.store.test_contract import G1, TTL

BIG = URIRef("https://w3id.org/boostkg/graph/remote-queries-big")
BIG_TRIPLES = 20_000
SELECT_A = "SELECT ?o WHERE { <https://example.org/a> <https://example.org/p> ?o }"
T = TypeVar("T")


def _run(server: Server, body: Callable[[RemoteQueries], Awaitable[T]], size: int = 2) -> T:
    """``body(pool)`` on a started pool over ``server``, in a fresh event loop."""

    async def main() -> T:
        store = server.open()
        pool = RemoteQueries(size, store)
        await pool.start()
        try:
            return await body(pool)
        finally:
            await pool.close()
            store.close()

    return asyncio.run(main())


async def _answer(pool: RemoteQueries, job: QueryJob, timeout_s: float = 30) -> bytes:
    answer = await pool.run(job, timeout_s=timeout_s)
    return b"".join([chunk async for chunk in answer.chunks])


def _server_connections(port: int) -> int:
    """Established TCP connections to 127.0.0.1:``port`` on this machine (Linux /proc)."""
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[2].split(":")[1], 16) == port and fields[3] == "01":
            count += 1
    return count


@pytest.fixture
def oxigraph_data(oxigraph: Server) -> Server:
    """The session's Oxigraph server holding the contract graph and a big graph."""
    oxigraph.wipe()
    big = "".join(
        f'<https://example.org/s{i}> <https://example.org/p> "value number {i}" .\n'
        for i in range(BIG_TRIPLES)
    )
    with oxigraph.open() as store:
        store.replace_graph(G1, TTL, RdfFormat.TURTLE)
        store.replace_graph(BIG, big.encode(), RdfFormat.NTRIPLES)
    return oxigraph


@pytest.mark.parametrize(
    ("query", "job"),
    [
        (SELECT_A, QueryJob(query=SELECT_A, results=ResultFormat.JSON)),
        (
            "CONSTRUCT WHERE { <https://example.org/a> ?p ?o }",
            QueryJob(query="CONSTRUCT WHERE { <https://example.org/a> ?p ?o }", rdf=RdfFormat.NTRIPLES),
        ),
    ],
)
def test_the_answer_is_the_servers_bytes_untouched(oxigraph_data: Server, query: str, job: QueryJob) -> None:
    accept = job.rdf.media_type if query.startswith("CONSTRUCT") else job.results.value
    direct = httpx.get(oxigraph_data.query_url, params={"query": query}, headers={"Accept": accept})
    assert direct.status_code == 200
    proxied = _run(oxigraph_data, lambda pool: _answer(pool, job))
    assert proxied == direct.content
    assert b"https://example.org/b" in proxied


def test_connections_are_kept_alive_and_reused(oxigraph_data: Server) -> None:
    port = int(httpx.URL(oxigraph_data.query_url).port or 0)

    async def body(pool: RemoteQueries) -> tuple[list[bytes], int]:
        before = _server_connections(port)  # the store's own client may hold one
        answers = [await _answer(pool, QueryJob(query=SELECT_A)) for _ in range(30)]
        answers += await asyncio.gather(*(_answer(pool, QueryJob(query=SELECT_A)) for _ in range(10)))
        return answers, _server_connections(port) - before

    answers, opened = _run(oxigraph_data, body, size=2)
    assert len(set(answers)) == 1
    assert b"https://example.org/b" in answers[0]
    assert opened in (1, 2)  # 40 queries, at most 2 at once: at most 2 connections, kept open


def test_a_big_answer_arrives_in_pieces_and_whole(oxigraph_data: Server) -> None:
    job = QueryJob(
        query=f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{BIG}> {{ ?s ?p ?o }} }}", rdf=RdfFormat.NTRIPLES
    )

    async def body(pool: RemoteQueries) -> list[bytes]:
        answer = await pool.run(job, timeout_s=30)
        assert answer.is_graph
        return [chunk async for chunk in answer.chunks]

    chunks = _run(oxigraph_data, body)
    assert len(chunks) > 1
    lines = b"".join(chunks).decode("utf-8").splitlines()
    assert len(lines) == BIG_TRIPLES
    assert len(set(lines)) == BIG_TRIPLES


def test_an_answer_cut_off_frees_its_turn_and_its_connection_is_not_reused(oxigraph_data: Server) -> None:
    big = QueryJob(
        query=f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{BIG}> {{ ?s ?p ?o }} }}", rdf=RdfFormat.NTRIPLES
    )

    async def body(pool: RemoteQueries) -> tuple[int, bytes]:
        answer = await pool.run(big, timeout_s=30)
        async for _ in answer.chunks:
            break  # the client went away after the first piece
        await answer.chunks.aclose()  # type: ignore[attr-defined]
        busy = pool.busy
        # with one connection allowed, a reused connection would start with the big answer's rest
        return busy, await _answer(pool, QueryJob(query=SELECT_A))

    busy, after = _run(oxigraph_data, body, size=1)
    assert busy == 0
    assert after.startswith(b"{")
    assert b"https://example.org/b" in after


def test_a_query_waiting_for_a_turn_past_its_deadline_is_a_timeout(oxigraph_data: Server) -> None:
    big = QueryJob(
        query=f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{BIG}> {{ ?s ?p ?o }} }}", rdf=RdfFormat.NTRIPLES
    )

    async def body(pool: RemoteQueries) -> bytes:
        holding = await pool.run(big, timeout_s=30)  # its turn is held until its answer is read
        with pytest.raises(QueryTimeoutError, match=r"no turn to query .* within 0\.3 s"):
            await pool.run(QueryJob(query=SELECT_A), timeout_s=0.3)
        assert pool.busy == 1
        await holding.chunks.aclose()  # type: ignore[attr-defined]
        return await _answer(pool, QueryJob(query=SELECT_A))

    assert b"https://example.org/b" in _run(oxigraph_data, body, size=1)


def test_a_malformed_query_is_a_query_error_and_the_connection_stays_usable(oxigraph_data: Server) -> None:
    async def body(pool: RemoteQueries) -> bytes:
        with pytest.raises(QueryError, match=r"refused by the SPARQL server .*\(400\)"):
            await pool.run(QueryJob(query="SELECT ?s WHERE { ?s ?p }"), timeout_s=30)
        assert pool.busy == 0
        return await _answer(pool, QueryJob(query=SELECT_A))

    assert b"https://example.org/b" in _run(oxigraph_data, body, size=1)


def test_a_long_query_is_sent_as_a_form_post(oxigraph_data: Server) -> None:
    padding = " ".join(f"# comment line {i}\n" for i in range(GET_MAX // 10))
    job = QueryJob(query=f"{padding}\n{SELECT_A}")
    assert b"https://example.org/b" in _run(oxigraph_data, lambda pool: _answer(pool, job))


def test_a_dead_server_is_unavailable_and_a_restarted_one_is_used_again(tmp_path: Path) -> None:
    process = OxigraphProcess(tmp_path)
    server = process.start()
    try:
        with server.open() as store:
            store.replace_graph(G1, TTL, RdfFormat.TURTLE)

        async def body(pool: RemoteQueries) -> tuple[bytes, bytes]:
            first = await _answer(pool, QueryJob(query=SELECT_A))  # its connection is kept alive
            process.kill()
            with pytest.raises(StoreUnavailableError, match=f"127.0.0.1:{process.port}.* cannot be reached"):
                await pool.run(QueryJob(query=SELECT_A), timeout_s=30)
            assert pool.busy == 0
            process.start()
            return first, await _answer(pool, QueryJob(query=SELECT_A))

        first, again = _run(server, body, size=1)
        assert first == again
        assert b"https://example.org/b" in again
    finally:
        process.stop()


def test_a_server_restarted_between_queries_is_used_without_an_error(tmp_path: Path) -> None:
    """The kept-alive connection the server closed meanwhile is replaced, not reported."""
    process = OxigraphProcess(tmp_path)
    server = process.start()
    try:
        with server.open() as store:
            store.replace_graph(G1, TTL, RdfFormat.TURTLE)

        async def body(pool: RemoteQueries) -> bytes:
            await _answer(pool, QueryJob(query=SELECT_A))
            process.stop()
            process.start()
            return await _answer(pool, QueryJob(query=SELECT_A))

        assert b"https://example.org/b" in _run(server, body, size=1)
    finally:
        process.stop()


def test_a_server_that_does_not_answer_is_a_timeout(oxigraph: Server) -> None:
    with socket.socket() as listener:  # accepts connections (the kernel does) and never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)

        async def main() -> None:
            store = oxigraph.open()  # opening probes its server, which must answer
            store.query_url = f"http://127.0.0.1:{listener.getsockname()[1]}/query"
            pool = RemoteQueries(1, store)
            await pool.start()
            try:
                with pytest.raises(QueryTimeoutError, match=r"did not answer within 0\.3 s"):
                    await pool.run(QueryJob(query=SELECT_A), timeout_s=0.3)
                assert pool.busy == 0
            finally:
                await pool.close()
                store.close()

        asyncio.run(main())


def test_digest_credentials_are_answered(virtuoso: Server) -> None:
    """Virtuoso's /sparql-auth asks for Digest credentials; the store's are sent and used."""
    virtuoso.wipe()
    with virtuoso.open() as store:
        store.replace_graph(G1, TTL, RdfFormat.TURTLE)
    authed = Server(virtuoso.update_url, virtuoso.update_url, None, virtuoso.user, virtuoso.password)
    job = QueryJob(
        query=f"SELECT ?o FROM <{G1}> WHERE {{ <https://example.org/a> <https://example.org/p> ?o }}"
    )
    answers = _run(authed, lambda pool: asyncio.gather(_answer(pool, job), _answer(pool, job)))
    assert all(b"https://example.org/b" in answer for answer in answers)
    refused = Server(virtuoso.update_url, virtuoso.update_url, None, virtuoso.user, "not-the-password")
    with pytest.raises(StoreError, match=r"refused the credentials .*\(401\)"):
        _run(refused, lambda pool: _answer(pool, job))


def test_the_callers_scan_and_encoding_are_used_and_unsafe_encodings_are_not(oxigraph_data: Server) -> None:
    job = QueryJob(query=SELECT_A, base_iri="http://localhost:8000/sparql")

    async def body(pool: RemoteQueries) -> list[bytes]:
        plain = await _answer(pool, job)
        given = await pool.run(job, timeout_s=30, form="SELECT", query_params=urlencode({"query": SELECT_A}))
        injected = await pool.run(job, timeout_s=30, query_params="query=ASK%7B%7D HTTP/1.1\r\nX: y")
        return [plain, *[b"".join([c async for c in a.chunks]) for a in (given, injected)]]

    plain, given, injected = _run(oxigraph_data, body)
    assert b"https://example.org/b" in plain
    assert given == plain
    assert injected == plain  # not forwarded as it is: the job's own query was sent


def test_the_protocol_dataset_goes_to_the_server(oxigraph_data: Server) -> None:
    in_g1 = QueryJob(query=SELECT_A, default_graphs=(str(G1),), named_graphs=())
    in_big = QueryJob(query=SELECT_A, default_graphs=(str(BIG),), named_graphs=())
    named = QueryJob(
        query="SELECT ?g WHERE { GRAPH ?g { <https://example.org/a> ?p ?o } }",
        default_graphs=(),
        named_graphs=(str(G1), str(BIG)),
    )

    async def body(pool: RemoteQueries) -> list[bytes]:
        return [await _answer(pool, job) for job in (in_g1, in_big, named)]

    from_g1, from_big, graphs = _run(oxigraph_data, body)
    assert b"https://example.org/b" in from_g1
    assert b"https://example.org/b" not in from_big
    assert str(G1).encode() in graphs
