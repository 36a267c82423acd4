"""Property-based fuzzing (hypothesis) of everything that reads input from outside.

Two layers, both the real code paths:

* ``boostkg.ingest.pipeline.submit`` (parse → scope → validate in context → commit) on a private
  copy of the loaded store, fed random bytes and mutations of the example ecosystems in
  data/examples/ under every submission media type: every refusal is a boostkg error that maps to
  a 4xx, and a refused submission leaves the store's quads exactly as they were; an accepted one
  adds its triples in its own graph.
* a running ``boostkg serve``: random and mutated SPARQL on /sparql, random values for every
  named query's parameters, random raw bodies and multipart forms on /submissions: never a 5xx,
  and the store's quad count moves only with a 201.

Example counts are small (the suite runs on a shared two-core machine); ``derandomize`` keeps the
runs reproducible, so a failure found once is found again.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rdflib import URIRef

from boostkg.api.problems import status_for
from boostkg.auth import Steward
from boostkg.config import Settings
from boostkg.errors import BoostKGError
from boostkg.ingest.pipeline import SubmissionRequest, submit
from boostkg.store import EmbeddedStore, open_store
from boostkg.validation import Shapes, load_shapes
from tests.endpoint_server import Scratch

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "data" / "examples").glob("*.ttl"))
QUERIES = sorted((ROOT / "queries").glob("*.rq"))
ID = "https://w3id.org/boostkg/id/"
MEDIA = (
    "text/turtle",
    "application/n-triples",
    "application/ld+json",
    "application/rdf+xml",
    "application/trig",
    "application/n-quads",
    "text/plain",
    "",
)
NOISE = st.text(
    alphabet=st.sampled_from(
        [*list("<>\"'@;.,:_ \n\t\\{}[]()^#?$!=/&%+-*|~`"), "\x00", "é", "\u202e", "💥", "a", "1"]
    ),
    max_size=12,
)
FUZZ = settings(
    max_examples=60,  # the in-process pipeline: ~1 s
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
FUZZ_HTTP = settings(FUZZ, max_examples=40)  # through the server: a few HTTP round trips each


@st.composite
def mutated(draw: st.DrawFn, texts: tuple[str, ...]) -> str:
    """One of ``texts`` after a few random edits: cut, duplicate, insert noise, swap or truncate."""
    text = draw(st.sampled_from(texts))
    for _ in range(draw(st.integers(1, 4))):
        if not text:
            break
        at = draw(st.integers(0, len(text)))
        end = min(len(text), at + draw(st.integers(1, 200)))
        edit = draw(st.sampled_from(("cut", "duplicate", "insert", "swap", "truncate")))
        if edit == "cut":
            text = text[:at] + text[end:]
        elif edit == "duplicate":
            text = text[:end] + text[at:end] + text[end:]
        elif edit == "insert":
            text = text[:at] + draw(NOISE) + text[at:]
        elif edit == "swap":
            lines = text.split("\n")
            i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
            text = "\n".join(lines)
        else:
            text = text[:at]
    return text


TURTLE = tuple(path.read_text(encoding="utf-8") for path in EXAMPLES)
SPARQL = tuple(path.read_text(encoding="utf-8") for path in QUERIES)
BODIES = st.one_of(
    mutated(TURTLE).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.binary(max_size=300),
    st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")),
)


# --- the pipeline, in process ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def shapes() -> Shapes:
    return load_shapes(Settings().shapes_dir)


@pytest.fixture(scope="module")
def kg(loaded_store: EmbeddedStore, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedStore]:
    """A private, writable copy of the session's loaded store, taken from a checkpoint (the live
    database's files may be compacted away while they are copied)."""
    copy = tmp_path_factory.mktemp("fuzz") / "store"
    shutil.copytree(loaded_store.reader_snapshot(), copy / "db")
    store = open_store(copy)
    yield store
    store.close()


STEWARDS = (
    Steward("f0", "Fuzz Steward", URIRef(ID + "organisation/nwrda"), "RO11"),
    Steward("f1", "Fuzz Admin", URIRef(ID + "organisation/tit"), None, admin=True),
)


def test_examples_are_there_to_mutate() -> None:
    assert len(EXAMPLES) >= 5
    assert len(QUERIES) >= 10


@FUZZ
@given(body=BODIES, media=st.sampled_from(MEDIA), steward=st.sampled_from(STEWARDS))
def test_the_submission_pipeline_refuses_cleanly_and_never_half_writes(
    kg: EmbeddedStore, shapes: Shapes, body: bytes, media: str, steward: Steward
) -> None:
    before, graphs = kg.triple_count(), set(kg.graph_names())  # every quad of every graph
    request = SubmissionRequest(body, media or None, "fuzz.ttl" if not media else "fuzz", None)
    refusal: BoostKGError | None = None
    try:
        outcome = submit(kg, shapes, steward, request, max_bytes=1_000_000)
    except BoostKGError as exc:  # anything else fails the test: an unexpected exception
        refusal = exc
    if refusal is not None:
        status, _ = status_for(refusal)
        assert 400 <= status < 500, (type(refusal).__name__, refusal)
        assert kg.triple_count() == before
        assert set(kg.graph_names()) == graphs
    else:
        assert outcome.graph is not None
        assert set(kg.graph_names()) == graphs | {outcome.graph}
        assert kg.triple_count(outcome.graph) > 0
        assert kg.triple_count() > before


def test_an_unmutated_example_takes_the_accepting_branch(kg: EmbeddedStore, shapes: Shapes) -> None:
    """The fuzz test's acceptance checks are reachable: the example as written is accepted."""
    before, graphs = kg.triple_count(), set(kg.graph_names())
    data = (ROOT / "data" / "examples" / "ro11-ecosystem.ttl").read_bytes()
    outcome = submit(
        kg, shapes, STEWARDS[1], SubmissionRequest(data, "text/turtle", "ro11.ttl", None), max_bytes=10**6
    )
    assert outcome.graph is not None
    assert set(kg.graph_names()) == graphs | {outcome.graph}
    assert kg.triple_count(outcome.graph) > 0
    assert kg.triple_count() > before


# --- the running server ----------------------------------------------------------------------------


def _quads(server: Scratch) -> int:
    query = "SELECT (COUNT(*) AS ?n) WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }"
    answer = httpx.get(
        server.sparql, params={"query": query}, headers={"Accept": "application/sparql-results+json"}
    )
    assert answer.status_code == 200, answer.text
    return int(answer.json()["results"]["bindings"][0]["n"]["value"])


@FUZZ_HTTP
@given(
    query=st.one_of(mutated(SPARQL), st.text(max_size=200)),
    accept=st.sampled_from(
        ("application/sparql-results+json", "text/csv", "text/turtle", "*/*", "text/html")
    ),
    post=st.booleans(),
)
def test_the_endpoint_answers_random_and_mutated_sparql_without_a_5xx(
    server: Scratch, query: str, accept: str, post: bool
) -> None:
    headers = {"Accept": accept}
    if post:
        answer = httpx.post(server.sparql, data={"query": query}, headers=headers, timeout=60)
    else:
        answer = httpx.get(server.sparql, params={"query": query}, headers=headers, timeout=60)
    assert answer.status_code < 500 or (answer.status_code == 503 and "timeout" in answer.text), answer.text[
        :500
    ]


@pytest.fixture(scope="module")
def named_parameters(server: Scratch) -> list[tuple[str, str]]:
    listing = httpx.get(server.url + "/queries", headers={"Accept": "application/json"}).json()["queries"]
    pairs = [(q["name"], p["name"]) for q in listing for p in q["parameters"]]
    assert pairs, listing
    return pairs


@pytest.fixture
def quads_at_start(server: Scratch) -> int:
    """The quad count when the test starts (shared by all its examples: none of them may write)."""
    return _quads(server)


@FUZZ_HTTP
@given(data=st.data(), value=st.one_of(NOISE, st.text(max_size=80), st.just('x" } ; DROP ALL ; #')))
def test_named_query_parameters_take_any_text_without_a_5xx_or_a_write(
    server: Scratch,
    named_parameters: list[tuple[str, str]],
    quads_at_start: int,
    data: st.DataObject,
    value: str,
) -> None:
    name, parameter = data.draw(st.sampled_from(named_parameters))
    answer = httpx.get(
        server.url + f"/queries/{name}",
        params={parameter: value},
        headers={"Accept": "*/*"},  # SELECT, ASK and CONSTRUCT queries alike
        timeout=60,
    )
    assert answer.status_code in (200, 400), (name, parameter, value, answer.text[:300])
    assert _quads(server) == quads_at_start


@FUZZ_HTTP
@given(
    body=BODIES,
    media=st.sampled_from(MEDIA),
    form=st.booleans(),
    field=st.sampled_from(("file", "data", "other")),
    format_=st.one_of(st.none(), st.sampled_from(MEDIA), NOISE),
    replaces=st.one_of(st.none(), NOISE, st.just("20250101T000000Z-0000")),
)
def test_submissions_take_random_bodies_and_forms_without_a_5xx_or_a_partial_write(
    server: Scratch,
    body: bytes,
    media: str,
    form: bool,
    field: str,
    format_: str | None,
    replaces: str | None,
) -> None:
    before = _quads(server)
    headers = {"Authorization": f"Bearer {server.steward_token}"}
    if form:
        fields = {k: v for k, v in (("format", format_), ("replaces", replaces)) if v is not None}
        answer = httpx.post(
            server.url + "/submissions",
            files={field: ("fuzz.ttl", body, media or "application/octet-stream")},
            data=fields,
            headers=headers,
            timeout=60,
        )
    else:
        answer = httpx.post(
            server.url + "/submissions", content=body, headers={**headers, "Content-Type": media}, timeout=60
        )
    assert answer.status_code < 500, answer.text[:500]
    if answer.status_code == 201:
        assert _quads(server) > before
    else:
        assert _quads(server) == before
