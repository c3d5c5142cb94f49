"""The audit trail: one row per read or write of patient data, in the same transaction.

Rows form a keyed hash chain. Each row stores ``seq`` (1, 2, 3, ...), ``prev_hash`` (the
``hash`` of row ``seq - 1``, or 64 zeros for the first row) and ``hash`` = HMAC-SHA256, keyed
with the audit key (kept outside the database: ``GLABELLA_AUDIT_KEY`` or a 0600 key file), over
the canonical serialisation of its fields plus ``prev_hash`` (:func:`chain_hash`). A database
user without the key cannot recompute a valid chain after changing, deleting or inserting a
row, and :func:`verify_chain` names the first broken row. Rows written before migration 0010
keep their unkeyed SHA-256 hash (:func:`legacy_hash`) up to ``audit_chain_state.
legacy_until_seq``; the first keyed row's HMAC covers the last legacy hash.

Removing the newest rows leaves a valid chain; signed checkpoints (count, head hash, time,
legacy boundary, HMAC signature) appended to a file outside the database catch it:
:func:`write_checkpoint` (``glabella audit checkpoint``, and each app process on startup) and
:func:`verify_chain` with ``checkpoints=`` (``glabella audit verify``).

Appends are serialised: on SQLite every transaction starts with ``BEGIN IMMEDIATE`` (see
``glabella.store.database``); on PostgreSQL the appending transaction takes
``pg_advisory_xact_lock`` before it reads the previous hash. ``seq`` is UNIQUE, so two
appends that read the same head could never both commit.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import hmac
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
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


def legacy_hash(fields: dict[str, Any], prev_hash: str) -> str:
    """The unkeyed hash of rows written before migration 0010: SHA-256 (hex) of
    ``canonical(fields) + "\\n" + prev_hash``."""
    payload = canonical(fields) + "\n" + prev_hash
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


_key: bytes | None = None


def use_key(key: bytes) -> None:
    """Set this process's audit key (the app does at start from its settings)."""
    global _key
    if not key:
        raise ValueError("the audit key is empty")
    _key = key


def current_key() -> bytes:
    """The audit key: set by :func:`use_key`, else from the process settings."""
    global _key
    if _key is None:
        from glabella.settings import get_settings

        _key = get_settings().resolved_audit_key()
    return _key


def chain_hash(fields: dict[str, Any], prev_hash: str, key: bytes | None = None) -> str:
    """HMAC-SHA256 (hex), keyed with the audit key, of ``canonical(fields) + "\\n" +
    prev_hash``."""
    payload = (canonical(fields) + "\n" + prev_hash).encode("utf-8")
    return hmac.new(key or current_key(), payload, hashlib.sha256).hexdigest()


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
    digest = chain_hash(fields, prev_hash)
    conn.execute(_APPEND, {"prev_hash": prev_hash, "hash": digest, **fields})


@dataclass(frozen=True)
class ChainReport:
    """The outcome of :func:`verify_chain`."""

    ok: bool
    records: int
    head_hash: str
    broken_id: int | None = None
    broken_seq: int | None = None
    reason: str | None = None
    checkpoints: int = 0


def check_rows(
    rows: Iterable[AuditEvent],
    *,
    key: bytes | None = None,
    legacy_until: int = 0,
    expected: Mapping[int, str] | None = None,
    start_seq: int = 1,
    start_prev: str = GENESIS_HASH,
) -> ChainReport:
    """Check rows in ``seq`` order: consecutive seq, linked prev_hash, recomputed hash (the
    unkeyed legacy hash up to ``legacy_until``, HMAC after it), and the head hashes signed in
    checkpoints (``expected``: seq -> hash)."""
    key = key or current_key()
    expected = expected or {}
    expected_prev = start_prev
    expected_seq = start_seq
    count = start_seq - 1
    for row in rows:
        problem = None
        fields = _row_fields(row)
        if row.seq != expected_seq:
            problem = f"sequence number {row.seq} where {expected_seq} was expected"
        elif row.prev_hash != expected_prev:
            problem = "prev_hash does not match the hash of the record before it"
        elif row.hash != (
            legacy_hash(fields, row.prev_hash)
            if row.seq <= legacy_until
            else chain_hash(fields, row.prev_hash, key)
        ):
            problem = "hash does not match the record's contents"
        elif row.seq in expected and expected[row.seq] != row.hash:
            problem = "hash differs from the one a signed checkpoint recorded"
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


def legacy_boundary(session: Session) -> int:
    """The last row hashed without a key (written before migration 0010)."""
    value = session.execute(
        text("SELECT legacy_until_seq FROM audit_chain_state WHERE id = 1")
    ).scalar()
    return int(value or 0)


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement "the chain had ``count`` records ending in ``head_hash``"."""

    count: int
    head_hash: str
    time: str
    legacy_until: int
    signature: str

    def fields(self) -> dict[str, object]:
        return {
            "count": self.count,
            "head_hash": self.head_hash,
            "time": self.time,
            "legacy_until": self.legacy_until,
        }

    def line(self) -> str:
        return json.dumps({**self.fields(), "signature": self.signature}, sort_keys=True)


def _sign(fields: Mapping[str, object], key: bytes) -> str:
    payload = json.dumps(dict(fields), sort_keys=True, separators=(",", ":")).encode("utf-8")
    return hmac.new(key, b"checkpoint\n" + payload, hashlib.sha256).hexdigest()


class CheckpointError(Exception):
    """The checkpoint file is unreadable or a line does not verify."""


def read_checkpoints(path: Path, key: bytes | None = None) -> list[Checkpoint]:
    """Every checkpoint in ``path`` (none when it does not exist); raises on a bad line."""
    key = key or current_key()
    if not path.exists():
        return []
    out = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)
            cp = Checkpoint(
                count=int(data["count"]),
                head_hash=str(data["head_hash"]),
                time=str(data["time"]),
                legacy_until=int(data["legacy_until"]),
                signature=str(data["signature"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise CheckpointError(f"{path} line {number} is not a checkpoint: {exc}") from None
        if not hmac.compare_digest(cp.signature, _sign(cp.fields(), key)):
            raise CheckpointError(
                f"{path} line {number}: signature does not verify "
                "(the line was edited, or this is not the key that signed it)"
            )
        out.append(cp)
    return out


def _walk(db: Database, checkpoints: list[Checkpoint], key: bytes) -> tuple[ChainReport, int]:
    with db.read() as session:
        boundary = legacy_boundary(session)
        rows = session.scalars(
            select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=2000)
        )
        expected = {cp.count: cp.head_hash for cp in checkpoints if cp.count > 0}
        report = check_rows(rows, key=key, legacy_until=boundary, expected=expected)
    return report, boundary


def verify_chain(db: Database, checkpoints: Path | None = None) -> ChainReport:
    """Walk the whole audit trail and report the first broken record, if any; with a
    checkpoint file, also every signed head hash, the legacy boundary, and truncation after
    the newest checkpoint."""
    key = current_key()
    try:
        signed = read_checkpoints(checkpoints, key) if checkpoints is not None else []
    except CheckpointError as exc:
        return ChainReport(ok=False, records=0, head_hash=GENESIS_HASH, reason=str(exc))
    report, boundary = _walk(db, signed, key)
    if not report.ok:
        return report
    for cp in signed:
        if cp.legacy_until != boundary:
            return ChainReport(
                ok=False,
                records=report.records,
                head_hash=report.head_hash,
                reason=(
                    f"the legacy boundary is {boundary}, the checkpoint of {cp.time} signed "
                    f"{cp.legacy_until}: audit_chain_state was changed"
                ),
            )
    newest = max(signed, key=lambda c: c.count, default=None)
    if newest is not None and newest.count > report.records:
        return ChainReport(
            ok=False,
            records=report.records,
            head_hash=report.head_hash,
            broken_seq=report.records + 1,
            reason=(
                f"truncated: the checkpoint of {newest.time} signed {newest.count} records, "
                f"the database has {report.records}"
            ),
            checkpoints=len(signed),
        )
    return ChainReport(
        ok=True, records=report.records, head_hash=report.head_hash, checkpoints=len(signed)
    )


class AuditKeyMismatch(Exception):
    """This process's audit key is not the key of the chain's newest record."""


def check_key(db: Database, key: bytes | None = None) -> None:
    """Refuse (:class:`AuditKeyMismatch`) when the newest keyed record does not verify under
    this process's key.

    Every process that appends to one database must hold the same key (README "Deployment"):
    a process with another key (a missing ``GLABELLA_AUDIT_KEY`` on a second machine makes
    it generate its own key file) would append rows whose HMACs break the chain for everyone,
    hiding real tampering among false alarms. The app checks at startup and does not serve.
    One row is read; an empty chain, or one that ends in rows written before migration 0010,
    has no keyed record to check against.
    """
    key = key or current_key()
    with db.read() as session:
        head = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).first()
        if head is None or head.seq <= legacy_boundary(session):
            return
        if hmac.compare_digest(head.hash, chain_hash(_row_fields(head), head.prev_hash, key)):
            return
        seq = head.seq
    raise AuditKeyMismatch(
        f"the audit key of this process does not verify the newest audit record (seq {seq}): "
        "every app process on one database needs the same key (GLABELLA_AUDIT_KEY or "
        "GLABELLA_AUDIT_KEY_FILE); if the key is right, that record was altered: run "
        "`glabella audit verify`"
    )


def write_checkpoint(db: Database, path: Path) -> Checkpoint:
    """Verify the chain (against the file's checkpoints), then append a signed checkpoint of
    its head to ``path`` (created 0600; appends are locked, so processes may share it).
    Raises :class:`CheckpointError` when the chain or the file does not verify."""
    report = verify_chain(db, path)
    if not report.ok:
        raise CheckpointError(
            f"the audit chain does not verify, no checkpoint written: {report.reason}"
        )
    key = current_key()
    with db.read() as session:
        boundary = legacy_boundary(session)
    fields: dict[str, object] = {
        "count": report.records,
        "head_hash": report.head_hash,
        "time": _canonical_time(utcnow()),
        "legacy_until": boundary,
    }
    cp = Checkpoint(
        count=report.records,
        head_hash=report.head_hash,
        time=str(fields["time"]),
        legacy_until=boundary,
        signature=_sign(fields, key),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, (cp.line() + "\n").encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    return cp
