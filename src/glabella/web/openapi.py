"""The published API description: the contract a client (and the contract test) relies on.

Every JSON error of the app has one shape, ``{"error": {"code", "message", "field"}}`` (see the
exception handlers in ``glabella.web.app``). FastAPI documents only 422 (with its own body
shape, which this app does not send). :func:`document_errors` post-processes the generated
document, centrally, so that each operation lists exactly the answers it can give:

* the error statuses that really occur for it (:func:`error_statuses`): 401 and 403 where the
  access matrix (``glabella.web.access.MATRIX``) requires a signed-in role, 404 where a path
  names a record, 400/413 where a body is read (``glabella.web.limits``), 422 where there is
  input to refuse, 429 on sign-in, plus the statuses a service raises (``EXTRA_STATUSES``);
* the session cookie as the security scheme of every operation that needs a signed-in role;
* record ids as the integers the database can hold (1 to 2**31 - 1, PostgreSQL's INTEGER);
* request bodies the route reads itself (``BODY_MODELS``) with their real schema, and every
  body's size and JSON shape limits (``x-body-limit``, from ``glabella.web.limits``);
* the success bodies of routes that return a plain dict (``RESPONSE_SCHEMAS``).

Some rules cannot be written in JSON Schema (a dose ceiling per product, dates relative to
today, answers that depend on the chosen instrument): a request can match the schema and still
be refused with 422, and then the error's ``field`` names the input it blames. The contract
test (``tests/security/test_openapi_contract.py``) holds the app to all of this, per role.

The submission routes of ``glabella.web.idempotency.IDEMPOTENT_ROUTES`` also document their
optional ``Idempotency-Key`` request header and the ``Idempotent-Replayed`` answer header.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

from glabella.services import idempotency
from glabella.services.patients import PatientInput
from glabella.web.access import MATRIX, PUBLIC
from glabella.web.idempotency import HEADER_DESCRIPTION, IDEMPOTENT_ROUTES, REPLAYED_HEADER
from glabella.web.limits import limit_for

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
                    "description": "Every problem, each naming its field, when there are many",
                    "items": {
                        "type": "object",
                        "required": ["message"],
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
    "400": "The request cannot be carried out (e.g. a Content-Length that is not a number)",
    "401": "Not signed in, or wrong credentials",
    "403": "The signed-in role may not do this (or the request's CSRF check failed)",
    "404": "No such record (or it belongs to another clinic)",
    "409": "Conflicts with what is stored",
    "410": "The link has expired or was already used",
    "413": "The request body is too large; nothing was saved",
    "422": "Invalid input; ``field`` names where",
    "429": "Too many failed sign-ins: locked for a while",
}
"""What each error status means, in every operation's description of it."""

SESSION_SCHEME = "session"
"""The security scheme: the signed session cookie set by ``POST /api/v1/auth/login``."""

SIGN_IN = frozenset({("POST", "/api/v1/auth/login"), ("POST", "/api/v1/auth/totp")})
"""Operations that check credentials: wrong ones are 401, repeated failures 429."""

EXTRA_STATUSES: dict[tuple[str, str], frozenset[str]] = {
    # Sign-in: a password or code that does not match (401) is the answer for a bad attempt.
    ("POST", "/api/v1/auth/logout"): frozenset({"403"}),  # CSRF: another site's request
    ("POST", "/api/v1/auth/password"): frozenset({"401"}),
    # A search in the query string is refused (names must not go into URLs): POST .../search.
    ("GET", "/api/v1/patients"): frozenset({"422"}),
    # An alert closes once: acting on a closed one is a conflict.
    ("POST", "/api/v1/alerts/{alert_id}/action"): frozenset({"409"}),
    # A patient's link: unknown (404), expired or used (410).
    ("GET", "/api/v1/self-report/{token}"): frozenset({"410"}),
    ("POST", "/api/v1/self-report/{token}"): frozenset({"410"}),
    # Two-factor and recovery codes: a step out of order (already on, not on, not started).
    ("POST", "/api/v1/account/totp/enrol"): frozenset({"409"}),
    ("POST", "/api/v1/account/totp/confirm"): frozenset({"409"}),
    ("POST", "/api/v1/account/totp/disable"): frozenset({"409"}),
    ("POST", "/api/v1/account/recovery-codes"): frozenset({"409"}),
    # Staff administration: the last administrator kept, a username taken, a state already set.
    ("POST", "/api/v1/admin/staff"): frozenset({"409"}),
    ("PATCH", "/api/v1/admin/staff/{user_id}"): frozenset({"409"}),
    ("POST", "/api/v1/admin/staff/{user_id}/deactivate"): frozenset({"409"}),
    ("POST", "/api/v1/admin/staff/{user_id}/reactivate"): frozenset({"409"}),
    ("POST", "/api/v1/admin/staff/{user_id}/reset-password"): frozenset({"409"}),
    ("POST", "/api/v1/admin/staff/{user_id}/reset-two-factor"): frozenset({"409"}),
    # Consents: withdrawn once, never after a treatment used it; a photo consent in force.
    ("POST", "/api/v1/patients/{patient_id}/consents/{consent_id}/withdrawal"): frozenset({"409"}),
    ("POST", "/api/v1/patients/{patient_id}/photo-consent/withdraw"): frozenset({"409"}),
}
"""Statuses a service raises on an operation beyond those derived from its shape."""

MAX_ID = 2**31 - 1
"""The largest record id: PostgreSQL's INTEGER (SQLite's is wider; PostgreSQL is the bound)."""

BODY_MODELS: dict[tuple[str, str], type[BaseModel]] = {
    ("POST", "/api/v1/patients"): PatientInput,
    ("PUT", "/api/v1/patients/{patient_id}"): PatientInput,
}
"""Routes that take a raw JSON object and validate it in the service: the model they use."""


_USER: dict[str, Any] = {
    "type": "object",
    "required": ["id", "username", "full_name", "role", "must_change_password"],
    "properties": {
        "id": {"type": "integer"},
        "username": {"type": "string"},
        "full_name": {"type": "string"},
        "role": {
            "type": "string",
            "enum": ["admin", "clinician", "nurse", "receptionist", "researcher"],
        },
        "must_change_password": {"type": "boolean"},
    },
}


def _flag(name: str) -> dict[str, Any]:
    return {"type": "object", "required": [name], "properties": {name: {"type": "boolean"}}}


RESPONSE_SCHEMAS: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/v1/auth/login"): _USER,
    ("GET", "/api/v1/me"): _USER,
    ("POST", "/api/v1/auth/logout"): _flag("signed_out"),
    ("POST", "/api/v1/auth/password"): _flag("changed"),
    ("POST", "/api/v1/self-report/{token}"): {
        "type": "object",
        "required": ["received", "show_crisis_resources"],
        "properties": {
            "received": {"type": "boolean"},
            "show_crisis_resources": {"type": "boolean"},
        },
    },
}
"""Success bodies of routes that return a plain dict (FastAPI documents them as any object)."""


def _has_body(operation: dict[str, Any]) -> bool:
    return "requestBody" in operation


def _has_input(operation: dict[str, Any]) -> bool:
    return _has_body(operation) or bool(operation.get("parameters"))


def _has_path_params(operation: dict[str, Any]) -> bool:
    return any(p.get("in") == "path" for p in operation.get("parameters", []))


REFERENCE_QUERIES = frozenset({"disorder"})
"""Query parameters that name a record of reference data: an unknown one is a 404."""


def _names_a_reference(operation: dict[str, Any]) -> bool:
    return any(
        p.get("in") == "query" and p.get("name") in REFERENCE_QUERIES
        for p in operation.get("parameters", [])
    )


def error_statuses(method: str, path: str, operation: dict[str, Any]) -> list[str]:
    """The error statuses ``METHOD path`` can answer, derived from its shape and access rule."""
    key = (method.upper(), path)
    statuses: set[str] = set(EXTRA_STATUSES.get(key, frozenset()))
    if MATRIX.get(key, frozenset()) != PUBLIC:
        statuses |= {"401", "403"}  # not signed in; a role without access or a one-time password
    if key in SIGN_IN:
        statuses |= {"401", "429"}
    if _has_path_params(operation) or _names_a_reference(operation):
        statuses.add("404")
    if method.upper() not in ("GET", "HEAD", "OPTIONS"):
        statuses |= {"400", "413", "422"}  # glabella.web.limits reads every such body first
    if _has_input(operation):
        statuses.add("422")
    return sorted(statuses)


def _bound_ids(schema: Any) -> None:
    """Give integer ``*_id`` properties (and nested ones) the database's id range."""
    if isinstance(schema, list):
        for item in schema:
            _bound_ids(item)
        return
    if not isinstance(schema, dict):
        return
    for name, prop in (schema.get("properties") or {}).items():
        if name.endswith("_id") and isinstance(prop, dict):
            _bound_integer(prop)
    for value in schema.values():
        if isinstance(value, dict | list):
            _bound_ids(value)


def _bound_integer(schema: dict[str, Any]) -> None:
    if schema.get("type") == "integer":
        schema.setdefault("minimum", 1)
        schema.setdefault("maximum", MAX_ID)
    for key in ("anyOf", "oneOf"):
        for option in schema.get(key, []):
            if isinstance(option, dict):
                _bound_integer(option)


def _body_schema(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in schema.pop("$defs", {}).items():
        components.setdefault(name, definition)
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def refine(schema: dict[str, Any]) -> dict[str, Any]:
    """Rewrite a FastAPI-generated document into the contract (see the module docstring)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = ERROR_SCHEMA
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    schema["components"]["securitySchemes"] = {
        SESSION_SCHEME: {
            "type": "apiKey",
            "in": "cookie",
            "name": "glabella_session",
            "description": "Set by POST /api/v1/auth/login (and /api/v1/auth/totp).",
        }
    }
    error_body = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            key = (method.upper(), path)
            model = BODY_MODELS.get(key)
            if model is not None and _has_body(operation):
                content = operation["requestBody"].setdefault("content", {})
                content["application/json"] = {"schema": _body_schema(model, components)}
            responses = operation["responses"]
            success = RESPONSE_SCHEMAS.get(key)
            if success is not None:
                for status, response in responses.items():
                    if status.startswith("2"):
                        response["content"] = {"application/json": {"schema": success}}
            for status in list(responses):
                if status.startswith(("4", "5")):
                    del responses[status]  # FastAPI's 422 shape is not the one this app sends
            for status in error_statuses(method, path, operation):
                responses[status] = {
                    "description": ERROR_STATUSES[status],
                    "content": error_body,
                }
            if method.upper() not in ("GET", "HEAD", "OPTIONS"):
                limit = limit_for(path)
                operation["x-body-limit"] = {
                    "route_class": limit.name,
                    "max_bytes": limit.max_bytes,
                    "max_json_depth": limit.max_depth,
                    "max_json_members": limit.max_members,
                }
                if _has_body(operation):
                    operation["requestBody"]["description"] = (
                        f"At most {limit.max_bytes} bytes (413 beyond); JSON at most "
                        f"{limit.max_depth} levels deep with {limit.max_members} members (422)."
                    )
            if MATRIX.get(key, frozenset()) != PUBLIC:
                operation["security"] = [{SESSION_SCHEME: []}]
            for parameter in operation.get("parameters", []):
                if parameter.get("name", "").endswith("_id") and "schema" in parameter:
                    _bound_integer(parameter["schema"])
    _bound_ids(components)
    return schema


def document_errors(app: FastAPI) -> None:
    """Wrap ``app.openapi`` so the published document is :func:`refine`'s contract."""
    original: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = refine(original())
        for path, item in schema.get("paths", {}).items():
            for method, operation in item.items():
                if isinstance(operation, dict) and (method.upper(), path) in IDEMPOTENT_ROUTES:
                    document_idempotency_key(operation)
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
