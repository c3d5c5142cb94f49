"""Adverse events: recorded by staff or reported by the patient; dangerous ones raise alerts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from glabella.clinic import adverse_events as ae_rules
from glabella.services import audit
from glabella.services.context import Actor, Database
from glabella.services.errors import Invalid
from glabella.services.patients import load_patient, require_role
from glabella.services.roles import CLINICAL_ROLES
from glabella.store.models import Alert
from glabella.store.pathway import AdverseEventRecord, Treatment

AE_LABELS: dict[str, str] = {
    "injection_site_pain": "Pain at the injection site",
    "headache": "Headache",
    "bruising": "Bruising",
    "eyelid_ptosis": "Drooping eyelid",
    "brow_ptosis": "Drooping eyebrow",
    "asymmetry": "Uneven look of the brow or face",
    "flu_like_symptoms": "Flu-like symptoms",
    "dysphagia": "Difficulty swallowing",
    "dysphonia": "Change in voice / hoarseness",
    "dysarthria": "Difficulty speaking clearly",
    "breathing_difficulty": "Difficulty breathing",
    "diplopia": "Double vision",
    "generalised_weakness": "Weakness beyond the face",
    "mood_worsening": "Mood getting worse",
    "other": "Something else",
}


@dataclass(frozen=True)
class AdverseEventView:
    id: int
    patient_id: int
    treatment_id: int | None
    type: str
    label: str
    description: str
    onset: dt.datetime
    grade: int | None
    seriousness: tuple[str, ...]
    relatedness: str | None
    action: str | None
    outcome: str | None
    reported_by: str
    recorded_at: dt.datetime

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "patient_id": self.patient_id,
            "treatment_id": self.treatment_id,
            "type": self.type,
            "description": self.description,
            "onset": self.onset.isoformat(),
            "grade": self.grade,
            "seriousness": list(self.seriousness),
            "relatedness": self.relatedness,
            "action": self.action,
            "outcome": self.outcome,
            "reported_by": self.reported_by,
            "recorded_at": self.recorded_at.isoformat(),
        }


def _view(row: AdverseEventRecord) -> AdverseEventView:
    return AdverseEventView(
        id=row.id,
        patient_id=row.patient_id,
        treatment_id=row.treatment_id,
        type=row.type,
        label=AE_LABELS.get(row.type, row.type),
        description=row.description,
        onset=row.onset,
        grade=row.grade,
        seriousness=tuple(s for s in row.seriousness.split(",") if s),
        relatedness=row.relatedness,
        action=row.action,
        outcome=row.outcome,
        reported_by=row.reported_by,
        recorded_at=row.recorded_at,
    )


def _latest_treatment_id(session: Session, patient_id: int, before: dt.datetime) -> int | None:
    return session.scalars(
        select(Treatment.id)
        .where(Treatment.patient_id == patient_id, Treatment.treated_at <= before)
        .order_by(Treatment.treated_at.desc())
        .limit(1)
    ).first()


def open_event_alerts(
    session: Session, patient_id: int, alerts: Sequence[ae_rules.AEAlert], at: dt.datetime
) -> None:
    """Open one dashboard alert per alert the pure AE rules raised, in the caller's transaction."""
    for alert in alerts:
        session.add(
            Alert(
                patient_id=patient_id,
                assessment_id=None,
                kind=alert.code,
                level=alert.level,
                message=alert.message,
                status="open",
                created_at=at,
            )
        )


def record_adverse_event(
    db: Database,
    actor: Actor,
    patient_id: int,
    *,
    type_: str,
    onset: dt.datetime,
    grade: int,
    seriousness: tuple[str, ...],
    relatedness: str,
    action: str,
    outcome: str,
    description: str = "",
) -> tuple[AdverseEventView, tuple[ae_rules.AEAlert, ...]]:
    """Record a clinician-graded adverse event; serious events and distant spread alert."""
    require_role(actor, CLINICAL_ROLES, "record adverse events")
    if grade not in range(1, 6):
        raise Invalid(f"CTCAE grade must be 1 to 5, got {grade}", field="grade")
    try:
        event = ae_rules.AdverseEvent(
            type=ae_rules.AEType(type_),
            onset=onset,
            grade=ae_rules.Grade(grade),
            seriousness=frozenset(ae_rules.Seriousness(s) for s in seriousness),
            relatedness=ae_rules.Relatedness(relatedness),
            action=ae_rules.Action(action),
            outcome=ae_rules.AEOutcome(outcome),
            description=description.strip(),
        )
    except ValueError as exc:
        raise Invalid(f"adverse event: {exc}", field="adverse_event") from None
    now = db.now()
    if onset > now + dt.timedelta(minutes=5):
        raise Invalid("onset cannot be in the future", field="onset")
    alerts = ae_rules.assess(event)
    with db.transaction() as session:
        load_patient(session, actor, patient_id)
        row = AdverseEventRecord(
            patient_id=patient_id,
            treatment_id=_latest_treatment_id(session, patient_id, onset),
            type=event.type.value,
            description=event.description,
            onset=onset,
            grade=int(event.grade),
            seriousness=",".join(sorted(s.value for s in event.seriousness)),
            relatedness=event.relatedness.value,
            action=event.action.value,
            outcome=event.outcome.value,
            reported_by="staff",
            recorded_by_id=actor.user_id,
            recorded_at=now,
        )
        session.add(row)
        session.flush()
        open_event_alerts(session, patient_id, alerts, now)
        audit.record(
            session,
            actor,
            "adverse_event.record",
            "adverse_event",
            row.id,
            patient_id=patient_id,
            type=event.type.value,
            alerts=[a.code for a in alerts],
        )
        return _view(row), alerts


def patient_report_alerts(type_: str) -> tuple[tuple[str, str, str], ...]:
    """Alerts for a patient-reported, not yet graded side effect: (code, level, message).

    Possible distant spread is urgent whatever the grade; everything else asks a clinician to
    grade the report.
    """
    kind = ae_rules.AEType(type_)
    if kind in ae_rules.DISTANT_SPREAD_TYPES:
        return (
            (
                "possible_distant_spread",
                "urgent",
                f"Patient reports {AE_LABELS[type_].lower()}: possible distant spread of toxin "
                "effect. Contact the patient now; emergency care if breathing or swallowing "
                "is affected.",
            ),
        )
    if kind is ae_rules.AEType.MOOD_WORSENING:
        return (
            (
                "mood_worsening",
                "high",
                "Patient reports mood getting worse after treatment: assess suicide risk "
                "(C-SSRS) and review.",
            ),
        )
    return (
        (
            "side_effect_reported",
            "high",
            f"Patient reports {AE_LABELS[type_].lower()}: grade it (CTCAE v5) and decide "
            "what to do.",
        ),
    )


def store_patient_report(
    session: Session,
    actor: Actor,
    patient_id: int,
    type_: str,
    description: str,
    now: dt.datetime,
) -> AdverseEventRecord:
    """Write a patient-reported side effect and its alerts into the caller's transaction."""
    try:
        ae_rules.AEType(type_)
    except ValueError:
        raise Invalid(f"unknown side effect {type_!r}", field="side_effect") from None
    if type_ == "other" and not description.strip():
        raise Invalid("please describe the side effect", field="side_effect_description")
    row = AdverseEventRecord(
        patient_id=patient_id,
        treatment_id=_latest_treatment_id(session, patient_id, now),
        type=type_,
        description=description.strip()[:2000],
        onset=now,
        grade=None,
        seriousness="",
        relatedness=None,
        action=None,
        outcome=None,
        reported_by="patient",
        recorded_by_id=None,
        recorded_at=now,
    )
    session.add(row)
    session.flush()
    for code, level, message in patient_report_alerts(type_):
        session.add(
            Alert(
                patient_id=patient_id,
                assessment_id=None,
                kind=code,
                level=level,
                message=message,
                status="open",
                created_at=now,
            )
        )
    audit.record(
        session,
        actor,
        "adverse_event.patient_report",
        "adverse_event",
        row.id,
        patient_id=patient_id,
        type=type_,
    )
    return row


def list_adverse_events(db: Database, actor: Actor, patient_id: int) -> list[AdverseEventView]:
    """A patient's adverse events, newest first."""
    require_role(actor, CLINICAL_ROLES, "view adverse events")
    with db.transaction() as session:
        load_patient(session, actor, patient_id)
        rows = session.scalars(
            select(AdverseEventRecord)
            .where(AdverseEventRecord.patient_id == patient_id)
            .order_by(AdverseEventRecord.recorded_at.desc(), AdverseEventRecord.id.desc())
        ).all()
        audit.record(session, actor, "adverse_event.list", "patient", patient_id)
        return [_view(r) for r in rows]
