"""The audit trail: one row per read or write of patient data, in the same transaction.

Rows form a hash chain. Each row stores ``seq`` (1, 2, 3, ...), ``prev_hash`` (the ``hash`` of
row ``seq - 1``, or 64 zeros for the first row) and ``hash`` = SHA-256 over the canonical
serialisation of its fields plus ``prev_hash`` (:func:`chain_hash`). Changing, deleting or
inserting a row in the middle breaks the chain, and :func:`verify_chain` names the first
broken row. Removing rows from the end is only detectable against a head hash kept elsewhere
(``glabella audit verify`` prints it; see docs/security.md).

Appends are serialised: on SQLite every transaction starts with ``BEGIN IMMEDIATE`` (see
``glabella.store.database``); on PostgreSQL the appending transaction takes
``pg_advisory_xact_lock`` before it reads the previous hash. ``seq`` is UNIQUE, so two
appends that read the same head could never both commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from glabella.services.context import Actor, Database, utcnow
from glabella.store.models import AuditEvent, table_of

GENESIS_HASH = "0" * 64
"""``prev_hash`` of the first row."""

AUDIT_LOCK_KEY = 7_313_377_001
"""The PostgreSQL advisory-lock key that serialises audit appends."""

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


def canonical(fields: dict[str, Any]) -> str:
    """The canonical text of a row's chained fields: sorted-key compact JSON, UTC times."""
    out: dict[str, Any] = {}
    for name in _CHAINED_FIELDS:
        value = fields.get(name)
        out[name] = _canonical_time(value) if isinstance(value, dt.datetime) else value
    return json.dumps(out, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(fields: dict[str, Any], prev_hash: str) -> str:
    """SHA-256 (hex) of ``canonical(fields) + "\\n" + prev_hash``."""
    payload = canonical(fields) + "\n" + prev_hash
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _row_fields(event: AuditEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in _CHAINED_FIELDS}


def _lock_chain(session: Session) -> None:
    """Serialise appends: a no-op on SQLite (BEGIN IMMEDIATE already holds the write lock)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK_KEY})


_HEAD = select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
_APPEND = insert(table_of(AuditEvent))


def record(
    session: Session,
    actor: Actor | None,
    action: str,
    entity: str,
    entity_id: object = None,
    **detail: Any,
) -> None:
    """Append an audit row to the current transaction (it commits or rolls back with it).

    ``detail`` must not carry names or other identifiers: ids and codes only.
    """
    _lock_chain(session)
    conn = session.connection()  # Core statements built once: every patient-data request appends
    head = conn.execute(_HEAD).first()
    seq, prev_hash = (1, GENESIS_HASH) if head is None else (head[0] + 1, head[1])
    fields: dict[str, Any] = {
        "seq": seq,
        "at": utcnow(),
        "user_id": actor.user_id if actor else None,
        "role": actor.role if actor else None,
        "clinic_id": actor.clinic_id if actor else None,
        "action": action,
        "entity": entity,
        "entity_id": None if entity_id is None else str(entity_id),
        "detail": json.dumps(detail, sort_keys=True, default=str) if detail else None,
        "source": actor.source if actor else None,
    }
    conn.execute(_APPEND, {"prev_hash": prev_hash, "hash": chain_hash(fields, prev_hash), **fields})


@dataclass(frozen=True)
class ChainReport:
    """The outcome of :func:`verify_chain`."""

    ok: bool
    records: int
    head_hash: str
    broken_id: int | None = None
    broken_seq: int | None = None
    reason: str | None = None


def check_rows(rows: Iterable[AuditEvent]) -> ChainReport:
    """Check rows in ``seq`` order: consecutive seq, linked prev_hash, recomputed hash."""
    expected_prev = GENESIS_HASH
    expected_seq = 1
    count = 0
    for row in rows:
        problem = None
        if row.seq != expected_seq:
            problem = f"sequence number {row.seq} where {expected_seq} was expected"
        elif row.prev_hash != expected_prev:
            problem = "prev_hash does not match the hash of the record before it"
        elif row.hash != chain_hash(_row_fields(row), row.prev_hash):
            problem = "hash does not match the record's contents"
        if problem is not None:
            return ChainReport(
                ok=False,
                records=count,
                head_hash=expected_prev,
                broken_id=row.id,
                broken_seq=row.seq,
                reason=problem,
            )
        expected_prev = row.hash
        expected_seq += 1
        count += 1
    return ChainReport(ok=True, records=count, head_hash=expected_prev)


def verify_chain(db: Database) -> ChainReport:
    """Walk the whole audit trail and report the first broken record, if any."""
    with db.transaction() as session:
        rows = session.scalars(
            select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=2000)
        )
        return check_rows(rows)
