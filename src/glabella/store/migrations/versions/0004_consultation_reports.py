"""consultation reports and evidence snapshots

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 13:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "evidence_snapshots",
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("files_json", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("version"),
    )
    op.create_table(
        "consultation_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("condition", sa.String(length=16), nullable=False),
        sa.Column("lang", sa.String(length=8), nullable=False),
        sa.Column("protocol_id", sa.String(length=80), nullable=True),
        sa.Column("app_version", sa.String(length=40), nullable=False),
        sa.Column("evidence_version", sa.String(length=64), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("snapshot_json", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"]),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinics.id"]),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["evidence_version"], ["evidence_snapshots.version"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_consultation_reports_patient_id", "consultation_reports", ["patient_id"], unique=False
    )
    op.create_index(
        "ix_consultation_reports_clinic_id", "consultation_reports", ["clinic_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_consultation_reports_clinic_id", table_name="consultation_reports")
    op.drop_index("ix_consultation_reports_patient_id", table_name="consultation_reports")
    op.drop_table("consultation_reports")
    op.drop_table("evidence_snapshots")
