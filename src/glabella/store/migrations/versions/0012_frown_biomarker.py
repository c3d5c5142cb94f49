"""frown biomarker: photo consent and measured photo pairs (images encrypted)

Revision ID: 0012
Revises: 0006
Create Date: 2026-12-04 07:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "photo_consents",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("patient_id", sa.Integer(), sa.ForeignKey("patients.id"), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("allow_research", sa.Boolean(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_photo_consents_patient_id", "photo_consents", ["patient_id"])
    op.create_table(
        "frown_photo_pairs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("patient_id", sa.Integer(), sa.ForeignKey("patients.id"), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("consent_id", sa.Integer(), sa.ForeignKey("photo_consents.id"), nullable=False),
        *[
            sa.Column(f"{p}_{m}", sa.Float(), nullable=False)
            for p in ("rest", "frown")
            for m in ("inner_brow_distance", "brow_eye_height", "line_intensity")
        ],
        sa.Column("frown_activity_index", sa.Float(), nullable=False),
        sa.Column("method_version", sa.String(40), nullable=False),
        sa.Column("rest_image", sa.LargeBinary(), nullable=True),
        sa.Column("frown_image", sa.LargeBinary(), nullable=True),
        sa.Column("images_deleted_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_frown_photo_pairs_patient_id", "frown_photo_pairs", ["patient_id"])


def downgrade() -> None:
    op.drop_index("ix_frown_photo_pairs_patient_id", "frown_photo_pairs")
    op.drop_table("frown_photo_pairs")
    op.drop_index("ix_photo_consents_patient_id", "photo_consents")
    op.drop_table("photo_consents")
