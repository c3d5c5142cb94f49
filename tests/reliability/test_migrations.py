"""Upgrading from every earlier schema revision, with data in it, to the newest."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text

from glabella.services import audit
from glabella.services.context import Database
from glabella.store import migrate
from glabella.store.models import AuditEvent

BACKENDS = ["sqlite", "postgresql"]


def _revisions() -> list[str]:
    """Every revision, oldest first."""
    script = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    return [r.revision for r in reversed(list(script.walk_revisions()))]


EARLIER = _revisions()[:-1]
AT = dt.datetime(2026, 1, 5, 10, 30, 15, 123456, tzinfo=dt.UTC)


def _seed(url: str) -> None:
    """Rows written with plain SQL in the shape of revision 0001 (present in every later one)."""
    db = Database.from_url(url)
    has_chain = "seq" in {c["name"] for c in inspect(db.engine).get_columns("audit_events")}
    keyed = inspect(db.engine).has_table("audit_chain_state")  # revision 0010 or later
    with db.engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO clinics (id, name, timezone, created_at) VALUES (1, 'Old', 'UTC', :at)"
            ),
            {"at": AT},
        )
        c.execute(
            text(
                "INSERT INTO users (id, clinic_id, username, full_name, role, password_hash, "
                "must_change_password, active, created_at) "
                "VALUES (1, 1, 'old.doc', 'Old Doc', 'clinician', 'x', false, true, :at)"
            ),
            {"at": AT},
        )
        c.execute(
            text(
                "INSERT INTO patients (id, clinic_id, mrn, given_name, family_name, date_of_birth,"
                " sex, phone, email, created_at, updated_at) VALUES "
                "(1, 1, 'M1', 'Mary', 'Shelley', '1797-08-30', 'female', NULL, NULL, :at, :at)"
            ),
            {"at": AT},
        )
        c.execute(
            text(
                "INSERT INTO assessments (id, patient_id, instrument_id, total, band, source, "
                "entered_by_id, link_id, submitted_at) "
                "VALUES (1, 1, 'phq9', 1, 'minimal', 'clinician', 1, NULL, :at)"
            ),
            {"at": AT},
        )
        for i in range(1, 10):
            c.execute(
                text(
                    "INSERT INTO assessment_answers (assessment_id, item_id, value) "
                    "VALUES (1, :item, :v)"
                ),
                {"item": f"phq9_{i}", "v": 1 if i == 9 else 0},
            )
        c.execute(
            text(
                "INSERT INTO alerts (id, patient_id, assessment_id, kind, level, message, status, "
                "created_at) VALUES (1, 1, 1, 'suicide_risk', 'urgent', 'item 9', 'open', :at)"
            ),
            {"at": AT},
        )
    if has_chain:
        with db.transaction() as session:
            for i in range(3):
                audit.record(session, None, "old.event", "patient", 1, n=i)
        if not keyed:
            # A server before revision 0010 hashed its rows unkeyed (SHA-256): re-hash them so.
            with db.transaction() as session:
                prev = audit.GENESIS_HASH
                for row in session.scalars(select(AuditEvent).order_by(AuditEvent.seq)):
                    row.prev_hash = prev
                    row.hash = prev = audit.legacy_hash(
                        {n: getattr(row, n) for n in audit._CHAINED_FIELDS}, prev
                    )
    else:
        with db.engine.begin() as c:
            for i in range(3):
                c.execute(
                    text(
                        "INSERT INTO audit_events (at, user_id, role, clinic_id, action, entity, "
                        "entity_id, detail, source) VALUES "
                        "(:at, 1, 'clinician', 1, 'old.event', 'patient', '1', :d, 'test')"
                    ),
                    {"at": AT + dt.timedelta(seconds=i), "d": f'{{"n": {i}}}'},
                )
    db.engine.dispose()


@pytest.mark.parametrize("empty_database_url", BACKENDS, indirect=True)
@pytest.mark.parametrize("start", EARLIER)
def test_upgrade_from_every_earlier_revision_keeps_the_data(
    empty_database_url: str, start: str
) -> None:
    url = empty_database_url
    migrate.upgrade(url, start)
    _seed(url)
    migrate.upgrade(url)
    db = Database.from_url(url)
    try:
        with db.engine.connect() as c:
            head = c.execute(text("SELECT version_num FROM alembic_version")).scalar()
            assert head == _revisions()[-1]
            patient = c.execute(
                text("SELECT mrn, family_name, date_of_birth FROM patients WHERE id = 1")
            ).one()
            assert (patient[0], patient[1], str(patient[2])) == ("M1", "Shelley", "1797-08-30")
            values = (
                c.execute(
                    text(
                        "SELECT value FROM assessment_answers"
                        " WHERE assessment_id = 1 ORDER BY item_id"
                    )
                )
                .scalars()
                .all()
            )
            assert sorted(values) == [0] * 8 + [1]
            assert c.execute(text("SELECT status FROM alerts WHERE id = 1")).scalar() == "open"
            user = c.execute(text("SELECT totp_secret FROM users WHERE id = 1")).one()
            assert user[0] is None
        report = audit.verify_chain(db)
        assert report.ok and report.records == 3, report
        # The upgraded chain goes on: a new record links to the migrated head.
        with db.transaction() as session:
            audit.record(session, None, "new.event", "patient", 1)
        assert audit.verify_chain(db).records == 4
    finally:
        db.engine.dispose()
