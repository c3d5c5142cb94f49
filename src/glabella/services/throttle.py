"""Sign-in throttling and lockout, per username and per source address.

Policy (documented in docs/security.md):

* a username with ``USERNAME_LIMIT`` (5) failed sign-ins (wrong password or wrong one-time code)
  within ``WINDOW`` (15 minutes) is locked for ``LOCKOUT`` (15 minutes);
* a source address is never locked (a clinic's staff may share one address behind NAT or a
  proxy, and a lock would shut them all out, e.g. during a suicide-risk follow-up): after
  ``SOURCE_LIMIT`` (20) failures within the window, each further attempt from it must wait a
  growing delay after the last failure, ``2 ** (failures - SOURCE_LIMIT)`` seconds capped at
  ``SOURCE_DELAY_CAP`` (60 s); the count ends ``WINDOW`` after it started, and
  ``glabella users unlock --address A`` clears it;
* while locked, sign-in is refused *before* the password is checked, with the same message
  whether or not the password was right (no oracle); a success clears the username's count.

NIST SP 800-63B rev. 4 section 3.2.2 asks for a limit of at most 100 consecutive failures;
these limits are far below it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from glabella.services.errors import ServiceError
from glabella.store.models import LoginThrottle

USERNAME_LIMIT = 5
SOURCE_LIMIT = 20
SOURCE_DELAY_CAP = dt.timedelta(seconds=60)
WINDOW = dt.timedelta(minutes=15)
LOCKOUT = dt.timedelta(minutes=15)


class TooManyAttempts(ServiceError):
    """Sign-in refused because of too many recent failures (HTTP 429)."""

    status_code = 429
    code = "too_many_attempts"


def _keys(username: str, source: str | None) -> list[tuple[str, str, int]]:
    keys = [("username", username[:200], USERNAME_LIMIT)]
    if source:
        keys.append(("source", source[:200], SOURCE_LIMIT))
    return keys


def _row(session: Session, kind: str, key: str, now: dt.datetime) -> LoginThrottle:
    stmt = select(LoginThrottle).where(LoginThrottle.kind == kind, LoginThrottle.key == key)
    row = session.scalars(stmt.with_for_update()).first()
    if row is not None:
        return row
    try:
        with session.begin_nested():
            row = LoginThrottle(kind=kind, key=key, failures=0, window_started_at=now)
            session.add(row)
        return row
    except IntegrityError:  # created meanwhile by a concurrent failure
        found = session.scalars(stmt.with_for_update()).first()
        assert found is not None
        return found


def locked_until(
    session: Session, username: str, source: str | None, now: dt.datetime
) -> dt.datetime | None:
    """When the username or the source is locked, the end of the lock (else None)."""
    until: dt.datetime | None = None
    for kind, key, _limit in _keys(username, source):
        row = session.scalars(
            select(LoginThrottle).where(LoginThrottle.kind == kind, LoginThrottle.key == key)
        ).first()
        if row is not None and row.locked_until is not None and row.locked_until > now:
            until = row.locked_until if until is None else max(until, row.locked_until)
    return until


def source_delay(failures: int) -> dt.timedelta:
    """The wait after a source address's ``failures``-th failure (from ``SOURCE_LIMIT`` on)."""
    exponent = min(max(0, failures - SOURCE_LIMIT), 16)
    return min(dt.timedelta(seconds=2**exponent), SOURCE_DELAY_CAP)


def refusal(until: dt.datetime, now: dt.datetime) -> TooManyAttempts:
    """The error shown while locked (it does not say whether the password was right)."""
    seconds = (until - now).total_seconds()
    if seconds <= SOURCE_DELAY_CAP.total_seconds():
        return TooManyAttempts(
            f"too many failed sign-ins; try again in {max(1, int(seconds) + 1)} second(s)",
            field="username",
        )
    minutes = max(1, int(seconds // 60) + 1)
    return TooManyAttempts(
        f"too many failed sign-ins; try again in {minutes} minute(s) or ask an administrator",
        field="username",
    )


def check(session: Session, username: str, source: str | None, now: dt.datetime) -> None:
    """Raise ``TooManyAttempts`` while the username or the source address is locked."""
    until = locked_until(session, username, source, now)
    if until is not None:
        raise refusal(until, now)


def record_failure(session: Session, username: str, source: str | None, now: dt.datetime) -> bool:
    """Count one failure against the username and the source; True when a lock started."""
    locked = False
    for kind, key, limit in _keys(username, source):
        row = _row(session, kind, key, now)
        if now - row.window_started_at > WINDOW:
            row.failures = 0
            row.window_started_at = now
        row.failures += 1
        if kind == "source":
            if row.failures >= limit:
                row.locked_until = now + source_delay(row.failures)
            continue
        if row.failures >= limit:
            row.locked_until = now + LOCKOUT
            row.failures = 0
            row.window_started_at = now
            locked = True
    session.flush()
    return locked


def record_success(session: Session, username: str) -> None:
    """A successful sign-in clears the username's failure count (not the source's)."""
    row = session.scalars(
        select(LoginThrottle).where(
            LoginThrottle.kind == "username", LoginThrottle.key == username[:200]
        )
    ).first()
    if row is not None:
        row.failures = 0
        row.locked_until = None


def unlock(session: Session, username: str) -> bool:
    """An administrator lifts a username's lock; True when there was one."""
    row = session.scalars(
        select(LoginThrottle).where(
            LoginThrottle.kind == "username", LoginThrottle.key == username[:200]
        )
    ).first()
    if row is None or row.locked_until is None:
        return False
    row.locked_until = None
    row.failures = 0
    return True


def unlock_source(session: Session, address: str) -> bool:
    """An administrator clears a source address's failures and delay; True when it had any."""
    row = session.scalars(
        select(LoginThrottle).where(LoginThrottle.kind == "source", LoginThrottle.key == address)
    ).first()
    if row is None or (row.failures == 0 and row.locked_until is None):
        return False
    row.locked_until = None
    row.failures = 0
    return True
