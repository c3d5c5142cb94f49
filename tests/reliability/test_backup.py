"""`glabella backup` / `glabella restore`: a round trip that compares every row, both backends."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from glabella.cli import app as cli_app
from glabella.services import assessments, audit, backup, links, patients, users
from glabella.services.context import Database
from glabella.services.errors import Conflict, Invalid
from glabella.services.patients import parse_patient_input
from glabella.settings import get_settings
from glabella.store.models import AuditEvent

PASSWORD = "correct horse battery staple"


def _fill(db: Database) -> None:
    """Some of everything: two clinics, users, patients with odd text, answers, alerts, links."""
    users.create_clinic(db, "Second Clinic")
    doc, _ = users.create_user(
        db, username="dr.b", full_name="Dr B", role="clinician", password=PASSWORD
    )
    users.create_user(
        db,
        username="dr.c",
        full_name="Dr C",
        role="nurse",
        password=PASSWORD,
        clinic="Second Clinic",
    )
    actor = doc.actor("test")
    for i, name in enumerate(["O'Brien", 'Zoë "Quotes"', "李", "<b>bold</b>"]):
        p = patients.create_patient(
            db,
            actor,
            parse_patient_input(
                {
                    "mrn": f"B{i}",
                    "given_name": "G",
                    "family_name": name,
                    "date_of_birth": f"19{50 + i}-02-2{i}",
                    "sex": "unknown",
                    "phone": "0123" if i % 2 else "",
                }
            ),
        )
        answers = {f"phq9_{k}": (i + k) % 4 for k in range(1, 10)}
        assessments.submit_assessment(db, actor, p.id, "phq9", answers)
        links.create_link(db, actor, p.id, ["gad7"], valid_hours=5)


def _rows(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return lines[1:]


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_round_trip_compares_every_row(db: Database, database_url: str, tmp_path: Path) -> None:
    _fill(db)
    first = tmp_path / "one.jsonl"
    summary = backup.backup(db, first)
    assert summary.tables["patients"] == 4 and summary.tables["assessment_answers"] == 36
    assert summary.rows == len(_rows(first)) and summary.rows > 60
    target = Database.from_url(database_url)
    try:
        restored = backup.restore(target, first)
        assert restored.tables == summary.tables
        second = tmp_path / "two.jsonl"
        backup.backup(target, second)
        assert _rows(second) == _rows(first)  # every row, every column, in order
        assert audit.verify_chain(target).ok
        # The restored database keeps working: new ids do not collide with restored ones.
        doc = users.authenticate(target, "dr.b", PASSWORD, None)
        created = patients.create_patient(
            target,
            doc.actor(),
            parse_patient_input(
                {
                    "mrn": "NEW",
                    "given_name": "N",
                    "family_name": "New",
                    "date_of_birth": "2000-01-01",
                    "sex": "male",
                }
            ),
        )
        assert created.id == 5
        assert audit.verify_chain(target).ok
    finally:
        target.engine.dispose()


def test_restore_refuses_a_non_empty_database(db: Database, tmp_path: Path) -> None:
    _fill(db)
    path = tmp_path / "b.jsonl"
    backup.backup(db, path)
    with pytest.raises(Conflict, match="not empty"):
        backup.restore(db, path)


def test_restore_refuses_a_truncated_or_foreign_file(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    _fill(db)
    path = tmp_path / "b.jsonl"
    backup.backup(db, path)
    truncated = tmp_path / "t.jsonl"
    truncated.write_text("\n".join(path.read_text().splitlines()[:-3]) + "\n")
    target = Database.from_url(database_url)
    try:
        with pytest.raises(Invalid, match="truncated"):
            backup.restore(target, truncated)
        with target.engine.connect() as c:  # nothing was left half-restored
            assert c.execute(text("SELECT COUNT(*) FROM patients")).scalar() == 0
        foreign = tmp_path / "f.jsonl"
        foreign.write_text(json.dumps({"hello": 1}) + "\n")
        with pytest.raises(Invalid, match="not a Glabella backup"):
            backup.restore(target, foreign)
    finally:
        target.engine.dispose()


def test_cli_backup_and_restore(db: Database, database_url: str, tmp_path: Path) -> None:
    _fill(db)
    path = tmp_path / "cli.jsonl"
    source = db.engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    get_settings.cache_clear()
    try:
        made = runner.invoke(cli_app, ["backup", str(path)], env={"GLABELLA_DATABASE_URL": source})
        assert made.exit_code == 0, made.output
        get_settings.cache_clear()
        back = runner.invoke(
            cli_app, ["restore", str(path)], env={"GLABELLA_DATABASE_URL": database_url}
        )
        assert back.exit_code == 0, back.output
        get_settings.cache_clear()
        again = runner.invoke(
            cli_app, ["restore", str(path)], env={"GLABELLA_DATABASE_URL": database_url}
        )
        assert again.exit_code != 0 and "not empty" in again.output
    finally:
        get_settings.cache_clear()
    assert "restored" in back.output
    # Both are on the audit trail, chained onto the head (the restored trail goes on).
    target = Database.from_url(database_url)
    try:
        for database, action in ((db, "backup.create"), (target, "backup.restore")):
            with database.transaction() as session:
                last = session.scalars(
                    select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)
                ).one()
                assert (last.action, last.entity) == (action, "database")
            assert audit.verify_chain(database).ok
    finally:
        target.engine.dispose()
