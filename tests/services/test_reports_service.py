"""The report service on a real database: snapshot from the record, a stored record per
generated report, audit rows, and regeneration from the recorded evidence version after the
evidence base has changed."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from builders import patient_with_baseline, safe_screening, screen
from glabella.evidence.studies import packaged_data_dir
from glabella.services import reports as report_svc
from glabella.services.context import Actor, Database
from glabella.services.errors import Forbidden, Invalid, NotFound
from glabella.store.models import AuditEvent
from glabella.store.reports import ConsultationReportRecord, EvidenceSnapshot

NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)
SAFE = safe_screening(cssrs=True)


def _patient(db: Database, actor: Actor) -> int:
    # PHQ-9 answers 2,2,2,2,2,2,2,1,0 -> total 15 (moderately severe, 15-19).
    pid = patient_with_baseline(
        db,
        actor,
        [2, 2, 2, 2, 2, 2, 2, 1, 0],
        mrn="REP-1",
        given_name="Rita",
        family_name="Report",
        date_of_birth="1979-03-04",
    )
    screen(db, actor, pid, SAFE, medications=("sertraline 50 mg",))
    return pid


@pytest.fixture
def clocked(db: Database) -> Database:
    db.clock = lambda: NOW
    return db


def _count(db: Database, model: type) -> int:
    with db.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _changed_evidence(tmp_path: Path) -> Path:
    """A copy of the evidence base with one number changed (Finzi 2014 BoNT-A responders)."""
    target = tmp_path / "studies"
    shutil.copytree(packaged_data_dir(), target)
    finzi = target / "finzi-2014.yaml"
    text = finzi.read_text(encoding="utf-8")
    assert text.count("events: {value: 17,") == 1
    finzi.write_text(text.replace("events: {value: 17,", "events: {value: 12,"), "utf-8")
    return target


def test_generate_records_and_regenerates_after_the_evidence_changed(
    clocked: Database, actor: Actor, tmp_path: Path
) -> None:
    db = clocked
    pid = _patient(db, actor)
    first = report_svc.generate_report(db, actor, pid, condition="mdd", lang="de")
    assert first.record is not None
    rep = first.report
    phq9 = next(b for b in rep.baseline if b.instrument_id == "phq9")
    assert (phq9.total, phq9.band) == (15, "moderately severe")
    assert rep.antidepressants == ("sertraline 50 mg",)
    assert rep.evidence.patient_on_antidepressant is True
    resp = next(o for o in rep.evidence.outcomes if o.outcome == "response")
    assert (resp.bont_events, resp.bont_n) == (17 + 6, 33 + 11)
    assert _count(db, ConsultationReportRecord) == 1 and _count(db, EvidenceSnapshot) == 1

    # The evidence base changes: Finzi BoNT-A responders 17 -> 12.
    changed = _changed_evidence(tmp_path)
    second = report_svc.generate_report(db, actor, pid, condition="mdd", evidence_dir=changed)
    assert second.record is not None
    assert second.record.evidence_version != first.record.evidence_version
    resp2 = next(o for o in second.report.evidence.outcomes if o.outcome == "response")
    assert (resp2.bont_events, resp2.bont_n) == (12 + 6, 44)
    assert resp2.bont_risk < resp.bont_risk
    assert second.report.content_hash() != rep.content_hash()
    assert _count(db, EvidenceSnapshot) == 2

    # The old report is rebuilt from its recorded evidence version, identically.
    again = report_svc.regenerate_report(db, actor, first.record.id)
    assert again.identical is True and again.note is None
    assert again.report.content_hash() == first.record.content_hash == rep.content_hash()
    assert again.report.evidence_version == first.record.evidence_version
    assert again.lang == "de"
    newer = report_svc.regenerate_report(db, actor, second.record.id)
    assert newer.identical is True
    assert newer.report.content_hash() == second.report.content_hash()

    listed = report_svc.list_reports(db, actor, pid)
    assert [r.id for r in listed] == [second.record.id, first.record.id]
    with db.transaction() as session:
        actions = session.scalars(select(AuditEvent.action)).all()
    assert actions.count("report.generate") == 2
    assert actions.count("report.regenerate") == 2
    assert "report.list" in actions


def test_roles_clinics_and_bad_input(clocked: Database, actor: Actor, make_user: object) -> None:
    db = clocked
    pid = _patient(db, actor)
    receptionist = make_user("desk", "receptionist").actor("test")  # type: ignore[operator]
    with pytest.raises(Forbidden):
        report_svc.preview_report(db, receptionist, pid)
    other_clinic = Actor(actor.user_id, actor.username, actor.role, actor.clinic_id + 99)
    with pytest.raises(NotFound):
        report_svc.preview_report(db, other_clinic, pid)
    with pytest.raises(Invalid, match="condition must be one of"):
        report_svc.generate_report(db, actor, pid, condition="flu")
    with pytest.raises(Invalid, match="language must be one of"):
        report_svc.generate_report(db, actor, pid, lang="xx")
    with pytest.raises(NotFound):
        report_svc.regenerate_report(db, actor, 424242)
    assert _count(db, ConsultationReportRecord) == 0  # nothing half-written
