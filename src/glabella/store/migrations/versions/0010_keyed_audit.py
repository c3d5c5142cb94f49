"""keyed audit chain: the boundary between unkeyed (legacy) and HMAC-keyed audit rows

Rows written before this revision carry the unkeyed SHA-256 hash of revision 0002; their key
is not known to the database, so they cannot be re-hashed here (a migration never sees the
audit key). ``audit_chain_state.legacy_until_seq`` records the last such row: ``audit
verify`` checks rows up to it with the old hash and every later row with HMAC-SHA256. The
first keyed row's HMAC covers the last legacy hash, so a rewritten legacy part breaks the
link; the boundary itself is written into every signed checkpoint, so raising it is found.

Revision ID: 0010
Revises: 0006
Create Date: 2026-12-04 07:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_chain_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("legacy_until_seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    bind = op.get_bind()
    last = bind.execute(sa.text("SELECT MAX(seq) FROM audit_events")).scalar()
    bind.execute(
        sa.text("INSERT INTO audit_chain_state (id, legacy_until_seq) VALUES (1, :n)"),
        {"n": int(last or 0)},
    )


def downgrade() -> None:
    op.drop_table("audit_chain_state")
