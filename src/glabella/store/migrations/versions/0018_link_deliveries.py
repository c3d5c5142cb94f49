"""link deliveries: e-mailed self-report links and the follow-up schedule's sending log

``link_deliveries``: one row per e-mail of a self-report link (a staff member's "send by
e-mail", or the follow-up schedule's first e-mail and reminder of a visit). ``status`` is
``sending`` (claimed, not yet confirmed), ``sent``, ``failed`` or ``not_sent`` (no address);
the unique (treatment, visit, kind) makes the schedule idempotent: running it twice sends
nothing twice. ``self_report_links.created_by_id`` becomes nullable: the schedule creates
links on its own, with no staff member behind them.

Revision ID: 0018
Revises: 0013
Create Date: 2026-12-04 19:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("self_report_links") as batch:
        batch.alter_column("created_by_id", existing_type=sa.Integer(), nullable=True)
    op.create_table(
        "link_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=True),
        sa.Column("treatment_id", sa.Integer(), nullable=True),
        sa.Column("visit_key", sa.String(length=32), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.String(length=300), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"]),
        sa.ForeignKeyConstraint(["link_id"], ["self_report_links.id"]),
        sa.ForeignKeyConstraint(["treatment_id"], ["treatments.id"]),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("treatment_id", "visit_key", "kind", name="uq_link_deliveries_visit"),
    )
    op.create_index("ix_link_deliveries_patient_id", "link_deliveries", ["patient_id"])


def downgrade() -> None:
    op.drop_index("ix_link_deliveries_patient_id", "link_deliveries")
    op.drop_table("link_deliveries")
    with op.batch_alter_table("self_report_links") as batch:
        batch.alter_column("created_by_id", existing_type=sa.Integer(), nullable=False)
