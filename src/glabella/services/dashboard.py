"""The clinician's dashboard: open alerts, assessments due, recent results."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from glabella.services import audit
from glabella.services.alerts import AlertView, list_alerts
from glabella.services.context import Actor, Database
from glabella.services.patients import require_role
from glabella.services.roles import CLINICAL_ROLES
from glabella.store.models import Assessment, Patient, SelfReportLink

DUE_AFTER_DAYS = 28
"""A patient with no assessment for this many days is listed as due (until the follow-up
schedule of the clinical pathway takes over)."""


@dataclass(frozen=True)
class DueItem:
    patient_id: int
    patient_name: str
    mrn: str
    reason: str
    since: dt.datetime | None


@dataclass(frozen=True)
class RecentResult:
    assessment_id: int
    patient_id: int
    patient_name: str
    instrument_id: str
    total: int
    band: str
    submitted_at: dt.datetime


@dataclass(frozen=True)
class Dashboard:
    alerts: list[AlertView]
    due: list[DueItem]
    recent: list[RecentResult]


def dashboard(db: Database, actor: Actor, *, recent_limit: int = 20) -> Dashboard:
    """Everything the dashboard shows, read in one go."""
    require_role(actor, CLINICAL_ROLES, "view the clinical dashboard")
    alerts = list_alerts(db, actor, status="open")
    now = db.now()
    with db.transaction() as session:
        last = (
            select(Assessment.patient_id, func.max(Assessment.submitted_at).label("last_at"))
            .group_by(Assessment.patient_id)
            .subquery()
        )
        rows = session.execute(
            select(Patient, last.c.last_at)
            .outerjoin(last, last.c.patient_id == Patient.id)
            .where(Patient.clinic_id == actor.clinic_id)
            .order_by(Patient.family_name, Patient.id)
        ).all()
        pending_links = {
            link.patient_id: link
            for link in session.scalars(
                select(SelfReportLink)
                .join(Patient, Patient.id == SelfReportLink.patient_id)
                .where(
                    Patient.clinic_id == actor.clinic_id,
                    SelfReportLink.used_at.is_(None),
                    SelfReportLink.expires_at > now,
                )
            )
        }
        due: list[DueItem] = []
        for patient, last_at in rows:
            name = f"{patient.family_name}, {patient.given_name}"
            link = pending_links.get(patient.id)
            if link is not None:
                due.append(
                    DueItem(patient.id, name, patient.mrn, "self-report link sent", link.created_at)
                )
            elif last_at is None:
                due.append(DueItem(patient.id, name, patient.mrn, "no baseline assessment", None))
            else:
                last_aware = last_at if last_at.tzinfo else last_at.replace(tzinfo=dt.UTC)
                if now - last_aware >= dt.timedelta(days=DUE_AFTER_DAYS):
                    due.append(
                        DueItem(
                            patient.id,
                            name,
                            patient.mrn,
                            f"last assessed over {DUE_AFTER_DAYS} days ago",
                            last_aware,
                        )
                    )
        recent_rows = session.execute(
            select(Assessment, Patient)
            .join(Patient, Patient.id == Assessment.patient_id)
            .where(Patient.clinic_id == actor.clinic_id)
            .order_by(Assessment.submitted_at.desc(), Assessment.id.desc())
            .limit(recent_limit)
        ).all()
        recent = [
            RecentResult(
                a.id,
                p.id,
                f"{p.family_name}, {p.given_name}",
                a.instrument_id,
                a.total,
                a.band,
                a.submitted_at,
            )
            for a, p in recent_rows
        ]
        audit.record(
            session, actor, "dashboard.view", "patient", None, due=len(due), recent=len(recent)
        )
    return Dashboard(alerts=alerts, due=due, recent=recent)
