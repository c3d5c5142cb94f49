"""Use cases for staff accounts and clinics: first admin, sign-in (with throttling and the
optional TOTP second factor), password change."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, object_session

from glabella.services import audit, throttle
from glabella.services.context import Actor, Database, utcnow
from glabella.services.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from glabella.services.passwords import (
    check_password_rule,
    generate_password,
    hash_password,
    verify_password,
)
from glabella.services.roles import Role
from glabella.store.models import Clinic, User


@dataclass(frozen=True)
class UserView:
    id: int
    username: str
    full_name: str
    role: str
    clinic_id: int
    must_change_password: bool
    totp_enabled: bool = False
    session_generation: int = 0
    clinic_timezone: str = "UTC"
    """The IANA timezone of the user's clinic (``clinics.timezone``): the one source pages use
    to show and read local times (settings' ``timezone`` only names the first clinic's zone)."""

    @classmethod
    def of(cls, user: User) -> UserView:
        session = object_session(user)
        clinic = session.get(Clinic, user.clinic_id) if session is not None else None
        return cls(
            id=user.id,
            username=user.username,
            full_name=user.full_name,
            role=user.role,
            clinic_id=user.clinic_id,
            must_change_password=user.must_change_password,
            totp_enabled=user.totp_secret is not None,
            session_generation=user.session_generation or 0,
            clinic_timezone=clinic.timezone if clinic is not None else "UTC",
        )

    def actor(self, source: str | None = None) -> Actor:
        return Actor(
            user_id=self.id,
            username=self.username,
            role=self.role,
            clinic_id=self.clinic_id,
            source=source,
        )


def default_clinic(session: Session, name: str, timezone: str) -> Clinic:
    """The installation's first clinic, created on first use."""
    clinic = session.scalars(select(Clinic).order_by(Clinic.id).limit(1)).first()
    if clinic is None:
        clinic = Clinic(name=name, timezone=timezone, created_at=utcnow())
        session.add(clinic)
        session.flush()
    return clinic


@dataclass(frozen=True)
class ClinicView:
    id: int
    name: str
    timezone: str


def _clinic_named(session: Session, name: str, timezone: str) -> tuple[Clinic, bool]:
    clinic = session.scalars(select(Clinic).where(Clinic.name == name)).first()
    if clinic is not None:
        return clinic, False
    clinic = Clinic(name=name, timezone=timezone, created_at=utcnow())
    session.add(clinic)
    session.flush()
    return clinic, True


def create_clinic(
    db: Database, name: str, *, timezone: str = "Europe/London", actor: Actor | None = None
) -> ClinicView:
    """Add a clinic to the installation (its patients are invisible to every other clinic)."""
    name = " ".join(name.split())
    if not name or len(name) > 200:
        raise Invalid("a clinic needs a name of 1 to 200 characters", field="clinic")
    with db.transaction() as session:
        clinic, created = _clinic_named(session, name, timezone)
        if not created:
            raise Conflict(f"clinic {name!r} exists already", field="clinic")
        audit.record(session, actor, "clinic.create", "clinic", clinic.id)
        return ClinicView(id=clinic.id, name=clinic.name, timezone=clinic.timezone)


def list_clinics(db: Database) -> list[ClinicView]:
    """Every clinic of the installation."""
    with db.transaction() as session:
        return [
            ClinicView(id=c.id, name=c.name, timezone=c.timezone)
            for c in session.scalars(select(Clinic).order_by(Clinic.id))
        ]


def create_user(
    db: Database,
    *,
    username: str,
    full_name: str,
    role: str,
    password: str | None = None,
    clinic_name: str = "Glabella Clinic",
    timezone: str = "Europe/London",
    actor: Actor | None = None,
    clinic: str | None = None,
) -> tuple[UserView, str]:
    """Create a staff account; returns it and its one-time password (must be changed).

    The account belongs to the clinic named ``clinic`` (created when missing), or else to the
    installation's first clinic (``clinic_name``, created on first use).
    """
    username = username.strip().lower()
    if not username or not username.replace(".", "").replace("-", "").replace("_", "").isalnum():
        raise Invalid("username must be letters, digits, '.', '-' or '_'", field="username")
    try:
        role = Role(role).value
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise Invalid(f"unknown role {role!r}; one of {allowed}", field="role") from None
    one_time = password or generate_password()
    if password is not None:
        check_password_rule(password, username=username)
    with db.transaction() as session:
        if session.scalars(select(User).where(User.username == username)).first():
            raise Conflict(f"username {username!r} is taken", field="username")
        if clinic is not None and clinic.strip():
            home, _ = _clinic_named(session, " ".join(clinic.split()), timezone)
        else:
            home = default_clinic(session, clinic_name, timezone)
        user = User(
            clinic_id=home.id,
            username=username,
            full_name=full_name.strip() or username,
            role=role,
            password_hash=hash_password(one_time),
            must_change_password=password is None,
            active=True,
            created_at=db.now(),
        )
        session.add(user)
        session.flush()
        audit.record(session, actor, "user.create", "user", user.id, role=role)
        return UserView.of(user), one_time


def ensure_admin(
    db: Database, *, clinic_name: str = "Glabella Clinic", timezone: str = "Europe/London"
) -> tuple[UserView, str] | None:
    """On an installation with no users, create ``admin`` with a one-time password."""
    with db.transaction() as session:
        count = session.scalar(select(func.count()).select_from(User)) or 0
    if count:
        return None
    return create_user(
        db,
        username="admin",
        full_name="Administrator",
        role=Role.ADMIN,
        clinic_name=clinic_name,
        timezone=timezone,
    )


@functools.cache
def _dummy_hash() -> str:
    """A hash to check unknown usernames against (equal timing); made on first use, not import."""
    return hash_password("not a real password; equalises timing for unknown usernames")


WRONG_CREDENTIALS = "wrong username or password"


def authenticate(db: Database, username: str, password: str, source: str | None) -> UserView:
    """Check a username and password; the same message whatever was wrong.

    Refused without checking the password while the username or the source address is locked
    (:mod:`glabella.services.throttle`). The argon2 check runs outside any transaction so that a
    sign-in never holds the database's write lock. A user with a TOTP secret still has to give
    a one-time code (:func:`glabella.services.security.verify_second_factor`) before the
    session is signed in.
    """
    name = username.strip().lower()
    now = db.now()
    stored_hash: str | None = None
    view: UserView | None = None
    with db.transaction() as session:
        until = throttle.locked_until(session, name, source, now)
        if until is None:
            user = session.scalars(select(User).where(User.username == name)).first()
            if user is not None and user.active:
                stored_hash, view = user.password_hash, UserView.of(user)
        else:
            audit.record(session, None, "auth.login_refused_locked", "user", None, source=source)
    if until is not None:
        raise throttle.refusal(until, now)
    ok = verify_password(stored_hash or _dummy_hash(), password) and stored_hash is not None
    with db.transaction() as session:
        if not ok or view is None:
            started_lock = throttle.record_failure(session, name, source, now)
            audit.record(
                session, None, "auth.login_failed", "user", None, source=source, locked=started_lock
            )
        else:
            throttle.record_success(session, name)
            audit.record(session, view.actor(source), "auth.login", "user", view.id)
            return view
    raise Unauthorized(WRONG_CREDENTIALS)


def unlock_user(db: Database, username: str, actor: Actor | None = None) -> bool:
    """Lift a username's sign-in lock (administrators); True when it was locked."""
    if actor is not None and actor.role != Role.ADMIN:
        raise Forbidden("only an administrator may unlock an account")
    name = username.strip().lower()
    with db.transaction() as session:
        if session.scalars(select(User).where(User.username == name)).first() is None:
            raise NotFound(f"no user {name!r}", field="username")
        lifted = throttle.unlock(session, name)
        audit.record(session, actor, "auth.unlock", "user", None, lifted=lifted)
        return lifted


def unlock_address(db: Database, address: str, actor: Actor | None = None) -> bool:
    """Clear a source address's failed sign-ins and delay (administrators); True when it had
    any."""
    if actor is not None and actor.role != Role.ADMIN:
        raise Forbidden("only an administrator may unlock an address")
    address = address.strip()
    if not address or len(address) > 200:
        raise Invalid("address: give the IP address to unlock", field="address")
    with db.transaction() as session:
        lifted = throttle.unlock_source(session, address)
        audit.record(session, actor, "auth.unlock_address", "source", None, lifted=lifted)
        return lifted


_ACTIVE_USER = (
    select(
        User.id,
        User.username,
        User.full_name,
        User.role,
        User.clinic_id,
        User.must_change_password,
        User.totp_secret.is_not(None),
        User.session_generation,
        Clinic.timezone,
    )
    .join(Clinic, Clinic.id == User.clinic_id)
    .where(User.id == bindparam("id"), User.active.is_(True))
)


def staff_name(session: Session, actor: Actor) -> str:
    """The name a person reads for ``actor``: the account's full name, else the username."""
    if actor.user_id is not None:
        user = session.get(User, actor.user_id)
        if user is not None and user.full_name.strip():
            return user.full_name
    return actor.username


def get_user(db: Database, user_id: int) -> UserView | None:
    """The active account with this id, or None.

    Every signed-in request calls this, so it is one prebuilt column query on a read-only
    transaction (no write lock, no ORM object).
    """
    with db.read() as session:
        return active_user_in(session, user_id)


def active_user_in(session: Session, user_id: int) -> UserView | None:
    """:func:`get_user` inside the caller's transaction (a write that confirms its session)."""
    row = session.connection().execute(_ACTIVE_USER, {"id": user_id}).first()
    if row is None:
        return None
    uid, username, full_name, role, clinic_id, must_change, totp, generation, tz = row
    return UserView(
        id=uid,
        username=username,
        full_name=full_name,
        role=role,
        clinic_id=clinic_id,
        must_change_password=bool(must_change),
        totp_enabled=bool(totp),
        session_generation=generation or 0,
        clinic_timezone=tz or "UTC",
    )


def active_actor_named(db: Database, username: str, source: str | None) -> Actor:
    """The actor for the active account ``username`` (e.g. the clinician a CLI command acts
    for, so the record names who did it). NotFound naming the username otherwise."""
    name = username.strip().lower()
    with db.read() as session:
        user = session.scalars(
            select(User).where(User.username == name, User.active.is_(True))
        ).first()
        if user is None:
            raise NotFound(f"no active account {name!r}", field="by")
        return UserView.of(user).actor(source)


def end_sessions(db: Database, user_id: int, source: str | None) -> None:
    """Sign the user out on the server: every session started before now is refused."""
    with db.transaction() as session:
        user = session.get(User, user_id)
        if user is None:
            return
        user.session_generation = (user.session_generation or 0) + 1
        audit.record(session, UserView.of(user).actor(source), "auth.sign_out", "user", user.id)


def change_password(db: Database, actor: Actor, current: str, new: str) -> int:
    """Change one's own password after checking the current one and the password rule.

    Every other session of the user ends (a new session generation); the caller moves the
    session it is serving to the returned generation so that it stays signed in.
    """
    check_password_rule(new, username=actor.username)
    with db.transaction() as session:
        user = session.get(User, actor.user_id)
        if user is None or not verify_password(user.password_hash, current):
            raise Invalid("current password is wrong", field="current_password")
        if verify_password(user.password_hash, new):
            raise Invalid("the new password must differ from the current one", field="password")
        user.password_hash = hash_password(new)
        user.must_change_password = False
        user.session_generation = (user.session_generation or 0) + 1
        audit.record(session, actor, "user.password_change", "user", user.id)
        return user.session_generation
