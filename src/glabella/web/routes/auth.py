"""Sign-in, sign-out, one's own password, the second factor (TOTP) and the account menu:
pages and JSON API."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from glabella.services import security
from glabella.services import users as user_service
from glabella.services.context import Actor, Database
from glabella.services.errors import Conflict, Invalid, NotFound, ServiceError, Unauthorized
from glabella.services.users import UserView
from glabella.web.deps import (
    ActorDep,
    DbDep,
    FormDep,
    check_csrf,
    client_source,
    complete_second_factor,
    home_page,
    keep_session,
    landing_page,
    page_user,
    pending_second_factor,
    refuse_cross_site,
    session_user,
    sign_in,
    sign_out,
)
from glabella.web.form_route import FormModel, handle_form
from glabella.web.qr import qr_svg
from glabella.web.routes import Strict
from glabella.web.templating import redirect, render

api_router = APIRouter(prefix="/api/v1")
router = APIRouter(include_in_schema=False)
PENDING_SECRET = "totp_enrol_secret"
CODE_LENGTH = 32
"""Longest code accepted: a 6-digit code, or a recovery code typed with spaces or dashes."""


# --- JSON API -------------------------------------------------------------------------------


class LoginBody(Strict):
    username: str = Field(min_length=1, max_length=80)
    password: str = Field(min_length=1, max_length=256)


class PasswordBody(Strict):
    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=1, max_length=256)


class TotpBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=CODE_LENGTH)


def _user_dict(user: user_service.UserView) -> dict[str, object]:
    return {
        "id": user.id,
        "username": user.username,
        "full_name": user.full_name,
        "role": user.role,
        "must_change_password": user.must_change_password,
    }


@api_router.post("/auth/login", tags=["auth"])
def login(body: LoginBody, request: Request, db: DbDep) -> dict[str, object]:
    """Sign in; the session cookie is set on the response."""
    user = user_service.authenticate(db, body.username, body.password, client_source(request))
    sign_in(request, user)
    return _user_dict(user)


@api_router.post("/auth/logout", tags=["auth"])
def logout(request: Request) -> dict[str, object]:
    """Sign out. Refused (403) from another site: a cross-origin ``Origin`` or
    ``Sec-Fetch-Site``, or a body type an HTML form can send (form, text) without the session's
    CSRF token in ``X-CSRF-Token``: JSON or no body, from this site, needs no token."""
    refuse_cross_site(request)
    sign_out(request)
    return {"signed_out": True}


@api_router.post("/auth/password", tags=["auth"])
def change_password(body: PasswordBody, request: Request, db: DbDep) -> dict[str, object]:
    """Change one's own password (also replaces a one-time password)."""
    user = session_user(request)
    if user is None:
        raise Unauthorized("sign in first: POST /api/v1/auth/login")
    try:
        generation = user_service.change_password(
            db, user.actor(client_source(request)), body.current_password, body.new_password
        )
    except Invalid as exc:  # the passphrase rules name "password": here it is new_password
        if exc.field != "password":
            raise
        raise Invalid(exc.message, field="new_password") from None
    keep_session(request, generation)  # other sessions of this user end here
    return {"changed": True}


@api_router.get("/me", tags=["auth"])
def me(actor: ActorDep, db: DbDep) -> dict[str, object]:
    user = user_service.get_user(db, actor.user_id or 0)
    if user is None:
        raise NotFound("no such user")
    return _user_dict(user)


@api_router.post("/auth/totp", tags=["auth"])
def api_second_factor(body: TotpBody, request: Request, db: DbDep) -> dict[str, object]:
    """Second sign-in step for an account with TOTP on: the 6-digit code from the app."""
    uid = pending_second_factor(request)
    if uid is None:
        raise Unauthorized("sign in with your password first: POST /api/v1/auth/login")
    user = security.verify_second_factor(db, uid, body.code, client_source(request))
    complete_second_factor(request, user)
    return {"id": user.id, "username": user.username, "role": user.role}


# --- JSON API: one's own second factor ------------------------------------------------------


@api_router.get("/account", tags=["account"])
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


@api_router.post("/account/totp/enrol", tags=["account"])
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


@api_router.post("/account/totp/confirm", tags=["account"])
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


@api_router.post("/account/totp/disable", tags=["account"])
def api_totp_disable(body: TotpBody, actor: ActorDep, db: DbDep) -> dict[str, object]:
    """Switch the second factor off (a current code from the app, or a recovery code)."""
    security.disable_totp(db, actor, body.code)
    return {"totp_enabled": False}


@api_router.post("/account/recovery-codes", tags=["account"])
def api_recovery_codes(body: TotpBody, actor: ActorDep, db: DbDep) -> dict[str, object]:
    """New recovery codes (every earlier one stops working); needs a current code from the
    app or an unused recovery code. The answer carries them, this once."""
    return {"recovery_codes": security.regenerate_recovery_codes(db, actor, body.code)}


# --- pages ----------------------------------------------------------------------------------


@router.get("/login")
def login_page(request: Request) -> HTMLResponse:
    return render(request, "login.html")


@router.post("/login")
def login_submit(
    request: Request,
    db: DbDep,
    username: Annotated[str, Form(max_length=80)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    csrf_token_: Annotated[str, Form(alias="csrf_token")] = "",
) -> Response:
    check_csrf(request, csrf_token_)
    try:
        user = user_service.authenticate(db, username, password, client_source(request))
    except ServiceError as exc:
        return render(request, "login.html", status_code=401, error=exc.message, username=username)
    sign_in(request, user)
    return redirect(landing_page(user))


@router.post("/logout")
def logout_submit(
    request: Request, csrf_token_: Annotated[str, Form(alias="csrf_token")] = ""
) -> Response:
    check_csrf(request, csrf_token_)
    sign_out(request)
    return redirect("/login")


@router.get("/account/password")
def password_page(request: Request) -> HTMLResponse:
    user = page_user(request, allow_password_change=True)
    return render(request, "password.html", user=user)


class PasswordForm(FormModel):
    """The password form (``password.html``); nothing typed is shown again."""

    current_password: str = Field(default="", max_length=256, title="Current password")
    new_password: str = Field(default="", max_length=256, title="New password")
    confirm_password: str = Field(default="", max_length=256, title="New password again")

    @classmethod
    def form_field(cls, service_field: str) -> str:
        # the passphrase rules name "password": here it is the new one
        return "new_password" if service_field == "password" else service_field


@router.post("/account/password")
def password_submit(request: Request, form: FormDep, db: DbDep) -> Response:
    def change(actor: Actor, data: PasswordForm, user: UserView) -> Response:
        if data.new_password != data.confirm_password:
            raise Invalid(
                "New password again: differs from the new password", field="confirm_password"
            )
        generation = user_service.change_password(
            db, actor, data.current_password, data.new_password
        )
        keep_session(request, generation)  # other sessions of this user end here
        return redirect(home_page(user.role))

    return handle_form(
        request,
        form,
        model=PasswordForm,
        template="password.html",
        context=lambda actor, values: {},
        action=change,
        allow_password_change=True,
    )


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


@router.get("/login/totp")
def second_factor_page(request: Request) -> Response:
    if pending_second_factor(request) is None:
        return RedirectResponse("/login", status_code=303)
    return render(request, "login_totp.html")


@router.post("/login/totp")
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
        return render(request, "login_totp.html", status_code=exc.status_code, error=exc.message)
    complete_second_factor(request, user)
    target = landing_page(user)
    return RedirectResponse(target, status_code=303)


@router.get("/account")
def account_page(request: Request, db: DbDep) -> HTMLResponse:
    user = page_user(request)
    return _account(request, db, user)


def _account(
    request: Request, db: Database, user: UserView, status_code: int = 200, **context: Any
) -> HTMLResponse:
    return render(
        request,
        "account.html",
        status_code=status_code,
        user=user,
        **_account_context(db, user),
        **context,
    )


class CodeForm(FormModel):
    """A code from the authenticator app, or a recovery code (the account's two-factor forms);
    nothing typed is shown again."""

    code: str = Field(default="", max_length=CODE_LENGTH, title="Code")


def _account_context(db: Database, user: UserView) -> dict[str, Any]:
    clinics = {c.id: c.name for c in user_service.list_clinics(db)}
    return {
        "clinic_name": clinics.get(user.clinic_id, ""),
        "codes_left": security.recovery_codes_left(db, user.id),
    }


@router.post("/account/recovery-codes")
def recovery_codes_submit(request: Request, form: FormDep, db: DbDep) -> Response:
    def regenerate(actor: Actor, data: CodeForm, user: UserView) -> Response:
        codes = security.regenerate_recovery_codes(db, actor, data.code)
        return render(request, "recovery_codes.html", user=user, codes=codes, regenerated=True)

    return handle_form(
        request,
        form,
        model=CodeForm,
        template="account.html",
        context=lambda actor, values: _account_context(db, page_user(request)),
        action=regenerate,
    )


@router.get("/account/totp")
def enrol_page(request: Request) -> HTMLResponse:
    user = page_user(request)
    context: dict[str, Any] = {"user": user}
    if not user.totp_enabled:
        context.update(_enrolment(user, _pending_secret(request)))
    return render(request, "account_totp.html", **context)


@router.post("/account/totp")
def enrol_submit(request: Request, form: FormDep, db: DbDep) -> Response:
    secret = request.session.get(PENDING_SECRET)

    def enable(actor: Actor, data: CodeForm, user: UserView) -> Response:
        if not isinstance(secret, str):
            return RedirectResponse("/account/totp", status_code=303)
        codes = security.enable_totp(db, actor, secret, data.code)
        request.session.pop(PENDING_SECRET, None)
        return render(request, "recovery_codes.html", user=user, codes=codes, enabled_now=True)

    return handle_form(
        request,
        form,
        model=CodeForm,
        template="account_totp.html",
        context=lambda actor, values: (
            _enrolment(page_user(request), secret) if isinstance(secret, str) else {}
        ),
        action=enable,
    )


@router.post("/account/totp/disable")
def disable_submit(request: Request, form: FormDep, db: DbDep) -> Response:
    def disable(actor: Actor, data: CodeForm, user: UserView) -> Response:
        security.disable_totp(db, actor, data.code)
        return RedirectResponse("/account/totp", status_code=303)

    return handle_form(
        request,
        form,
        model=CodeForm,
        template="account_totp.html",
        context=lambda actor, values: {},
        action=disable,
    )
