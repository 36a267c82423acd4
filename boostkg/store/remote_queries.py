"""The endpoint's queries delegated to a remote SPARQL server, streamed through as they arrive.

The stand-in for :class:`~boostkg.store.workers.QueryWorkers` when the store is a
:class:`~boostkg.store.remote.RemoteStore`: the server evaluates the query (and stops it at its own
timeout, if it has one), and its response is passed to the client chunk by chunk in the format the
client asked for. At most ``size`` queries are sent at once; the others wait for a turn.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx

from boostkg.errors import QueryError, QueryTimeoutError, StoreUnavailableError
from boostkg.store.remote import RemoteStore, accept_for
from boostkg.store.workers import Answer, QueryJob

_CHUNK = 64 * 1024


class RemoteQueries:
    """Run :class:`QueryJob` s on the remote server behind ``store`` (same interface as the pool)."""

    def __init__(self, size: int, store: RemoteStore) -> None:
        self.size = size
        self._store = store
        self._slots = asyncio.Semaphore(size)
        self._running = 0
        self._client: httpx.AsyncClient | None = None

    async def start(self) -> None:
        """Open the connection pool to the server."""
        self._client = httpx.AsyncClient(
            auth=self._store.auth, timeout=None, limits=httpx.Limits(max_connections=self.size)
        )

    async def close(self) -> None:
        """Close the connection pool (queries under way are cut off)."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    @property
    def busy(self) -> int:
        """Queries under way on the server now."""
        return self._running

    def _form(self, job: QueryJob) -> dict[str, str | list[str]]:
        if "" in (job.default_graphs or ()) or "" in (job.named_graphs or ()):
            raise QueryError("a remote store has no unnamed graph of its own to query; name a graph")
        form: dict[str, str | list[str]] = {"query": job.query}
        if job.default_graphs is not None:
            form["default-graph-uri"] = list(job.default_graphs)
        if job.named_graphs is not None:
            form["named-graph-uri"] = list(job.named_graphs)
        if job.base_iri:
            form["base-uri"] = job.base_iri
        return form

    async def run(self, job: QueryJob, *, timeout_s: float) -> Answer:
        """Send ``job`` to the server; return once its response has started, with its bytes to come.

        Raises:
            QueryError: the server refused the query (malformed, unsupported format).
            QueryTimeoutError: no answer within ``timeout_s`` (waiting for a turn included).
            StoreUnavailableError: the server cannot be reached or failed (5xx).
        """
        if self._client is None:
            raise StoreUnavailableError(f"queries to {self._store.query_url} are not started")
        if self._store.rollback_pending:  # a unit cut off by an outage: undo it before answering
            await asyncio.to_thread(self._store.roll_back_interrupted)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        url = self._store.query_url
        accept = accept_for(job.query, job.results, job.rdf)
        request = self._client.build_request(
            "POST", url, data=self._form(job), headers={"Accept": accept}, timeout=timeout_s
        )
        try:
            async with asyncio.timeout_at(deadline):
                await self._slots.acquire()
        except TimeoutError:
            raise QueryTimeoutError(f"no turn to query {url} within {timeout_s:g} s") from None
        self._running += 1
        try:
            async with asyncio.timeout_at(deadline):
                response = await self._client.send(request, stream=True)
        except (TimeoutError, httpx.TimeoutException) as exc:
            self._release()
            raise QueryTimeoutError(
                f"the SPARQL server at {url} did not answer within {timeout_s:g} s"
            ) from exc
        except httpx.TransportError as exc:
            self._release()
            raise StoreUnavailableError(f"the SPARQL server at {url} cannot be reached: {exc}") from exc
        except BaseException:
            self._release()
            raise
        media = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if response.status_code >= 300 or media not in (job.results.value, job.rdf.media_type):
            body = (await response.aread()).decode("utf-8", "replace")
            await response.aclose()
            self._release()
            if response.status_code < 300:
                raise QueryError(
                    f"the SPARQL server at {url} answered in {media!r}, not in a format asked for"
                )
            raise self._store.refusal(response.status_code, url, "a query", body, None)
        is_graph = media == job.rdf.media_type and media != job.results.value
        return Answer(is_graph=is_graph, chunks=self._chunks(response, deadline, timeout_s, url))

    def _release(self) -> None:
        self._running -= 1
        self._slots.release()

    async def _chunks(
        self, response: httpx.Response, deadline: float, timeout_s: float, url: str
    ) -> AsyncIterator[bytes]:
        try:
            async with asyncio.timeout_at(deadline):
                async for chunk in response.aiter_bytes(_CHUNK):
                    yield chunk
        except TimeoutError:
            raise QueryTimeoutError(f"the query ran longer than {timeout_s:g} s and was cut off") from None
        except httpx.TransportError as exc:
            raise StoreUnavailableError(f"the SPARQL server at {url} broke off its answer: {exc}") from exc
        finally:
            await response.aclose()
            self._release()
