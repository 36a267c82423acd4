"""A remote SPARQL 1.1 server as the store: Protocol (queries), Update, Graph Store HTTP Protocol.

Queries go to the query endpoint as form-encoded POSTs (Virtuoso 7.2.5 never answers a direct
``application/sparql-query`` POST), updates to the update endpoint, bulk writes as N-Triples to the
Graph Store endpoint (``?graph=``), or, without one, as ``INSERT DATA`` updates. Credentials are
offered in whichever scheme the server's 401 challenge names: Basic, or Digest (Virtuoso's
``/sparql-auth``).

The server must use the union of its named graphs as the default graph of a query (Oxigraph:
``oxigraph serve --union-default-graph``; Virtuoso does so unless told otherwise).

All or nothing, remotely (:meth:`RemoteStore.atomic`). A SPARQL server keeps no journal for its
clients, so this store keeps one *in the server*: before a unit first writes to a graph, one update
request copies the graph to a backup graph ``urn:boostkg:journal:<unit>:<n>`` and records, in the
graph ``urn:boostkg:journal``, which graph it backs up and whether that graph existed. Committing
is one update request dropping the backups and the records; rolling back is one update request
putting every backup back (``MOVE``) and dropping the graphs the unit created. A unit that died
with its process (SIGKILL, lost connection) leaves its records in the server, and the next
:class:`RemoteStore` opened on it rolls the unit back before anything else. Each single request
(update, Graph Store PUT/POST) is applied atomically by the servers tested (Oxigraph, Virtuoso).

Big graphs (from :attr:`RemoteStore.big_graph_triples`, 50,000 triples) are journalled so that no
request grows with the graph: Oxigraph runs ``COPY``, ``MOVE`` and ``DROP`` as one transaction of
triple-by-triple writes (CORDIS's 876,525 triples take minutes, past the update deadline), and
neither server renames a graph. The backup is copied by this client (a Graph Store ``GET``, then
bulk uploads) while its record says ``copying`` (a crash then leaves the graph untouched), the
graph is emptied by ``DELETE ... LIMIT`` requests and uploads go by :attr:`upload_chunk` triples
(a replace of a graph without blank nodes sends only its difference from the backup's download).
Rolling back such a graph (in process or at the next open) empties it and copies the backup back;
it is repeated from the start until it finishes, and only then is the record turned into a
*garbage* record. Committing is still one small update (the commit point), which turns the big
backups' records into garbage records; the backups are then emptied by chunks, and whatever a
crash leaves of them is emptied at the next open.

A unit that only adds triples to an existing graph is journalled, on Oxigraph, by the triples it
adds rather than a copy (:meth:`RemoteStore._journal_adding`): its record says ``added``, its
backup holds exactly the triples the graph did not hold before, and rolling back deletes them from
the graph. Adding a few records to graph/meta then costs the same at 400 triples as at 11,000.

What is *not* all-or-nothing: the unit is not isolated (other clients of the server see its writes
and its backup graphs while it runs; this store's own queries in a unit exclude the backups), only
writes to named graphs are journalled (an update writing the unnamed default graph is not undone),
and one writer process per server is assumed (a second one opening the store would roll back the
first one's open unit).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import re
import tempfile
import uuid
from collections.abc import Generator, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, BinaryIO

import httpx
import pyoxigraph as ox
from rdflib import BNode, Literal, URIRef

from boostkg.errors import (
    Location,
    ParseError,
    QueryError,
    QueryTimeoutError,
    StoreError,
    StoreUnavailableError,
)
from boostkg.store.base import GraphStats, RdfFormat, ResultFormat, SelectResult, Term, Triple
from boostkg.store.embedded import _RDF_FORMATS
from boostkg.store.lexer import named_graphs, scan
from boostkg.store.terms import parse_error, to_oxigraph, to_rdflib

log = logging.getLogger(__name__)

JOURNAL = "urn:boostkg:journal"
"""The graph recording the open unit's backups; backups are graphs under ``JOURNAL:``."""
_OF = f"<{JOURNAL}#of>"
_EXISTED = f"<{JOURNAL}#existed>"
_BIG = f"<{JOURNAL}#big>"
"""On a record: the graph is restored by chunks (its backup is a client copy, if it existed)."""
_COPYING = f"<{JOURNAL}#copying>"
"""On a big record: the backup is not complete yet (the graph itself is still untouched)."""
_GARBAGE = f"<{JOURNAL}#garbage>"
"""A record of a backup no unit needs any more, left to be emptied by chunks."""
_ADDED = f"<{JOURNAL}#added>"
"""On a record: the unit only added to the graph, and the backup holds exactly the triples it added
(none of which the graph held before); rolling back deletes them from the graph."""
_ADDED_BATCH = 5_000
"""Triples per request asking which triples a graph already holds, or recording the added ones."""
_NTRIPLES = "application/n-triples"
SYSTEM_GRAPHS = frozenset(
    {
        "http://www.openlinksw.com/schemas/virtrdf#",
        "http://www.w3.org/ns/ldp#",
        "http://localuriqaserver/sparql",
        "http://www.w3.org/2002/07/owl#",
    }
)
"""Graphs a fresh Virtuoso holds for itself: not listed, counted or dumped as the store's."""
_GRAPHS_CHEAP = "SELECT DISTINCT ?g WHERE { GRAPH ?g { } }"
_GRAPHS_COUNTED = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
"""Every graph with its size. Virtuoso 7.2.5 answers it from its graph index (0.04-0.09 s at
890,000 quads) where ``SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }`` reads every quad
(20-22 s there, and ``SR171: Transaction timed out`` on bigger or busier stores)."""
_KNOWN_GRAPHS_CHUNK = 200
"""Graphs per existence query when the listing falls back to the graphs boostkg knows of."""
_PROVENANCE_LINKS = (
    "<http://www.w3.org/ns/prov#generated>",
    "<http://www.w3.org/ns/prov#wasGeneratedBy>",
    "<http://www.w3.org/ns/prov#wasInvalidatedBy>",
    "<https://w3id.org/boostkg/icf#targetGraph>",
)
"""How graph/meta's records name a graph: a load or write ``prov:generated`` it (the graph
``prov:wasGeneratedBy`` it), a withdrawal or delete invalidated it, an update targeted it."""
_PROJECT_GRAPHS = tuple(
    f"https://w3id.org/boostkg/graph/{name}"
    for name in (
        "meta", "ontology", "themes", "vocab", "nuts-2024", "eis", "seed", "cordis-h2020",
        "cordis-organisations", "inferred",
    )
)  # fmt: skip
"""The project's fixed named graphs (namespaces.graph_iri), always asked about in a fallback."""
_INSERT_BATCH = 5_000
"""Triples per ``INSERT DATA`` request when there is no Graph Store endpoint."""
_DELETE_DATA_BATCH = 1_000
"""Triples per ``DELETE DATA`` request on servers other than Oxigraph (Virtuoso 7.2.5's SPARQL
compiler runs out of memory at ~5,000)."""
_CHUNK = 64 * 1024
_GRAPH_VARIABLE = re.compile(r"\bGRAPH\s+[?$]", re.IGNORECASE)
_VIRTUOSO_ERROR = re.compile(r"Virtuoso (\w{5}) Error ([\w.]+):? ?(.*)", re.DOTALL)
_VIRTUOSO_QUERY_STATES = ("37000", "42000", "22", "S1", "SP")
_MEDIA_TO_RDF = {fmt.media_type: fmt for fmt in RdfFormat} | {"text/plain": RdfFormat.NTRIPLES}
_MEDIA_TO_RESULTS = {fmt.value: fmt for fmt in ResultFormat}


class _BlankNodeFoundError(Exception):
    """A graph compared triple by triple holds a blank node (no ``DELETE DATA`` can name one)."""


class _ChallengeAuth(httpx.Auth):
    """Answer a 401 with the scheme its challenge names (Basic or Digest); later requests to a
    Basic server send the credentials up front, and Digest reuses its challenge."""

    requires_request_body = True

    def __init__(self, user: str, password: str) -> None:
        self._basic = httpx.BasicAuth(user, password)
        self._digest = httpx.DigestAuth(user, password)
        self._scheme: str | None = None

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._scheme == "basic":
            yield from self._basic.auth_flow(request)
            return
        if self._scheme == "digest":
            yield from self._digest.auth_flow(request)
            return
        response = yield request
        if response.status_code != 401:
            return
        challenge = response.headers.get("www-authenticate", "").split(" ", 1)[0].lower()
        if challenge == "digest":
            self._scheme = "digest"
            flow = self._digest.auth_flow(request)
            next(flow)  # the unauthenticated request, already answered
            try:
                retry = flow.send(response)
                flow.send((yield retry))
            except StopIteration:
                return
        elif challenge == "basic":
            self._scheme = "basic"
            yield from self._basic.auth_flow(request)


def _to_term(binding: dict[str, str]) -> Term:
    """A term of the SPARQL 1.1 JSON results format as rdflib's."""
    kind = binding["type"]
    value = binding["value"]
    if kind == "uri":
        return URIRef(value)
    if kind == "bnode":
        return BNode(value)
    if kind in ("literal", "typed-literal"):  # typed-literal: Virtuoso's pre-1.1 spelling
        if "xml:lang" in binding:
            return Literal(value, lang=binding["xml:lang"])
        datatype = binding.get("datatype")
        if datatype and datatype != "http://www.w3.org/2001/XMLSchema#string":
            return Literal(value, datatype=URIRef(datatype))
        return Literal(value)
    raise StoreError(f"unsupported term in query results: {binding}")


def accept_for(
    query: str, result_format: ResultFormat, rdf_format: RdfFormat, *, form: str | None = None
) -> str:
    """The ``Accept`` header for ``query``: the RDF format for CONSTRUCT/DESCRIBE, the results
    format otherwise (asked both, Virtuoso answers a CONSTRUCT in SPARQL JSON results). ``form``:
    the query's form (``SELECT``, ``CONSTRUCT``...) when the caller has scanned it already."""
    if form is None:
        form = scan(query).form
    if form in ("CONSTRUCT", "DESCRIBE"):
        return rdf_format.media_type
    if form in ("SELECT", "ASK"):
        return result_format.value
    return f"{result_format.value}, {rdf_format.media_type};q=0.9"


class RemoteStore:
    """A :class:`~boostkg.store.base.KnowledgeStore` over a SPARQL 1.1 server's HTTP endpoints."""

    def __init__(
        self,
        query_url: str,
        *,
        update_url: str | None = None,
        gsp_url: str | None = None,
        user: str | None = None,
        password: str | None = None,
        timeout_s: float = 30.0,
        update_timeout_s: float = 120.0,
        connect_timeout_s: float = 5.0,
        big_graph_triples: int = 50_000,
        delete_chunk: int = 50_000,
        upload_chunk: int = 100_000,
        recover: bool = True,
    ) -> None:
        """``recover``: roll back a unit a crashed writer left open (the server's writer must;
        a process that only relays queries, :mod:`boostkg.api.lookups`, leaves it to that writer)."""
        self.query_url = query_url
        self.update_url = update_url or query_url
        self.gsp_url = gsp_url
        self.path = query_url  # what messages name as "the store"
        self.auth: httpx.Auth | None = _ChallengeAuth(user, password or "") if user else None
        """The credentials, offered as the server's challenge asks (shared by the query delegate)."""
        self._client: httpx.Client | None = httpx.Client(
            auth=self.auth,
            timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),  # queries
            follow_redirects=False,
        )
        self._update_timeout_s = update_timeout_s
        """Seconds one update or upload request may take (big graphs are copied, emptied and
        uploaded in requests that stay well below it)."""
        self._connect_timeout_s = connect_timeout_s
        self.generation = 0
        """Moves on every write made through this object (as :class:`EmbeddedStore`'s does)."""
        self.big_graph_triples = big_graph_triples
        """From this many triples a graph is journalled the big way (client copy, chunked deletes)."""
        self.delete_chunk = delete_chunk
        """Triples one request deletes when a big graph is emptied."""
        self.upload_chunk = upload_chunk
        """Triples one Graph Store request uploads inside a unit (each request within the deadline)."""
        self._unit: str | None = None
        self._journalled: dict[str, str] = {}
        self._existed: dict[str, bool] = {}
        """Whether each graph the unit journalled existed before it."""
        self._big: set[str] = set()
        """The unit's graphs journalled the big way (see :meth:`_journal`)."""
        self._copying: set[str] = set()
        """Big graphs whose backup is still being copied (the graph itself is untouched)."""
        self._old: dict[str, IO[bytes]] = {}
        """Big graphs' content before the unit (the backup's download), until the unit writes them."""
        self._added: dict[str, list[str]] = {}
        """The unit's graphs journalled by what it added (see :meth:`_journal_adding`), with the
        added triples as N-Triples statements."""
        self._backups = 0
        """Backups the open unit has named (each gets the next number)."""
        self._depth = 0
        self._interrupted = False
        """A unit's closing request (commit or rollback) could not reach the server: its records are
        still there, and are rolled back before this store sends anything else."""
        self._names: tuple[int, frozenset[tuple[URIRef, int | None]]] | None = None
        self.listing = "counted"
        """How a server that cannot list graphs cheaply lists them: ``counted`` (one grouped
        query) or ``known`` (the graphs boostkg knows of; after the grouped query failed)."""
        self.listing_timeout_s = min(timeout_s, 20.0)
        """Seconds the grouped listing may take before the listing falls back (``known``)."""
        self._written: set[str] = set()
        """Named graphs this object wrote (the fallback listing asks about them too)."""
        self._server: str | None = None
        """The server's ``Server`` header (from its first answer): a few speed-ups are Oxigraph's."""
        self._graphs_by_scan: bool | None = None
        self._last_rows = 0
        self.recovered = self._recover() if recover else None

    # --- HTTP ---------------------------------------------------------------------------------------
    @property
    def _http(self) -> httpx.Client:
        if self._client is None:
            raise StoreError(f"store {self.query_url} is closed")
        return self._client

    @contextmanager
    def _request(
        self,
        method: str,
        url: str,
        *,
        what: str,
        data: dict[str, str | list[str]] | None = None,
        content: bytes | Iterable[bytes] | None = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        parse_source: str | None = None,
        timeout_s: float | None = None,
    ) -> Iterator[httpx.Response]:
        """Send a request and yield its (streamed) response once it is known to be a success.

        Raises:
            StoreUnavailableError: the server cannot be reached, or answers 5xx (it names ``url``).
            QueryTimeoutError: the server took longer than the timeout to answer.
            QueryError: the server refused the query or update (4xx, or Virtuoso's SQL errors).
            ParseError: the server refused uploaded data (``parse_source`` names it).
            StoreError: the server refused the credentials.
        """
        if self._interrupted and self._unit is None:
            self.roll_back_interrupted()
        try:
            client = self._http
            timeout = (
                httpx.Timeout(timeout_s, connect=self._connect_timeout_s) if timeout_s else client.timeout
            )
            request = client.build_request(
                method, url, data=data, content=content, params=params, headers=headers, timeout=timeout
            )
            response = client.send(request, stream=True)
        except httpx.TimeoutException as exc:
            if isinstance(exc, httpx.ConnectTimeout):
                raise StoreUnavailableError(
                    f"the SPARQL server at {url} did not accept a connection in time"
                ) from exc
            raise QueryTimeoutError(f"the SPARQL server at {url} did not answer {what} in time") from exc
        except httpx.TransportError as exc:
            raise StoreUnavailableError(f"the SPARQL server at {url} cannot be reached: {exc}") from exc
        if self._server is None:
            self._server = response.headers.get("server", "")
        try:
            if response.status_code >= 300:
                try:
                    body = response.read().decode("utf-8", "replace").strip()
                except httpx.HTTPError:
                    body = ""
                raise self.refusal(response.status_code, url, what, body, parse_source)
            yield response
        except httpx.TimeoutException as exc:
            raise QueryTimeoutError(f"the SPARQL server at {url} did not finish {what} in time") from exc
        except httpx.TransportError as exc:
            raise StoreUnavailableError(f"the SPARQL server at {url} broke off {what}: {exc}") from exc
        finally:
            response.close()

    @staticmethod
    def refusal(
        status: int, url: str, what: str, body: str, parse_source: str | None
    ) -> StoreError | ParseError:
        """Our error for a server's refusal (status ``status``, body ``body``) of ``what`` at ``url``."""
        text = " ".join(body.split())[:500] or "no message"
        virtuoso = _VIRTUOSO_ERROR.search(body)
        if virtuoso and virtuoso.group(1).startswith(_VIRTUOSO_QUERY_STATES) and status < 503:
            if virtuoso.group(2) in ("SR186", "SR185"):  # no permission to run SPARUL / a procedure
                return StoreError(f"the SPARQL server at {url} refused {what} for lack of permission: {text}")
            status = 400  # Virtuoso answers a malformed query with 500 and an SQL state
        if status in (401, 403):
            return StoreError(
                f"the SPARQL server at {url} refused the credentials for {what} ({status}): {text}"
            )
        if status >= 500:
            return StoreUnavailableError(f"the SPARQL server at {url} failed {what} ({status}): {text}")
        if parse_source is not None and status in (400, 415):
            return ParseError(
                f"the SPARQL server refused the data ({status}): {text}", Location(parse_source)
            )
        return QueryError(f"{what} refused by the SPARQL server at {url} ({status}): {text}")

    def _dataset(self) -> dict[str, str | list[str]]:
        """Inside a unit, the named graphs without the journal's, as the query's explicit dataset
        (outside one there are no backups, and the server's union default graph is used)."""
        if not self._journalled:
            return {}
        names = sorted(str(g) for g in self.graph_names()) or [f"{JOURNAL}-none"]
        return {"default-graph-uri": names, "named-graph-uri": names}

    def _post_query(
        self,
        query: str,
        accept: str,
        *,
        base_iri: str | None = None,
        dataset: bool = True,
        timeout_s: float | None = None,
    ) -> AbstractContextManager[httpx.Response]:
        data: dict[str, str | list[str]] = {"query": query, **(self._dataset() if dataset else {})}
        if base_iri:
            data["base-uri"] = base_iri
        return self._request(
            "POST", self.query_url, what="a query", data=data, headers={"Accept": accept}, timeout_s=timeout_s
        )

    def _json(self, query: str, *, dataset: bool = True, timeout_s: float | None = None) -> dict[str, object]:
        with self._post_query(
            query, ResultFormat.JSON.value, dataset=dataset, timeout_s=timeout_s
        ) as response:
            try:
                return dict(json.loads(response.read()))
            except ValueError as exc:
                raise QueryError(
                    f"the SPARQL server at {self.query_url} sent results that are not JSON"
                ) from exc

    # --- queries --------------------------------------------------------------------------------------
    def select(self, query: str) -> SelectResult:
        results = self._json(query)
        head = results.get("head")
        if not isinstance(head, dict) or "results" not in results:
            raise QueryError("not a SELECT query")
        variables = tuple(str(v) for v in head.get("vars", []))
        bindings = results["results"]["bindings"]  # type: ignore[index]
        rows = tuple({name: _to_term(value) for name, value in row.items()} for row in bindings)
        return SelectResult(variables, rows)

    def ask(self, query: str) -> bool:
        results = self._json(query)
        if "boolean" not in results:
            raise QueryError("not an ASK query")
        return bool(results["boolean"])

    def _quads_of(
        self, query: str, graph: ox.NamedNode | ox.DefaultGraph | None = None, *, dataset: bool = True
    ) -> list[ox.Quad]:
        with self._post_query(query, f"{_NTRIPLES}, text/plain;q=0.5", dataset=dataset) as response:
            media = response.headers.get("content-type", "").split(";")[0].strip().lower()
            fmt = _MEDIA_TO_RDF.get(media)
            if fmt is None or fmt.has_graphs:
                raise QueryError(
                    f"not a CONSTRUCT or DESCRIBE query (the server answered {media or 'no type'})"
                )
            try:
                quads = list(ox.parse(response.read(), format=_RDF_FORMATS[fmt]))
            except SyntaxError as exc:
                raise QueryError(
                    f"the SPARQL server at {self.query_url} sent malformed {fmt.name}: {exc}"
                ) from exc
            if graph is None:
                return quads
            return [ox.Quad(q.subject, q.predicate, q.object, graph) for q in quads]

    def construct(self, query: str) -> list[Triple]:
        return [
            (to_rdflib(q.subject), to_rdflib(q.predicate), to_rdflib(q.object)) for q in self._quads_of(query)
        ]

    def query_to(
        self, query: str, out: BinaryIO, *, result_format: ResultFormat, rdf_format: RdfFormat
    ) -> ResultFormat | RdfFormat:
        """Stream the server's answer to ``out`` as it arrives, in the format the server chose from
        ``result_format`` and ``rdf_format`` (returned)."""
        with self._post_query(query, accept_for(query, result_format, rdf_format)) as response:
            media = response.headers.get("content-type", "").split(";")[0].strip().lower()
            written: ResultFormat | RdfFormat | None = _MEDIA_TO_RESULTS.get(media) or _MEDIA_TO_RDF.get(
                media
            )
            if written is None:
                raise QueryError(
                    f"the SPARQL server at {self.query_url} answered in {media!r}, not a format asked for"
                )
            for chunk in response.iter_bytes(_CHUNK):
                out.write(chunk)
        return written

    def query_stream(self, query: str, *, accept: str) -> AbstractContextManager[tuple[str, Iterator[bytes]]]:
        """The server's answer as it arrives: its media type and an iterator of its bytes (for the
        endpoint to pass through). A context manager.

        Raises:
            QueryError, QueryTimeoutError, StoreUnavailableError: as :meth:`_request`.
        """
        return self._stream(query, accept)

    @contextmanager
    def _stream(self, query: str, accept: str) -> Iterator[tuple[str, Iterator[bytes]]]:
        with self._post_query(query, accept) as response:
            yield (
                response.headers.get("content-type", "application/octet-stream"),
                response.iter_bytes(_CHUNK),
            )

    def query_small(
        self, query: str, *, result_format: ResultFormat, base_iri: str | None, max_bytes: int
    ) -> bytes | None:
        try:
            with self._post_query(query, result_format.value, base_iri=base_iri) as response:
                media = response.headers.get("content-type", "").split(";")[0].strip().lower()
                if media != result_format.value:
                    return None
                body = bytearray()
                for chunk in response.iter_bytes(_CHUNK):
                    body += chunk
                    if len(body) > max_bytes:
                        return None
                return bytes(body)
        except StoreError:
            return None

    # --- writes ---------------------------------------------------------------------------------------
    def _post_update(self, update: str, *, base_iri: str | None = None, live_only: bool = False) -> None:
        data: dict[str, str | list[str]] = {"update": update}
        if live_only:  # a WHERE reaching graphs through a variable must not match the unit's backups
            names = sorted(str(g) for g in self.graph_names()) or [f"{JOURNAL}-none"]
            data |= {"using-graph-uri": names, "using-named-graph-uri": names}
        if base_iri:
            data["base-uri"] = base_iri
        self.generation += 1
        with self._request(
            "POST", self.update_url, what="an update", data=data, timeout_s=self._update_timeout_s
        ) as response:
            response.read()

    def _journal(self, graphs: Iterable[str], *, existing: set[str] | None = None) -> None:
        """Inside a unit: back up each graph not yet backed up, before the unit writes to it.

        A graph of fewer than :attr:`big_graph_triples` triples is backed up by one update (the
        record and a ``COPY``). A bigger one is copied by this client instead (a Graph Store ``GET``
        and a bulk upload, seconds where Oxigraph's ``COPY`` of CORDIS outlasts the deadline): the
        record says ``copying`` until the copy is complete and counted, so a crash before then
        leaves the graph untouched and the partial copy is garbage.
        """
        if self._unit is None:
            return
        graphs = list(dict.fromkeys(graphs))
        readd = {g: self._unjournal_added(g) for g in graphs if g in self._added}
        fresh = [g for g in graphs if g not in self._journalled and not g.startswith(JOURNAL)]
        if not fresh:
            return
        self._written.update(fresh)
        if existing is None:  # which of ``graphs`` exist, unless the caller just asked
            existing = self._existing(fresh)
        sizes = self._sizes(sorted(existing)) if existing else {}
        parts = []
        big: list[tuple[str, str]] = []
        for graph in fresh:
            backup = self._next_backup()
            self._journalled[graph] = backup
            self._existed[graph] = graph in existing
            existed = "true" if graph in existing else "false"
            record = f"<{backup}> {_OF} <{graph}> ; {_EXISTED} {existed}"
            if sizes.get(graph, 0) >= self.big_graph_triples:
                big.append((graph, backup))
                self._big.add(graph)
                self._copying.add(graph)
                record += f" ; {_BIG} true ; {_COPYING} true"
            elif graph in existing:
                parts.append(f"COPY <{graph}> TO <{backup}>")
            parts.insert(0, f"INSERT DATA {{ GRAPH <{JOURNAL}> {{ {record} }} }}")
        self._post_update(" ;\n".join(parts))
        for graph, backup in big:
            self._copy(graph, backup, expected=sizes[graph], keep=True)
            self._post_update(f"DELETE DATA {{ GRAPH <{JOURNAL}> {{ <{backup}> {_COPYING} true }} }}")
            self._copying.discard(graph)
        for graph, statements in readd.items():
            self._forget_old([graph])
            with tempfile.TemporaryFile() as spool:
                spool.write("".join(f"{line}\n" for line in statements).encode("utf-8"))
                spool.seek(0)
                self._upload(graph, spool, replace=False)

    def _next_backup(self) -> str:
        """A fresh backup graph's name for the open unit."""
        self._backups += 1
        return f"{JOURNAL}:{self._unit}:{self._backups - 1}"

    def _journal_adding(self, graph: str, quads: Sequence[ox.Quad]) -> None:
        """Inside a unit, before ``quads`` are added to ``graph``: journal what the unit adds.

        On Oxigraph, a graph that exists is journalled by the triples the unit adds to it rather
        than by a copy: one query asks which of ``quads`` the graph already holds, and the others
        are recorded in the backup (in the same request as the record) before any is uploaded.
        Rolling back deletes the backup's triples from the graph, which held none of them before
        the unit, so it gives back exactly the graph before (a triple the graph already held is
        not recorded, and stays). A crash at any point is rolled back the same way: a triple
        recorded but not uploaded yet is not in the graph, and deleting it changes nothing.

        Everything else is journalled by :meth:`_journal` (a copy): a graph that does not exist
        yet (its record says so: nothing to copy), an addition with a blank node (no request can
        name it), one of :attr:`big_graph_triples` or more, and every server but Oxigraph, which
        stores and matches each literal in one canonical form (``"01"^^xsd:integer`` is ``"1"``,
        in the data and in a query alike). Virtuoso 7.2.5 normalises literals its own way and does not
        always match a term spelled otherwise (``"ES51"^^xsd:string`` written out is stored as
        ``"ES51"``, and a query or ``DELETE DATA`` naming it so finds nothing): a wrong "already
        there" would make the rollback delete a triple the graph held before (see docs/scaling.md).
        A graph journalled this way and then written otherwise in the same unit is turned into a
        copy (see :meth:`_unjournal_added`).
        """
        if self._unit is None or graph.startswith(JOURNAL):
            return
        if graph in self._journalled and graph not in self._added:
            return  # a copy covers it
        oxigraph = (self._server or "").lower().startswith("oxigraph")
        plain = len(quads) < self.big_graph_triples and not any(
            isinstance(q.subject, ox.BlankNode) or isinstance(q.object, ox.BlankNode) for q in quads
        )
        if graph not in self._journalled and plain and oxigraph:
            existing = self._existing([graph])
            if not existing:
                self._journal([graph], existing=existing)  # a record saying it did not exist
                return
        elif graph not in self._journalled or not plain:
            self._journal([graph])  # a copy (a graph journalled by what it added is turned into one)
            return
        statements = self._absent(graph, quads)
        if not statements:
            return
        self._written.add(graph)
        parts = []
        if graph not in self._journalled:
            backup = self._next_backup()
            self._journalled[graph] = backup
            self._existed[graph] = True
            self._added[graph] = []
            parts.append(
                f"GRAPH <{JOURNAL}> {{ <{backup}> {_OF} <{graph}> ; {_EXISTED} true ; {_ADDED} true }}"
            )
        backup = self._journalled[graph]
        for start in range(0, len(statements), _ADDED_BATCH):
            body = "\n".join(statements[start : start + _ADDED_BATCH])
            self._post_update(f"INSERT DATA {{ {' '.join(parts)} GRAPH <{backup}> {{\n{body}\n}} }}")
            parts = []
            self._added[graph].extend(statements[start : start + _ADDED_BATCH])

    def _absent(self, graph: str, quads: Sequence[ox.Quad]) -> list[str]:
        """The triples of ``quads`` (no blank nodes) that ``graph`` does not hold, as N-Triples
        statements, each once; the server is asked by :data:`_ADDED_BATCH` triples at a time."""
        statements = list(dict.fromkeys(f"{q.subject} {q.predicate} {q.object} ." for q in quads))
        held: set[int] = set()
        for start in range(0, len(statements), _ADDED_BATCH):
            rows = " ".join(
                f"({start + i} {line[:-2]})"
                for i, line in enumerate(statements[start : start + _ADDED_BATCH])
            )
            found = self._json(
                f"SELECT ?i WHERE {{ VALUES (?i ?s ?p ?o) {{ {rows} }} GRAPH <{graph}> {{ ?s ?p ?o }} }}",
                dataset=False,
            )
            held.update(int(b["i"]["value"]) for b in found["results"]["bindings"])  # type: ignore[index]
        return [line for i, line in enumerate(statements) if i not in held]

    def _unjournal_added(self, graph: str) -> list[str]:
        """Before the unit writes otherwise to a graph it journalled by what it added: take the
        added triples out again and drop that record, in one request (the graph is as before the
        unit, with no record of it), and return them; :meth:`_journal` then journals the graph
        afresh and uploads them back."""
        backup = self._journalled.pop(graph)
        statements = self._added.pop(graph)
        self._existed.pop(graph, None)
        self._post_update(self._closing_update({graph: backup}, commit=False, big=set(), added={graph}))
        return statements

    def _mark_big(self, graph: str, triples: int) -> None:
        """Before ``triples`` are uploaded to a graph the unit journalled the small way: from
        :attr:`big_graph_triples` on, record that a rollback must empty it by chunks."""
        if self._unit is None or graph not in self._journalled or graph in self._big or graph in self._added:
            return
        if triples < self.big_graph_triples:
            return
        self._post_update(
            f"INSERT DATA {{ GRAPH <{JOURNAL}> {{ <{self._journalled[graph]}> {_BIG} true }} }}"
        )
        self._big.add(graph)

    def _sizes(self, graphs: Sequence[str]) -> dict[str, int]:
        """The triple counts of ``graphs`` (one query; a graph without triples is left out)."""
        values = " ".join(f"<{g}>" for g in graphs)
        rows = self._json(
            f"SELECT ?g (COUNT(*) AS ?n) WHERE {{ VALUES ?g {{ {values} }} GRAPH ?g {{ ?s ?p ?o }} }} "
            "GROUP BY ?g",
            dataset=False,
        )
        return {
            b["g"]["value"]: int(b["n"]["value"])
            for b in rows["results"]["bindings"]  # type: ignore[index]
            if "g" in b and "n" in b
        }

    def _copy(self, source: str, target: str, *, expected: int | None = None, keep: bool = False) -> None:
        """Copy graph ``source`` into the empty graph ``target`` through this client: downloaded as
        N-Triples (a Graph Store ``GET``, or a ``CONSTRUCT`` without a Graph Store endpoint) and
        uploaded in bulk requests (where a ``COPY`` inserts triple by triple in one transaction).
        ``keep``: the download is kept as ``source``'s content before the unit (see
        :meth:`_replace_by_difference`).

        Raises:
            StoreError: ``target`` did not end up with ``expected`` triples (e.g. a server cutting
                the download short).
        """
        spool = tempfile.TemporaryFile()  # noqa: SIM115 (kept, or closed below)
        try:
            if self.gsp_url:
                with self._request(
                    "GET",
                    self.gsp_url,
                    what=f"the download of {source}",
                    params={"graph": source},
                    headers={"Accept": _NTRIPLES},
                    timeout_s=self._update_timeout_s,
                ) as response:
                    for chunk in response.iter_bytes(_CHUNK):
                        spool.write(chunk)
            else:
                select = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{source}> {{ ?s ?p ?o }} }}"
                ox.serialize(
                    (
                        ox.Triple(q.subject, q.predicate, q.object)
                        for q in self._quads_of(select, dataset=False)
                    ),
                    spool,
                    ox.RdfFormat.N_TRIPLES,
                )
            spool.seek(0)
            self._upload(target, spool, replace=False, journalled=True)
        except BaseException:
            spool.close()
            raise
        if keep:
            self._old[source] = spool
        else:
            spool.close()
        if expected is not None:
            copied = self.triple_count(URIRef(target))
            if copied != expected:
                raise StoreError(
                    f"copying {source} to {target} on {self.query_url} gave {copied} triples, not {expected}"
                )

    def _empty(self, graph: str) -> None:
        """Delete every triple of ``graph`` in requests of :attr:`delete_chunk` triples, then the
        graph: Oxigraph drops a graph at ~15,000 triples a second in one transaction (a minute for
        CORDIS, past the update deadline), and deletes 50,000-triple chunks at ~30,000 a second.

        Raises:
            StoreError: a round of chunks deleted nothing (the server ignores the LIMIT or refuses
                to delete some triples).
        """
        left = self._sizes([graph]).get(graph, 0)
        while left:
            for _ in range(-(-left // self.delete_chunk)):  # counting a big graph costs ~0.4 s
                self._post_update(
                    f"DELETE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }} WHERE {{ {{ SELECT ?s ?p ?o "
                    f"WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }} LIMIT {self.delete_chunk} }} }}"
                )
            now = self._sizes([graph]).get(graph, 0)
            if now >= left:
                raise StoreError(
                    f"deleting triples of {graph} on {self.query_url} made no progress ({now} left)"
                )
            left = now
        self._post_update(f"DROP SILENT GRAPH <{graph}>")

    def _forget_old(self, graphs: Iterable[str]) -> None:
        """The unit writes ``graphs`` otherwise than by replacing them: their old content is stale."""
        for graph in graphs:
            old = self._old.pop(graph, None)
            if old is not None:
                old.close()

    def _replace_by_difference(self, graph: str, old: IO[bytes], new: IO[bytes]) -> IO[bytes] | None:
        """Replace a big graph's content ``old`` by ``new`` (both N-Triples) by deleting only the
        triples that go (``DELETE DATA`` requests) and returning the ones that come, for upload: a
        re-import that changes little sends little. ``None`` (nothing done) if either holds a blank
        node, which no ``DELETE DATA`` can name.

        Raises:
            ParseError: the server's download of ``graph`` is not N-Triples.
        """

        def lines(data: IO[bytes]) -> Iterator[tuple[bytes, str]]:
            data.seek(0)
            try:
                for t in ox.parse(data, format=ox.RdfFormat.N_TRIPLES):
                    if isinstance(t.subject, ox.BlankNode) or isinstance(t.object, ox.BlankNode):
                        raise _BlankNodeFoundError
                    line = str(ox.Triple(t.subject, t.predicate, t.object))
                    yield hashlib.blake2b(line.encode("utf-8"), digest_size=16).digest(), line
            except SyntaxError as exc:
                raise parse_error(exc, graph) from exc

        added = tempfile.TemporaryFile()  # noqa: SIM115 (handed to the caller, who closes it)
        try:
            going = {digest for digest, _ in lines(old)}  # 16 bytes a triple, not the triples
            for digest, line in lines(new):
                if digest in going:
                    going.remove(digest)  # kept
                else:
                    added.write(f"{line} .\n".encode())
        except _BlankNodeFoundError:
            added.close()
            return None
        removed = [line for digest, line in lines(old) if digest in going]
        oxigraph = (self._server or "").lower().startswith("oxigraph")
        batch = self.delete_chunk if oxigraph else min(self.delete_chunk, _DELETE_DATA_BATCH)
        for start in range(0, len(removed), batch):
            body = " .\n".join(removed[start : start + batch])
            self._post_update(f"DELETE DATA {{ GRAPH <{graph}> {{\n{body} .\n}} }}")
        log.debug(
            "replaced %s by difference: %d triples removed, %d bytes added", graph, len(removed), added.tell()
        )
        added.seek(0)
        return added

    def _drop(self, graph: str) -> None:
        """Drop ``graph``: by chunks if the unit journalled it the big way, in one update otherwise."""
        self._forget_old([graph])
        if graph in self._big:
            self._empty(graph)
        else:
            self._post_update(f"DROP SILENT GRAPH <{graph}>")

    @contextmanager
    def atomic(self, label: str = "write") -> Iterator[None]:
        """Group writes into one unit, journalled in the server (see the module's docstring for
        exactly what is all-or-nothing)."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self.roll_back_interrupted()
        self._unit = uuid.uuid4().hex[:12]
        self._backups = 0
        self._depth = 1
        log.debug("remote unit %s: %s", self._unit, label)
        try:
            yield
        except BaseException:
            self._depth = 0
            self._finish(commit=False)
            raise
        self._depth = 0
        self._finish(commit=True)

    def _finish(self, *, commit: bool) -> None:
        journalled, self._journalled, self._unit = self._journalled, {}, None
        big, existed, copying, added = self._big, self._existed, self._copying, set(self._added)
        self._big, self._existed, self._copying, self._added = set(), {}, set(), {}
        self._forget_old(list(self._old))
        if not journalled or self._client is None:
            return  # closed inside a unit: its records stay in the server, the next open rolls it back
        try:
            if commit:
                # The commit point: one update drops the small backups and their records and turns
                # the big backups' records into garbage records; the big backups are emptied after.
                self._post_update(self._closing_update(journalled, commit=True, big=big))
                self._collect([journalled[g] for g in big])
                return
            small = {g: b for g, b in journalled.items() if g not in big}
            if small:
                self._post_update(self._closing_update(small, commit=False, big=set(), added=added))
            for graph in big:
                self._restore(graph, journalled[graph], existed=existed[graph], copying=graph in copying)
        except StoreError:
            # The server died or went away mid-unit: its records stay there. Whoever opens a store
            # on it next rolls them back, and so does this object before its next request: a
            # long-running server (the API) must not show the half-written unit once it is back.
            self._interrupted = True
            raise

    def _restore(self, graph: str, backup: str, *, existed: bool, copying: bool) -> None:
        """Roll back a graph journalled the big way: empty it by chunks, refill it from its backup
        (unless the backup was still being made: the graph was not touched then), and only then
        mark the backup garbage. A crash in between leaves the record, and the next open repeats
        the whole restore."""
        if not copying:
            self._empty(graph)
            if existed:
                self._copy(backup, graph)
        self._post_update(
            f"DELETE WHERE {{ GRAPH <{JOURNAL}> {{ <{backup}> ?p ?o }} }} ;\n"
            f"INSERT DATA {{ GRAPH <{JOURNAL}> {{ <{backup}> {_GARBAGE} true }} }}"
        )
        self._collect([backup])

    def _collect(self, backups: Iterable[str]) -> None:
        """Empty garbage backups by chunks and forget their records. A failure is only logged: the
        unit is already closed, and the next open collects what is left."""
        for backup in backups:
            try:
                self._empty(backup)
                self._post_update(f"DELETE WHERE {{ GRAPH <{JOURNAL}> {{ <{backup}> ?p ?o }} }}")
            except StoreError as exc:
                log.warning(
                    "store %s: backup %s left for the next open to remove: %s", self.query_url, backup, exc
                )
                return

    @property
    def rollback_pending(self) -> bool:
        """True while a unit that could not be closed (server unreachable) awaits its rollback."""
        return self._interrupted

    def roll_back_interrupted(self) -> None:
        """Roll back the unit whose closing request failed, if any (a no-op otherwise).

        Raises:
            StoreUnavailableError: the server still cannot be reached; the rollback stays pending.
        """
        if not self._interrupted:
            return
        self._interrupted = False
        try:
            self.recovered = self._recover()
        except BaseException:
            self._interrupted = True
            raise

    @staticmethod
    def _closing_update(
        journalled: dict[str, str],
        *,
        commit: bool,
        big: set[str],
        existed: dict[str, bool] | None = None,
        added: set[str] | frozenset[str] = frozenset(),
    ) -> str:
        """One update closing the unit: commit drops the backups (a big one's record becomes a
        garbage record, emptied after); rollback puts the small backups back (``MOVE``) and takes
        the triples recorded as ``added`` out of their graphs."""
        parts = []
        for graph, backup in journalled.items():
            if graph in big:
                parts.append(f"DELETE WHERE {{ GRAPH <{JOURNAL}> {{ <{backup}> ?p ?o }} }}")
                parts.append(f"INSERT DATA {{ GRAPH <{JOURNAL}> {{ <{backup}> {_GARBAGE} true }} }}")
                continue
            if graph in added:
                if not commit:
                    triple = "{ ?s ?p ?o }"
                    parts.append(
                        f"DELETE {{ GRAPH <{graph}> {triple} }} WHERE {{ GRAPH <{backup}> {triple} }}"
                    )
            elif not commit:
                parts.append(f"DROP SILENT GRAPH <{graph}>")
                if existed is None or existed.get(graph, True):
                    parts.append(f"MOVE SILENT <{backup}> TO <{graph}>")
            parts.append(f"DROP SILENT GRAPH <{backup}>")
            parts.append(f"DELETE WHERE {{ GRAPH <{JOURNAL}> {{ <{backup}> ?p ?o }} }}")
        return " ;\n".join(parts)

    def _recover(self) -> str | None:
        """Roll back a unit that died with its process (its records are still in the server), and
        empty the backups a closed unit left as garbage."""
        rows = self.select(f"SELECT ?b ?p ?o WHERE {{ GRAPH <{JOURNAL}> {{ ?b ?p ?o }} }}")
        if not rows:
            return None
        records: dict[str, dict[str, str]] = {}
        for r in rows:
            records.setdefault(str(r["b"]), {})[str(r["p"]).rsplit("#", 1)[-1]] = str(r["o"])
        yes = ("true", "1")
        garbage = [b for b, fields in records.items() if "of" not in fields]
        small = {f["of"]: b for b, f in records.items() if "of" in f and f.get("big") not in yes}
        big = {f["of"]: b for b, f in records.items() if "of" in f and f.get("big") in yes}
        existed = {f["of"]: f.get("existed") in yes for f in records.values() if "of" in f}
        added = {f["of"] for f in records.values() if "of" in f and f.get("added") in yes}
        if small:
            self._post_update(
                self._closing_update(small, commit=False, big=set(), existed=existed, added=added)
            )
        for graph, backup in big.items():
            copying = records[backup].get("copying") in yes
            self._restore(graph, backup, existed=existed[graph], copying=copying)
        self._collect(garbage)
        if not small and not big:
            return None
        message = f"rolled back an interrupted write to {len(small) + len(big)} graph(s)"
        log.warning("store %s: %s", self.query_url, message)
        return message

    def update(self, update: str, *, base_iri: str | None = None) -> None:
        live_only = False
        if self._unit is not None:
            found = scan(update)
            if found.keywords & {"ALL", "NAMED"} and found.keywords & {"CLEAR", "DROP"}:
                raise StoreError(
                    "CLEAR/DROP ALL or NAMED cannot run inside an all-or-nothing unit on a remote store "
                    "(it would reach the unit's backups); name the graphs"
                )
            graphs = list(named_graphs(update))
            if _GRAPH_VARIABLE.search(update):
                graphs += [str(g) for g in self.graph_names()]
                live_only = not found.keywords & {"USING", "WITH"}
            self._journal(graphs)
            self._forget_old(graphs)
        self._post_update(update, base_iri=base_iri, live_only=live_only)

    def update_isolated(self, update: str, *, base_iri: str | None = None, timeout_s: float) -> None:
        """Run ``update`` with a deadline (as :meth:`EmbeddedStore.update_isolated`): past
        ``timeout_s`` the request is abandoned and the enclosing unit rolls back what it wrote. The
        server may go on applying the update after the client gave up (SPARQL has no way to cancel
        one); the rollback then races it: give the server its own timeout.

        Raises:
            QueryError: the update is malformed or failed.
            QueryTimeoutError: it ran longer than ``timeout_s``.
            StoreError: not inside atomic().
        """
        if self._unit is None:
            raise StoreError("update_isolated() must run inside atomic()")
        saved = self._update_timeout_s
        self._update_timeout_s = timeout_s
        try:
            self.update(update, base_iri=base_iri)
        finally:
            self._update_timeout_s = saved

    def _ntriples(self, source: Path | bytes, rdf_format: RdfFormat, base_iri: str | None) -> IO[bytes]:
        """``source`` parsed here (errors name line and column) and written as N-Triples to a
        temporary file, the one format every server's Graph Store endpoint reads."""
        if rdf_format.has_graphs:
            raise StoreError(f"{rdf_format.name} names its own graphs; give one graph's triples instead")
        name = str(source) if isinstance(source, Path) else "request body"
        spool = tempfile.TemporaryFile()  # noqa: SIM115 (handed to the caller, who closes it)
        try:
            if isinstance(source, Path):
                quads = ox.parse(path=str(source), format=_RDF_FORMATS[rdf_format], base_iri=base_iri)
            else:
                quads = ox.parse(source, format=_RDF_FORMATS[rdf_format], base_iri=base_iri)
            ox.serialize(
                (ox.Triple(q.subject, q.predicate, q.object) for q in quads), spool, ox.RdfFormat.N_TRIPLES
            )
        except SyntaxError as exc:
            spool.close()
            raise parse_error(exc, name) from exc
        except (OSError, ValueError) as exc:
            spool.close()
            raise ParseError(str(exc), Location(name)) from exc
        spool.seek(0)
        return spool

    def _gsp_params(self, graph: str, *, journalled: bool) -> dict[str, str]:
        """``?graph=``, plus Oxigraph's ``no_transaction`` (its bulk loader: a million triples in
        10 s instead of 41 s): not atomic by itself, but every upload runs inside a unit whose
        journal already holds the graph's backup, so a failure or crash is still rolled back."""
        params = {"graph": graph}
        if (self._server or "").lower().startswith("oxigraph") and journalled:
            params["no_transaction"] = ""
        return params

    def _upload(self, graph: str, data: IO[bytes], *, replace: bool, journalled: bool = False) -> None:
        """Send N-Triples to ``graph``: one Graph Store request (PUT replaces, POST adds), or, without
        a Graph Store endpoint, ``INSERT DATA`` requests of :data:`_INSERT_BATCH` triples. A graph
        the unit journalled the big way is emptied by chunks first instead of replaced in one go.
        ``journalled``: a journal record covers this write even outside a unit (a restore)."""
        self.generation += 1
        journalled = journalled or self._unit is not None
        old = self._old.pop(graph, None)
        if replace and graph in self._big:
            with old or tempfile.TemporaryFile() as before:
                added = self._replace_by_difference(graph, before, data) if old is not None else None
            if added is not None:
                with added:
                    self._upload(graph, added, replace=False, journalled=journalled)
                return
            self._empty(graph)
            data.seek(0)
            replace = False
        elif old is not None:
            old.close()
        if self.gsp_url:
            body = data.read()
            if not body and not replace:
                return
            self._mark_big(graph, body.count(b"\n"))
            for index, part in enumerate(self._parts(body, journalled=journalled)):
                method = "PUT" if replace and index == 0 else "POST"
                with self._request(
                    method,
                    self.gsp_url,
                    what=f"the upload to {graph}",
                    params=self._gsp_params(graph, journalled=journalled),
                    content=part,
                    headers={"Content-Type": _NTRIPLES},
                    parse_source=graph,
                    timeout_s=self._update_timeout_s,
                ) as response:
                    response.read()
            return
        lines = (line.decode("utf-8") for line in data if line.strip())
        first = True
        while True:
            batch = list(itertools.islice(lines, _INSERT_BATCH))
            if not batch and not first:
                return
            if len(batch) == _INSERT_BATCH:
                self._mark_big(graph, self.big_graph_triples)  # unknown size: assume big
            prefix = f"DROP SILENT GRAPH <{graph}> ;\n" if replace and first else ""
            body_text = "".join(batch)
            self._post_update(f"{prefix}INSERT DATA {{ GRAPH <{graph}> {{\n{body_text}}} }}")
            first = False
            if not batch:
                return

    def _parts(self, body: bytes, *, journalled: bool) -> Iterator[bytes]:
        """``body`` (N-Triples) in requests of :attr:`upload_chunk` triples inside a unit (the
        journal makes the whole upload all-or-nothing), in one request outside one. Every line that
        may hold a blank node goes in one last request, so each blank node stays one node."""
        if not journalled or body.count(b"\n") <= self.upload_chunk:
            yield body
            return
        lines = body.splitlines(keepends=True)
        blank = [line for line in lines if b"_:" in line]
        plain = [line for line in lines if b"_:" not in line] if blank else lines
        for start in range(0, len(plain), self.upload_chunk):
            yield b"".join(plain[start : start + self.upload_chunk])
        if blank:
            yield b"".join(blank)

    def replace_graph(
        self, graph: URIRef, source: Path | bytes, rdf_format: RdfFormat, *, base_iri: str | None = None
    ) -> int:
        with self._ntriples(source, rdf_format, base_iri) as data, self.atomic(label=f"replace {graph}"):
            self._journal([str(graph)])
            self._upload(str(graph), data, replace=True)
        return self.triple_count(graph)

    def add_triples(self, graph: URIRef, triples: Iterable[Triple]) -> None:
        from boostkg.store.parsing import ParsedTriples

        g = ox.NamedNode(str(graph))
        if isinstance(triples, ParsedTriples):
            quads = triples.quads_in(graph)
        else:
            quads = [ox.Quad(to_oxigraph(s), to_oxigraph(p), to_oxigraph(o), g) for s, p, o in triples]  # type: ignore[arg-type]
        with tempfile.TemporaryFile() as spool, self.atomic(label=f"add to {graph}"):
            ox.serialize(
                (ox.Triple(q.subject, q.predicate, q.object) for q in quads), spool, ox.RdfFormat.N_TRIPLES
            )
            spool.seek(0)
            self._journal_adding(str(graph), quads)
            self._upload(str(graph), spool, replace=False)

    def replace_graph_by_queries(self, graph: URIRef, queries: Sequence[str]) -> list[int]:
        """Replace ``graph`` with what the CONSTRUCT ``queries`` derive from all the other graphs:
        the graph is emptied first (inside the unit), each query's triples are fetched, and the union
        is uploaded in one request. A query the server refuses (Virtuoso 7.2.5 evaluates no
        ``p+``/``p*`` path with both ends unbound) is run here instead, with the rest of this call's
        queries, over an in-memory copy of the other graphs."""
        counts = []
        local: ox.Store | None = None
        with tempfile.TemporaryFile() as spool, self.atomic(label=f"derive {graph}"):
            self._journal([str(graph)])
            self._drop(str(graph))
            for query in queries:
                if local is None:
                    try:
                        quads = self._quads_of(query)
                    except QueryError as exc:
                        log.warning("the server refused a rule; running it here instead: %s", exc)
                        local = self._local_copy()
                if local is not None:
                    quads = self._construct_locally(local, query)
                counts.append(len(quads))
                ox.serialize(
                    (ox.Triple(q.subject, q.predicate, q.object) for q in quads),
                    spool,
                    ox.RdfFormat.N_TRIPLES,
                )
            spool.seek(0)
            self._upload(str(graph), spool, replace=True)
        return counts

    def _local_copy(self) -> ox.Store:
        """Every named graph (the journal's and the server's own excepted) in an in-memory store."""
        local = ox.Store()
        for name in sorted(self.graph_names()):
            select = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{name}> {{ ?s ?p ?o }} }}"
            local.extend(self._quads_of(select, ox.NamedNode(str(name)), dataset=False))
        return local

    @staticmethod
    def _construct_locally(local: ox.Store, query: str) -> list[ox.Quad]:
        try:
            result = local.query(query, use_default_graph_as_union=True)
        except SyntaxError as exc:
            raise QueryError(f"malformed SPARQL: {' '.join(str(exc).split())}") from exc
        except OSError as exc:
            raise QueryError(f"query failed: {' '.join(str(exc).split())}") from exc
        if not isinstance(result, ox.QueryTriples):
            raise QueryError("not a CONSTRUCT query")
        return [ox.Quad(t.subject, t.predicate, t.object) for t in result]

    def drop_graph(self, graph: URIRef) -> None:
        self._journal([str(graph)])
        self._drop(str(graph))

    def load_into(
        self,
        graph: URIRef | None,
        data: bytes,
        rdf_format: RdfFormat,
        *,
        base_iri: str | None = None,
        replace: bool,
    ) -> None:
        """Parse ``data`` into ``graph`` (``None``: the server's unnamed default graph, in one update
        request, not journalled), replacing its content or adding to it.

        Raises:
            ParseError: the data is malformed (names line and column); nothing is changed.
        """
        with self._ntriples(data, rdf_format, base_iri) as spool, self.atomic(label=f"load {graph}"):
            if graph is None:
                triples = spool.read().decode("utf-8")
                self._post_update(f"{'CLEAR DEFAULT ;' if replace else ''} INSERT DATA {{ {triples} }}")
                return
            if replace:
                self._journal([str(graph)])
            else:
                self._journal_adding(str(graph), self._first_quads(spool))
            self._upload(str(graph), spool, replace=replace)

    def _first_quads(self, spool: IO[bytes]) -> list[ox.Quad]:
        """Up to :attr:`big_graph_triples` triples of the N-Triples in ``spool`` (rewound after):
        all of them, or enough to tell :meth:`_journal_adding` that the addition is big."""
        if self._unit is None:
            return []
        try:
            return list(
                itertools.islice(ox.parse(spool, format=ox.RdfFormat.N_TRIPLES), self.big_graph_triples)
            )
        finally:
            spool.seek(0)

    def clear_default_graph(self) -> None:
        """Remove every triple of the server's unnamed default graph (not journalled)."""
        self._post_update("CLEAR DEFAULT")

    # --- inspection -----------------------------------------------------------------------------------
    def graph_names(self) -> set[URIRef]:
        """The server's named graphs, without the journal's and the server's own; remembered until
        the next write through this object."""
        return set(self._listing())

    def _listing(self) -> dict[URIRef, int | None]:
        """The named graphs (as :meth:`graph_names`) with their sizes where the listing gave them.

        Three ways, cheapest first, learnt once per object: ``GRAPH ?g { }`` where the server lists
        graphs without reading them (Oxigraph); otherwise the graphs with their counts in one
        grouped query (Virtuoso answers it from an index); and if that fails or takes longer than
        :attr:`listing_timeout_s`, the graphs boostkg knows of, each asked about: those graph/meta's
        records name, the project's fixed graphs and those this object wrote, in a few queries of
        :data:`_KNOWN_GRAPHS_CHUNK`. The last way misses graphs other clients made without a record.
        """
        if self._names is not None and self._names[0] == self.generation:
            return dict(self._names[1])
        found: dict[str, int | None]
        if self._graphs_by_scan is None or not self._graphs_by_scan:
            found = dict.fromkeys(self._learn_listing())
        if self._graphs_by_scan and self.listing == "counted":
            try:
                found = self._counted_graphs(self.listing_timeout_s)
            except (QueryError, StoreUnavailableError) as exc:  # QueryTimeoutError is a QueryError
                log.warning(
                    "store %s: listing graphs with their counts failed (%s); asking about the graphs "
                    "boostkg knows of instead",
                    self.query_url,
                    exc,
                )
                self.listing = "known"
        if self._graphs_by_scan and self.listing == "known":
            found = dict.fromkeys(self._known_graphs())
        names = {URIRef(g): n for g, n in found.items() if not self._hidden(g)}
        self._names = (self.generation, frozenset(names.items()))
        return names

    def _counted_graphs(self, timeout_s: float | None = None) -> dict[str, int | None]:
        """Every graph with its size (:data:`_GRAPHS_COUNTED`), hidden ones included."""
        rows = self._json(_GRAPHS_COUNTED, dataset=False, timeout_s=timeout_s)
        return {
            b["g"]["value"]: int(b["n"]["value"])
            for b in rows["results"]["bindings"]  # type: ignore[index]
            if "g" in b and b["g"]["type"] == "uri" and "n" in b
        }

    def _known_graphs(self) -> set[str]:
        """Which of the graphs boostkg knows of exist (see :meth:`_listing`)."""
        links = ", ".join(_PROVENANCE_LINKS)
        meta = _PROJECT_GRAPHS[0]
        named = self._json(
            f"SELECT DISTINCT ?g WHERE {{ GRAPH <{meta}> {{ {{ ?x ?p ?g }} UNION {{ ?g ?p ?x }} "
            f"FILTER(?p IN ({links}) && isIRI(?g)) }} }}",
            dataset=False,
        )
        candidates = set(_PROJECT_GRAPHS) | self._written | self._bound_graphs(named)
        candidates = {g for g in candidates if not self._hidden(g)}
        ordered = sorted(candidates)
        found: set[str] = set()
        for start in range(0, len(ordered), _KNOWN_GRAPHS_CHUNK):
            found |= self._existing(ordered[start : start + _KNOWN_GRAPHS_CHUNK])
        return found

    def _learn_listing(self) -> set[str]:
        """The graphs ``GRAPH ?g { }`` lists, learning from the answer whether this server needs
        another way (Virtuoso answers with one row, ``?g`` unbound)."""
        found = self._bound_graphs(self._json(_GRAPHS_CHEAP, dataset=False))
        if self._graphs_by_scan is None:
            self._graphs_by_scan = not found and bool(self._last_rows)
        return found

    def _bound_graphs(self, results: dict[str, object]) -> set[str]:
        rows = results["results"]["bindings"]  # type: ignore[index]
        self._last_rows = len(rows)
        return {b["g"]["value"] for b in rows if "g" in b and b["g"]["type"] == "uri"}

    def _existing(self, graphs: Sequence[str]) -> set[str]:
        """Which of ``graphs`` exist (one query, without listing every graph)."""
        values = " ".join(f"<{g}>" for g in graphs)
        if self._graphs_by_scan is None:
            self._learn_listing()  # not graph_names(): on Virtuoso it asks for every graph's size
        pattern = "FILTER EXISTS { GRAPH ?g { ?s ?p ?o } }" if self._graphs_by_scan else "GRAPH ?g { }"
        found = self._json(
            f"SELECT DISTINCT ?g WHERE {{ VALUES ?g {{ {values} }} {pattern} }}", dataset=False
        )
        return self._bound_graphs(found)

    @staticmethod
    def _hidden(graph: str) -> bool:
        """The journal's graphs and the server's own (Virtuoso's system graphs) are not boostkg's."""
        return graph.startswith(JOURNAL) or graph in SYSTEM_GRAPHS

    def has_graph(self, graph: URIRef | None) -> bool:
        """Whether ``graph`` exists (the unnamed default graph always does)."""
        return graph is None or bool(self._existing([str(graph)]))

    def graphs(self) -> list[GraphStats]:
        listing = self._listing()
        missing = sorted(str(g) for g, n in listing.items() if n is None)
        counts = {str(g): n or 0 for g, n in listing.items()}
        if missing and not self._graphs_by_scan:  # a server that lists graphs cheaply counts them all
            missing = []
            counts.update((g, n or 0) for g, n in self._counted_graphs().items() if not self._hidden(g))
        for start in range(0, len(missing), _KNOWN_GRAPHS_CHUNK):
            counts.update(self._sizes(missing[start : start + _KNOWN_GRAPHS_CHUNK]))
        return [GraphStats(URIRef(g), n) for g, n in sorted(counts.items())]

    def triple_count(self, graph: URIRef | None = None) -> int:
        """Triples in one graph, or quads in all named graphs (the journal's excepted)."""
        if graph is None:
            return sum(g.triples for g in self.graphs())
        # A named graph cannot reach the backups: no explicit dataset (with one, Virtuoso 7.2.5 answers
        # a GRAPH <g> outside it with one empty solution instead of none).
        rows = self._json(
            f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}", dataset=False
        )
        bindings = rows["results"]["bindings"]  # type: ignore[index]
        return int(bindings[0]["n"]["value"]) if bindings and "n" in bindings[0] else 0

    def fingerprint(self, graph: URIRef) -> str:
        """A digest of ``graph``'s triples (sorted N-Triples), to tell whether a write changed it."""
        lines = sorted(
            str(ox.Triple(q.subject, q.predicate, q.object))
            for q in self._quads_of(
                f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}", dataset=False
            )
        )
        return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()

    def dump(self, out: BinaryIO, rdf_format: RdfFormat, *, graph: URIRef | None = None) -> None:
        """Serialise one graph, the named graphs as a dataset (N-Quads, TriG), or their union; read
        from the server as N-Triples, one graph at a time, and written here in ``rdf_format``."""
        if graph is not None:
            names = [graph]
        elif rdf_format.has_graphs:
            names = sorted(self.graph_names())
        else:
            hidden = ", ".join(f"<{g}>" for g in sorted(SYSTEM_GRAPHS))
            quads = self._quads_of(
                "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } "
                f'FILTER(!STRSTARTS(STR(?g), "{JOURNAL}") && ?g NOT IN ({hidden})) }}'
            )
            self._write(out, (ox.Triple(q.subject, q.predicate, q.object) for q in quads), rdf_format)
            return
        if rdf_format.has_graphs:

            def every() -> Iterator[ox.Quad]:
                for name in names:
                    yield from self._quads_of(
                        f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{name}> {{ ?s ?p ?o }} }}",
                        ox.NamedNode(str(name)),
                    )

            self._write(out, every(), rdf_format)
            return
        quads = self._quads_of(
            f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}", dataset=False
        )
        self._write(out, (ox.Triple(q.subject, q.predicate, q.object) for q in quads), rdf_format)

    @staticmethod
    def _write(out: BinaryIO, items: Iterable[ox.Triple] | Iterable[ox.Quad], rdf_format: RdfFormat) -> None:
        try:
            ox.serialize(items, out, _RDF_FORMATS[rdf_format])
        except (OSError, ValueError) as exc:
            raise StoreError(f"export failed: {exc}") from exc

    def flush(self) -> None:
        """Nothing to flush: every write is sent when it is made."""

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> RemoteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class RemoteEndpoint:
    """Where a remote store is: its SPARQL endpoints and the credentials they take."""

    query_url: str
    update_url: str | None = None
    gsp_url: str | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout_s: float = 30.0
    update_timeout_s: float = 120.0

    def open(self, *, recover: bool = True) -> RemoteStore:
        """Connect (rolling back a unit a crashed writer left open, unless ``recover`` is false).

        Raises:
            StoreUnavailableError: the server cannot be reached.
        """
        return RemoteStore(
            self.query_url,
            update_url=self.update_url,
            gsp_url=self.gsp_url,
            user=self.user,
            password=self.password,
            timeout_s=self.timeout_s,
            update_timeout_s=self.update_timeout_s,
            recover=recover,
        )
