"""The ``Idempotency-Key`` header of the JSON submission routes (``services.idempotency``).

A route that creates a clinical record answers through :func:`respond`: without the header the
use case runs as before; with it, the use case runs in a joined transaction
(``Database.joined_transaction``) in which the key is looked up first and stored with the
answer last, so the record and its key commit together. A retry with the same key and request
is answered with the stored status and body and the header ``Idempotent-Replayed: true``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from glabella.services import idempotency
from glabella.services.context import Actor, Database
from glabella.services.errors import Conflict, Invalid

REPLAYED_HEADER = "Idempotent-Replayed"

IDEMPOTENT_ROUTES: frozenset[tuple[str, str]] = frozenset(
    {
        ("POST", "/api/v1/patients"),
        ("POST", "/api/v1/patients/{patient_id}/assessments"),
        ("POST", "/api/v1/patients/{patient_id}/screenings"),
        ("POST", "/api/v1/patients/{patient_id}/treatments"),
        ("POST", "/api/v1/patients/{patient_id}/adverse-events"),
    }
)
"""The routes that honour the header (documented on each in the OpenAPI description)."""

HEADER_DESCRIPTION = (
    "Optional. A key the client chooses for this submission (1-200 printable ASCII characters; "
    "a UUID is a good key). A retry with the same key and the same request is answered with the "
    "first answer (same status and body, header `Idempotent-Replayed: true`) and stores "
    "nothing new; the same key with another request is refused (422). Keys are per user and "
    "route and are kept for 24 hours."
)


def key_of(request: Request) -> str | None:
    """The request's ``Idempotency-Key`` (checked), or None without one."""
    values = request.headers.getlist(idempotency.HEADER)
    if not values:
        return None
    if len(values) > 1:
        raise Invalid(
            f"send one {idempotency.HEADER} header, not {len(values)}", field=idempotency.HEADER
        )
    return idempotency.check_key(values[0])


def route_of(request: Request) -> str:
    """``METHOD /template`` of the matched route: a key's scope (with the user)."""
    route = request.scope.get("route")
    path = getattr(route, "path", request.url.path)
    return f"{request.method} {path}"


def replay(stored: idempotency.Stored) -> JSONResponse:
    """The stored answer, marked as a replay."""
    return JSONResponse(stored.body, status_code=stored.status, headers={REPLAYED_HEADER: "true"})


def winner(db: Database, user_id: int, route: str, key: str, request_hash: str) -> JSONResponse:
    """The answer of the request that stored ``key`` first (after :class:`KeyTaken`)."""
    with db.read() as session:
        stored = idempotency.find(
            session, user_id=user_id, route=route, key=key, request_hash=request_hash, now=db.now()
        )
    if stored is None:  # the winner's transaction rolled back after all
        raise Conflict(
            f"another request with this {idempotency.HEADER} was being carried out: try again",
            field=idempotency.HEADER,
        )
    return replay(stored)


def respond(
    request: Request,
    db: Database,
    actor: Actor,
    body: object,
    status: int,
    work: Callable[[], Mapping[str, object]],
) -> JSONResponse:
    """Run ``work`` (a use case that opens its own transaction) and answer ``status`` with
    its result; with an ``Idempotency-Key``, exactly once per key (see the module)."""
    key = key_of(request)
    if key is None or actor.user_id is None:
        return JSONResponse(jsonable_encoder(work()), status_code=status)
    digest = idempotency.request_hash(request.url.path, jsonable_encoder(body))
    user_id, route = actor.user_id, route_of(request)
    try:
        with db.joined_transaction() as session:
            now = db.now()
            stored = idempotency.find(
                session, user_id=user_id, route=route, key=key, request_hash=digest, now=now
            )
            if stored is not None:
                return replay(stored)
            out = jsonable_encoder(work())
            idempotency.record(
                session,
                user_id=user_id,
                route=route,
                key=key,
                request_hash=digest,
                now=now,
                status=status,
                body=out,
            )
    except idempotency.KeyTaken:  # a duplicate in another transaction won
        return winner(db, user_id, route, key, digest)
    return JSONResponse(out, status_code=status)
