"""Safety alerts: listed until someone records what was done; never silently dismissed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from glabella import labels
from glabella.services import audit
from glabella.services.context import Actor, Database
from glabella.services.errors import Conflict, Invalid, NotFound
from glabella.services.patients import require_role
from glabella.services.roles import ALERT_ACTION_ROLES, CLINICAL_ROLES
from glabella.store.models import Alert, Assessment, Patient, User

MIN_ACTION_LENGTH = 10
HISTORY_PER_PAGE = 50
MAX_PER_PAGE = 200


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
    raised_by: str = "system"

    @classmethod
    def of(cls, a: Alert, raised_by: str = "system") -> AlertView:
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
            raised_by=raised_by,
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "patient_id": self.patient_id,
            "assessment_id": self.assessment_id,
            "kind": self.kind,
            "kind_label": labels.label(self.kind, "alert_kind"),
            "level": self.level,
            "level_label": labels.label(self.level, "alert_level"),
            "message": self.message,
            "status": self.status,
            "created_at": self.created_at.isoformat(),
            "action_text": self.action_text,
            "actioned_by": self.actioned_by,
            "actioned_at": self.actioned_at.isoformat() if self.actioned_at else None,
            "raised_by": self.raised_by,
        }


def _raised_by(session: Session, alerts: list[Alert]) -> dict[int, str]:
    """Who raised each alert: the answers' source (the patient's self-report, or the staff
    member who entered them); alerts not tied to an assessment were raised by the system."""
    ids = {a.assessment_id for a in alerts if a.assessment_id is not None}
    if not ids:
        return {}
    found = session.execute(
        select(Assessment.id, Assessment.source, User.full_name)
        .outerjoin(User, User.id == Assessment.entered_by_id)
        .where(Assessment.id.in_(ids))
    ).all()
    out = {}
    for assessment_id, source, name in found:
        if source == "self_report":
            out[assessment_id] = "the patient (self-report answers)"
        else:
            out[assessment_id] = f"{name} (entered answers)" if name else "staff (entered answers)"
    return out


def _views(session: Session, alerts: list[Alert]) -> list[AlertView]:
    who = _raised_by(session, alerts)
    return [
        AlertView.of(a, who.get(a.assessment_id, "system") if a.assessment_id else "system")
        for a in alerts
    ]


def list_alerts(
    db: Database,
    actor: Actor,
    *,
    status: str | None = "open",
    patient_id: int | None = None,
    limit: int | None = None,
) -> list[AlertView]:
    """Alerts of the actor's clinic, oldest first (the first ``limit`` when given)."""
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
        if limit is not None:
            stmt = stmt.limit(limit)
        found = _views(session, list(session.scalars(stmt)))
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
        return _views(session, [alert])[0]


@dataclass(frozen=True)
class AlertHistory:
    rows: list[AlertView]
    total: int
    page: int
    per_page: int
    status: str | None
    level: str | None
    patient_id: int | None

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    def to_dict(self) -> dict[str, object]:
        return {
            "total": self.total,
            "page": self.page,
            "per_page": self.per_page,
            "pages": self.pages,
            "filters": {"status": self.status, "level": self.level, "patient_id": self.patient_id},
            "rows": [r.to_dict() for r in self.rows],
        }


def alert_history(
    db: Database,
    actor: Actor,
    *,
    status: str | None = None,
    level: str | None = None,
    patient_id: int | None = None,
    page: int = 1,
    per_page: int = HISTORY_PER_PAGE,
) -> AlertHistory:
    """Every alert of the clinic, open and closed, newest first, one page at a time: what it
    was, who raised it (the answers' source), when, and who closed it with what action."""
    require_role(actor, CLINICAL_ROLES, "view safety alerts")
    if status not in (None, "open", "closed"):
        raise Invalid("status must be open or closed", field="status")
    if level is not None and not level.replace("_", "").isalpha():
        raise Invalid("alert level must be a level name such as urgent", field="level")
    if page < 1:
        raise Invalid("the page number must be 1 or more", field="page")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise Invalid(f"alerts per page must be between 1 and {MAX_PER_PAGE}", field="per_page")
    with db.transaction() as session:
        where = [Patient.clinic_id == actor.clinic_id]
        if status is not None:
            where.append(Alert.status == status)
        if level is not None:
            where.append(Alert.level == level)
        if patient_id is not None:
            where.append(Alert.patient_id == patient_id)
        total = int(
            session.execute(
                select(func.count(Alert.id))
                .join(Patient, Patient.id == Alert.patient_id)
                .where(*where)
            ).scalar()
            or 0
        )
        found = list(
            session.scalars(
                select(Alert)
                .join(Patient, Patient.id == Alert.patient_id)
                .where(*where)
                .options(selectinload(Alert.patient), selectinload(Alert.actioned_by))
                .order_by(Alert.created_at.desc(), Alert.id.desc())
                .limit(per_page)
                .offset((page - 1) * per_page)
            )
        )
        rows = _views(session, found)
        audit.record(
            session,
            actor,
            "alert.history",
            "alert",
            None,
            patient_id=patient_id,
            page=page,
            results=len(rows),
        )
    return AlertHistory(rows, total, page, per_page, status, level, patient_id)
