"""security: audit hash chain, login throttling, TOTP second factor

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 06:40:00

Hand-written. Existing audit rows are chained in ``id`` order while upgrading, so an
installation that ran 0001 gets a verifiable chain from its first record.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

GENESIS_HASH = "0" * 64
_CHAINED_FIELDS = (
    "seq",
    "at",
    "user_id",
    "role",
    "clinic_id",
    "action",
    "entity",
    "entity_id",
    "detail",
    "source",
)


def _canonical_time(value: dt.datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def chain_hash(fields: dict[str, Any], prev_hash: str) -> str:
    """The unkeyed SHA-256 row hash as it was at this revision (frozen here: a migration must
    not change when the live code does; ``glabella.services.audit.legacy_hash`` is the same)."""
    out: dict[str, Any] = {}
    for name in _CHAINED_FIELDS:
        value = fields.get(name)
        out[name] = _canonical_time(value) if isinstance(value, dt.datetime) else value
    text = json.dumps(out, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((text + "\n" + prev_hash).encode("utf-8")).hexdigest()


revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("totp_secret", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("totp_last_step", sa.Integer(), nullable=True))

    op.create_table(
        "login_throttle",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "key", name="uq_login_throttle_kind_key"),
    )

    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))

    _chain_existing_rows()

    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.alter_column("seq", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint("uq_audit_events_seq", ["seq"])


def _chain_existing_rows() -> None:
    """Give every existing audit row its seq, prev_hash and hash, oldest (lowest id) first."""
    audit = sa.table(
        "audit_events",
        sa.column("id", sa.Integer()),
        sa.column("seq", sa.Integer()),
        sa.column("prev_hash", sa.String()),
        sa.column("hash", sa.String()),
        sa.column("at", sa.DateTime(timezone=True)),
        sa.column("user_id", sa.Integer()),
        sa.column("role", sa.String()),
        sa.column("clinic_id", sa.Integer()),
        sa.column("action", sa.String()),
        sa.column("entity", sa.String()),
        sa.column("entity_id", sa.String()),
        sa.column("detail", sa.Text()),
        sa.column("source", sa.String()),
    )
    bind = op.get_bind()
    rows = bind.execute(sa.select(audit).order_by(audit.c.id)).mappings().all()
    prev = GENESIS_HASH
    for seq, row in enumerate(rows, start=1):
        fields = dict(row)
        fields["seq"] = seq
        digest = chain_hash(fields, prev)
        bind.execute(
            sa.update(audit)
            .where(audit.c.id == row["id"])
            .values(seq=seq, prev_hash=prev, hash=digest)
        )
        prev = digest


def downgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_constraint("uq_audit_events_seq", type_="unique")
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("seq")
    op.drop_table("login_throttle")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("totp_last_step")
        batch_op.drop_column("totp_secret")
