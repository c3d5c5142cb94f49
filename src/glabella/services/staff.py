"""Staff administration (administrators only): the staff list, adding an account, deactivation
and reactivation, a one-time password reset, role, clinic and name changes, and unlocking.

Every change writes an audit row naming who did it (the actor), what (the action and the
before/after values of what changed) and to whom (``entity_id`` = the account's id); no names
or passwords go into the detail.

The installation always keeps at least one active administrator: deactivating or demoting the
last one is refused (:func:`_keep_an_admin`). On PostgreSQL the check locks every active
admin row (``SELECT ... FOR UPDATE``) so that two concurrent demotions cannot both pass; on
SQLite every write transaction is serialised already (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from glabella.services import audit, throttle
from glabella.services import users as user_service
from glabella.services.context import Actor, Database
from glabella.services.errors import Conflict, Forbidden, Invalid, NotFound
from glabella.services.passwords import generate_password, hash_password
from glabella.services.roles import ROLE_LABELS, Role
from glabella.store.models import Clinic, LoginThrottle, RecoveryCode, User


@dataclass(frozen=True)
class StaffMember:
    """One account as the staff list shows it."""

    id: int
    username: str
    full_name: str
    role: str
    role_label: str
    clinic_id: int
    clinic_name: str
    active: bool
    locked_until: dt.datetime | None
    totp_enabled: bool
    must_change_password: bool
    recovery_codes_left: int
    created_at: dt.datetime

    @property
    def locked(self) -> bool:
        return self.locked_until is not None

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "username": self.username,
            "full_name": self.full_name,
            "role": self.role,
            "role_label": self.role_label,
            "clinic_id": self.clinic_id,
            "clinic_name": self.clinic_name,
            "active": self.active,
            "locked": self.locked,
            "locked_until": self.locked_until.isoformat() if self.locked_until else None,
            "totp_enabled": self.totp_enabled,
            "must_change_password": self.must_change_password,
            "recovery_codes_left": self.recovery_codes_left,
            "created_at": self.created_at.isoformat(),
        }


def _require_admin(actor: Actor | None) -> None:
    """``None`` is the operator at the server's command line (``glabella users``), who is
    trusted like ``glabella users create-admin``; a signed-in actor must be an admin."""
    if actor is not None and actor.role != Role.ADMIN:
        raise Forbidden("only an administrator may manage staff accounts")


def _member(session: Session, user: User, now: dt.datetime) -> StaffMember:
    clinic = session.get(Clinic, user.clinic_id)
    lock = session.scalars(
        select(LoginThrottle.locked_until).where(
            LoginThrottle.kind == "username", LoginThrottle.key == user.username[:200]
        )
    ).first()
    left = len(
        session.scalars(
            select(RecoveryCode.id).where(
                RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
            )
        ).all()
    )
    return StaffMember(
        id=user.id,
        username=user.username,
        full_name=user.full_name,
        role=user.role,
        role_label=ROLE_LABELS.get(user.role, user.role),
        clinic_id=user.clinic_id,
        clinic_name=clinic.name if clinic is not None else "",
        active=bool(user.active),
        locked_until=lock if lock is not None and lock > now else None,
        totp_enabled=user.totp_secret is not None,
        must_change_password=bool(user.must_change_password),
        recovery_codes_left=left,
        created_at=user.created_at,
    )


def _load(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no staff account with id {user_id}", field="user_id")
    return user


def find_id(db: Database, username: str) -> int:
    """The id of the account named ``username`` (for the command line)."""
    name = username.strip().lower()
    with db.read() as session:
        uid = session.scalars(select(User.id).where(User.username == name)).first()
    if uid is None:
        raise NotFound(f"no staff account {name!r}", field="username")
    return uid


def list_staff(db: Database, actor: Actor | None) -> list[StaffMember]:
    """Every staff account of the installation (active first, then by username)."""
    _require_admin(actor)
    now = db.now()
    with db.read() as session:
        users = session.scalars(select(User).order_by(User.active.desc(), User.username)).all()
        return [_member(session, u, now) for u in users]


def get_staff(db: Database, actor: Actor | None, user_id: int) -> StaffMember:
    """One staff account."""
    _require_admin(actor)
    with db.read() as session:
        return _member(session, _load(session, user_id), db.now())


def clinics(db: Database, actor: Actor | None) -> list[user_service.ClinicView]:
    """The installation's clinics (to move an account to)."""
    _require_admin(actor)
    return user_service.list_clinics(db)


def _clinic(session: Session, clinic_id: int) -> Clinic:
    clinic = session.get(Clinic, clinic_id)
    if clinic is None:
        raise Invalid(f"clinic: there is no clinic with id {clinic_id}", field="clinic_id")
    return clinic


def add_staff(
    db: Database,
    actor: Actor | None,
    *,
    username: str,
    full_name: str,
    role: str,
    clinic_id: int | None = None,
) -> tuple[StaffMember, str]:
    """Create an account with a one-time password (returned once; it must be changed at the
    first sign-in). ``clinic_id`` None: the administrator's own clinic."""
    _require_admin(actor)
    if len(full_name) > 200:
        raise Invalid("full name: at most 200 characters", field="full_name")
    if len(username.strip()) > 80:
        raise Invalid("username: at most 80 characters", field="username")
    with db.read() as session:
        if clinic_id is None and actor is not None:
            clinic_id = actor.clinic_id
        if clinic_id is None:  # the command line: the installation's first clinic
            clinic_id = session.scalars(select(Clinic.id).order_by(Clinic.id).limit(1)).first()
        clinic = _clinic(session, clinic_id or 0)
        clinic_name = clinic.name
    created, one_time = user_service.create_user(
        db,
        username=username,
        full_name=full_name,
        role=role,
        actor=actor,
        clinic=clinic_name,
    )
    return get_staff(db, actor, created.id), one_time


def _keep_an_admin(session: Session, user: User, action: str) -> None:
    """Refuse ``action`` when ``user`` is the last active administrator."""
    if user.role != Role.ADMIN or not user.active:
        return
    admins = session.scalars(
        select(User.id)
        .where(User.role == Role.ADMIN.value, User.active.is_(True))
        .with_for_update()
    ).all()
    if [uid for uid in admins if uid != user.id]:
        return
    raise Conflict(
        f"{user.username} is the last active administrator: {action} would leave nobody able to "
        "manage staff. Make another account an administrator first.",
        field="user_id",
    )


def set_active(db: Database, actor: Actor | None, user_id: int, active: bool) -> StaffMember:
    """Deactivate (every session of the account ends at once, and it cannot sign in) or
    reactivate an account."""
    _require_admin(actor)
    with db.transaction() as session:
        user = _load(session, user_id)
        if bool(user.active) == active:
            state = "active" if active else "deactivated"
            raise Conflict(f"{user.username} is already {state}", field="user_id")
        if not active:
            _keep_an_admin(session, user, "deactivating it")
            user.session_generation = (user.session_generation or 0) + 1
        user.active = active
        action = "user.reactivate" if active else "user.deactivate"
        audit.record(session, actor, action, "user", user.id)
    return get_staff(db, actor, user_id)


def reset_password(db: Database, actor: Actor | None, user_id: int) -> tuple[StaffMember, str]:
    """Give the account a new one-time password (returned once): it must be changed at the
    next sign-in, every session of the account ends, and a sign-in lock is lifted.

    One's own password is changed on the account page (knowing the current one) instead.
    """
    _require_admin(actor)
    if actor is not None and user_id == actor.user_id:
        raise Conflict(
            "change your own password on your account page (/account/password)", field="user_id"
        )
    one_time = generate_password()
    hashed = hash_password(one_time)
    with db.transaction() as session:
        user = _load(session, user_id)
        user.password_hash = hashed
        user.must_change_password = True
        user.session_generation = (user.session_generation or 0) + 1
        lifted = throttle.unlock(session, user.username)
        audit.record(session, actor, "user.password_reset", "user", user.id, unlocked=lifted)
    return get_staff(db, actor, user_id), one_time


def reset_two_factor(db: Database, actor: Actor | None, user_id: int) -> StaffMember:
    """Turn the account's second factor off (its phone and recovery codes are lost): the
    secret and every recovery code are deleted and its sessions end; the person can enrol
    again from their account page."""
    _require_admin(actor)
    with db.transaction() as session:
        user = _load(session, user_id)
        if user.totp_secret is None:
            raise Conflict(f"{user.username} has no second factor to reset", field="user_id")
        user.totp_secret = None
        user.totp_last_step = None
        user.session_generation = (user.session_generation or 0) + 1
        session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
        audit.record(session, actor, "auth.totp_reset", "user", user.id)
    return get_staff(db, actor, user_id)


def update_staff(
    db: Database,
    actor: Actor | None,
    user_id: int,
    *,
    role: str | None = None,
    clinic_id: int | None = None,
    full_name: str | None = None,
) -> StaffMember:
    """Change an account's role, clinic or displayed name (what is None stays).

    The account's open sessions follow at once: each request reads the role and clinic from
    the database (``glabella.web.deps.session_user``).
    """
    _require_admin(actor)
    if role is not None:
        try:
            role = Role(role).value
        except ValueError:
            allowed = ", ".join(r.value for r in Role)
            raise Invalid(f"role: unknown role {role!r}; one of {allowed}", field="role") from None
    if full_name is not None:
        full_name = " ".join(full_name.split())
        if not full_name or len(full_name) > 200:
            raise Invalid("full name: give 1 to 200 characters", field="full_name")
    with db.transaction() as session:
        user = _load(session, user_id)
        changes: dict[str, object] = {}
        if role is not None and role != user.role:
            if user.role == Role.ADMIN:
                _keep_an_admin(session, user, f"making it {ROLE_LABELS[role].lower()}")
            changes["role"] = [user.role, role]
            user.role = role
        if clinic_id is not None and clinic_id != user.clinic_id:
            _clinic(session, clinic_id)
            changes["clinic_id"] = [user.clinic_id, clinic_id]
            user.clinic_id = clinic_id
        if full_name is not None and full_name != user.full_name:
            changes["full_name"] = "changed"  # no names in the audit trail
            user.full_name = full_name
        if not changes:
            raise Invalid("nothing to change: give another role, clinic or name", field="role")
        audit.record(session, actor, "user.update", "user", user.id, **changes)
    return get_staff(db, actor, user_id)


def unlock(db: Database, actor: Actor | None, user_id: int) -> bool:
    """Lift the account's sign-in lock; True when it was locked (audited either way)."""
    _require_admin(actor)
    with db.transaction() as session:
        user = _load(session, user_id)
        lifted = throttle.unlock(session, user.username)
        audit.record(session, actor, "auth.unlock", "user", user.id, lifted=lifted)
        return lifted
