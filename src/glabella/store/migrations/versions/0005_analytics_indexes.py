"""analytics indexes and course summary (measured: bench/clinic_bench.py)

The clinic analytics pick, for each patient's first treatment, the last PHQ-9 in three time
windows (correlated sub-queries). With only ``ix_assessments_patient_id`` each pick scans the
patient's assessments. Measured on 100,000 synthetic patients / 1,987,299 assessments (SQLite,
median of 3, on a 2-core machine under load): 12.2 s without and 2.6 s (1.05 s CPU) with the
covering index on assessments (patient_id, instrument_id, submitted_at, total) plus
(patient_id, treated_at) on treatments for the first-treatment test. Still over a second, so
the per-patient results are also kept in a materialised summary (``analytics_courses``,
refreshed incrementally from the watermarks in ``analytics_state``; see
glabella.store.analytics): a dashboard read then costs 1.4 s wall / 0.5 s CPU at 100k and a
refresh after 50 new patients 0.08 s. bench/results/clinic_bench*.json have the numbers.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 13:25:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_assessments_patient_instrument_time",
        "assessments",
        ["patient_id", "instrument_id", "submitted_at", "total"],
    )
    op.create_index("ix_treatments_patient_treated_at", "treatments", ["patient_id", "treated_at"])
    op.create_table(
        "analytics_courses",
        sa.Column("patient_id", sa.Integer(), sa.ForeignKey("patients.id"), primary_key=True),
        sa.Column("clinic_id", sa.Integer(), sa.ForeignKey("clinics.id"), nullable=False),
        sa.Column("treatment_id", sa.Integer(), sa.ForeignKey("treatments.id"), nullable=False),
        sa.Column("treated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("injector_name", sa.String(length=200), nullable=False),
        sa.Column("protocol_id", sa.String(length=80), nullable=True),
        sa.Column("product_id", sa.String(length=40), nullable=False),
        sa.Column("baseline", sa.Integer(), nullable=False),
        sa.Column("week6", sa.Integer(), nullable=False),
        sa.Column("week12", sa.Integer(), nullable=False),
    )
    op.create_index("ix_analytics_courses_clinic_id", "analytics_courses", ["clinic_id"])
    op.create_table(
        "analytics_state",
        sa.Column("key", sa.String(length=40), primary_key=True),
        sa.Column("value", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("analytics_state")
    op.drop_index("ix_analytics_courses_clinic_id", table_name="analytics_courses")
    op.drop_table("analytics_courses")
    op.drop_index("ix_treatments_patient_treated_at", table_name="treatments")
    op.drop_index("ix_assessments_patient_instrument_time", table_name="assessments")
