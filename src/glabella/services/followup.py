"""Follow-up and measurement-based care: the visit schedule and outcomes since treatment."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from glabella.clinic import outcomes, schedule
from glabella.services import audit
from glabella.services.clinic_time import clinic_zone
from glabella.services.context import Actor, Database
from glabella.services.patients import load_patient, require_role
from glabella.services.roles import CLINICAL_ROLES
from glabella.store.models import Assessment, Patient
from glabella.store.pathway import Treatment

FOLLOWUP_INSTRUMENT = "phq9"
"""The instrument whose completion marks a follow-up visit as done (clinic setting)."""


@dataclass(frozen=True)
class VisitView:
    key: str
    label: str
    target: dt.date
    opens: dt.date
    closes: dt.date
    status: str


@dataclass(frozen=True)
class VisitOutcome:
    """One follow-up score against the pre-treatment baseline (every visit, not only latest)."""

    at: dt.datetime
    total: int
    change: int
    percent_change: float | None
    response: bool | None
    remission: bool | None
    rci: float | None
    reliable_change: str | None

    def to_dict(self) -> dict[str, object]:
        return {
            "at": self.at.isoformat(),
            "total": self.total,
            "change": self.change,
            "percent_change": self.percent_change,
            "response": self.response,
            "remission": self.remission,
            "rci": self.rci,
            "reliable_change": self.reliable_change,
        }


def _visit_outcome(instrument_id: str, baseline: int, row: Assessment) -> VisitOutcome:
    s = outcomes.summarise(instrument_id, baseline, row.total)
    pct = s.percent_change
    return VisitOutcome(
        at=row.submitted_at,
        total=row.total,
        change=int(s.change),
        percent_change=None if pct is None else float(Fraction(pct)),
        response=s.response,
        remission=s.remission,
        rci=s.rci,
        reliable_change=outcomes.reliable_change_category(s.rci),
    )


@dataclass(frozen=True)
class OutcomeView:
    instrument_id: str
    baseline: int
    baseline_at: dt.datetime
    current: int
    current_at: dt.datetime
    change: int
    percent_change: float | None
    response: bool | None
    remission: bool | None
    not_improving_week6: bool | None
    rci: float | None = None
    reliable_change: str | None = None
    rci_statement: str | None = None
    visits: tuple[VisitOutcome, ...] = ()


@dataclass(frozen=True)
class FollowUp:
    treatment_id: int | None
    treated_at: dt.datetime | None
    visits: tuple[VisitView, ...]
    retreatment_from: dt.date | None
    outcomes: tuple[OutcomeView, ...]

    def to_dict(self) -> dict[str, object]:
        return {
            "treatment_id": self.treatment_id,
            "treated_at": self.treated_at.isoformat() if self.treated_at else None,
            "retreatment_from": self.retreatment_from.isoformat()
            if self.retreatment_from
            else None,
            "visits": [
                {
                    "key": v.key,
                    "label": v.label,
                    "target": v.target.isoformat(),
                    "opens": v.opens.isoformat(),
                    "closes": v.closes.isoformat(),
                    "status": v.status,
                }
                for v in self.visits
            ],
            "outcomes": [
                {
                    "instrument": o.instrument_id,
                    "baseline": o.baseline,
                    "baseline_at": o.baseline_at.isoformat(),
                    "current": o.current,
                    "current_at": o.current_at.isoformat(),
                    "change": o.change,
                    "percent_change": o.percent_change,
                    "response": o.response,
                    "remission": o.remission,
                    "not_improving_week6": o.not_improving_week6,
                    "rci": o.rci,
                    "reliable_change": o.reliable_change,
                    "rci_statement": o.rci_statement,
                    "visits": [v.to_dict() for v in o.visits],
                }
                for o in self.outcomes
            ],
        }


def _completed_keys(
    visits: Sequence[schedule.ScheduledVisit], assessed_days: Sequence[dt.date]
) -> set[str]:
    return {v.spec.key for v in visits if any(v.opens <= d <= v.closes for d in assessed_days)}


def _outcomes_since(
    treated_at: dt.datetime,
    tz: ZoneInfo,
    rows: Sequence[Assessment],
    visits: Sequence[schedule.ScheduledVisit],
) -> tuple[OutcomeView, ...]:
    day0 = treated_at.astimezone(tz).date()
    baseline_opens = day0 - dt.timedelta(days=14)
    week6 = next((v for v in visits if v.spec.key == "week6"), None)
    result = []
    for instrument_id in sorted({r.instrument_id for r in rows}):
        mine = [r for r in rows if r.instrument_id == instrument_id]
        before = [
            r
            for r in mine
            if r.submitted_at <= treated_at
            and r.submitted_at.astimezone(tz).date() >= baseline_opens
        ]
        after = [r for r in mine if r.submitted_at > treated_at]
        if not before or not after:
            continue
        base, current = before[-1], after[-1]
        summary = outcomes.summarise(instrument_id, base.total, current.total)
        w6 = None
        if week6 is not None:
            in_w6 = [
                r
                for r in after
                if week6.opens <= r.submitted_at.astimezone(tz).date() <= week6.closes
            ]
            if in_w6:
                w6 = outcomes.is_not_improving(base.total, in_w6[-1].total)
        pct = summary.percent_change
        result.append(
            OutcomeView(
                instrument_id=instrument_id,
                baseline=base.total,
                baseline_at=base.submitted_at,
                current=current.total,
                current_at=current.submitted_at,
                change=int(summary.change),
                percent_change=None if pct is None else float(Fraction(pct)),
                response=summary.response,
                remission=summary.remission,
                not_improving_week6=w6,
                rci=summary.rci,
                reliable_change=outcomes.reliable_change_category(summary.rci),
                rci_statement=outcomes.rci_statement(instrument_id),
                visits=tuple(_visit_outcome(instrument_id, base.total, r) for r in after),
            )
        )
    return tuple(result)


def _followup(session: Session, tz: ZoneInfo, patient_id: int, now: dt.datetime) -> FollowUp:
    last = session.scalars(
        select(Treatment)
        .where(Treatment.patient_id == patient_id)
        .order_by(Treatment.treated_at.desc())
        .limit(1)
    ).first()
    if last is None:
        return FollowUp(None, None, (), None, ())
    rows = session.scalars(
        select(Assessment)
        .where(Assessment.patient_id == patient_id)
        .order_by(Assessment.submitted_at, Assessment.id)
    ).all()
    visits = schedule.schedule_visits(last.treated_at, tz)
    done_days = [
        r.submitted_at.astimezone(tz).date() for r in rows if r.instrument_id == FOLLOWUP_INSTRUMENT
    ]
    completed = _completed_keys(visits, done_days)
    views = tuple(
        VisitView(
            v.spec.key,
            v.spec.label,
            v.target,
            v.opens,
            v.closes,
            schedule.visit_status(v, now, tz, completed, visits=visits),
        )
        for v in visits
    )
    return FollowUp(
        treatment_id=last.id,
        treated_at=last.treated_at,
        visits=views,
        retreatment_from=schedule.retreatment_allowed_from(last.treated_at, tz),
        outcomes=_outcomes_since(last.treated_at, tz, rows, visits),
    )


def patient_followup(db: Database, actor: Actor, patient_id: int) -> FollowUp:
    """Schedule (from the latest treatment), re-treatment date and outcomes for one patient."""
    require_role(actor, CLINICAL_ROLES, "view follow-up")
    with db.transaction() as session:
        load_patient(session, actor, patient_id)
        audit.record(session, actor, "followup.view", "patient", patient_id)
        return _followup(session, clinic_zone(session, actor), patient_id, db.now())


@dataclass(frozen=True)
class DueVisit:
    patient_id: int
    patient_name: str
    mrn: str
    visit: VisitView


def due_visits(db: Database, actor: Actor) -> list[DueVisit]:
    """Every follow-up visit that is due or overdue in the clinic, most overdue first
    (a ``missed`` visit, superseded by a later window, is not listed)."""
    require_role(actor, CLINICAL_ROLES, "view follow-up")
    now = db.now()
    with db.transaction() as session:
        tz = clinic_zone(session, actor)
        treated = (
            session.execute(
                select(Patient)
                .join(Treatment, Treatment.patient_id == Patient.id)
                .where(Patient.clinic_id == actor.clinic_id)
                .group_by(Patient.id)
                .having(func.count(Treatment.id) > 0)
            )
            .scalars()
            .all()
        )
        out = []
        for patient in treated:
            follow = _followup(session, tz, patient.id, now)
            for visit in follow.visits:
                if visit.status in ("due", "overdue"):
                    out.append(
                        DueVisit(
                            patient.id,
                            f"{patient.family_name}, {patient.given_name}",
                            patient.mrn,
                            visit,
                        )
                    )
        audit.record(session, actor, "followup.due", "patient", None, results=len(out))
        return sorted(out, key=lambda d: d.visit.target)
