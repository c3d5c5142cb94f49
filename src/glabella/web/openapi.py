"""The published API description: every operation documents the error answers it can give.

Every JSON error of the app has one shape, ``{"error": {"code", "message", "field"}}`` (see the
exception handlers in ``glabella.web.app``). FastAPI only documents 422 (with its own body
shape, which this app does not send); :func:`document_errors` adds the ``Error`` schema and
the error statuses to every operation, so a client - and the schema fuzzing in
``tests/security/test_fuzzing.py`` - can rely on the description.

The submission routes of ``glabella.web.idempotency.IDEMPOTENT_ROUTES`` also document their
optional ``Idempotency-Key`` request header and the ``Idempotent-Replayed`` answer header.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from glabella.services import idempotency
from glabella.web.idempotency import HEADER_DESCRIPTION, IDEMPOTENT_ROUTES, REPLAYED_HEADER

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "field"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "field": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                "problems": {
                    "type": "array",
                    "description": "Every problem when there are several, each naming its field",
                    "items": {
                        "type": "object",
                        "properties": {
                            "code": {"type": "string"},
                            "message": {"type": "string"},
                            "field": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                        },
                    },
                },
            },
        }
    },
}

ERROR_STATUSES: dict[str, str] = {
    "400": "The request cannot be carried out",
    "401": "Not signed in, or wrong credentials",
    "403": "The signed-in role may not do this (or the form's CSRF token is wrong)",
    "404": "No such record (or it belongs to another clinic)",
    "405": "Method not allowed",
    "409": "Conflicts with what is stored",
    "410": "The link has expired or was already used",
    "413": "The request body is too large; nothing was saved",
    "422": "Invalid input; ``field`` names where",
    "429": "Too many failed sign-ins: locked for a while",
}


def document_errors(app: FastAPI) -> None:
    """Wrap ``app.openapi`` so each operation lists the error statuses with the Error schema."""
    original: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["Error"] = ERROR_SCHEMA
        error_body = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        for path, item in schema.get("paths", {}).items():
            for method, operation in item.items():
                if not isinstance(operation, dict) or "responses" not in operation:
                    continue
                if (method.upper(), path) in IDEMPOTENT_ROUTES:
                    document_idempotency_key(operation)
                for status, description in ERROR_STATUSES.items():
                    operation["responses"][status] = {
                        "description": description,
                        "content": error_body,
                    }
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


IDEMPOTENCY_PARAMETER: dict[str, Any] = {
    "name": idempotency.HEADER,
    "in": "header",
    "required": False,
    "description": HEADER_DESCRIPTION,
    "schema": {
        "type": "string",
        "minLength": 1,
        "maxLength": idempotency.MAX_KEY_LENGTH,
        "pattern": idempotency.KEY_PATTERN,
    },
}


def document_idempotency_key(operation: dict[str, Any]) -> None:
    """Add the ``Idempotency-Key`` header and the replay marker of its answer to ``operation``."""
    operation.setdefault("parameters", []).append(IDEMPOTENCY_PARAMETER)
    for status, response in operation["responses"].items():
        if status.startswith("2"):
            response.setdefault("headers", {})[REPLAYED_HEADER] = {
                "description": "`true` when this is the stored answer of an earlier request "
                "with the same Idempotency-Key (nothing new was stored)",
                "schema": {"type": "string", "enum": ["true"]},
            }
