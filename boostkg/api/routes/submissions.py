"""Stewards' submissions over HTTP: POST, list, get (JSON, Turtle or HTML), withdraw; /submit page.

Thin: read the request (raw RDF body or a multipart form), call the ingest pipeline off the event
loop (in a worker thread: submissions are parsed and validated side by side, and only an accepted
one takes the write lock, to re-check and commit), answer. Errors become problem details in
:mod:`boostkg.api.problems`.
"""

from __future__ import annotations

import json
import re
import threading
from datetime import datetime
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from typing import Annotated, cast

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from rdflib import URIRef

from boostkg.api.deps import SettingsDep, StoreDep
from boostkg.auth import Steward, TokenStore, token_store_path
from boostkg.errors import InputError, NotFoundError
from boostkg.ingest.pipeline import ARCHIVE_DIR, SubmissionRequest, WriteLock, check_size, submit, withdraw
from boostkg.ingest.submissions import Status, SubmissionRecord, get_submission, list_submissions
from boostkg.validation import Issue, Severity, Shapes, ValidationReport, load_shapes

router = APIRouter()

_FILENAME = re.compile(r"""filename\*?=(?:UTF-8'')?"?([^";]+)"?""", re.IGNORECASE)
_templates = Environment(
    loader=PackageLoader("boostkg.api", "templates"),
    autoescape=select_autoescape(["j2", "html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


class SubmissionState:
    """Per-app state for submissions: the shapes (parsed once), the token register, the write lock."""

    def __init__(self, shapes_dir: Path, store_dir: Path) -> None:
        self._shapes_dir = shapes_dir
        self._shapes: Shapes | None = None
        self._shapes_lock = threading.Lock()
        self.tokens = TokenStore(token_store_path(store_dir))
        self.write_lock = WriteLock()
        """Serialises every write to the store (the embedded store has a single writer) and counts
        them, so that submissions decide outside it (see :mod:`boostkg.ingest.pipeline`)."""
        self.archive = store_dir / ARCHIVE_DIR

    @property
    def shapes(self) -> Shapes:
        with self._shapes_lock:
            if self._shapes is None:
                self._shapes = load_shapes(self._shapes_dir)
            return self._shapes


def get_state(request: Request, settings: SettingsDep) -> SubmissionState:
    """The app's submission state, created with the app's first submission request."""
    app_state = request.app.state
    with _STATE_LOCK:
        if not hasattr(app_state, "submissions"):
            app_state.submissions = SubmissionState(settings.shapes_dir, settings.store)
    return cast(SubmissionState, app_state.submissions)


_STATE_LOCK = threading.Lock()
StateDep = Annotated[SubmissionState, Depends(get_state)]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


async def get_steward(request: Request, state: StateDep) -> Steward:
    """The steward the request's bearer token speaks for (401 otherwise)."""
    token = _bearer(request)
    return await run_in_threadpool(state.tokens.verify, token)


StewardDep = Annotated[Steward, Depends(get_steward)]


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refused (413) as soon as it passes ``limit`` (the declared length first)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit():
        check_size(int(declared), limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        check_size(size, limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _filename(header: str | None) -> str | None:
    match = _FILENAME.search(header or "")
    return Path(match.group(1)).name if match else None


def _from_form(content_type: str, body: bytes) -> tuple[bytes, str | None, str, str | None]:
    """(data, media type, file name, replaces) from a multipart form: a ``file`` upload or a pasted
    ``data`` field with its ``format``; ``replaces`` optional."""
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    if not isinstance(message, EmailMessage) or not message.is_multipart():
        raise InputError("malformed multipart body")
    fields: dict[str, tuple[bytes, str | None, str | None]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            declared = part.get("content-type")
            filename = part.get_filename()
            media = (
                part.get_content_type() if declared else ("application/octet-stream" if filename else None)
            )
            fields[name] = (payload, media, filename)
    replaces = fields["replaces"][0].decode("utf-8", "replace").strip() if "replaces" in fields else None
    if "file" in fields and fields["file"][0]:
        data, media, filename = fields["file"]
        return data, media, filename or "upload", replaces or None
    if "data" in fields:
        fmt = fields["format"][0].decode("ascii", "replace").strip() if "format" in fields else "text/turtle"
        return fields["data"][0], fmt, "pasted", replaces or None
    raise InputError("the form has neither a 'file' upload nor a 'data' field")


def _json(record: SubmissionRecord, outcome: dict[str, object] | None) -> dict[str, object]:
    body = record.to_json()
    if outcome is not None:
        body["conforms"] = outcome.get("conforms")
        body["warnings"] = outcome.get("warnings")
        body["report"] = outcome.get("report")
    return body


def _outcome(state: SubmissionState, submission_id: str) -> dict[str, object] | None:
    path = state.archive / submission_id / "outcome.json"
    return cast(dict[str, object], json.loads(path.read_text(encoding="utf-8"))) if path.is_file() else None


@router.post("/submissions", status_code=201)
async def post_submission(
    request: Request,
    store: StoreDep,
    settings: SettingsDep,
    state: StateDep,
    steward: StewardDep,
    replaces: Annotated[str | None, Query(description="Id of the submission this one replaces.")] = None,
) -> JSONResponse:
    """Submit RDF (Turtle, JSON-LD, N-Triples, RDF/XML; raw body or multipart ``file``/``data``)."""
    content_type = request.headers.get("content-type", "")
    body = await _read_body(request, settings.max_submission_bytes)
    media: str | None = content_type
    name = _filename(request.headers.get("content-disposition")) or "request body"
    if content_type.split(";")[0].strip().lower() == "multipart/form-data":
        body, media, name, form_replaces = _from_form(content_type, body)
        replaces = replaces or form_replaces
    submission = SubmissionRequest(body, media, name, replaces)
    shapes = await run_in_threadpool(lambda: state.shapes)
    outcome = await run_in_threadpool(
        lambda: submit(
            store,
            shapes,
            steward,
            submission,
            max_bytes=settings.max_submission_bytes,
            write_lock=state.write_lock,
            archive=state.archive,
        )
    )
    return JSONResponse(
        outcome.to_json(), status_code=201, headers={"Location": f"/submissions/{outcome.id}"}
    )


@router.get("/submissions")
async def get_submissions(
    store: StoreDep,
    steward: Annotated[str | None, Query(description="Steward name.")] = None,
    organisation: Annotated[str | None, Query(description="Organisation IRI.")] = None,
    status: Annotated[Status | None, Query(description="accepted, replaced or withdrawn.")] = None,
    since: Annotated[datetime | None, Query(description="Submitted at or after (ISO date/time).")] = None,
    until: Annotated[datetime | None, Query(description="Submitted before (ISO date/time).")] = None,
) -> dict[str, object]:
    """The recorded submissions, oldest first (records are public, as graph/meta is)."""
    records = await run_in_threadpool(
        lambda: list_submissions(
            store,
            steward=steward,
            organisation=URIRef(organisation) if organisation else None,
            status=status,
            since=_aware(since),
            until=_aware(until),
        )
    )
    return {"count": len(records), "submissions": [r.to_json() for r in records]}


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.astimezone()  # naive times are local to the server


def _wants(accept: str) -> str:
    """``json``, ``turtle`` or ``html``: the first of them the Accept header names (JSON if none)."""
    for part in accept.split(","):
        media = part.split(";")[0].strip().lower()
        if media in ("application/json", "application/problem+json"):
            return "json"
        if media == "text/turtle":
            return "turtle"
        if media in ("text/html", "application/xhtml+xml"):
            return "html"
    return "json"


@router.get("/submissions/{submission_id}", response_model=None)
async def get_one(request: Request, submission_id: str, store: StoreDep, state: StateDep) -> Response:
    """One submission with its validation report: JSON, Turtle (``sh:ValidationReport``) or HTML."""
    record = await run_in_threadpool(get_submission, store, submission_id)
    outcome = _outcome(state, submission_id)
    wanted = _wants(request.headers.get("accept", ""))
    if wanted == "turtle":
        if outcome is None or not isinstance(outcome.get("report"), dict):
            raise NotFoundError(f"the report of submission {submission_id} is not kept")
        report = report_from_json(cast(dict[str, object], outcome["report"]))
        return Response(report.to_turtle(), media_type="text/turtle")
    body = _json(record, outcome)
    if wanted == "html":
        page = _templates.get_template("submission.html.j2").render(
            submission=body, groups=report_groups(body.get("report"))
        )
        return HTMLResponse(page)
    return JSONResponse(body)


@router.delete("/submissions/{submission_id}")
async def delete_one(
    submission_id: str, store: StoreDep, state: StateDep, steward: StewardDep
) -> dict[str, object]:
    """Withdraw a submission: its graph is dropped; its record stays, marked withdrawn."""
    record = await run_in_threadpool(
        lambda: withdraw(store, steward, submission_id, write_lock=state.write_lock)
    )
    return record.to_json()


@router.get("/stewards/me")
async def whoami(steward: StewardDep) -> dict[str, object]:
    """Who the bearer token speaks for (the /submit page uses it)."""
    return {
        "steward": steward.name,
        "organisation": str(steward.organisation),
        "region": steward.region,
        "admin": steward.admin,
        "token": steward.token_id,
    }


@router.get("/submit", response_class=HTMLResponse)
async def submit_page(settings: SettingsDep) -> str:
    """The stewards' page: paste or upload, see the report, list and withdraw own submissions."""
    return _templates.get_template("submit.html.j2").render(max_bytes=settings.max_submission_bytes)


def report_from_json(body: dict[str, object]) -> ValidationReport:
    """The report an accepted submission kept (as JSON), back as a ValidationReport."""
    issues = tuple(
        Issue(
            severity=Severity(str(i["severity"])),
            focus=str(i["focus"]),
            path=cast(str | None, i.get("path")),
            value=cast(str | None, i.get("value")),
            shape=str(i["shape"]),
            shape_name=cast(str | None, i.get("shapeName")),
            constraint=str(i["constraint"]),
            message=str(i["message"]),
            line=cast(int | None, i.get("line")),
            column=cast(int | None, i.get("column")),
        )
        for i in cast(list[dict[str, object]], body.get("issues", []))
    )
    return ValidationReport(
        conforms=bool(body["conforms"]),
        issues=issues,
        shapes_version=str(body["shapesVersion"]),
        triples=cast(int, body["triples"]),
    )


def report_groups(report: object) -> list[dict[str, object]]:
    """A report's issues grouped by focus node (in order of first line), for the HTML views."""
    if not isinstance(report, dict):
        return []
    groups: dict[str, dict[str, object]] = {}
    for issue in report.get("issues", []):
        if not isinstance(issue, dict):
            continue
        focus = str(issue.get("focus"))
        group = groups.setdefault(focus, {"focus": focus, "line": issue.get("line"), "issues": []})
        cast(list[object], group["issues"]).append(issue)
    return sorted(groups.values(), key=lambda g: (g["line"] is None, g["line"] or 0, g["focus"]))
