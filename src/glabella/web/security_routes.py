"""Routes of the second factor (TOTP): the sign-in step and enrolment, pages and JSON API."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from glabella.services import security
from glabella.services.context import Database
from glabella.services.errors import ServiceError, Unauthorized
from glabella.web.deps import (
    check_csrf,
    client_source,
    complete_second_factor,
    csrf_token,
    database,
    landing_page,
    page_user,
    pending_second_factor,
    sign_out,
)
from glabella.web.templating import TEMPLATES

router = APIRouter()
DbDep = Annotated[Database, Depends(database)]
PENDING_SECRET = "totp_enrol_secret"


class TotpBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=16)


def _render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("user", None)
    context["csrf"] = csrf_token(request)
    return TEMPLATES.TemplateResponse(request, name, context, status_code=status_code)


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
    code: Annotated[str, Form(max_length=16)] = "",
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


@router.get("/account/totp", include_in_schema=False)
def enrol_page(request: Request) -> HTMLResponse:
    user = page_user(request)
    context: dict[str, Any] = {"user": user}
    if not user.totp_enabled:
        secret = request.session.get(PENDING_SECRET)
        if not isinstance(secret, str):
            secret = security.new_secret()
            request.session[PENDING_SECRET] = secret
        context["secret"] = secret
        context["uri"] = security.provisioning_uri(secret, user.username)
    return _render(request, "account_totp.html", **context)


@router.post("/account/totp", include_in_schema=False)
def enrol_submit(
    request: Request,
    db: DbDep,
    code: Annotated[str, Form(max_length=16)] = "",
    csrf_token_: Annotated[str, Form(alias="csrf_token")] = "",
) -> Response:
    user = page_user(request)
    check_csrf(request, csrf_token_)
    secret = request.session.get(PENDING_SECRET)
    if not isinstance(secret, str):
        return RedirectResponse("/account/totp", status_code=303)
    try:
        security.enable_totp(db, user.actor(client_source(request)), secret, code)
    except ServiceError as exc:
        return _render(
            request,
            "account_totp.html",
            status_code=exc.status_code,
            user=user,
            secret=secret,
            uri=security.provisioning_uri(secret, user.username),
            error=exc.message,
        )
    request.session.pop(PENDING_SECRET, None)
    return _render(request, "account_totp.html", user=user, enabled_now=True, totp_on=True)


@router.post("/account/totp/disable", include_in_schema=False)
def disable_submit(
    request: Request,
    db: DbDep,
    code: Annotated[str, Form(max_length=16)] = "",
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
