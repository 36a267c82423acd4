"""The query page: YASGUI (an npm dependency, see scripts/setup.sh) over the app's own endpoint.

The editor's build files are served from ``settings.ui_vendor_dir``; the page embeds the project's
prefixes and the named queries of ``queries/`` (their parameters bound to the declared defaults),
so an example is one click away without another request.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from boostkg.api.deps import SettingsDep
from boostkg.errors import InputError, NotFoundError
from boostkg.namespaces import prefixes
from boostkg.queries.catalog import NamedQuery, list_queries

router = APIRouter()

YASGUI_BUILD = Path("@triply") / "yasgui" / "build"
"""Where the YASGUI package keeps its bundled script and style sheet, under the vendor folder."""

_ASSETS = {
    "yasgui.min.js": "text/javascript; charset=utf-8",
    "yasgui.min.css": "text/css; charset=utf-8",
    "yasgui.min.js.map": "application/json",
}

PREFIXES: dict[str, str] = prefixes(
    "icf",
    "rdf",
    "rdfs",
    "owl",
    "xsd",
    "skos",
    "dcterms",
    "prov",
    "org",
    "schema",
    "geo",
    "locn",
    "organisation",
    "project",
    "participation",
    "corridor",
    "theme",
    "vocab",
    "graph",
    "nuts",
    "country",
)
"""Declared in every new query tab and used to shorten IRIs in result tables."""

_templates = Environment(
    loader=PackageLoader("boostkg.api", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
)


@dataclass(frozen=True)
class Example:
    """A named query as the page offers it."""

    name: str
    title: str
    question: str
    form: str
    text: str


def _example(query: NamedQuery) -> Example:
    try:
        text = query.bound()
    except InputError:
        text = query.text
    form = query.name.split("-", 1)[0].upper()
    return Example(query.name, query.title, query.question, form, text)


def _examples(queries_dir: Path) -> list[Example]:
    return [_example(q) for q in list_queries(queries_dir)]


def _vendor_build(settings_dir: Path) -> Path:
    return settings_dir / YASGUI_BUILD


@router.get("/query", response_class=HTMLResponse, summary="Query page (YASGUI)")
async def query_page(settings: SettingsDep) -> HTMLResponse:
    """Write and run SPARQL in the browser: highlighting, the project's prefixes, example queries,
    result tables and downloads. 503 (with the fix) when YASGUI is not installed."""
    examples = await run_in_threadpool(_examples, settings.queries_dir)
    build = _vendor_build(settings.ui_vendor_dir)
    installed = all((build / name).is_file() for name in ("yasgui.min.js", "yasgui.min.css"))
    page = _templates.get_template("query.html.j2").render(
        installed=installed,
        vendor=str(build),
        config={
            "endpoint": "/sparql",
            "prefixes": PREFIXES,
            "examples": [e.__dict__ for e in examples],
        },
    )
    return HTMLResponse(page, status_code=200 if installed else 503)


@router.get("/query/assets/{name}", include_in_schema=False)
async def query_asset(name: str, settings: SettingsDep) -> FileResponse:
    """YASGUI's bundled script and style sheet.

    Raises:
        NotFoundError: not one of the files the page uses, or YASGUI is not installed.
    """
    media = _ASSETS.get(name)
    if media is None:
        raise NotFoundError(f"no query-page asset {name!r}")
    path = _vendor_build(settings.ui_vendor_dir) / name
    if not path.is_file():
        raise NotFoundError(f"{path} is missing: YASGUI is not installed; run scripts/setup.sh (needs npm)")
    return FileResponse(path, media_type=media, headers={"Cache-Control": "public, max-age=86400"})
