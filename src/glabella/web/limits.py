"""Bounded requests: a body-size limit per route class and JSON shape limits, enforced before
any body is parsed (pure ASGI middleware, so nothing is buffered beyond the limit).

* ``Content-Length`` over the route class's limit is refused with 413 at once, unread;
* a body without a length (chunked) is counted as it arrives and cut off at the limit (413);
* a JSON body is scanned for nesting depth and member count before ``json.loads`` runs
  (422 naming the limit), so that a small body of millions of tiny members cannot tie up the
  server in parsing and validation.

Route classes: sign-in, second factor and the patient's self-report link are ``small``
(16 KiB: a username, a password, a code, a questionnaire's answers); the FHIR import is
``import`` (4 MiB); the frown photo uploads (API, clinician's page, patient's link page) are
``photos`` (two photos of at most ``glabella.clinic.biomarker.MAX_BYTES`` each, plus the form
fields); everything else is ``api`` (1 MiB).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from glabella.clinic.biomarker.decode import MAX_BYTES as PHOTO_MAX_BYTES


@dataclass(frozen=True)
class Limit:
    """The bounds of one route class."""

    name: str
    max_bytes: int
    max_depth: int
    max_members: int


SMALL = Limit("small", 16 * 1024, 8, 500)
API = Limit("api", 1024 * 1024, 32, 50_000)
IMPORT = Limit("import", 4 * 1024 * 1024, 64, 500_000)
PHOTOS = Limit("photos", 2 * PHOTO_MAX_BYTES + 64 * 1024, 8, 500)

_SMALL_PATHS = re.compile(r"^(/api/v1/auth/|/login|/logout|/api/v1/self-report/|/r/)")
_IMPORT_PATHS = re.compile(r"^/fhir/")
_PHOTO_PATHS = re.compile(
    r"^(/api/v1/patients/\d+/photos|/patients/\d+/photos(/check)?|/r/[^/]+/photos(/check)?)$"
)


def limit_for(path: str) -> Limit:
    """The route class of a request path."""
    if _PHOTO_PATHS.match(path):
        return PHOTOS
    if _SMALL_PATHS.match(path):
        return SMALL
    if _IMPORT_PATHS.match(path):
        return IMPORT
    return API


_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")


def json_shape_problem(body: bytes, limit: Limit) -> str | None:
    """Why a JSON body is outside the limits (deeper or with more members), else None.

    Strings are blanked first (a comma inside a string is no member); then each ``,`` or
    opening bracket counts at most one member, and brackets give the depth. Linear, in C
    regular expressions, before any JSON parser runs.
    """
    bare = _STRINGS.sub(b'""', body)
    members = bare.count(b",") + bare.count(b"[") + bare.count(b"{")
    if members > limit.max_members:
        return f"the JSON body has more than {limit.max_members} members"
    depth = 0
    for bracket in _BRACKETS.findall(bare):
        if bracket in (b"[", b"{"):
            depth += 1
            if depth > limit.max_depth:
                return f"the JSON body is nested deeper than {limit.max_depth} levels"
        else:
            depth -= 1
    return None


class BoundedRequests:
    """Middleware (pure ASGI): refuse oversized or over-nested bodies before the app reads them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = limit_for(str(scope.get("path", "")))
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                declared = -1
            if declared < 0:
                await _refuse(send, 400, "the Content-Length header is not a number")
                return
            if declared > limit.max_bytes:
                await _refuse(send, 413, _too_large(limit))
                return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit.max_bytes:
                await _refuse(send, 413, _too_large(limit))
                return
            chunks.append(chunk)
            more = bool(message.get("more_body", False))
        body = b"".join(chunks)
        kind = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if kind.endswith(b"json"):
            problem = json_shape_problem(body, limit)
            if problem is not None:
                await _refuse(send, 422, problem + "; nothing was saved", field="body")
                return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _too_large(limit: Limit) -> str:
    return f"the request body is larger than {limit.max_bytes} bytes; nothing was saved"


async def _refuse(send: Send, status: int, message: str, field: str | None = None) -> None:
    code = "too_large" if status == 413 else "invalid"
    payload = json.dumps({"error": {"code": code, "message": message, "field": field}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
