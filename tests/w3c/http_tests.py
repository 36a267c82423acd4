"""A runner for the W3C's HTTP test manifests (SPARQL 1.1 Protocol, Graph Store HTTP Protocol).

Each test is a sequence of ``ht:Request``s with expected responses (status code or class, result
format, ASK boolean, an RDF body compared by graph isomorphism, a ``Location`` to carry into later
requests as a template variable). The runner resets the server before a test (``DROP ALL`` and the
unnamed graph cleared, as an administrator), loads the test's data files into the graphs it names
through the Graph Store Protocol, maps the manifest's path prefix onto the server's and sends every
request with an administrator's token.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

import httpx
from rdflib import RDF, RDFS, Graph, Namespace
from rdflib.collection import Collection
from rdflib.compare import isomorphic
from rdflib.term import Node

MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = Namespace("http://www.w3.org/2011/http#")
CNT = Namespace("http://www.w3.org/2011/content#")
UT = Namespace("http://www.w3.org/2009/sparql/tests/test-update#")
W3C = Path(__file__).resolve().parents[3] / "shared" / "w3c" / "sparql11"

_STATUS = {"OK": 200, "Created": 201, "NoContent": 204, "NotFound": 404}
RESULT_TYPES = {
    "application/sparql-results+json",
    "application/sparql-results+xml",
    "text/csv",
    "text/tab-separated-values",
}
RDF_TYPES = {
    "text/turtle": "turtle",
    "application/n-triples": "nt",
    "application/rdf+xml": "xml",
    "application/ld+json": "json-ld",
}


@dataclass(frozen=True)
class Expected:
    statuses: tuple[str, ...]
    result_format: str | None = None
    boolean: bool | None = None
    body: tuple[str, str] | None = None
    """(content type, text) of an expected RDF body."""
    location: str | None = None


@dataclass(frozen=True)
class Step:
    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes | None
    expected: Expected


@dataclass(frozen=True)
class HttpTest:
    name: str
    title: str
    steps: tuple[Step, ...]
    graph_data: tuple[tuple[Path, str], ...] = field(default=())


def _items(graph: Graph, head: Node | None) -> list[Node]:
    return list(Collection(graph, head)) if head is not None else []


def _headers(graph: Graph, node: Node) -> tuple[tuple[str, str], ...]:
    return tuple(
        (str(graph.value(h, HT.fieldName)), str(graph.value(h, HT.fieldValue)))
        for h in _items(graph, graph.value(node, HT.headers))
    )


def _body(graph: Graph, node: Node) -> tuple[bytes | None, str | None]:
    body = graph.value(node, HT.body)
    if body is None:
        return None, None
    text = str(graph.value(body, CNT.chars))
    encoding = str(graph.value(body, CNT.characterEncoding) or "UTF-8")
    return text.encode(encoding.lower()), text


def read_manifest(path: Path) -> list[HttpTest]:
    """The tests of one manifest, in the order of its ``mf:entries``."""
    graph = Graph().parse(path, format="turtle", publicID=path.as_uri())
    manifest = next(graph.subjects(RDF.type, MF.Manifest))
    tests = []
    for entry in _items(graph, graph.value(manifest, MF.entries)):
        action = graph.value(entry, MF.action)
        steps = []
        for request in _items(graph, graph.value(action, HT.requests)):
            response = graph.value(request, HT.resp)
            assert response is not None, f"{entry}: a request without ht:resp"
            body, _ = _body(graph, request)
            expected_body = None
            response_body = graph.value(response, HT.body)
            if response_body is not None:
                types = dict(_headers(graph, response))
                expected_body = (
                    types.get("content-type", "text/turtle"),
                    str(graph.value(response_body, CNT.chars)),
                )
            boolean = graph.value(response, MF.expectedBoolean)
            fmt = graph.value(response, MF.expectedFormat)
            location = graph.value(response, MF.expectedLocation)
            steps.append(
                Step(
                    method=str(graph.value(request, HT.methodName)),
                    path=str(graph.value(request, HT.absolutePath)),
                    headers=_headers(graph, request),
                    body=body,
                    expected=Expected(
                        statuses=tuple(
                            sorted(
                                str(s).rsplit("#", 1)[1] for s in graph.objects(response, MF.expectedStatus)
                            )
                        ),
                        result_format=str(fmt) if fmt is not None else None,
                        boolean=str(boolean) == "true" if boolean is not None else None,
                        body=expected_body,
                        location=str(location) if location is not None else None,
                    ),
                )
            )
        data = tuple(
            (Path(str(graph.value(d, UT.graph)).removeprefix("file://")), str(graph.value(d, RDFS.label)))
            for d in graph.objects(entry, UT.graphData)
        )
        name = str(entry).rsplit("#", 1)[1]
        tests.append(HttpTest(name, str(graph.value(entry, MF.name)), tuple(steps), data))
    return tests


def _status_ok(expected: tuple[str, ...], status: int) -> bool:
    for name in expected:
        if name.startswith("StatusCode") and str(status).startswith(name[len("StatusCode")]):
            return True
        if _STATUS.get(name) == status:
            return True
    return False


def _boolean(response: httpx.Response) -> bool | None:
    media = response.headers.get("content-type", "").split(";")[0].strip()
    if media == "application/sparql-results+json":
        value = json.loads(response.content).get("boolean")
        return value if isinstance(value, bool) else None
    if media == "application/sparql-results+xml":
        root = ElementTree.fromstring(response.content)
        found = root.find("{http://www.w3.org/2005/sparql-results#}boolean")
        return None if found is None else found.text == "true"
    return None


def check(step: Step, response: httpx.Response) -> list[str]:
    """What is wrong with ``response`` to ``step`` (empty when it is as expected)."""
    problems = []
    expected = step.expected
    if not _status_ok(expected.statuses, response.status_code):
        problems.append(
            f"status {response.status_code}, expected {'/'.join(expected.statuses)}: {response.text[:300]}"
        )
        return problems
    media = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if expected.result_format == "boolean":
        if _boolean(response) is None:
            problems.append(f"expected a boolean result, got {media}: {response.text[:200]}")
    elif expected.result_format == "tabular" and media not in RESULT_TYPES:
        problems.append(f"expected tabular results, got {media}")
    elif expected.result_format == "RDF":
        if media not in RDF_TYPES:
            problems.append(f"expected RDF, got {media}")
        else:
            Graph().parse(data=response.content, format=RDF_TYPES[media])
    if expected.boolean is not None and _boolean(response) is not expected.boolean:
        problems.append(f"expected boolean {expected.boolean}, got {response.text[:200]}")
    if expected.body is not None:
        want_type, want_text = expected.body
        if media != want_type.split(";")[0].strip().lower():
            problems.append(f"content type {media}, expected {want_type}")
        else:
            want = Graph().parse(data=want_text, format=RDF_TYPES[media])
            got = Graph().parse(data=response.content, format=RDF_TYPES[media])
            if not isomorphic(want, got):
                problems.append(f"body not isomorphic to the expected graph:\n{response.text}")
    if expected.location is not None and not response.headers.get("location"):
        problems.append("no Location header")
    return problems


def reset(client: httpx.Client, base: str, admin: dict[str, str]) -> None:
    """Empty the server's store (every graph and the unnamed graph)."""
    response = client.post(
        base + "/sparql", content=b"DROP ALL", headers={**admin, "Content-Type": "application/sparql-update"}
    )
    response.raise_for_status()


def load_data(client: httpx.Client, base: str, admin: dict[str, str], test: HttpTest, folder: Path) -> None:
    """Put the test's data files into the graphs it names, through the Graph Store Protocol."""
    for path, graph in test.graph_data:
        source = path if path.is_absolute() and path.is_file() else folder / path.name
        response = client.put(
            base + "/graphs",
            params={"graph": graph},
            content=source.read_bytes(),
            headers={**admin, "Content-Type": "application/n-triples"},
        )
        response.raise_for_status()


def run(
    client: httpx.Client, base: str, admin: dict[str, str], test: HttpTest, prefixes: dict[str, str]
) -> list[str]:
    """Run every step of ``test``; the problems found, step by step (empty: passed).
    ``prefixes`` maps the manifest's path prefixes onto the server's."""
    variables: dict[str, str] = {}
    problems = []
    for index, step in enumerate(test.steps, 1):
        path, body = step.path, step.body
        for name, value in variables.items():
            path = path.replace(name, value)
            body = body.replace(name.encode(), value.encode()) if body is not None else None
        for old, new in prefixes.items():
            if path.startswith(old):
                path = new + path[len(old) :]
                break
        url = path if path.startswith("http") else base + path
        headers = {**dict(step.headers), **admin}
        response = client.request(step.method, url, content=body, headers=headers)
        problems += [f"request {index} ({step.method} {path[:80]}): {p}" for p in check(step, response)]
        if step.expected.location is not None and response.headers.get("location"):
            variables[step.expected.location] = response.headers["location"]
    return problems
