"""The query worker pool: an answer given up before any of it was read gives its worker back."""

from __future__ import annotations

import asyncio
import json

from rdflib import URIRef

from boostkg.store import EmbeddedStore, RdfFormat
from boostkg.store.workers import QueryJob, QueryWorkers

G = "https://w3id.org/boostkg/graph/test-workers"
TTL = b"""@prefix ex: <https://example.org/> .
ex:a ex:p ex:b .
"""
SELECT_A = "SELECT ?o WHERE { <https://example.org/a> <https://example.org/p> ?o }"


async def _answered(pool: QueryWorkers, job: QueryJob) -> list[str]:
    answer = await pool.run(job, timeout_s=10)
    body = b"".join([chunk async for chunk in answer.chunks])
    return [row["o"]["value"] for row in json.loads(body)["results"]["bindings"]]


def test_an_answer_closed_before_its_first_chunk_gives_its_worker_back(store: EmbeddedStore) -> None:
    store.replace_graph(URIRef(G), TTL, RdfFormat.TURTLE)
    checkpoint = store.reader_snapshot()
    size = 2

    async def body() -> list[list[str]]:
        pool = QueryWorkers(size, lambda: checkpoint)
        await pool.start()
        try:
            for _ in range(size):  # every worker once: answered, then given up unread
                answer = await pool.run(QueryJob(query=SELECT_A), timeout_s=20)
                assert pool.busy >= 1
                await answer.chunks.aclose()  # type: ignore[attr-defined]
            # each closed answer's worker was killed (its frames were unread) and is being replaced
            answers = await asyncio.gather(
                *(_answered(pool, QueryJob(query=SELECT_A)) for _ in range(size + 1))
            )
            assert pool.busy == 0
            assert len(pool._all) == size  # the live workers: none lost, none spare
            return answers
        finally:
            await pool.close()

    assert asyncio.run(body()) == [["https://example.org/b"]] * (size + 1)
