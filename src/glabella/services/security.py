"""The optional second factor: time-based one-time passwords (TOTP, RFC 6238, via pyotp).

Enrolment shows the secret once (as text and as an ``otpauth://`` URI for an authenticator
app) and is completed only when the user types a valid code, so a mistyped secret cannot lock
anyone out. A code is accepted for the current 30-second step or one step either side (clock
drift), and only once: the accepted step is stored and older or equal steps are refused
(no replay). Wrong codes count as failed sign-ins (:mod:`glabella.services.throttle`).
"""

from __future__ import annotations

import hmac

import pyotp
from sqlalchemy.orm import Session

from glabella.services import audit, throttle
from glabella.services.context import Actor, Database
from glabella.services.errors import Conflict, Invalid, NotFound, Unauthorized
from glabella.services.users import UserView
from glabella.store.models import User

ISSUER = "Glabella"
STEP_SECONDS = 30
DRIFT_STEPS = 1


def new_secret() -> str:
    """A fresh random base32 secret (160 bits)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, username: str) -> str:
    """The ``otpauth://totp/...`` URI an authenticator app imports."""
    return pyotp.TOTP(secret, interval=STEP_SECONDS).provisioning_uri(
        name=username, issuer_name=ISSUER
    )


def matching_step(secret: str, code: str, now_ts: float) -> int | None:
    """The time step whose code equals ``code`` (now, or one step either side), else None."""
    code = "".join(code.split())
    if not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    current = int(now_ts // STEP_SECONDS)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def _accept(user: User, code: str, now_ts: float) -> bool:
    """Check ``code`` against the user's secret and use it up (no replay)."""
    if user.totp_secret is None:
        return False
    step = matching_step(user.totp_secret, code, now_ts)
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        return False
    user.totp_last_step = step
    return True


def _load(session: Session, user_id: int | None) -> User:
    user = session.get(User, user_id) if user_id is not None else None
    if user is None or not user.active:
        raise NotFound("no such user")
    return user


def enable_totp(db: Database, actor: Actor, secret: str, code: str) -> None:
    """Turn on the second factor for one's own account after a valid code from the app."""
    with db.transaction() as session:
        user = _load(session, actor.user_id)
        if user.totp_secret is not None:
            raise Conflict("the second factor is already on", field="code")
        user.totp_secret = secret
        if not _accept(user, code, db.now().timestamp()):
            raise Invalid(
                "that code is not right; check the app's clock and try again", field="code"
            )
        audit.record(session, actor, "auth.totp_enable", "user", user.id)


def disable_totp(db: Database, actor: Actor, code: str) -> None:
    """Turn off one's own second factor (a current code is required)."""
    with db.transaction() as session:
        user = _load(session, actor.user_id)
        if user.totp_secret is None:
            raise Conflict("the second factor is not on", field="code")
        if not _accept(user, code, db.now().timestamp()):
            raise Invalid("that code is not right", field="code")
        user.totp_secret = None
        user.totp_last_step = None
        audit.record(session, actor, "auth.totp_disable", "user", user.id)


def verify_second_factor(db: Database, user_id: int, code: str, source: str | None) -> UserView:
    """Complete a sign-in with the one-time code; failures count towards the lockout."""
    now = db.now()
    with db.transaction() as session:
        user = _load(session, user_id)
        username = user.username
        throttle.check(session, username, source, now)
        ok = _accept(user, code, now.timestamp())
        if ok:
            view = UserView.of(user)
            throttle.record_success(session, username)
            audit.record(session, view.actor(source), "auth.login_second_factor", "user", user.id)
            return view
    with db.transaction() as session:
        locked = throttle.record_failure(session, username, source, now)
        audit.record(
            session, None, "auth.second_factor_failed", "user", user_id, source=source, lock=locked
        )
    raise Unauthorized("that one-time code is not right")
