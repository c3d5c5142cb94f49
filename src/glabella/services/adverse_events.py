"""Adverse events: recorded by staff or reported by the patient; dangerous ones raise alerts."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from glabella import labels
from glabella.clinic import adverse_events as ae_rules
from glabella.clinic.chart import AdverseEventChange, AdverseEventData
from glabella.services import audit
from glabella.services.clinic_time import clinic_zone
from glabella.services.context import Actor, Database
from glabella.services.errors import Invalid, NotFound
from glabella.services.patients import load_patient, require_role
from glabella.services.roles import CLINICAL_ROLES
from glabella.services.users import staff_name
from glabella.store.models import Alert
from glabella.store.pathway import AdverseEventRecord, AdverseEventUpdate, Treatment

AE_LABELS: dict[str, str] = dict(ae_rules.TYPE_LABELS)  # one map: clinic.adverse_events


# The form's labels: every refusal names the field as the person filling the form reads it.
FIELD_LABELS: dict[str, str] = {
    "type": "Event",
    "description": "Description",
    "onset": "Onset",
    "grade": "CTCAE v5 grade",
    "serious": "Serious (ICH E2A)",
    "seriousness": "Seriousness criteria",
    "relatedness": "Relatedness to the injection",
    "action": "Action taken",
    "outcome": "Outcome",
    "resolved_on": "Resolution date",
    "treatment_id": "Treatment it followed",
    "note": "What changed and why",
}

GRADE_LABELS: dict[int, str] = {
    1: "mild",
    2: "moderate",
    3: "severe or medically significant",
    4: "life-threatening",
    5: "death related to the event",
}
SERIOUSNESS_LABELS: dict[str, str] = dict(ae_rules.SERIOUSNESS_LABELS)
RELATEDNESS_LABELS: dict[str, str] = {
    "not_related": "not related",
    "unlikely": "unlikely",
    "possible": "possible",
    "probable": "probable",
    "definite": "definite",
}
ACTION_LABELS: dict[str, str] = {
    "none": "none",
    "symptomatic_treatment": "symptomatic treatment",
    "referred": "referred",
    "emergency_care": "emergency care",
    "retreatment_withheld": "re-treatment withheld",
    "other": "other",
}
OUTCOME_LABELS: dict[str, str] = {
    "recovered": "recovered",
    "recovering": "recovering",
    "not_recovered": "not recovered",
    "recovered_with_sequelae": "recovered with sequelae",
    "fatal": "fatal",
    "unknown": "unknown",
}

LATEST: Final = "latest"
"""``treatment_id`` default: the patient's latest treatment at or before the onset."""
UNCHANGED: Final = "unchanged"
"""``treatment_id`` of an update that keeps the event's link."""


AdverseEventView = AdverseEventData
"""The chart's adverse event record (:class:`glabella.clinic.chart.AdverseEventData`)."""


def _words(session: Session, field: str, value: object) -> str:
    """A stored value as the form shows it (labels, not codes)."""
    if value is None or value == "":
        return "none" if field in ("seriousness", "treatment_id") else "–"
    if field == "grade":
        return f"{value} — {GRADE_LABELS.get(int(str(value)), '')}"
    if field == "seriousness":
        return ", ".join(SERIOUSNESS_LABELS.get(s, s) for s in str(value).split(",") if s)
    if field == "treatment_id":
        treatment = session.get(Treatment, int(str(value)))
        return str(value) if treatment is None else treatment.treatment_date.isoformat()
    table = {
        "relatedness": RELATEDNESS_LABELS,
        "action": ACTION_LABELS,
        "outcome": OUTCOME_LABELS,
    }.get(field, {})
    return table.get(str(value), str(value))


def _change(session: Session, row: AdverseEventUpdate) -> AdverseEventChange:
    raw = json.loads(row.changes_json)
    changes = {k: (v[0], v[1]) for k, v in raw.items()}
    return AdverseEventChange(
        changed_at=row.changed_at,
        changed_by=row.changed_by_name,
        changes=changes,
        note=row.note,
        shown=tuple(
            (FIELD_LABELS.get(k, k), _words(session, k, b), _words(session, k, a))
            for k, (b, a) in changes.items()
        ),
    )


def event_record(session: Session, row: AdverseEventRecord) -> AdverseEventData:
    """The chart record of a stored event, with its update history (read by the chart too)."""
    treatment = None if row.treatment_id is None else session.get(Treatment, row.treatment_id)
    return AdverseEventData(
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
        resolved_on=row.resolved_on,
        treatment_date=None if treatment is None else treatment.treatment_date,
        history=tuple(_change(session, u) for u in row.updates),
    )


def _latest_treatment_id(session: Session, patient_id: int, before: dt.datetime) -> int | None:
    return session.scalars(
        select(Treatment.id)
        .where(Treatment.patient_id == patient_id, Treatment.treated_at <= before)
        .order_by(Treatment.treated_at.desc(), Treatment.id.desc())
        .limit(1)
    ).first()


def _linked_treatment(
    session: Session, patient_id: int, onset: dt.datetime, choice: int | str | None
) -> int | None:
    """The treatment an event followed: the latest before the onset, a chosen one, or none."""
    if choice == LATEST:
        return _latest_treatment_id(session, patient_id, onset)
    if choice is None:
        return None
    label = FIELD_LABELS["treatment_id"]
    try:
        tid = int(choice)
    except ValueError:
        raise Invalid(
            f"{label}: choose one of the patient's treatments", field="treatment_id"
        ) from None
    treatment = session.get(Treatment, tid)
    if treatment is None or treatment.patient_id != patient_id:
        raise Invalid(
            f"{label}: treatment {tid} is not one of this patient's treatments",
            field="treatment_id",
        )
    if treatment.treated_at > onset:
        raise Invalid(
            f"{label}: the event began before that treatment "
            f"({treatment.treatment_date.isoformat()}); choose an earlier one or none",
            field="treatment_id",
        )
    return tid


@dataclass(frozen=True)
class TreatmentChoice:
    id: int
    treated_at: dt.datetime
    label: str


def treatment_choices(db: Database, actor: Actor, patient_id: int) -> list[TreatmentChoice]:
    """The patient's treatments, newest first, for the "treatment it followed" choice."""
    require_role(actor, CLINICAL_ROLES, "view adverse events")
    with db.read() as session:
        load_patient(session, actor, patient_id)
        rows = session.scalars(
            select(Treatment)
            .where(Treatment.patient_id == patient_id)
            .order_by(Treatment.treated_at.desc(), Treatment.id.desc())
        ).all()
        return [
            TreatmentChoice(
                t.id,
                t.treated_at,
                f"{t.treatment_date.isoformat()}: {t.total_units} U {labels.product(t.product_id)}",
            )
            for t in rows
        ]


@dataclass(frozen=True)
class Judgement:
    """The clinician's answers about an event, as typed (strings; empty = not chosen).

    Nothing has a default: an empty answer is refused, naming the form's label (H-090).
    """

    grade: str
    serious: str  # "yes" | "no" | ""
    seriousness: tuple[str, ...]
    relatedness: str
    action: str
    outcome: str
    resolved_on: str = ""


@dataclass(frozen=True)
class _Parsed:
    grade: ae_rules.Grade
    seriousness: frozenset[ae_rules.Seriousness]
    relatedness: ae_rules.Relatedness
    action: ae_rules.Action
    outcome: ae_rules.AEOutcome
    resolved_on: dt.date | None


E = TypeVar("E", bound=StrEnum)


def _choice(kind: type[E], value: str, field: str) -> E:
    try:
        return kind(value)
    except ValueError:
        raise Invalid(
            f"{FIELD_LABELS[field]}: {value!r} is not one of the choices", field=field
        ) from None


def parse_judgement(j: Judgement) -> _Parsed:
    """Check the clinician's answers: every one chosen, each one of its choices."""
    missing = [
        name
        for name, value in (
            ("grade", j.grade),
            ("serious", j.serious),
            ("relatedness", j.relatedness),
            ("action", j.action),
            ("outcome", j.outcome),
        )
        if not value.strip()
    ]
    if missing:
        labels = ", ".join(f"“{FIELD_LABELS[m]}”" for m in missing)
        raise Invalid(
            f"Please choose an answer for {labels}: nothing is pre-selected, so each must be "
            "chosen.",
            field=missing[0],
        )
    try:
        grade = ae_rules.Grade(int(j.grade))
    except ValueError:
        raise Invalid(
            f"{FIELD_LABELS['grade']} must be 1 to 5, got {j.grade}", field="grade"
        ) from None
    if j.serious not in ("yes", "no"):
        raise Invalid(f"{FIELD_LABELS['serious']}: answer yes or no", field="serious")
    criteria = frozenset(_choice(ae_rules.Seriousness, s, "seriousness") for s in j.seriousness)
    if j.serious == "yes" and not criteria:
        raise Invalid(
            f"{FIELD_LABELS['serious']}: you answered yes; tick the criteria that apply",
            field="seriousness",
        )
    if j.serious == "no" and criteria:
        raise Invalid(
            f"{FIELD_LABELS['serious']}: you answered no but ticked criteria; answer yes or "
            "untick them",
            field="serious",
        )
    resolved_on = None
    if j.resolved_on.strip():
        try:
            resolved_on = dt.date.fromisoformat(j.resolved_on.strip())
        except ValueError:
            raise Invalid(
                f"{FIELD_LABELS['resolved_on']}: enter a date (YYYY-MM-DD)", field="resolved_on"
            ) from None
    return _Parsed(
        grade=grade,
        seriousness=criteria,
        relatedness=_choice(ae_rules.Relatedness, j.relatedness, "relatedness"),
        action=_choice(ae_rules.Action, j.action, "action"),
        outcome=_choice(ae_rules.AEOutcome, j.outcome, "outcome"),
        resolved_on=resolved_on,
    )


def _inconsistent(exc: ValueError) -> Invalid:
    text = str(exc)
    field = "resolved_on" if "resolution" in text else "outcome"
    if "description" in text:
        field = "description"
    return Invalid(f"Adverse event: {text}", field=field)


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
    judgement: Judgement,
    description: str = "",
    treatment_id: int | str | None = LATEST,
) -> tuple[AdverseEventData, tuple[ae_rules.AEAlert, ...]]:
    """Record a clinician-graded adverse event; serious events and distant spread alert.

    ``treatment_id``: :data:`LATEST` (the latest treatment at or before the onset), a treatment
    id of the patient's, or ``None`` (the event followed no treatment).
    """
    require_role(actor, CLINICAL_ROLES, "record adverse events")
    if not type_.strip():
        raise Invalid(f"Please choose an answer for “{FIELD_LABELS['type']}”.", field="type")
    kind = _choice(ae_rules.AEType, type_, "type")
    if onset.tzinfo is None:
        raise Invalid(f"{FIELD_LABELS['onset']} must include a timezone", field="onset")
    parsed = parse_judgement(judgement)
    now = db.now()
    if onset > now + dt.timedelta(minutes=5):
        raise Invalid(f"{FIELD_LABELS['onset']} cannot be in the future", field="onset")
    with db.transaction() as session:
        load_patient(session, actor, patient_id)
        local_onset = onset.astimezone(clinic_zone(session, actor))
        try:
            event = ae_rules.AdverseEvent(
                type=kind,
                onset=local_onset,
                grade=parsed.grade,
                seriousness=parsed.seriousness,
                relatedness=parsed.relatedness,
                action=parsed.action,
                outcome=parsed.outcome,
                description=description.strip(),
                resolved_on=parsed.resolved_on,
            )
        except ValueError as exc:
            raise _inconsistent(exc) from None
        if event.resolved_on is not None and event.resolved_on > now.astimezone(
            local_onset.tzinfo
        ).date() + dt.timedelta(days=1):
            raise Invalid(
                f"{FIELD_LABELS['resolved_on']} cannot be in the future", field="resolved_on"
            )
        alerts = ae_rules.assess(event)
        row = AdverseEventRecord(
            patient_id=patient_id,
            treatment_id=_linked_treatment(session, patient_id, onset, treatment_id),
            type=event.type.value,
            description=event.description,
            onset=onset,
            grade=int(event.grade),
            seriousness=",".join(sorted(s.value for s in event.seriousness)),
            relatedness=event.relatedness.value,
            action=event.action.value,
            outcome=event.outcome.value,
            resolved_on=event.resolved_on,
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
            treatment_id=row.treatment_id,
            alerts=[a.code for a in alerts],
        )
        return event_record(session, row), alerts


def _actor_name(session: Session, actor: Actor) -> str:
    return staff_name(session, actor)


def update_adverse_event(
    db: Database,
    actor: Actor,
    patient_id: int,
    event_id: int,
    *,
    judgement: Judgement,
    treatment_id: int | str | None,
    note: str = "",
) -> tuple[AdverseEventData, tuple[ae_rules.AEAlert, ...]]:
    """A follow-up update (outcome, resolution date, grade, seriousness, relatedness, action,
    the treatment it followed): the event is re-checked whole, the change kept as history
    with its before and after values, and only newly raised alerts are opened.

    Grading a patient-reported side effect is such an update.
    """
    require_role(actor, CLINICAL_ROLES, "update adverse events")
    parsed = parse_judgement(judgement)
    now = db.now()
    with db.transaction() as session:
        load_patient(session, actor, patient_id)
        row = session.get(AdverseEventRecord, event_id)
        if row is None or row.patient_id != patient_id:
            raise NotFound(f"no adverse event with id {event_id} for this patient")
        tz = clinic_zone(session, actor)
        local_onset = row.onset.astimezone(tz)
        kind = ae_rules.AEType(row.type)
        try:
            ae_rules.AdverseEvent(
                type=kind,
                onset=local_onset,
                grade=parsed.grade,
                seriousness=parsed.seriousness,
                relatedness=parsed.relatedness,
                action=parsed.action,
                outcome=parsed.outcome,
                description=row.description,
                resolved_on=parsed.resolved_on,
            )
        except ValueError as exc:
            raise _inconsistent(exc) from None
        if parsed.resolved_on is not None and parsed.resolved_on > now.astimezone(
            tz
        ).date() + dt.timedelta(days=1):
            raise Invalid(
                f"{FIELD_LABELS['resolved_on']} cannot be in the future", field="resolved_on"
            )
        before_seriousness = frozenset(
            ae_rules.Seriousness(s) for s in row.seriousness.split(",") if s
        )
        before_alerts = ae_rules.alerts_for(
            kind,
            None if row.grade is None else ae_rules.Grade(row.grade),
            before_seriousness,
        )
        after_alerts = ae_rules.alerts_for(kind, parsed.grade, parsed.seriousness)
        raised = ae_rules.new_alerts(before_alerts, after_alerts)
        linked = (
            row.treatment_id
            if treatment_id == UNCHANGED
            else _linked_treatment(session, patient_id, row.onset, treatment_id)
        )
        after: dict[str, object] = {
            "grade": int(parsed.grade),
            "seriousness": ",".join(sorted(s.value for s in parsed.seriousness)),
            "relatedness": parsed.relatedness.value,
            "action": parsed.action.value,
            "outcome": parsed.outcome.value,
            "resolved_on": None if parsed.resolved_on is None else parsed.resolved_on.isoformat(),
            "treatment_id": linked,
        }
        before: dict[str, object] = {
            "grade": row.grade,
            "seriousness": row.seriousness,
            "relatedness": row.relatedness,
            "action": row.action,
            "outcome": row.outcome,
            "resolved_on": None if row.resolved_on is None else row.resolved_on.isoformat(),
            "treatment_id": row.treatment_id,
        }
        changes = {k: (before[k], after[k]) for k in after if before[k] != after[k]}
        if not changes:
            raise Invalid(
                "Nothing changed: change the outcome, resolution date, grade or another answer",
                field="outcome",
            )
        row.grade = int(parsed.grade)
        row.seriousness = str(after["seriousness"])
        row.relatedness = parsed.relatedness.value
        row.action = parsed.action.value
        row.outcome = parsed.outcome.value
        row.resolved_on = parsed.resolved_on
        row.treatment_id = linked
        session.add(
            AdverseEventUpdate(
                adverse_event_id=row.id,
                changed_at=now,
                changed_by_id=actor.user_id,
                changed_by_name=_actor_name(session, actor),
                changes_json=json.dumps(changes, sort_keys=True),
                note=note.strip()[:2000],
            )
        )
        session.flush()
        session.refresh(row, attribute_names=["updates"])
        open_event_alerts(session, patient_id, raised, now)
        audit.record(
            session,
            actor,
            "adverse_event.update",
            "adverse_event",
            row.id,
            patient_id=patient_id,
            changed=sorted(changes),
            alerts=[a.code for a in raised],
        )
        return event_record(session, row), raised


def get_adverse_event(
    db: Database, actor: Actor, patient_id: int, event_id: int
) -> AdverseEventData:
    """One event with its history."""
    require_role(actor, CLINICAL_ROLES, "view adverse events")
    with db.transaction() as session:
        load_patient(session, actor, patient_id)
        row = session.get(AdverseEventRecord, event_id)
        if row is None or row.patient_id != patient_id:
            raise NotFound(f"no adverse event with id {event_id} for this patient")
        audit.record(session, actor, "adverse_event.view", "adverse_event", event_id)
        return event_record(session, row)


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


def list_adverse_events(db: Database, actor: Actor, patient_id: int) -> list[AdverseEventData]:
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
        return [event_record(session, r) for r in rows]
