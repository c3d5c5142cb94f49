"""Use cases of the consultation report: preview, generate (and record), regenerate, list.

This is the adapter between the store and the pure builder: it reads the patient's chart
(:func:`glabella.services.chart.load_chart`) into a :class:`PatientSnapshot` in one
transaction (with an audit row), loads the evidence base, and calls
:func:`glabella.reports.model.build_report`. A generated report is recorded with its snapshot,
condition, language, time, app version and evidence version; the evidence files of that
version are kept once in ``evidence_snapshots``. :func:`regenerate` rebuilds a recorded report
from exactly those inputs and says whether the result is identical (its content hash equals
the recorded one).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from threading import Lock
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

import glabella
from glabella.evidence.studies import (
    EvidenceBase,
    EvidenceDataError,
    load_evidence,
    packaged_data_dir,
)
from glabella.reports.i18n import LANGUAGES
from glabella.reports.model import CONDITIONS, ConsultationReport, build_report
from glabella.reports.snapshot import PatientSnapshot, VisitSnapshot, snapshot_of
from glabella.services import audit
from glabella.services import followup as followup_service
from glabella.services.chart import load_chart
from glabella.services.clinic_time import clinic_zone
from glabella.services.context import Actor, Database
from glabella.services.errors import Invalid, NotFound
from glabella.services.patients import load_patient, require_role
from glabella.services.roles import CLINICAL_ROLES
from glabella.store.reports import ConsultationReportRecord, EvidenceSnapshot

__all__ = [
    "GeneratedReport",
    "ReportRecordView",
    "evidence_files",
    "evidence_from_files",
    "generate_report",
    "list_reports",
    "preview_report",
    "regenerate_report",
]


@dataclass(frozen=True)
class ReportRecordView:
    """A stored report record (no patient data beyond the ids)."""

    id: int
    patient_id: int
    created_at: dt.datetime
    condition: str
    lang: str
    protocol_id: str | None
    app_version: str
    evidence_version: str
    content_hash: str

    @classmethod
    def of(cls, row: ConsultationReportRecord) -> ReportRecordView:
        return cls(
            id=row.id,
            patient_id=row.patient_id,
            created_at=row.created_at,
            condition=row.condition,
            lang=row.lang,
            protocol_id=row.protocol_id,
            app_version=row.app_version,
            evidence_version=row.evidence_version,
            content_hash=row.content_hash,
        )

    def to_dict(self) -> dict[str, object]:
        """Plain dict for JSON."""
        return {
            "id": self.id,
            "patient_id": self.patient_id,
            "created_at": self.created_at.isoformat(),
            "condition": self.condition,
            "lang": self.lang,
            "protocol_id": self.protocol_id,
            "app_version": self.app_version,
            "evidence_version": self.evidence_version,
            "content_hash": self.content_hash,
        }


@dataclass(frozen=True)
class GeneratedReport:
    """A built report, with its stored record (None for a preview).

    ``identical`` is set by :func:`regenerate_report`: True when the rebuilt report's content
    hash equals the recorded one.
    """

    report: ConsultationReport
    lang: str
    record: ReportRecordView | None
    identical: bool | None = None
    note: str | None = None


# --- evidence -----------------------------------------------------------------------------

_CACHE: dict[str, EvidenceBase] = {}
_CACHE_LOCK = Lock()


def evidence_files(directory: Path | None = None) -> dict[str, str]:
    """The study files (name -> text) of a directory, packaged data by default."""
    base = directory if directory is not None else packaged_data_dir()
    return {
        f.name: f.read_text(encoding="utf-8")
        for f in sorted(base.iterdir())
        if f.name.endswith((".yaml", ".yml"))
    }


def evidence_from_files(files: dict[str, str]) -> EvidenceBase:
    """Load (and validate) an evidence base from stored file texts; cached by content."""
    with tempfile.TemporaryDirectory(prefix="glabella-evidence-") as tmp:
        for name, text in files.items():
            if "/" in name or "\\" in name or name.startswith("."):
                raise Invalid(f"bad evidence file name {name!r}", field="evidence")
            Path(tmp, name).write_text(text, encoding="utf-8")
        return load_evidence(Path(tmp))


def _evidence(files: dict[str, str]) -> EvidenceBase:
    key = json.dumps(files, sort_keys=True)
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
    with _CACHE_LOCK:
        hit = _CACHE.get(digest)
    if hit is not None:
        return hit
    try:
        ev = evidence_from_files(files)
    except EvidenceDataError as exc:
        raise Invalid(f"the evidence base does not validate: {exc}", field="evidence") from None
    with _CACHE_LOCK:
        if len(_CACHE) > 8:
            _CACHE.clear()
        _CACHE[digest] = ev
    return ev


# --- snapshot -----------------------------------------------------------------------------


def _snapshot(
    session: Session, actor: Actor, patient_id: int, now: dt.datetime, tz: ZoneInfo
) -> PatientSnapshot:
    chart = load_chart(session, actor, patient_id)
    follow = followup_service._followup(session, tz, patient_id, now)
    return snapshot_of(
        chart,
        as_of=now,
        tz=tz,
        visits=tuple(
            VisitSnapshot(v.key, v.target, v.opens, v.closes, v.status) for v in follow.visits
        ),
        retreatment_from=follow.retreatment_from,
    )


def _check(condition: str, lang: str) -> None:
    if condition not in CONDITIONS:
        raise Invalid(f"condition must be one of {', '.join(CONDITIONS)}", field="condition")
    if lang not in LANGUAGES:
        raise Invalid(f"language must be one of {', '.join(LANGUAGES)}", field="lang")


def _build(
    snap: PatientSnapshot,
    ev: EvidenceBase,
    condition: str,
    generated_at: dt.datetime,
    app_version: str,
    protocol_id: str | None,
) -> ConsultationReport:
    try:
        return build_report(
            snap,
            ev,
            condition=condition,
            generated_at=generated_at,
            app_version=app_version,
            protocol_id=protocol_id,
        )
    except ValueError as exc:
        field = "protocol_id" if "protocol" in str(exc) else "report"
        raise Invalid(str(exc), field=field) from None


# --- use cases ----------------------------------------------------------------------------


def preview_report(
    db: Database,
    actor: Actor,
    patient_id: int,
    *,
    condition: str = "mdd",
    lang: str = "en",
    protocol_id: str | None = None,
    evidence_dir: Path | None = None,
) -> GeneratedReport:
    """Build the report for the page without storing it (the read is audited)."""
    require_role(actor, CLINICAL_ROLES, "view consultation reports")
    _check(condition, lang)
    ev = _evidence(evidence_files(evidence_dir))
    now = db.now()
    with db.transaction() as session:
        snap = _snapshot(session, actor, patient_id, now, clinic_zone(session, actor))
        audit.record(
            session, actor, "report.preview", "patient", patient_id, condition=condition, lang=lang
        )
    return GeneratedReport(
        _build(snap, ev, condition, now, glabella.__version__, protocol_id), lang, None
    )


def generate_report(
    db: Database,
    actor: Actor,
    patient_id: int,
    *,
    condition: str = "mdd",
    lang: str = "en",
    protocol_id: str | None = None,
    evidence_dir: Path | None = None,
) -> GeneratedReport:
    """Build the report and record it (snapshot, versions, content hash) with an audit row."""
    require_role(actor, CLINICAL_ROLES, "generate consultation reports")
    _check(condition, lang)
    files = evidence_files(evidence_dir)
    ev = _evidence(files)
    now = db.now()
    with db.transaction() as session:
        snap = _snapshot(session, actor, patient_id, now, clinic_zone(session, actor))
        report = _build(snap, ev, condition, now, glabella.__version__, protocol_id)
        if session.get(EvidenceSnapshot, ev.version) is None:
            session.add(
                EvidenceSnapshot(
                    version=ev.version,
                    files_json=json.dumps(files, sort_keys=True, ensure_ascii=False),
                    created_at=now,
                )
            )
            session.flush()
        row = ConsultationReportRecord(
            patient_id=patient_id,
            clinic_id=actor.clinic_id,
            created_at=now,
            created_by_id=actor.user_id,
            condition=condition,
            lang=lang,
            protocol_id=protocol_id,
            app_version=glabella.__version__,
            evidence_version=ev.version,
            content_hash=report.content_hash(),
            snapshot_json=json.dumps(snap.to_dict(), sort_keys=True, ensure_ascii=False),
        )
        session.add(row)
        session.flush()
        audit.record(
            session,
            actor,
            "report.generate",
            "consultation_report",
            row.id,
            patient_id=patient_id,
            condition=condition,
            lang=lang,
            evidence_version=ev.version,
        )
        return GeneratedReport(report, lang, ReportRecordView.of(row))


def _load_record(session: Session, actor: Actor, report_id: int) -> ConsultationReportRecord:
    row = session.get(ConsultationReportRecord, report_id)
    if row is None or row.clinic_id != actor.clinic_id:
        raise NotFound(f"no consultation report with id {report_id}", field="report_id")
    load_patient(session, actor, row.patient_id)
    return row


def regenerate_report(db: Database, actor: Actor, report_id: int) -> GeneratedReport:
    """Rebuild a recorded report from its stored snapshot and evidence version.

    ``identical`` tells whether the rebuilt content hash equals the recorded one; when it does
    not (the app's code changed since), ``note`` says so with both versions.
    """
    require_role(actor, CLINICAL_ROLES, "view consultation reports")
    with db.transaction() as session:
        row = _load_record(session, actor, report_id)
        ev_row = session.get(EvidenceSnapshot, row.evidence_version)
        if ev_row is None:
            raise NotFound(
                f"the evidence snapshot {row.evidence_version} of report {report_id} is missing",
                field="report_id",
            )
        files = json.loads(ev_row.files_json)
        snap = PatientSnapshot.from_dict(json.loads(row.snapshot_json))
        view = ReportRecordView.of(row)
        audit.record(
            session,
            actor,
            "report.regenerate",
            "consultation_report",
            row.id,
            patient_id=row.patient_id,
        )
    ev = _evidence(files)
    report = _build(snap, ev, view.condition, view.created_at, view.app_version, view.protocol_id)
    identical = report.content_hash() == view.content_hash
    note = None
    if not identical:
        note = (
            f"rebuilt report differs from the recorded one (recorded with Glabella "
            f"{view.app_version}, rebuilt with {glabella.__version__})"
        )
    return GeneratedReport(report, view.lang, view, identical, note)


def list_reports(db: Database, actor: Actor, patient_id: int) -> list[ReportRecordView]:
    """A patient's recorded reports, newest first."""
    require_role(actor, CLINICAL_ROLES, "view consultation reports")
    with db.transaction() as session:
        load_patient(session, actor, patient_id)
        rows = session.scalars(
            select(ConsultationReportRecord)
            .where(ConsultationReportRecord.patient_id == patient_id)
            .order_by(
                ConsultationReportRecord.created_at.desc(), ConsultationReportRecord.id.desc()
            )
        ).all()
        audit.record(session, actor, "report.list", "patient", patient_id)
        return [ReportRecordView.of(r) for r in rows]
