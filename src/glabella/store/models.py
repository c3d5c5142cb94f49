"""SQLAlchemy 2 ORM models: the persistent shape of clinics, users, patients and assessments."""

from __future__ import annotations

import datetime as dt
from typing import cast

from sqlalchemy import (
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware datetimes stored as UTC (SQLite keeps no offset of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: object) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: every stored time is timezone-aware")
        return value.astimezone(dt.UTC)

    def process_result_value(
        self, value: dt.datetime | None, dialect: object
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    """Declarative base of every table."""


def table_of(model: type[Base]) -> Table:
    """The Core table of a mapped class, for Core inserts where the ORM's bookkeeping costs
    more than the write (the submission hot path, the audit trail)."""
    return cast(Table, model.__table__)


class Clinic(Base):
    __tablename__ = "clinics"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    timezone: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"))
    username: Mapped[str] = mapped_column(String(80), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(String(255))
    must_change_password: Mapped[bool] = mapped_column(default=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    totp_secret: Mapped[str | None] = mapped_column(String(64), default=None)
    """Base32 TOTP secret (RFC 6238) when the second factor is enabled, else None."""
    totp_last_step: Mapped[int | None] = mapped_column(Integer, default=None)
    """The last accepted TOTP time step: a code is accepted once (no replay)."""
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Sessions started in an earlier generation are refused; signing out increments it."""


class RecoveryCode(Base):
    """A single-use recovery code of the second factor (migration 0013).

    Only the SHA-256 of the code is stored: a code carries 80 random bits, so (like a link
    token) a fast hash is enough and a database reader cannot use the stored values."""

    __tablename__ = "recovery_codes"
    __table_args__ = (Index("ix_recovery_codes_user_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)


class LoginThrottle(Base):
    """Failed sign-ins counted per username and per source address (see services.throttle)."""

    __tablename__ = "login_throttle"
    __table_args__ = (UniqueConstraint("kind", "key", name="uq_login_throttle_kind_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # "username" | "source"
    key: Mapped[str] = mapped_column(String(200))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)


class Patient(Base):
    __tablename__ = "patients"
    __table_args__ = (UniqueConstraint("clinic_id", "mrn", name="uq_patients_clinic_mrn"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), index=True)
    mrn: Mapped[str] = mapped_column(String(64))
    given_name: Mapped[str] = mapped_column(String(120))
    family_name: Mapped[str] = mapped_column(String(120), index=True)
    date_of_birth: Mapped[dt.date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(16))
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    assessments: Mapped[list[Assessment]] = relationship(
        back_populates="patient", order_by="Assessment.submitted_at"
    )


class SelfReportLink(Base):
    """A single-use, expiring invitation for a patient to fill in questionnaires.

    Only a SHA-256 hash of the token is stored; the URL carries the token and nothing else.
    """

    __tablename__ = "self_report_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    instrument_ids: Mapped[str] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    """The staff member who made it; ``None`` for the follow-up schedule (migration 0018)."""
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    patient: Mapped[Patient] = relationship()


class Assessment(Base):
    __tablename__ = "assessments"
    __table_args__ = (
        # Covering index of the clinic analytics' window picks (migration 0005, measured).
        Index(
            "ix_assessments_patient_instrument_time",
            "patient_id",
            "instrument_id",
            "submitted_at",
            "total",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    instrument_id: Mapped[str] = mapped_column(String(32))
    total: Mapped[int] = mapped_column(Integer)
    band: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))  # "clinician" | "self_report"
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    link_id: Mapped[int | None] = mapped_column(ForeignKey("self_report_links.id"))
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)

    patient: Mapped[Patient] = relationship(back_populates="assessments")
    answers: Mapped[list[AssessmentAnswer]] = relationship(
        back_populates="assessment", cascade="all, delete-orphan", order_by="AssessmentAnswer.id"
    )


class AssessmentAnswer(Base):
    __tablename__ = "assessment_answers"
    __table_args__ = (UniqueConstraint("assessment_id", "item_id", name="uq_answer_item"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id"), index=True)
    item_id: Mapped[str] = mapped_column(String(32))
    value: Mapped[int] = mapped_column(Integer)

    assessment: Mapped[Assessment] = relationship(back_populates="answers")


class Alert(Base):
    """A safety alert; it closes only with a recorded action (who, when, what was done)."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    assessment_id: Mapped[int | None] = mapped_column(ForeignKey("assessments.id"))
    kind: Mapped[str] = mapped_column(String(40))
    level: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    action_text: Mapped[str | None] = mapped_column(Text)
    actioned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actioned_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    patient: Mapped[Patient] = relationship()
    actioned_by: Mapped[User | None] = relationship()


class AuditEvent(Base):
    """Append-only audit trail: who did what to which record, when and from where.

    Rows are hash-chained: ``hash`` = SHA-256 over the canonical serialisation of the row's
    fields and ``prev_hash`` (the hash of the row with ``seq - 1``), so that editing, deleting
    or inserting a row breaks the chain (``glabella audit verify``).
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    role: Mapped[str | None] = mapped_column(String(32))
    clinic_id: Mapped[int | None] = mapped_column(ForeignKey("clinics.id"))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(64))


class IdempotencyKey(Base):
    """A client's ``Idempotency-Key`` and the answer its request got (see
    ``glabella.services.idempotency``): written in the transaction of the record it created,
    so a crash leaves both or neither. Unique per scope (user and route) and key."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("user_id", "route", "key", name="uq_idempotency_keys_scope_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    route: Mapped[str] = mapped_column(String(200))
    """The route template, e.g. ``POST /api/v1/patients/{patient_id}/assessments``."""
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    """SHA-256 of the request path and its canonical JSON body."""
    status: Mapped[int] = mapped_column(Integer)
    response: Mapped[str] = mapped_column(Text)
    """The JSON body of the answer."""
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
