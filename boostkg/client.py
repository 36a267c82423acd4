"""A small HTTP client for stewards: send a file to a boostkg server's ``POST /submissions``.

Standard library only (``urllib``), so ``boostkg submit`` works wherever boostkg is installed.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

from boostkg.errors import InputError, InputNotFoundError
from boostkg.ingest.pipeline import media_type_of


@dataclass(frozen=True)
class ServerAnswer:
    """The HTTP status and JSON body the server answered."""

    status: int
    body: dict[str, object]

    @property
    def accepted(self) -> bool:
        return self.status == 201


def submit_file(
    path: Path, *, url: str, token: str, replaces: str | None = None, media_type: str | None = None
) -> ServerAnswer:
    """POST ``path`` to ``<url>/submissions`` with the steward's token.

    Raises:
        InputNotFoundError: no such file.
        UnsupportedMediaTypeError: the format cannot be told from the file name.
        InputError: the server cannot be reached or did not answer JSON.
    """
    if not path.is_file():
        raise InputNotFoundError(path)
    media = media_type or media_type_of("application/octet-stream", path.name)
    endpoint = url.rstrip("/") + "/submissions"
    if replaces:
        endpoint += "?" + urlencode({"replaces": replaces})
    request = urllib.request.Request(
        endpoint,
        data=path.read_bytes(),
        method="POST",
        headers={
            "Content-Type": media,
            "Authorization": f"Bearer {token}",
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(path.name)}",
            "Accept": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    except (urllib.error.URLError, OSError) as exc:
        raise InputError(f"cannot reach {endpoint}: {exc}") from exc
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise InputError(f"{endpoint} answered {status} without JSON: {raw[:200]!r}") from exc
    return ServerAnswer(status, body if isinstance(body, dict) else {"detail": body})


def describe(answer: ServerAnswer, source: str) -> list[str]:
    """Lines a person reads: the verdict, then each issue as ``file:line: severity: message``."""
    body = answer.body
    report = body.get("report")
    lines: list[str] = []
    if isinstance(report, dict):
        for issue in report.get("issues", []):
            if not isinstance(issue, dict):
                continue
            where = f"{source}:{issue['line']}" if issue.get("line") else source
            lines.append(f"{where}: {str(issue.get('severity')).lower()}: {issue.get('message')}")
            lines.append(f"    focus node: {issue.get('focus')}")
            for key in ("path", "value"):
                if issue.get(key):
                    lines.append(f"    {key + ':':<11} {issue[key]}")
    if answer.accepted:
        lines.append(
            f"accepted: submission {body.get('id')} ({body.get('triples')} triples, "
            f"{body.get('warnings')} warning(s)) in {body.get('graph')}"
            + (f", replacing {body['replaces']}" if body.get("replaces") else "")
        )
    elif answer.status == 422 and isinstance(report, dict):
        lines.append(f"rejected: {report.get('violations')} violation(s); nothing was stored")
    else:
        lines.append(f"refused ({answer.status} {body.get('title', '')}): {body.get('detail')}")
        triples = body.get("triples")
        if isinstance(triples, list):
            lines += [f"    {t}" for t in triples]
    return lines
