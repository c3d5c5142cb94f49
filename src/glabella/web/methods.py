"""405 Method Not Allowed with an exact ``Allow`` header (RFC 9110 section 15.5.6).

Starlette answers 405 only when no route matches both path and method, and its ``Allow`` lists
the methods of the *first* route whose path matched - so ``OPTIONS /api/v1/patients/1`` said
``Allow: GET`` although ``PUT`` is served there too. Worse, a literal path such as
``/api/v1/patients/search`` (POST only) is also matched by the template
``/api/v1/patients/{patient_id}``: ``PUT /api/v1/patients/search`` was answered 422 ("patient_id
is not an integer") or, for a role without access to that template, 403.

:class:`MethodNotAllowed` runs before the access matrix: it finds every route template that
matches the request path, keeps the most specific ones (fewest path parameters: a literal
segment beats a parameter), and when none of them serves the method it answers 405 with
``Allow`` listing exactly the methods they serve (``HEAD`` with ``GET``). Any other request
goes on unchanged. The OpenAPI contract test (``tests/security/test_openapi_contract.py``)
checks both answers for every documented path.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

_PARAM = re.compile(r"{[^}]+}")


@dataclass(frozen=True)
class _Template:
    prefix: str  # the literal start of the template: a cheap test before the regex
    regex: re.Pattern[str]
    params: int
    methods: frozenset[str]


def _templates(routes: list[BaseRoute]) -> list[_Template]:
    import fastapi.routing

    flatten = getattr(fastapi.routing, "iter_route_contexts", None)
    contexts = list(flatten(routes)) if flatten is not None else list(routes)
    by_path: dict[str, tuple[re.Pattern[str], set[str]]] = {}
    for ctx in contexts:
        route = getattr(ctx, "original_route", ctx)
        if isinstance(route, Mount):
            continue
        path = getattr(ctx, "path", None)
        regex = getattr(ctx, "path_regex", None)
        methods = getattr(ctx, "methods", None)
        if not isinstance(path, str) or regex is None:
            continue
        if methods is None and isinstance(route, Route):
            methods = route.methods
        if not methods:
            continue  # e.g. a websocket route
        entry = by_path.setdefault(path, (regex, set()))
        entry[1].update(m.upper() for m in methods)
    return [
        _Template(path.split("{", 1)[0], regex, len(_PARAM.findall(path)), frozenset(methods))
        for path, (regex, methods) in by_path.items()
    ]


def _allowed(templates: list[_Template], path: str) -> frozenset[str] | None:
    """The methods served at ``path`` by its most specific route templates, or None when no
    route template matches the path at all (a 404, not a 405)."""
    matching = [t for t in templates if path.startswith(t.prefix) and t.regex.match(path)]
    if not matching:
        return None
    fewest = min(t.params for t in matching)
    methods: set[str] = set()
    for template in matching:
        if template.params == fewest:
            methods |= template.methods
    if "GET" in methods:
        methods.add("HEAD")
    return frozenset(methods)


def allowed_methods(routes: list[BaseRoute], path: str) -> frozenset[str] | None:
    """:func:`_allowed` over an app's routes (for tests and the exception handler)."""
    return _allowed(_templates(routes), path)


ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allow_header(methods: frozenset[str]) -> str:
    """The ``Allow`` value: methods in a stable order."""
    return ", ".join(sorted(methods, key=lambda m: (ORDER.index(m) if m in ORDER else 99, m)))


class MethodNotAllowed:
    """Middleware (pure ASGI): 405 with an exact ``Allow`` for a method a path does not serve."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._templates: list[_Template] | None = None

    def _allowed(self, scope: Scope, path: str) -> frozenset[str] | None:
        if self._templates is None:
            self._templates = _templates(scope["app"].router.routes)
        return _allowed(self._templates, path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or "app" not in scope:
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        allowed = self._allowed(scope, path)
        if allowed is None or scope["method"] in allowed:
            await self.app(scope, receive, send)
            return
        await _refuse(scope, send, allowed)


async def _refuse(scope: Scope, send: Send, allowed: frozenset[str]) -> None:
    method = scope["method"]
    path = str(scope.get("path", ""))
    message = f"{method} is not served at this address; it serves {allow_header(allowed)}"
    api = path.startswith(("/api/", "/fhir/"))
    if api:
        body = json.dumps({"error": {"code": "http", "message": message, "field": None}}).encode()
        kind = b"application/json"
    else:
        body = f"<!doctype html><title>405</title><p>{message}</p>".encode()
        kind = b"text/html; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": 405,
            "headers": [
                (b"content-type", kind),
                (b"content-length", str(len(body)).encode()),
                (b"allow", allow_header(allowed).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})
