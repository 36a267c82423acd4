"""Corridor reports over HTTP: ``GET /reports`` (a form), ``GET /reports?from=…&to=…`` (the report as
HTML, or its JSON with ``format=json`` or ``Accept: application/json``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response

from boostkg.analysis.corridor import split_codes
from boostkg.analysis.matching import Per
from boostkg.api.deps import StoreDep
from boostkg.errors import InputError
from boostkg.reports.corridor_report import ReportRequest, render_html
from boostkg.reports.corridor_run import DEFAULT_TOP, make_report

router = APIRouter()

FORM = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>boostkg — corridor reports</title>
<style>body{{font-family:system-ui,sans-serif;max-width:44rem;margin:2rem auto}}
label{{display:block;margin:.6rem 0}}
input{{width:22rem}}</style></head><body><h1>Corridor report</h1>
<p>Source and target sides are lists of EU country codes (DK, EE, EL) or NUTS 2024 codes (DK03, RO11).
Matching the whole CORDIS graph takes a few seconds.</p>
<form method="get" action="/reports">
<label>From (innovation leaders) <input name="from" value="{sources}" required></label>
<label>To (catch-up regions) <input name="to" value="{targets}" required></label>
<label>Themes (optional, comma-separated slugs) <input name="theme" value=""
 placeholder="industry-cleantech-green,health-wellbeing,ict-digital"></label>
<label>Candidate pairs per theme <input name="top" type="number" min="1" max="1000" value="{top}"></label>
<button>Write the report</button></form></body></html>"""


def _terms(values: list[str] | None) -> tuple[str, ...]:
    return tuple(v.strip() for item in values or [] for v in item.split(",") if v.strip())


@router.get("/reports", response_class=HTMLResponse, summary="A corridor report (HTML or JSON)")
async def corridor_report(
    request: Request,
    store: StoreDep,
    sources: Annotated[str | None, Query(alias="from", description="Source side, e.g. DK,EE")] = None,
    targets: Annotated[str | None, Query(alias="to", description="Target side, e.g. RO,BG,ES")] = None,
    theme: Annotated[list[str] | None, Query(description="BOOST theme slugs")] = None,
    actor_type: Annotated[
        list[str] | None, Query(alias="actor-type", description="ICF actor classes")
    ] = None,
    top: Annotated[int, Query(description="Candidate pairs per theme")] = DEFAULT_TOP,
    per: Annotated[Per, Query(description="pair: top pairs overall; source: per source actor")] = Per.pair,
    backtest: Annotated[bool, Query(description="Also replay the back-test (slower)")] = False,
    format: Annotated[str | None, Query(description="html (default) or json")] = None,
) -> Response:
    """Without ``from`` and ``to``: a form. With them: the report (400/422 for bad input)."""
    if sources is None and targets is None:
        return HTMLResponse(FORM.format(sources="DK,EE", targets="RO,BG,ES", top=DEFAULT_TOP))
    if format not in (None, "html", "json"):
        raise InputError(f"format must be html or json, not {format!r}")
    wanted = ReportRequest(
        sources=split_codes(sources),
        targets=split_codes(targets),
        themes=_terms(theme),
        actor_types=_terms(actor_type),
    )
    report, _ = await run_in_threadpool(
        make_report, store, wanted, top=top, per=per, with_backtest=backtest, link_base=""
    )
    as_json = format == "json" or (format is None and "application/json" in request.headers.get("accept", ""))
    if as_json:
        return JSONResponse(report.to_json())
    html = await run_in_threadpool(render_html, report)
    return HTMLResponse(html)
