"""Two defences that sit in front of every route: a Content-Security-Policy on HTML answers, and a
limit on failed authentications per client address.

**Content-Security-Policy.** Every ``text/html`` answer says where its page may load anything
from: scripts only from this origin and the inline scripts written in boostkg's own templates
(allowed by their SHA-256, computed from the template files when this module is imported, so a
script that reached a page any other way — a label carrying ``<script>`` that escaping missed —
does not run); styles from this origin and inline (the templates carry ``<style>`` blocks and
``style`` attributes); images and fonts from this origin or ``data:``; ``fetch`` only to this
origin (the query page's YASGUI posts to ``/sparql``); forms only to this origin; no plug-ins, no
frames, no ``<base>``. The interactive API docs that FastAPI serves at ``/docs`` and ``/redoc``
load Swagger UI and ReDoc from a CDN with an inline bootstrap script; they show no stored data and
get a policy of their own that allows exactly that CDN.

**Failed authentications.** A wrong token costs the server one scrypt (~16 MiB, tens of
milliseconds) and tells the caller nothing, so guessing is hopeless (256 random bits) but
hammering is a way to burn CPU. Each client address has a bucket of ``burst`` failures that
refills at ``per_second``; every 401 answer to a request that carried an ``Authorization`` header
spends one. With the bucket empty, requests carrying credentials get 429 with ``Retry-After``
before any token is checked. Behind a reverse proxy the client address is the proxy's unless
uvicorn is told to trust ``X-Forwarded-For`` (``--forwarded-allow-ips``; see docs/security.md).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from boostkg.api.problems import problem

TEMPLATES = Path(__file__).parent / "templates"
_SCRIPT = re.compile(r"<script(?P<attrs>[^>]*)>(?P<body>.*?)</script>", re.DOTALL | re.IGNORECASE)
_DATA_BLOCK = re.compile(r"""type\s*=\s*["']application/(?:ld\+)?json["']""", re.IGNORECASE)
_JINJA = ("{{", "{%", "{#")
_API_DOCS = ("/docs", "/redoc")
_CDN = "https://cdn.jsdelivr.net"
_log = logging.getLogger(__name__)


def inline_script_hashes(templates: Path = TEMPLATES) -> tuple[str, ...]:
    """``'sha256-…'`` sources for every executable inline ``<script>`` in ``templates``' files.

    Raises:
        ValueError: an inline script holds template syntax, so its text (and hash) would change
            from page to page; such data belongs in a ``type="application/json"`` block.
    """
    hashes: list[str] = []
    for path in sorted(templates.glob("*.j2")):
        for match in _SCRIPT.finditer(path.read_text(encoding="utf-8")):
            attrs, body = match.group("attrs"), match.group("body")
            if "src=" in attrs.lower() or _DATA_BLOCK.search(attrs):
                continue
            if any(mark in body for mark in _JINJA):
                raise ValueError(f"{path.name}: an inline script holds template syntax; it cannot be hashed")
            digest = base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode("ascii")
            hashes.append(f"'sha256-{digest}'")
    return tuple(dict.fromkeys(hashes))


def page_policy(script_hashes: tuple[str, ...]) -> str:
    """The Content-Security-Policy of boostkg's own HTML pages."""
    scripts = " ".join(("'self'", *script_hashes))
    return "; ".join(
        (
            "default-src 'none'",
            f"script-src {scripts}",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "form-action 'self'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        )
    )


API_DOCS_POLICY = "; ".join(
    (
        "default-src 'none'",
        f"script-src {_CDN} 'unsafe-inline'",
        f"style-src {_CDN} 'unsafe-inline'",
        f"img-src 'self' data: {_CDN} https://fastapi.tiangolo.com",
        "font-src https://fonts.gstatic.com",
        "connect-src 'self'",
        "worker-src blob:",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)


class SecurityHeaders:
    """ASGI middleware: CSP (see the module doc), ``X-Content-Type-Options: nosniff`` and
    ``Referrer-Policy: same-origin`` on HTML answers; ``nosniff`` on every answer."""

    def __init__(self, app: ASGIApp, policy: str | None = None) -> None:
        self.app = app
        self.policy = policy if policy is not None else page_policy(inline_script_hashes())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        policy = API_DOCS_POLICY if path in _API_DOCS else self.policy

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != b"x-content-type-options"
                ]
                headers.append((b"x-content-type-options", b"nosniff"))
                media = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                if media.split(b";")[0].strip().lower() == b"text/html":
                    headers.append((b"content-security-policy", policy.encode("ascii")))
                    headers.append((b"referrer-policy", b"same-origin"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


@dataclass
class _Bucket:
    tokens: float
    at: float


class FailureBuckets:
    """Per-key token buckets of allowed failures: ``burst`` at most, refilled at ``per_second``."""

    def __init__(
        self, burst: int, per_second: float, clock: Callable[[], float] = time.monotonic, keep: int = 10_000
    ) -> None:
        self.burst = burst
        self.per_second = per_second
        self.clock = clock
        self.keep = keep
        self._buckets: dict[str, _Bucket] = {}

    def _refilled(self, key: str) -> _Bucket | None:
        bucket = self._buckets.get(key)
        if bucket is None:
            return None
        now = self.clock()
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.at) * self.per_second)
        bucket.at = now
        return bucket

    def wait(self, key: str) -> float:
        """Seconds until ``key`` may fail again (0 when it may now)."""
        bucket = self._refilled(key)
        if bucket is None or bucket.tokens >= 1:
            return 0.0
        return (1 - bucket.tokens) / self.per_second

    def spend(self, key: str) -> None:
        """Record one failure of ``key``."""
        bucket = self._refilled(key)
        if bucket is None:
            if len(self._buckets) >= self.keep:
                self._forget_full()
            bucket = self._buckets[key] = _Bucket(float(self.burst), self.clock())
        bucket.tokens = max(0.0, bucket.tokens - 1)

    def _forget_full(self) -> None:
        for key in list(self._buckets):
            bucket = self._refilled(key)
            if bucket is not None and bucket.tokens >= self.burst:
                del self._buckets[key]
        if len(self._buckets) >= self.keep:  # a flood of addresses: forget the oldest half
            for key in sorted(self._buckets, key=lambda k: self._buckets[k].at)[: self.keep // 2]:
                del self._buckets[key]


AUTH_FAILURE_BURST = 20
"""Failed authentications a client address may make in a row."""
AUTH_FAILURES_PER_SECOND = 1 / 3
"""How fast the allowance refills (one more failure every three seconds)."""


class AuthFailureLimit:
    """ASGI middleware: 429 + ``Retry-After`` for credentials from an address that failed too often."""

    def __init__(
        self,
        app: ASGIApp,
        burst: int = AUTH_FAILURE_BURST,
        per_second: float = AUTH_FAILURES_PER_SECOND,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.buckets = FailureBuckets(burst, per_second, clock)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not any(k.lower() == b"authorization" for k, _ in scope["headers"]):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        address = str(client[0]) if client else "unknown"
        wait = self.buckets.wait(address)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            detail = f"too many failed authentications from {address}; try again in {seconds} s"
            response = problem(429, "too-many-requests", detail, str(scope.get("path", "")))
            response.headers["Retry-After"] = str(seconds)
            await response(scope, receive, send)
            return
        status = 0

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        await self.app(scope, receive, watch)
        if status == 401:
            self.buckets.spend(address)
            if self.buckets.wait(address) > 0:  # this failure emptied the bucket: say so once
                _log.warning("failed authentications from %s: further credentials refused for now", address)
