"""Routes of the second factor (TOTP) and the account menu: the sign-in step, the account page,
enrolment with a QR code, recovery codes; pages and JSON API."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from glabella.services import security
from glabella.services import users as user_service
from glabella.services.context import Actor, Database
from glabella.services.errors import Conflict, ServiceError, Unauthorized
from glabella.services.users import UserView
from glabella.web.deps import (
    check_csrf,
    client_source,
    complete_second_factor,
    csrf_token,
    database,
    get_settings_from,
    landing_page,
    page_user,
    pending_second_factor,
    request_actor,
    sign_out,
)
from glabella.web.qr import qr_svg
from glabella.web.templating import TEMPLATES

router = APIRouter()
DbDep = Annotated[Database, Depends(database)]
ActorDep = Annotated[Actor, Depends(request_actor)]
PENDING_SECRET = "totp_enrol_secret"
CODE_LENGTH = 32
"""Longest code accepted: a 6-digit code, or a recovery code typed with spaces or dashes."""


class TotpBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=CODE_LENGTH)


def _render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("user", None)
    context["csrf"] = csrf_token(request)
    context["tz"] = get_settings_from(request).timezone
    return TEMPLATES.TemplateResponse(request, name, context, status_code=status_code)


def _pending_secret(request: Request) -> str:
    """The secret being enrolled (kept in the signed session until confirmed by a code)."""
    secret = request.session.get(PENDING_SECRET)
    if not isinstance(secret, str):
        secret = security.new_secret()
        request.session[PENDING_SECRET] = secret
    return secret


def _enrolment(user: UserView, secret: str) -> dict[str, Any]:
    uri = security.provisioning_uri(secret, user.username)
    return {
        "secret": secret,
        "secret_groups": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        "uri": uri,
        "qr": qr_svg(uri, f"QR code to add {user.username} to an authenticator app"),
    }


@router.post("/api/v1/auth/totp", tags=["auth"])
def api_second_factor(body: TotpBody, request: Request, db: DbDep) -> dict[str, object]:
    """Second sign-in step for an account with TOTP on: the 6-digit code from the app."""
    uid = pending_second_factor(request)
    if uid is None:
        raise Unauthorized("sign in with your password first: POST /api/v1/auth/login")
    user = security.verify_second_factor(db, uid, body.code, client_source(request))
    complete_second_factor(request, user)
    return {"id": user.id, "username": user.username, "role": user.role}


@router.get("/login/totp", include_in_schema=False)
def second_factor_page(request: Request) -> Response:
    if pending_second_factor(request) is None:
        return RedirectResponse("/login", status_code=303)
    return _render(request, "login_totp.html")


@router.post("/login/totp", include_in_schema=False)
def second_factor_submit(
    request: Request,
    db: DbDep,
    code: Annotated[str, Form(max_length=CODE_LENGTH)] = "",
    csrf_token_: Annotated[str, Form(alias="csrf_token")] = "",
) -> Response:
    check_csrf(request, csrf_token_)
    uid = pending_second_factor(request)
    if uid is None:
        return RedirectResponse("/login", status_code=303)
    try:
        user = security.verify_second_factor(db, uid, code, client_source(request))
    except ServiceError as exc:
        if exc.status_code == 429:
            sign_out(request)
        return _render(request, "login_totp.html", status_code=exc.status_code, error=exc.message)
    complete_second_factor(request, user)
    target = landing_page(user)
    return RedirectResponse(target, status_code=303)


@router.get("/account", include_in_schema=False)
def account_page(request: Request, db: DbDep) -> HTMLResponse:
    user = page_user(request)
    return _account(request, db, user)


def _account(
    request: Request, db: Database, user: UserView, status_code: int = 200, **context: Any
) -> HTMLResponse:
    clinics = {c.id: c.name for c in user_service.list_clinics(db)}
    return _render(
        request,
        "account.html",
        status_code=status_code,
        user=user,
        clinic_name=clinics.get(user.clinic_id, ""),
        codes_left=security.recovery_codes_left(db, user.id),
        **context,
    )


@router.post("/account/recovery-codes", include_in_schema=False)
def recovery_codes_submit(
    request: Request,
    db: DbDep,
    code: Annotated[str, Form(max_length=CODE_LENGTH)] = "",
    csrf_token_: Annotated[str, Form(alias="csrf_token")] = "",
) -> Response:
    user = page_user(request)
    check_csrf(request, csrf_token_)
    try:
        codes = security.regenerate_recovery_codes(db, user.actor(client_source(request)), code)
    except ServiceError as exc:
        return _account(request, db, user, status_code=exc.status_code, error=exc.message)
    return _render(request, "recovery_codes.html", user=user, codes=codes, regenerated=True)


@router.get("/account/totp", include_in_schema=False)
def enrol_page(request: Request) -> HTMLResponse:
    user = page_user(request)
    context: dict[str, Any] = {"user": user}
    if not user.totp_enabled:
        context.update(_enrolment(user, _pending_secret(request)))
    return _render(request, "account_totp.html", **context)


@router.post("/account/totp", include_in_schema=False)
def enrol_submit(
    request: Request,
    db: DbDep,
    code: Annotated[str, Form(max_length=CODE_LENGTH)] = "",
    csrf_token_: Annotated[str, Form(alias="csrf_token")] = "",
) -> Response:
    user = page_user(request)
    check_csrf(request, csrf_token_)
    secret = request.session.get(PENDING_SECRET)
    if not isinstance(secret, str):
        return RedirectResponse("/account/totp", status_code=303)
    try:
        codes = security.enable_totp(db, user.actor(client_source(request)), secret, code)
    except ServiceError as exc:
        return _render(
            request,
            "account_totp.html",
            status_code=exc.status_code,
            user=user,
            error=exc.message,
            **_enrolment(user, secret),
        )
    request.session.pop(PENDING_SECRET, None)
    return _render(request, "recovery_codes.html", user=user, codes=codes, enabled_now=True)


@router.post("/account/totp/disable", include_in_schema=False)
def disable_submit(
    request: Request,
    db: DbDep,
    code: Annotated[str, Form(max_length=CODE_LENGTH)] = "",
    csrf_token_: Annotated[str, Form(alias="csrf_token")] = "",
) -> Response:
    user = page_user(request)
    check_csrf(request, csrf_token_)
    try:
        security.disable_totp(db, user.actor(client_source(request)), code)
    except ServiceError as exc:
        return _render(
            request, "account_totp.html", status_code=exc.status_code, user=user, error=exc.message
        )
    return RedirectResponse("/account/totp", status_code=303)


# --- JSON API: one's own second factor ------------------------------------------------------


@router.get("/api/v1/account", tags=["account"])
def api_account(actor: ActorDep, db: DbDep) -> dict[str, object]:
    """One's own account: role, clinic, second factor on, recovery codes left."""
    user = user_service.get_user(db, actor.user_id) if actor.user_id is not None else None
    if user is None:
        raise Unauthorized("sign in first: POST /api/v1/auth/login")
    return {
        "id": user.id,
        "username": user.username,
        "full_name": user.full_name,
        "role": user.role,
        "clinic_id": user.clinic_id,
        "totp_enabled": user.totp_enabled,
        "recovery_codes_left": security.recovery_codes_left(db, user.id),
    }


@router.post("/api/v1/account/totp/enrol", tags=["account"])
def api_totp_enrol(request: Request, actor: ActorDep, db: DbDep) -> dict[str, object]:
    """Start enrolment: a new secret and its ``otpauth://`` URI (issuer Glabella) for the
    app. Nothing changes until ``/account/totp/confirm`` gets a valid code."""
    user = user_service.get_user(db, actor.user_id) if actor.user_id is not None else None
    if user is None:
        raise Unauthorized("sign in first: POST /api/v1/auth/login")
    if user.totp_enabled:
        raise Conflict("the second factor is already on", field="code")
    secret = security.new_secret()
    request.session[PENDING_SECRET] = secret
    return {"secret": secret, "otpauth_uri": security.provisioning_uri(secret, user.username)}


@router.post("/api/v1/account/totp/confirm", tags=["account"])
def api_totp_confirm(
    body: TotpBody, request: Request, actor: ActorDep, db: DbDep
) -> dict[str, object]:
    """Switch the second factor on with a code from the app; the answer carries the recovery
    codes, this once."""
    secret = request.session.get(PENDING_SECRET)
    if not isinstance(secret, str):
        raise Conflict("start with POST /api/v1/account/totp/enrol", field="code")
    codes = security.enable_totp(db, actor, secret, body.code)
    request.session.pop(PENDING_SECRET, None)
    return {"totp_enabled": True, "recovery_codes": codes}


@router.post("/api/v1/account/totp/disable", tags=["account"])
def api_totp_disable(body: TotpBody, actor: ActorDep, db: DbDep) -> dict[str, object]:
    """Switch the second factor off (a current code from the app, or a recovery code)."""
    security.disable_totp(db, actor, body.code)
    return {"totp_enabled": False}


@router.post("/api/v1/account/recovery-codes", tags=["account"])
def api_recovery_codes(body: TotpBody, actor: ActorDep, db: DbDep) -> dict[str, object]:
    """New recovery codes (every earlier one stops working); needs a current code from the
    app or an unused recovery code. The answer carries them, this once."""
    return {"recovery_codes": security.regenerate_recovery_codes(db, actor, body.code)}
