"""session generation: signing out ends the session on the server too

Sessions are signed cookies; without a server-side record a copied cookie kept working after
sign-out until it expired. Each user now has a ``session_generation``; a session carries the
generation it was started in, and signing out increments it, so every earlier cookie of that
user is refused from then on.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 14:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("session_generation", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("session_generation")
