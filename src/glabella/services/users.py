"""Use cases for staff accounts: first admin, sign-in, password change."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from glabella.services import audit
from glabella.services.context import Actor, Database, utcnow
from glabella.services.errors import Conflict, Invalid, Unauthorized
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

    @classmethod
    def of(cls, user: User) -> UserView:
        return cls(
            id=user.id,
            username=user.username,
            full_name=user.full_name,
            role=user.role,
            clinic_id=user.clinic_id,
            must_change_password=user.must_change_password,
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
) -> tuple[UserView, str]:
    """Create a staff account; returns it and its one-time password (must be changed)."""
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
        clinic = default_clinic(session, clinic_name, timezone)
        user = User(
            clinic_id=clinic.id,
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


def authenticate(db: Database, username: str, password: str, source: str | None) -> UserView:
    """Check a username and password; the same message whatever was wrong."""
    with db.transaction() as session:
        user = session.scalars(
            select(User).where(User.username == username.strip().lower())
        ).first()
        ok = user is not None and user.active and verify_password(user.password_hash, password)
        if user is None or not ok:
            audit.record(session, None, "auth.login_failed", "user", None, source=source)
            raise Unauthorized("wrong username or password")
        view = UserView.of(user)
        audit.record(session, view.actor(source), "auth.login", "user", user.id)
        return view


def get_user(db: Database, user_id: int) -> UserView | None:
    """The active account with this id, or None."""
    with db.transaction() as session:
        user = session.get(User, user_id)
        return UserView.of(user) if user is not None and user.active else None


def change_password(db: Database, actor: Actor, current: str, new: str) -> None:
    """Change one's own password after checking the current one and the password rule."""
    check_password_rule(new, username=actor.username)
    with db.transaction() as session:
        user = session.get(User, actor.user_id)
        if user is None or not verify_password(user.password_hash, current):
            raise Invalid("current password is wrong", field="current_password")
        if verify_password(user.password_hash, new):
            raise Invalid("the new password must differ from the current one", field="password")
        user.password_hash = hash_password(new)
        user.must_change_password = False
        audit.record(session, actor, "user.password_change", "user", user.id)
