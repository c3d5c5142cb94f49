"""ORM models of the clinical pathway: screening, consent, treatments, adverse events.

Units of toxin are stored as exact decimal strings next to their product id: they are never
floats and never converted between products.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from glabella.store.models import Base, UTCDateTime


class Screening(Base):
    """An eligibility screening: the answers, the facts used, and the rule engine's decision."""

    __tablename__ = "screenings"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    product_id: Mapped[str] = mapped_column(String(40))
    screened_on: Mapped[dt.date] = mapped_column(Date)
    screened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    screened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    answers_json: Mapped[str] = mapped_column(Text)
    facts_json: Mapped[str] = mapped_column(Text)
    rules_version: Mapped[str] = mapped_column(String(40))
    outcome: Mapped[str] = mapped_column(String(40))
    reasons_json: Mapped[str] = mapped_column(Text)

    overrides: Mapped[list[ScreeningOverride]] = relationship(
        back_populates="screening", order_by="ScreeningOverride.id"
    )


class ScreeningOverride(Base):
    """A clinician's recorded override of one precaution (never of a contraindication)."""

    __tablename__ = "screening_overrides"
    __table_args__ = (UniqueConstraint("screening_id", "rule_id", name="uq_override_rule"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    screening_id: Mapped[int] = mapped_column(ForeignKey("screenings.id"), index=True)
    rule_id: Mapped[str] = mapped_column(String(80))
    clinician_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    clinician_name: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    screening: Mapped[Screening] = relationship(back_populates="overrides")


class ConsentRecord(Base):
    """A signed, timestamped consent to one treatment, with the exact text version and hash."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    version: Mapped[str] = mapped_column(String(40))
    text_sha256: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    signed_name: Mapped[str] = mapped_column(String(200))
    witnessed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Migration 0019: why a typed name that does not match the record was accepted (H-094),
    # and the patient's withdrawal (when, why, recorded by whom; H-095).
    name_mismatch_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    withdrawn_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class Treatment(Base):
    """One injection session."""

    __tablename__ = "treatments"
    __table_args__ = (
        # First-treatment test of the clinic analytics (migration 0005, measured).
        Index("ix_treatments_patient_treated_at", "patient_id", "treated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    treated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    treatment_date: Mapped[dt.date] = mapped_column(Date)
    injector_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    injector_name: Mapped[str] = mapped_column(String(200))
    product_id: Mapped[str] = mapped_column(String(40))
    protocol_id: Mapped[str | None] = mapped_column(String(80))
    lot_number: Mapped[str] = mapped_column(String(80))
    lot_expiry: Mapped[dt.date] = mapped_column(Date)
    vial_units: Mapped[str] = mapped_column(String(20))
    saline_ml: Mapped[str] = mapped_column(String(20))
    total_units: Mapped[str] = mapped_column(String(20))
    exceeds_label_dose: Mapped[bool] = mapped_column(default=False)
    screening_id: Mapped[int] = mapped_column(ForeignKey("screenings.id"))
    consent_id: Mapped[int] = mapped_column(ForeignKey("consents.id"), unique=True)
    notes: Mapped[str | None] = mapped_column(Text)
    # Why a treatment was recorded more than 1 h after it happened (migration 0007).
    backdate_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    sites: Mapped[list[TreatmentSite]] = relationship(
        back_populates="treatment", cascade="all, delete-orphan", order_by="TreatmentSite.id"
    )


class TreatmentSite(Base):
    """Units given at one site, with the volume drawn up for it."""

    __tablename__ = "treatment_sites"
    __table_args__ = (UniqueConstraint("treatment_id", "site_id", name="uq_treatment_site"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    treatment_id: Mapped[int] = mapped_column(ForeignKey("treatments.id"), index=True)
    site_id: Mapped[str] = mapped_column(String(40))
    units: Mapped[str] = mapped_column(String(20))
    volume_ml: Mapped[str] = mapped_column(String(20))

    treatment: Mapped[Treatment] = relationship(back_populates="sites")


class AdverseEventRecord(Base):
    """An adverse event recorded by staff or reported by the patient (then graded by staff)."""

    __tablename__ = "adverse_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    treatment_id: Mapped[int | None] = mapped_column(ForeignKey("treatments.id"))
    type: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(Text, default="")
    onset: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    grade: Mapped[int | None] = mapped_column(Integer)
    seriousness: Mapped[str] = mapped_column(String(300), default="")
    relatedness: Mapped[str | None] = mapped_column(String(40))
    action: Mapped[str | None] = mapped_column(String(40))
    outcome: Mapped[str | None] = mapped_column(String(40))
    reported_by: Mapped[str] = mapped_column(String(16))  # "staff" | "patient"
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    resolved_on: Mapped[dt.date | None] = mapped_column(Date, default=None)
    """The day the event ended (recovered, with sequelae, or date of death); migration 0008."""

    updates: Mapped[list[AdverseEventUpdate]] = relationship(
        back_populates="event", order_by="AdverseEventUpdate.id"
    )


class AdverseEventUpdate(Base):
    """One follow-up change of an adverse event: what changed (before and after), who, when.

    The event row holds the current values; these rows keep its history (migration 0008).
    """

    __tablename__ = "adverse_event_updates"

    id: Mapped[int] = mapped_column(primary_key=True)
    adverse_event_id: Mapped[int] = mapped_column(ForeignKey("adverse_events.id"), index=True)
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changed_by_name: Mapped[str] = mapped_column(String(200))
    changes_json: Mapped[str] = mapped_column(Text)
    """``{"field": [before, after], ...}`` for every field the update changed."""
    note: Mapped[str] = mapped_column(Text, default="")

    event: Mapped[AdverseEventRecord] = relationship(back_populates="updates")
