"""The optional second factor: time-based one-time passwords (TOTP, RFC 6238, via pyotp).

Enrolment shows the secret once (as text and as an ``otpauth://`` URI for an authenticator
app) and is completed only when the user types a valid code, so a mistyped secret cannot lock
anyone out. A code is accepted for the current 30-second step or one step either side (clock
drift), and only once: the accepted step is stored and older or equal steps are refused
(no replay). Wrong codes count as failed sign-ins (:mod:`glabella.services.throttle`).

Recovery codes: switching the second factor on issues ``RECOVERY_CODE_COUNT`` single-use codes,
shown once. Each has 80 random bits (16 base32 characters, written in groups of four); only its
SHA-256 is stored (table ``recovery_codes``), as for link tokens: with 80 bits a fast hash
cannot be searched back to the code. A code is typed at the one-time-code prompt instead of the
app's code and is used up by a conditional UPDATE (two sign-ins cannot both spend it).
Regenerating replaces every earlier code; turning the second factor off deletes them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

import pyotp
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from glabella.services import audit, throttle
from glabella.services.context import Actor, Database
from glabella.services.errors import Conflict, Invalid, NotFound, Unauthorized
from glabella.services.users import UserView
from glabella.store.models import RecoveryCode, User

ISSUER = "Glabella"
STEP_SECONDS = 30
DRIFT_STEPS = 1
RECOVERY_CODE_COUNT = 10
_BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


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


def new_recovery_code() -> str:
    """A fresh recovery code: 16 random base32 characters (80 bits) as ``XXXX-XXXX-XXXX-XXXX``."""
    raw = "".join(secrets.choice(_BASE32) for _ in range(16))
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


_LOOKALIKES = str.maketrans({"0": "O", "1": "I", "8": "B"})
"""Digits that base32 (RFC 4648) leaves out, read as the letters they look like."""


def _normalise_recovery(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum()).translate(_LOOKALIKES)


def recovery_hash(code: str) -> str:
    """The stored form of a recovery code: SHA-256 (hex) of its letters and digits, upper case
    (so spaces, dashes, case and a 0, 1 or 8 typed for O, I or B do not matter)."""
    return hashlib.sha256(_normalise_recovery(code).encode("ascii", "replace")).hexdigest()


def looks_like_recovery_code(code: str) -> bool:
    """A recovery code has 16 base32 characters once spaces and dashes are dropped."""
    raw = _normalise_recovery(code)
    return len(raw) == 16 and all(ch in _BASE32 for ch in raw)


def _issue_recovery_codes(session: Session, user: User, now: dt.datetime) -> list[str]:
    """Replace the user's recovery codes with ``RECOVERY_CODE_COUNT`` new ones (returned once)."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    session.add_all(
        RecoveryCode(user_id=user.id, code_hash=recovery_hash(c), created_at=now) for c in codes
    )
    session.flush()
    return codes


def _spend_recovery_code(session: Session, user: User, code: str, now: dt.datetime) -> bool:
    """Use up one unused recovery code of ``user``; False when it is not one (or was used)."""
    if not looks_like_recovery_code(code):
        return False
    result = session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == recovery_hash(code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def _unused_codes(session: Session, user_id: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
        )
        or 0
    )


def recovery_codes_left(db: Database, user_id: int) -> int:
    """How many unused recovery codes the user has."""
    with db.read() as session:
        return _unused_codes(session, user_id)


def _load(session: Session, user_id: int | None) -> User:
    user = session.get(User, user_id) if user_id is not None else None
    if user is None or not user.active:
        raise NotFound("no such user")
    return user


def enable_totp(db: Database, actor: Actor, secret: str, code: str) -> list[str]:
    """Turn on the second factor for one's own account after a valid code from the app; returns
    the new recovery codes (shown once)."""
    with db.transaction() as session:
        user = _load(session, actor.user_id)
        if user.totp_secret is not None:
            raise Conflict("the second factor is already on", field="code")
        user.totp_secret = secret
        if not _accept(user, code, db.now().timestamp()):
            raise Invalid(
                "that code is not right; check the app's clock and try again", field="code"
            )
        codes = _issue_recovery_codes(session, user, db.now())
        audit.record(session, actor, "auth.totp_enable", "user", user.id, recovery_codes=len(codes))
        return codes


def regenerate_recovery_codes(db: Database, actor: Actor, code: str) -> list[str]:
    """New recovery codes for one's own account (every earlier one stops working); needs a
    current code from the app or an unused recovery code."""
    now = db.now()
    with db.transaction() as session:
        user = _load(session, actor.user_id)
        if user.totp_secret is None:
            raise Conflict(
                "turn the second factor on first: recovery codes stand in for it", field="code"
            )
        if not (
            _accept(user, code, now.timestamp()) or _spend_recovery_code(session, user, code, now)
        ):
            raise Invalid("that code is not right", field="code")
        codes = _issue_recovery_codes(session, user, now)
        audit.record(
            session, actor, "auth.recovery_codes_regenerate", "user", user.id, count=len(codes)
        )
        return codes


def disable_totp(db: Database, actor: Actor, code: str) -> None:
    """Turn off one's own second factor (a current code is required)."""
    with db.transaction() as session:
        user = _load(session, actor.user_id)
        if user.totp_secret is None:
            raise Conflict("the second factor is not on", field="code")
        now = db.now()
        if not (
            _accept(user, code, now.timestamp()) or _spend_recovery_code(session, user, code, now)
        ):
            raise Invalid("that code is not right", field="code")
        user.totp_secret = None
        user.totp_last_step = None
        session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
        audit.record(session, actor, "auth.totp_disable", "user", user.id)


def verify_second_factor(db: Database, user_id: int, code: str, source: str | None) -> UserView:
    """Complete a sign-in with the one-time code from the app or an unused recovery code;
    failures count towards the lockout."""
    now = db.now()
    with db.transaction() as session:
        user = _load(session, user_id)
        username = user.username
        throttle.check(session, username, source, now)
        if _accept(user, code, now.timestamp()):
            view = UserView.of(user)
            throttle.record_success(session, username)
            audit.record(session, view.actor(source), "auth.login_second_factor", "user", user.id)
            return view
        if user.totp_secret is not None and _spend_recovery_code(session, user, code, now):
            view = UserView.of(user)
            throttle.record_success(session, username)
            audit.record(
                session,
                view.actor(source),
                "auth.login_recovery_code",
                "user",
                user.id,
                left=_unused_codes(session, user.id),
            )
            return view
    with db.transaction() as session:
        locked = throttle.record_failure(session, username, source, now)
        audit.record(
            session, None, "auth.second_factor_failed", "user", user_id, source=source, lock=locked
        )
    raise Unauthorized("that one-time code is not right")
