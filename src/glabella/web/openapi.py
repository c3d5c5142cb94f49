"""The published API description: every operation documents the error answers it can give.

Every JSON error of the app has one shape, ``{"error": {"code", "message", "field"}}`` (see the
exception handlers in ``glabella.web.app``). FastAPI only documents 422 (with its own body
shape, which this app does not send); :func:`document_errors` adds the ``Error`` schema and
the error statuses to every operation, so a client - and the schema fuzzing in
``tests/security/test_fuzzing.py`` - can rely on the description.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

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
        for item in schema.get("paths", {}).values():
            for operation in item.values():
                if not isinstance(operation, dict) or "responses" not in operation:
                    continue
                for status, description in ERROR_STATUSES.items():
                    operation["responses"][status] = {
                        "description": description,
                        "content": error_body,
                    }
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
