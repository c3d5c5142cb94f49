"""Request-scoped helpers: the database, the signed-in user, role checks and CSRF."""

from __future__ import annotations

import hmac
import secrets
import time
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from glabella.services.context import Actor, Database
from glabella.services.errors import Forbidden, Unauthorized
from glabella.services.group_commit import GroupCommitWriter
from glabella.services.submissions import SessionClaim
from glabella.services.users import UserView, end_sessions, get_user
from glabella.settings import Settings


class LoginRequired(Exception):
    """Raised on a page that needs a signed-in user; answered with a redirect to /login."""


class PasswordChangeRequired(Exception):
    """Raised when the account still has its one-time password."""


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def database(request: Request) -> Database:
    """The ``get_db`` dependency, async so FastAPI does not spend a thread hop on it."""
    return get_db(request)


async def form_data(request: Request) -> FormData:
    """The posted form, read on the event loop so that the route itself can be a plain ``def``.

    FastAPI runs a ``def`` route in a worker thread. An ``async def`` form route that called a
    service ran its database work on the event loop, and every other request waited while it
    waited for SQLite's write turn (``tests/web/test_form_routes_off_the_loop.py``).
    """
    return await request.form()


async def group_writer(request: Request) -> GroupCommitWriter:
    """The app's group-commit writer (``glabella.services.group_commit``)."""
    writer: GroupCommitWriter = request.app.state.writer
    return writer


def get_settings_from(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def client_source(request: Request) -> str | None:
    return request.client.host if request.client else None


SECOND_FACTOR_SECONDS = 5 * 60
"""How long a password-checked sign-in waits for its one-time code."""


def sign_in(request: Request, user: UserView) -> None:
    """Start a fresh session for ``user`` (a new CSRF token; the old session is dropped).

    With a second factor on, the session only remembers that the password was right
    (``pending_uid``); :func:`complete_second_factor` signs it in after a valid code.
    """
    request.session.clear()
    request.session["csrf"] = secrets.token_urlsafe(32)
    now = int(time.time())
    if user.totp_enabled:
        request.session["pending_uid"] = user.id
        request.session["pending_at"] = now
        return
    _start_session(request, user, now)


def _start_session(request: Request, user: UserView, now: int) -> None:
    request.session["uid"] = user.id
    request.session["gen"] = user.session_generation
    request.session["role"] = user.role  # a claim: see session_claim
    request.session["at"] = now
    request.session["seen"] = now


def pending_second_factor(request: Request) -> int | None:
    """The user id waiting for its one-time code, or None (also when that wait expired)."""
    uid = request.session.get("pending_uid")
    started = request.session.get("pending_at")
    if not isinstance(uid, int) or not isinstance(started, int):
        return None
    if time.time() - started > SECOND_FACTOR_SECONDS:
        request.session.pop("pending_uid", None)
        request.session.pop("pending_at", None)
        return None
    return uid


def complete_second_factor(request: Request, user: UserView) -> None:
    """Sign the session in after the one-time code was accepted."""
    request.session.clear()
    now = int(time.time())
    request.session["csrf"] = secrets.token_urlsafe(32)
    _start_session(request, user, now)


def keep_session(request: Request, generation: int) -> None:
    """Keep this session signed in after its user's session generation moved on."""
    request.session["gen"] = generation
    request.state.glabella_user = _UNSET  # look the user up again on the next call


def home_page(role: str) -> str:
    """A role's first page: researchers see no patient data, so not the dashboard at "/"."""
    return "/analytics" if role == "researcher" else "/"


def landing_page(user: UserView) -> str:
    """Where a user goes after signing in (a one-time password is replaced first)."""
    return "/account/password" if user.must_change_password else home_page(user.role)


def sign_out(request: Request) -> None:
    """End the session here and on the server (a copied cookie stops working too)."""
    uid = request.session.get("uid")
    request.session.clear()
    if isinstance(uid, int):
        end_sessions(get_db(request), uid, client_source(request))


def session_user(request: Request) -> UserView | None:
    """The signed-in user, or None when there is no session or it has expired.

    A session expires ``session_max_age_seconds`` after sign-in (absolute) and after
    ``session_idle_seconds`` without a request (idle). The answer is cached for the request.
    """
    cached = getattr(request.state, "glabella_user", _UNSET)
    if cached is None or isinstance(cached, UserView):
        return cached
    user = _session_user(request)
    request.state.glabella_user = user
    return user


_UNSET = object()


def _session_user(request: Request) -> UserView | None:
    claim = session_claim(request)
    if claim is None:
        return None
    user = get_user(get_db(request), claim.user_id)
    if user is None or not claim.confirmed_by(user):
        request.session.clear()  # deactivated, or signed out since this session started
        return None
    if claim.role != user.role:
        request.session["role"] = user.role  # the claim follows a role changed meanwhile
    touch_session(request)
    return user


def session_claim(request: Request) -> SessionClaim | None:
    """The signed session's claim, or None without a session or when it has expired.

    A session expires ``session_max_age_seconds`` after sign-in (absolute) and after
    ``session_idle_seconds`` without a request (idle); an expired session is cleared.
    """
    uid = request.session.get("uid")
    started = request.session.get("at")
    if not isinstance(uid, int) or not isinstance(started, int):
        return None
    seen = request.session.get("seen", started)
    settings = get_settings_from(request)
    now = time.time()
    if (
        not isinstance(seen, int)
        or now - started > settings.session_max_age_seconds
        or now - seen > settings.session_idle_seconds
    ):
        request.session.clear()
        return None
    return SessionClaim(
        user_id=uid,
        generation=request.session.get("gen"),
        role=request.session.get("role"),
        source=client_source(request),
    )


def touch_session(request: Request) -> None:
    """Record that the session was used now (once a ``SEEN_STEP_SECONDS`` step has passed)."""
    now = time.time()
    seen = request.session.get("seen")
    if not isinstance(seen, int) or now - seen >= SEEN_STEP_SECONDS:
        request.session["seen"] = int(now)


SEEN_STEP_SECONDS = 60
"""How stale the session's last-seen time may get before it is rewritten. Rewriting it on every
request re-signed and re-sent the cookie each time (measured in bench/clinic_bench.py); the
cost is that an idle session may end up to this much earlier than ``session_idle_seconds``."""


def api_actor(request: Request) -> Actor:
    """The acting user of a JSON API call (401 without a session)."""
    return _api_actor_of(request, session_user(request))


async def request_actor(request: Request) -> Actor:
    """The ``api_actor`` dependency, async: the access middleware has usually looked the
    session's user up already, so no thread hop is spent; otherwise it is looked up in one."""
    cached = getattr(request.state, "glabella_user", _UNSET)
    if cached is None or isinstance(cached, UserView):
        return _api_actor_of(request, cached)
    return _api_actor_of(request, await run_in_threadpool(session_user, request))


def _api_actor_of(request: Request, user: UserView | None) -> Actor:
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


FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"})
"""The body types a cross-site HTML form can send without a CORS preflight."""


def refuse_cross_site(request: Request) -> None:
    """CSRF check of a bodiless JSON API call (``POST /api/v1/auth/logout``).

    Refused when the browser says the request comes from another site (``Sec-Fetch-Site``,
    ``Origin`` not this host), or when it carries a form-like body without the session's CSRF
    token in the ``X-CSRF-Token`` header (a cross-site form cannot set a header).
    """
    message = "refused: this request did not come from this site (CSRF)"
    fetch_site = request.headers.get("sec-fetch-site", "").lower()
    if fetch_site in ("cross-site", "same-site"):
        raise Forbidden(message)
    origin = request.headers.get("origin")
    if origin is not None:
        host = request.headers.get("host", "")
        if origin.split("://", 1)[-1].rstrip("/") != host:
            raise Forbidden(message)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind in FORM_TYPES:
        check_csrf(request, request.headers.get("x-csrf-token"))


DbDep = Annotated[Database, Depends(database)]
"""The database of the app (a route parameter)."""
ActorDep = Annotated[Actor, Depends(request_actor)]
"""The signed-in user of a JSON API request."""
FormDep = Annotated[FormData, Depends(form_data)]
"""The submitted HTML form."""
WriterDep = Annotated[GroupCommitWriter, Depends(group_writer)]
"""The app's group-commit writer (the hot submission path)."""
