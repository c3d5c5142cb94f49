"""Safety alerts: listed until someone records what was done; never silently dismissed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from glabella.services import audit
from glabella.services.context import Actor, Database
from glabella.services.errors import Conflict, Invalid, NotFound
from glabella.services.patients import require_role
from glabella.services.roles import ALERT_ACTION_ROLES, CLINICAL_ROLES
from glabella.store.models import Alert, Patient

MIN_ACTION_LENGTH = 10


@dataclass(frozen=True)
class AlertView:
    id: int
    patient_id: int
    patient_name: str
    patient_mrn: str
    assessment_id: int | None
    kind: str
    level: str
    message: str
    status: str
    created_at: dt.datetime
    action_text: str | None
    actioned_by: str | None
    actioned_at: dt.datetime | None

    @classmethod
    def of(cls, a: Alert) -> AlertView:
        return cls(
            id=a.id,
            patient_id=a.patient_id,
            patient_name=f"{a.patient.family_name}, {a.patient.given_name}",
            patient_mrn=a.patient.mrn,
            assessment_id=a.assessment_id,
            kind=a.kind,
            level=a.level,
            message=a.message,
            status=a.status,
            created_at=a.created_at,
            action_text=a.action_text,
            actioned_by=a.actioned_by.full_name if a.actioned_by else None,
            actioned_at=a.actioned_at,
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "patient_id": self.patient_id,
            "assessment_id": self.assessment_id,
            "kind": self.kind,
            "level": self.level,
            "message": self.message,
            "status": self.status,
            "created_at": self.created_at.isoformat(),
            "action_text": self.action_text,
            "actioned_by": self.actioned_by,
            "actioned_at": self.actioned_at.isoformat() if self.actioned_at else None,
        }


def list_alerts(
    db: Database, actor: Actor, *, status: str | None = "open", patient_id: int | None = None
) -> list[AlertView]:
    """Alerts of the actor's clinic, urgent and oldest first."""
    require_role(actor, CLINICAL_ROLES, "view safety alerts")
    if status not in (None, "open", "closed"):
        raise Invalid("status must be open or closed", field="status")
    with db.transaction() as session:
        stmt = (
            select(Alert)
            .join(Patient, Patient.id == Alert.patient_id)
            .where(Patient.clinic_id == actor.clinic_id)
            .options(selectinload(Alert.patient), selectinload(Alert.actioned_by))
            .order_by(Alert.created_at, Alert.id)
        )
        if status is not None:
            stmt = stmt.where(Alert.status == status)
        if patient_id is not None:
            stmt = stmt.where(Alert.patient_id == patient_id)
        found = [AlertView.of(a) for a in session.scalars(stmt)]
        audit.record(
            session, actor, "alert.list", "alert", None, patient_id=patient_id, results=len(found)
        )
        return found


def record_action(db: Database, actor: Actor, alert_id: int, action_text: str) -> AlertView:
    """Close an alert with what was done; who and when are recorded from the session."""
    require_role(actor, ALERT_ACTION_ROLES, "act on safety alerts")
    text = action_text.strip()
    if len(text) < MIN_ACTION_LENGTH:
        raise Invalid(
            f"describe the action taken (at least {MIN_ACTION_LENGTH} characters)",
            field="action_text",
        )
    with db.transaction() as session:
        alert = session.get(Alert, alert_id)
        if alert is None or alert.patient.clinic_id != actor.clinic_id:
            raise NotFound(f"no alert with id {alert_id}", field="alert_id")
        if alert.status != "open":
            raise Conflict("this alert was already closed", field="alert_id")
        alert.status = "closed"
        alert.action_text = text
        alert.actioned_by_id = actor.user_id
        alert.actioned_at = db.now()
        session.flush()
        session.refresh(alert)
        audit.record(session, actor, "alert.action", "alert", alert.id, patient_id=alert.patient_id)
        return AlertView.of(alert)
