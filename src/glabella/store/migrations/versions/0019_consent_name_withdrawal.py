"""consent name check and withdrawal

``consents.name_mismatch_reason``: why a typed signature that does not match the patient
record was accepted (a carer or legal representative signing; hazard H-094).
``consents.withdrawn_at / withdrawn_reason / withdrawn_by_id`` and
``photo_consents.withdrawn_reason / withdrawn_by_id``: the patient's withdrawal, when, why
and recorded by whom (``photo_consents.withdrawn_at`` exists since 0012). A withdrawn
treatment consent is refused by the treatment gate (hazard H-095).

Revision ID: 0019
Revises: 0013
Create Date: 2026-12-04 19:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_mismatch_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("withdrawn_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("withdrawn_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_consents_withdrawn_by_id_users", "users", ["withdrawn_by_id"], ["id"]
        )
    with op.batch_alter_table("photo_consents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("withdrawn_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("withdrawn_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_photo_consents_withdrawn_by_id_users", "users", ["withdrawn_by_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("photo_consents", schema=None) as batch_op:
        batch_op.drop_constraint("fk_photo_consents_withdrawn_by_id_users", type_="foreignkey")
        batch_op.drop_column("withdrawn_by_id")
        batch_op.drop_column("withdrawn_reason")
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.drop_constraint("fk_consents_withdrawn_by_id_users", type_="foreignkey")
        batch_op.drop_column("withdrawn_by_id")
        batch_op.drop_column("withdrawn_reason")
        batch_op.drop_column("withdrawn_at")
        batch_op.drop_column("name_mismatch_reason")
