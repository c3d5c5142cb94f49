"""Use cases for questionnaires: score, store and raise alerts, in one transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, selectinload

from glabella.clinic import instruments, safety
from glabella.services import audit
from glabella.services.context import Actor, Database
from glabella.services.errors import Invalid, NotFound
from glabella.services.patients import (
    load_patient,
    require_patient,
    require_record_in_clinic,
    require_role,
)
from glabella.services.roles import CLINICAL_ROLES
from glabella.store.models import Alert, Assessment, AssessmentAnswer, table_of


@dataclass(frozen=True)
class AssessmentView:
    id: int
    patient_id: int
    instrument_id: str
    total: int
    band: str
    source: str
    submitted_at: dt.datetime
    answers: Mapping[str, int]

    @classmethod
    def of(cls, a: Assessment) -> AssessmentView:
        return cls(
            id=a.id,
            patient_id=a.patient_id,
            instrument_id=a.instrument_id,
            total=a.total,
            band=a.band,
            source=a.source,
            submitted_at=a.submitted_at,
            answers={ans.item_id: ans.value for ans in a.answers},
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "patient_id": self.patient_id,
            "instrument": self.instrument_id,
            "total": self.total,
            "band": self.band,
            "source": self.source,
            "submitted_at": self.submitted_at.isoformat(),
            "answers": dict(self.answers),
        }


@dataclass(frozen=True)
class Submission:
    """What a submission stored: the assessment and any alerts it raised."""

    assessment: AssessmentView
    alerts: tuple[safety.Alert, ...]


def score_answers(instrument_id: str, answers: Mapping[str, int]) -> instruments.Score:
    """Pure scoring with the instrument's own rules; errors become ``Invalid`` naming the item."""
    try:
        instrument = instruments.get(instrument_id)
        return instruments.score(instrument, answers)
    except instruments.InstrumentError as exc:
        raise Invalid(str(exc), field=exc.item_id or "instrument") from None


_INSERT_ASSESSMENT = insert(table_of(Assessment)).returning(table_of(Assessment).c.id)
_INSERT_ANSWER = insert(table_of(AssessmentAnswer))
_INSERT_ALERT = insert(table_of(Alert))


def store_scored(
    session: Session,
    actor: Actor | None,
    *,
    patient_id: int,
    scored: instruments.Score,
    source: str,
    now: dt.datetime,
    entered_by_id: int | None,
    link_id: int | None = None,
) -> Submission:
    """Write answers, score and alerts in the caller's transaction, plus an audit row."""
    alerts = safety.check(scored)
    # Core statements built once, not ORM objects: this is the hot path of every submission,
    # and the unit of work's bookkeeping cost more than the writes (bench/clinic_bench.py).
    conn = session.connection()
    assessment_id: int = conn.execute(
        _INSERT_ASSESSMENT,
        {
            "patient_id": patient_id,
            "instrument_id": scored.instrument_id,
            "total": scored.total,
            "band": scored.band.label,
            "source": source,
            "entered_by_id": entered_by_id,
            "link_id": link_id,
            "submitted_at": now,
        },
    ).scalar_one()
    conn.execute(
        _INSERT_ANSWER,
        [
            {"assessment_id": assessment_id, "item_id": k, "value": v}
            for k, v in scored.answers.items()
        ],
    )
    if alerts:
        conn.execute(
            _INSERT_ALERT,
            [
                {
                    "patient_id": patient_id,
                    "assessment_id": assessment_id,
                    "kind": alert.kind,
                    "level": alert.level,
                    "message": alert.message,
                    "status": "open",
                    "created_at": now,
                }
                for alert in alerts
            ],
        )
    audit.record(
        session,
        actor,
        "assessment.submit",
        "assessment",
        assessment_id,
        patient_id=patient_id,
        instrument=scored.instrument_id,
        source=source,
        alerts=[a.kind for a in alerts],
    )
    view = AssessmentView(
        id=assessment_id,
        patient_id=patient_id,
        instrument_id=scored.instrument_id,
        total=scored.total,
        band=scored.band.label,
        source=source,
        submitted_at=now,
        answers=dict(scored.answers),
    )
    return Submission(assessment=view, alerts=alerts)


def submit_assessment(
    db: Database,
    actor: Actor,
    patient_id: int,
    instrument_id: str,
    answers: Mapping[str, int],
) -> Submission:
    """A clinician enters a patient's answers: scored, banded, stored with alerts and audit."""
    require_role(actor, CLINICAL_ROLES, "enter assessments")
    scored = score_answers(instrument_id, answers)
    with db.transaction() as session:
        return record_submission(session, actor, patient_id, scored, now=db.now())


def record_submission(
    session: Session,
    actor: Actor,
    patient_id: int,
    scored: instruments.Score,
    *,
    now: dt.datetime,
) -> Submission:
    """:func:`submit_assessment`'s writes in the caller's transaction, for answers already
    scored (the web API scores on the request and queues this to the group-commit writer)."""
    require_role(actor, CLINICAL_ROLES, "enter assessments")
    require_patient(session, actor, patient_id)
    return store_scored(
        session,
        actor,
        patient_id=patient_id,
        scored=scored,
        source="clinician",
        now=now,
        entered_by_id=actor.user_id,
    )


def list_assessments(db: Database, actor: Actor, patient_id: int) -> list[AssessmentView]:
    """A patient's assessments, oldest first."""
    require_role(actor, CLINICAL_ROLES, "view assessments")
    with db.transaction() as session:
        load_patient(session, actor, patient_id)
        rows = session.scalars(
            select(Assessment)
            .where(Assessment.patient_id == patient_id)
            .options(selectinload(Assessment.answers))
            .order_by(Assessment.submitted_at, Assessment.id)
        ).all()
        audit.record(session, actor, "assessment.list", "patient", patient_id)
        return [AssessmentView.of(a) for a in rows]


def get_assessment(db: Database, actor: Actor, assessment_id: int) -> AssessmentView:
    """One assessment with its answers."""
    require_role(actor, CLINICAL_ROLES, "view assessments")
    with db.transaction() as session:
        row = session.get(Assessment, assessment_id)
        if row is None:
            raise NotFound(f"no assessment with id {assessment_id}", field="assessment_id")
        require_record_in_clinic(session, actor, row.patient_id, "assessment", assessment_id)
        audit.record(session, actor, "assessment.view", "assessment", assessment_id)
        return AssessmentView.of(row)
