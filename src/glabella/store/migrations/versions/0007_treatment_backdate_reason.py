"""treatments.backdate_reason: why a treatment was recorded long after it happened

A treatment recorded more than one hour after its treatment time needs a stated reason
(``glabella.clinic.treatment``); the reason is kept with the treatment and in the audit
row ``treatment.backdated``.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 07:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("treatments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("backdate_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("treatments", schema=None) as batch_op:
        batch_op.drop_column("backdate_reason")
