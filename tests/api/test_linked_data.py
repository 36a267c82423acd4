"""Linked-data pages through the real server: every IRI of https://w3id.org/boostkg/ in the graph
dereferences at its local path, as HTML for browsers and as Turtle, JSON-LD, N-Triples, RDF/XML,
TriG and N-Quads by Accept or ?format=; unknown IRIs get 404; the ontology IRI serves its
documentation or its Turtle; a submitted resource's page names its steward. One page is
screenshotted in headless Chromium."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from markupsafe import escape
from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS

from boostkg.auth import TokenStore, token_store_path
from boostkg.config import PROJECT_ROOT
from boostkg.namespaces import BASE, ICF
from tests.api.conftest import Served
from tests.api.test_submit_page import Page, page  # noqa: F401  (the browser fixture, reused)

pytestmark = pytest.mark.subprocess

TIT = URIRef(BASE + "id/organisation/tit")
SEED = URIRef(BASE + "graph/seed")
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
EXAMPLE = PROJECT_ROOT / "data" / "examples" / "ro11-ecosystem.ttl"
SUBMITTED = URIRef(BASE + "id/organisation/ro11-smart-factory-srl")
HOSTILE_LABEL = '<script>alert("x")</script> & Co'
RDF_FORMATS = (
    ("text/turtle", "turtle", "turtle"),
    ("application/ld+json", "jsonld", "json-ld"),
    ("application/n-triples", "nt", "nt"),
    ("application/rdf+xml", "rdfxml", "xml"),
)


def _get(url: str, accept: str | None = None) -> httpx.Response:
    return httpx.get(url, headers={"Accept": accept} if accept else {}, timeout=60)


def _select(served: Served, query: str) -> list[dict[str, str]]:
    response = httpx.get(
        served.sparql,
        params={"query": query},
        headers={"Accept": "application/sparql-results+json"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return [{k: v["value"] for k, v in b.items()} for b in response.json()["results"]["bindings"]]


def _local(served: Served, iri: str) -> str:
    return served.url + "/" + iri[len(BASE) :]


def test_every_project_iri_in_the_graph_dereferences(served: Served) -> None:
    rows = _select(
        served,
        f"""SELECT DISTINCT ?x WHERE {{
            {{ ?x ?p ?o }} UNION {{ ?s ?p ?x }} UNION {{ GRAPH ?x {{ ?a ?b ?c }} }}
            FILTER(isIRI(?x) && STRSTARTS(STR(?x), "{BASE}") && !STRSTARTS(STR(?x), "{BASE}icf")) }}""",
    )
    iris = sorted(row["x"] for row in rows)
    folders = {iri[len(BASE) :].split("/")[0] for iri in iris}
    assert folders == {"id", "theme", "vocab", "graph"}
    assert len(iris) > 200
    with httpx.Client(timeout=60) as client:
        for iri in iris:
            response = client.get(_local(served, iri), headers={"Accept": "application/n-triples"})
            assert response.status_code == 200, (iri, response.text)
            graph = Graph().parse(data=response.text, format="nt")
            node = URIRef(iri)
            assert (node, None, None) in graph or (None, None, node) in graph, iri


def test_an_entity_in_every_rdf_format(served: Served) -> None:
    url = _local(served, TIT)
    graphs = {}
    for media, name, rdflib_format in RDF_FORMATS:
        for response in (_get(url, media), _get(f"{url}?format={name}")):
            assert response.status_code == 200, response.text
            assert response.headers["content-type"].startswith(media)
            assert "Accept" in response.headers["vary"]
            graphs[name] = Graph().parse(data=response.text, format=rdflib_format)
    turtle = graphs["turtle"]
    assert (TIT, RDFS.label, Literal("Transilvania IT Cluster", lang="en")) in turtle
    assert (TIT, RDF.type, ICF.Cluster) in turtle
    assert (TIT, ICF.inRegion, URIRef("http://data.europa.eu/nuts/code/RO11")) in turtle
    # incoming links are part of the description
    assert (URIRef(BASE + "id/participation/boost-tit"), ICF.participant, TIT) in turtle
    for name in ("jsonld", "nt", "rdfxml"):
        assert len(graphs[name]) == len(turtle), name
    # curl's */* gets Turtle; a browser gets HTML
    assert _get(url, "*/*").headers["content-type"].startswith("text/turtle")
    assert _get(url, BROWSER).headers["content-type"].startswith("text/html")
    assert '; rel="alternate"; type="application/ld+json"' in _get(url).headers["link"]


def test_quad_formats_say_which_graph_states_each_fact(served: Served) -> None:
    url = _local(served, TIT)
    for media, name, rdflib_format in (
        ("application/trig", "trig", "trig"),
        ("application/n-quads", "nq", "nquads"),
    ):
        response = _get(url, media)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(media)
        dataset = Dataset()
        dataset.parse(data=response.text, format=rdflib_format)
        label = (TIT, RDFS.label, Literal("Transilvania IT Cluster", lang="en"))
        assert label in dataset.graph(SEED), name
        assert label not in dataset.graph(URIRef(BASE + "graph/inferred")), name
        assert (TIT, ICF.participatesIn, URIRef(BASE + "id/project/boost")) in dataset.graph(
            URIRef(BASE + "graph/inferred")
        )


def test_the_html_page_shows_label_types_properties_graphs_and_who_loaded_them(served: Served) -> None:
    response = _get(_local(served, TIT), BROWSER)
    assert response.status_code == 200
    html = response.text
    assert '<h1 id="label">Transilvania IT Cluster</h1>' in html
    assert f'<p class="iri" id="iri">{TIT}</p>' in html
    types = re.search(r'<p id="types">(.*?)</p>', html, re.S)
    assert types is not None
    assert 'href="/icf#Cluster"' in types.group(1)
    # properties with linked values: the project's IRIs link locally, NUTS regions via /resource
    assert 'href="/theme/ict-digital"' in html
    assert 'href="/resource?iri=http%3A%2F%2Fdata.europa.eu%2Fnuts%2Fcode%2FRO11"' in html
    assert ">Nord-Vest</a>" in html  # the linked value's label
    assert 'href="/graph/seed" title="stated in https://w3id.org/boostkg/graph/seed"' in html
    # where the facts come from: the load of data/seed.ttl recorded in graph/meta
    sources = re.search(r'<table id="sources">(.*?)</table>', html, re.S)
    assert sources is not None
    assert "data/seed.ttl" in sources.group(1)
    assert '<a href="/graph/inferred">graph:inferred</a>' in sources.group(1)
    assert re.search(r'href="/id/load/[0-9a-f-]+">boostkg \d', sources.group(1))
    incoming = _select(
        served, f"SELECT (COUNT(*) AS ?n) WHERE {{ SELECT DISTINCT ?s ?p WHERE {{ ?s ?p <{TIT}> }} }}"
    )
    assert int(incoming[0]["n"]) >= 4
    assert f'<span class="muted" id="incoming-count">({incoming[0]["n"]})</span>' in html


def test_incoming_links_are_capped_and_counted(served: Served) -> None:
    nuts_region = str(ICF.NUTSRegion)
    total = int(
        _select(served, f"SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ ?s a <{nuts_region}> }}")[0]["n"]
    )
    assert total > 1000
    html = _get(f"{served.url}/resource?iri={quote(nuts_region, safe='')}", BROWSER).text
    count = re.search(r'id="incoming-count">\((.*?)\)</span>', html)
    assert count is not None
    # every incoming link of the class is an rdf:type (plus a few domain/range statements)
    shown, of_total = count.group(1).split(" shown of ")
    assert int(shown) == 100
    assert int(of_total.replace(",", "")) >= total
    incoming = re.search(r'<table id="incoming">(.*?)</table>', html, re.S)
    assert incoming is not None
    assert incoming.group(1).count("<tr>") == 100


def test_graphs_themes_vocabulary_and_other_iris(served: Served) -> None:
    seed = _get(_local(served, SEED), BROWSER).text
    assert re.search(r"holding <strong>[\d,]+</strong> triples", seed)
    theme = Graph().parse(data=_get(_local(served, BASE + "theme/health-wellbeing"), "text/turtle").text)
    assert (
        URIRef(BASE + "theme/health-wellbeing"),
        RDF.type,
        URIRef("http://www.w3.org/2004/02/skos/core#Concept"),
    ) in theme
    role = Graph().parse(data=_get(_local(served, BASE + "vocab/role/coordinator"), "text/turtle").text)
    assert (URIRef(BASE + "vocab/role/coordinator"), RDF.type, ICF.ParticipationRole) in role
    ro11 = _get(
        f"{served.url}/resource?iri={quote('http://data.europa.eu/nuts/code/RO11', safe='')}", BROWSER
    )
    assert '<h1 id="label">Nord-Vest</h1>' in ro11.text


def test_unknown_iris_are_404_and_bad_ones_400(served: Served) -> None:
    for path in (
        "/id/organisation/no-such-actor",
        "/theme/no-such-theme",
        "/vocab/role/emperor",
        "/graph/nope",
    ):
        response = _get(served.url + path, "text/turtle")
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "says nothing about https://w3id.org/boostkg/" in response.json()["detail"]
    assert _get(f"{served.url}/resource?iri=urn:x:nothing").status_code == 404
    assert _get(f"{served.url}/resource?iri={quote('http://x/a> } DROP ALL', safe='')}").status_code == 400
    assert _get(_local(served, TIT), "image/png").status_code == 406
    assert _get(_local(served, TIT) + "?format=pdf").status_code == 400


def test_the_ontology_iri_serves_its_documentation_or_its_turtle(served: Served) -> None:
    docs = _get(served.url + "/icf", BROWSER)
    assert docs.status_code == 200
    assert docs.headers["content-type"].startswith("text/html")
    assert docs.content == (PROJECT_ROOT / "docs" / "ontology" / "index.html").read_bytes()
    assert 'id="Actor"' in docs.text  # so that https://w3id.org/boostkg/icf#Actor lands on its entry
    turtle = _get(served.url + "/icf", "text/turtle")
    assert turtle.content == (PROJECT_ROOT / "ontology" / "icf.ttl").read_bytes()
    expected = len(Graph().parse(PROJECT_ROOT / "ontology" / "icf.ttl"))
    assert len(Graph().parse(data=_get(served.url + "/icf?format=jsonld").text, format="json-ld")) == expected
    assert (
        len(Graph().parse(data=_get(served.url + "/icf", "application/n-triples").text, format="nt"))
        == expected
    )


def test_the_shapes_page_for_stewards(served: Served) -> None:
    shapes_page = _get(served.url + "/shapes", BROWSER)
    assert shapes_page.content == (PROJECT_ROOT / "docs" / "shapes.html").read_bytes()
    shapes = Graph().parse(data=_get(served.url + "/shapes", "text/turtle").text, format="turtle")
    assert len(shapes) > 100


def test_a_submitted_resource_names_its_steward_and_is_escaped(served: Served) -> None:
    token, _ = TokenStore(token_store_path(served.store)).create(
        steward="Radu <Steward>", organisation=BASE + "id/organisation/nwrda", region="RO11"
    )
    data = EXAMPLE.read_text(encoding="utf-8").replace(
        '"Cluj Smart Factory SRL"@en', '"' + HOSTILE_LABEL.replace('"', '\\"') + '"@en'
    )
    posted = httpx.post(
        served.url + "/submissions",
        content=data.encode(),
        headers={"Content-Type": "text/turtle", "Authorization": f"Bearer {token}"},
        timeout=120,
    )
    assert posted.status_code == 201, posted.text
    graph = posted.json()["graph"]
    html = _get(_local(served, SUBMITTED), BROWSER).text
    assert "<script>" not in html
    assert f'<h1 id="label">{escape(HOSTILE_LABEL)}</h1>' in html
    sources = re.search(r'<table id="sources">(.*?)</table>', html, re.S)
    assert sources is not None
    assert f'href="/{graph[len(BASE) :]}"' in sources.group(1)
    assert "Radu &lt;Steward&gt;" in sources.group(1)
    assert 'for <a href="/id/organisation/nwrda">' in sources.group(1)
    # the submission graph's own page says who submitted it
    graph_page = _get(_local(served, graph), BROWSER).text
    assert "Radu &lt;Steward&gt;" in graph_page


def test_an_entity_page_in_headless_chromium(served: Served, page: Page, tmp_path: Path) -> None:  # noqa: F811
    page.call("Page.enable")
    page.call("Page.navigate", url=_local(served, TIT))
    page.wait_for("document.readyState === 'complete' && !!document.getElementById('label')")
    assert page.js("document.getElementById('label').textContent") == "Transilvania IT Cluster"
    rows = page.js("document.querySelectorAll('#facts > table > tbody > tr').length")
    assert isinstance(rows, int)
    assert rows >= 10
    # follow a linked value to its own page
    page.js("document.querySelector('a[href=\"/theme/ict-digital\"]').click()")
    page.wait_for("location.pathname === '/theme/ict-digital' && !!document.getElementById('label')")
    assert page.js("document.getElementById('label').textContent") == "ICT and Digital Transformation"
    page.call("Page.navigate", url=_local(served, TIT))
    page.wait_for("document.readyState === 'complete' && !!document.getElementById('sources')")
    shot = tmp_path / "entity-page.png"
    page.screenshot(shot)
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) > 20_000
