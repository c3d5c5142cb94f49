"""Request-scoped helpers: the database, the signed-in user, role checks and CSRF."""

from __future__ import annotations

import hmac
import secrets
import time

from fastapi import Request

from glabella.services.context import Actor, Database
from glabella.services.errors import Forbidden, Unauthorized
from glabella.services.users import UserView, get_user
from glabella.settings import Settings


class LoginRequired(Exception):
    """Raised on a page that needs a signed-in user; answered with a redirect to /login."""


class PasswordChangeRequired(Exception):
    """Raised when the account still has its one-time password."""


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_settings_from(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def client_source(request: Request) -> str | None:
    return request.client.host if request.client else None


def sign_in(request: Request, user: UserView) -> None:
    """Start a fresh session for ``user`` (a new CSRF token; the old session is dropped)."""
    request.session.clear()
    request.session["uid"] = user.id
    request.session["at"] = int(time.time())
    request.session["csrf"] = secrets.token_urlsafe(32)


def sign_out(request: Request) -> None:
    request.session.clear()


def session_user(request: Request) -> UserView | None:
    """The signed-in user, or None when there is no session or it has expired."""
    uid = request.session.get("uid")
    started = request.session.get("at")
    if not isinstance(uid, int) or not isinstance(started, int):
        return None
    max_age = get_settings_from(request).session_max_age_seconds
    if time.time() - started > max_age:
        request.session.clear()
        return None
    return get_user(get_db(request), uid)


def api_actor(request: Request) -> Actor:
    """The acting user of a JSON API call (401 without a session)."""
    user = session_user(request)
    if user is None:
        raise Unauthorized("sign in first: POST /api/v1/auth/login")
    if user.must_change_password:
        raise Forbidden("change your one-time password first: POST /api/v1/auth/password")
    return user.actor(client_source(request))


def page_user(request: Request, *, allow_password_change: bool = False) -> UserView:
    """The signed-in user of an HTML page (redirects to /login without a session)."""
    user = session_user(request)
    if user is None:
        raise LoginRequired()
    if user.must_change_password and not allow_password_change:
        raise PasswordChangeRequired()
    return user


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def check_csrf(request: Request, submitted: str | None) -> None:
    """Refuse a form post whose CSRF token does not match the session's."""
    expected = request.session.get("csrf")
    if (
        not isinstance(expected, str)
        or not submitted
        or not hmac.compare_digest(expected, submitted)
    ):
        raise Forbidden("the form has expired or did not come from this site; reload and try again")
