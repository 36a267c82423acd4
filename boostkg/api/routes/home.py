"""The landing page and the health check."""

from __future__ import annotations

from html import escape

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from boostkg.api.deps import StoreDep

router = APIRouter()


@router.get("/health")
async def health(store: StoreDep) -> dict[str, object]:
    """Liveness and the number of quads."""
    quads = await run_in_threadpool(store.triple_count)
    return {"status": "ok", "quads": quads}


@router.get("/", response_class=HTMLResponse)
async def home(store: StoreDep) -> str:
    """What the graph holds, with links to the endpoint and the API docs."""
    graphs = await run_in_threadpool(store.graphs)
    rows = "".join(
        f"<tr><td><code>{escape(str(g.graph))}</code></td><td>{g.triples:,}</td></tr>" for g in graphs
    )
    total = sum(g.triples for g in graphs)
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>boostkg</title><style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto}}
td{{padding:.2rem .6rem;border-bottom:1px solid #ddd}}</style></head><body>
<h1>BOOST knowledge graph</h1>
<p>{total:,} triples in {len(graphs)} named graphs. Query them at <a href="/sparql">/sparql</a>
(SPARQL 1.1 Protocol; the default graph is the union of all named graphs), or write queries in the
browser at <a href="/query">/query</a> (editor, example queries, result tables, downloads);
API documentation at <a href="/docs">/docs</a>.</p>
<table><tr><th>named graph</th><th>triples</th></tr>{rows}</table></body></html>"""
