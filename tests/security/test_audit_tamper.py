"""Attacks on the audit trail by a database user who lacks the audit key (issue 17 item 3).

The reproductions of the issue: (1) change a row and recompute the whole chain after it -
possible with the old unkeyed SHA-256, refused now because every row is an HMAC with a key
kept outside the database; (2) delete the newest rows - a shorter chain still links, found
against the signed checkpoint file. Both run on SQLite and PostgreSQL (the ``db`` fixture).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner, Result

from glabella.cli import app as cli_app
from glabella.services import audit
from glabella.services.context import Database
from glabella.settings import get_settings
from glabella.store.models import AuditEvent


def _url(db: Database) -> str:
    return db.engine.url.render_as_string(hide_password=False)


def run_cli(db: Database, checkpoints: Path, *args: str) -> Result:
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(
            cli_app,
            list(args),
            env={
                "GLABELLA_DATABASE_URL": _url(db),
                "GLABELLA_AUDIT_CHECKPOINT_FILE": str(checkpoints),
            },
        )
    finally:
        get_settings.cache_clear()


def _append(db: Database, n: int) -> None:
    for i in range(n):
        with db.transaction() as session:
            audit.record(session, None, "test.event", "thing", i, n=i)


def _rewrite_chain_unkeyed(db: Database, from_seq: int) -> None:
    """What the issue's attacker did: edit a row, then recompute every hash after it with
    SHA-256 (the published algorithm, without the key, which is not in the database)."""
    with db.transaction() as session:
        rows = session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
        prev = audit.GENESIS_HASH
        for row in rows:
            if row.seq == from_seq:
                row.detail = '{"n": 999}'
                row.action = "harmless.event"
            if row.seq >= from_seq:
                row.prev_hash = prev
                row.hash = audit.legacy_hash(
                    {n: getattr(row, n) for n in audit._CHAINED_FIELDS}, prev
                )
            prev = row.hash


def test_rewritten_chain_without_the_key_is_found(db: Database, tmp_path: Path) -> None:
    _append(db, 8)
    _rewrite_chain_unkeyed(db, 3)
    report = audit.verify_chain(db)
    assert not report.ok and report.broken_seq == 3 and report.records == 2
    assert "contents" in (report.reason or "")
    result = run_cli(db, tmp_path / "cp", "audit", "verify")
    assert result.exit_code == 1 and "seq 3" in result.output


def test_rewritten_chain_with_a_guessed_key_is_found(db: Database) -> None:
    _append(db, 4)
    with db.transaction() as session:
        rows = session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
        prev = audit.GENESIS_HASH
        for row in rows:
            row.prev_hash = prev
            row.hash = audit.chain_hash(
                {n: getattr(row, n) for n in audit._CHAINED_FIELDS}, prev, b"guess"
            )
            prev = row.hash
    report = audit.verify_chain(db)
    assert not report.ok and report.broken_seq == 1


def test_truncation_after_a_checkpoint_is_found(db: Database, tmp_path: Path) -> None:
    """Delete the newest 25 rows: the chain left behind links, the checkpoint does not agree."""
    checkpoints = tmp_path / "checkpoints"
    _append(db, 40)
    written = run_cli(db, checkpoints, "audit", "checkpoint", "--print")
    assert written.exit_code == 0, written.output
    assert "40 records" in written.output and "signature" in written.output
    line = json.loads(checkpoints.read_text().splitlines()[-1])
    assert line["count"] == 40 and len(line["signature"]) == 64
    assert checkpoints.stat().st_mode & 0o777 == 0o600
    ok = run_cli(db, checkpoints, "audit", "verify")
    assert ok.exit_code == 0 and "40 records" in ok.output, ok.output

    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE seq > 15"))
    assert audit.verify_chain(db).ok  # without the checkpoint: nothing to see
    report = audit.verify_chain(db, checkpoints)
    assert not report.ok and report.records == 15 and report.broken_seq == 16
    assert "truncated" in (report.reason or "") and "signed 40 records" in (report.reason or "")
    result = run_cli(db, checkpoints, "audit", "verify")
    assert result.exit_code == 1 and "truncated" in result.output
    # ... and no new checkpoint can be signed over the shortened chain.
    refused = run_cli(db, checkpoints, "audit", "checkpoint")
    assert refused.exit_code == 1 and "does not verify" in refused.output
    assert len(checkpoints.read_text().splitlines()) == 1


def test_truncate_then_refill_to_the_same_length_is_found(db: Database, tmp_path: Path) -> None:
    """Delete the newest rows and append as many new ones: the count agrees, the head does not."""
    checkpoints = tmp_path / "checkpoints"
    _append(db, 10)
    audit.write_checkpoint(db, checkpoints)
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE seq > 6"))
    _append(db, 4)
    assert audit.verify_chain(db).ok
    report = audit.verify_chain(db, checkpoints)
    assert not report.ok and report.broken_seq == 10 and "checkpoint" in (report.reason or "")


def test_an_edited_checkpoint_file_is_found(db: Database, tmp_path: Path) -> None:
    checkpoints = tmp_path / "checkpoints"
    _append(db, 5)
    audit.write_checkpoint(db, checkpoints)
    data = json.loads(checkpoints.read_text())
    data["count"] = 3
    checkpoints.write_text(json.dumps(data) + "\n")
    report = audit.verify_chain(db, checkpoints)
    assert not report.ok and "signature does not verify" in (report.reason or "")


def test_raising_the_legacy_boundary_is_found(db: Database, tmp_path: Path) -> None:
    """Marking every row 'legacy' (unkeyed) would let the attacker rehash with SHA-256; the
    boundary is signed into each checkpoint."""
    checkpoints = tmp_path / "checkpoints"
    _append(db, 5)
    audit.write_checkpoint(db, checkpoints)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_chain_state SET legacy_until_seq = 5"))
    _rewrite_chain_unkeyed(db, 2)
    report = audit.verify_chain(db, checkpoints)
    assert not report.ok


def test_the_key_file_is_created_0600_outside_the_database(tmp_path: Path) -> None:
    from glabella.settings import Settings

    settings = Settings(data_dir=tmp_path, audit_key="")
    key = settings.resolved_audit_key()
    path = tmp_path / "audit_key"
    assert len(key) >= 48 and path.read_bytes().strip() == key
    assert path.stat().st_mode & 0o777 == 0o600
    assert Settings(data_dir=tmp_path, audit_key="").resolved_audit_key() == key


@pytest.mark.parametrize("n", [0, 3])
def test_checkpoint_of_a_short_chain_verifies(db: Database, tmp_path: Path, n: int) -> None:
    _append(db, n)
    cp = audit.write_checkpoint(db, tmp_path / "cp")
    assert cp.count == n
    report = audit.verify_chain(db, tmp_path / "cp")
    assert report.ok and report.checkpoints == 1
