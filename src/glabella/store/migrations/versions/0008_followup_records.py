"""adverse-event follow-up history

* ``adverse_events.resolved_on``: the day an event ended (recovered, recovered with sequelae,
  or the date of death).
* ``adverse_event_updates``: every follow-up change of an event (outcome, resolution date,
  grade, seriousness, the treatment it followed) with its before and after values, who and
  when; the event row keeps the current values.

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-04 07:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("adverse_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("resolved_on", sa.Date(), nullable=True))
    op.create_table(
        "adverse_event_updates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("adverse_event_id", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_by_id", sa.Integer(), nullable=True),
        sa.Column("changed_by_name", sa.String(length=200), nullable=False),
        sa.Column("changes_json", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["adverse_event_id"], ["adverse_events.id"]),
        sa.ForeignKeyConstraint(["changed_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_adverse_event_updates_adverse_event_id",
        "adverse_event_updates",
        ["adverse_event_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_adverse_event_updates_adverse_event_id", "adverse_event_updates")
    op.drop_table("adverse_event_updates")
    with op.batch_alter_table("adverse_events", schema=None) as batch_op:
        batch_op.drop_column("resolved_on")
