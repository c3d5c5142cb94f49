"""A materialised summary for the clinic analytics: one row per treated patient.

Each row holds the patient's first treatment and the PHQ-9 totals the analytics pick for it
(baseline, week 6, week 12). It is derived data: ``glabella.services.analytics.refresh``
rebuilds the rows of every patient with an assessment or treatment newer than the recorded
watermarks (``analytics_state``), so a dashboard read touches only the patients that changed.
Added by migration 0005 because reading the picks directly took over a second at 30,000
patients (bench/results/clinic_bench.json).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from glabella.store.models import Base, UTCDateTime


class AnalyticsCourse(Base):
    __tablename__ = "analytics_courses"

    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), index=True)
    treatment_id: Mapped[int] = mapped_column(ForeignKey("treatments.id"))
    treated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    month: Mapped[str] = mapped_column(String(7))
    injector_name: Mapped[str] = mapped_column(String(200))
    protocol_id: Mapped[str | None] = mapped_column(String(80))
    product_id: Mapped[str] = mapped_column(String(40))
    baseline: Mapped[int] = mapped_column(Integer)
    week6: Mapped[int] = mapped_column(Integer)
    week12: Mapped[int] = mapped_column(Integer)
    """PHQ-9 totals; -1 where none was recorded in the window."""


class AnalyticsState(Base):
    """Watermarks of the summary: the highest assessment and treatment ids it has seen."""

    __tablename__ = "analytics_state"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)
