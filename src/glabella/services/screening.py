"""Eligibility screening: run the pure rule engine on answers + the record, store the decision."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from glabella.clinic import eligibility
from glabella.clinic.chart import ScreeningData
from glabella.clinic.products import get_product
from glabella.clinic.vocabulary import normalise
from glabella.services import audit
from glabella.services.chart import decision_of, screening_record
from glabella.services.clinic_time import clinic_zone
from glabella.services.context import Actor, Database
from glabella.services.errors import Invalid, NotFound
from glabella.services.patients import load_patient, require_record_in_clinic, require_role
from glabella.services.roles import CLINICAL_ROLES, Role
from glabella.services.users import staff_name
from glabella.store.models import Assessment, AssessmentAnswer
from glabella.store.pathway import Screening, ScreeningOverride, Treatment

PHQ9_LOOKBACK = dt.timedelta(days=14)
"""PHQ-9 asks about "the last 2 weeks": a stored PHQ-9 that recent still speaks for today."""

OVERRIDE_ROLES = frozenset({Role.ADMIN, Role.CLINICIAN})
"""Only prescribers (and admins) may override a precaution."""


ScreeningView = ScreeningData
"""The chart's screening record (:class:`glabella.clinic.chart.ScreeningData`)."""


def _last_recorded_bont(session: Session, patient_id: int) -> dt.date | None:
    return session.scalar(
        select(func.max(Treatment.treatment_date)).where(Treatment.patient_id == patient_id)
    )


def _recent_item9(session: Session, patient_id: int, now: dt.datetime) -> int | None:
    """The highest PHQ-9 item 9 answer stored for the patient in the last 14 days, if any."""
    return session.scalar(
        select(func.max(AssessmentAnswer.value))
        .join(Assessment, AssessmentAnswer.assessment_id == Assessment.id)
        .where(
            Assessment.patient_id == patient_id,
            Assessment.instrument_id == "phq9",
            AssessmentAnswer.item_id == "phq9_9",
            Assessment.submitted_at >= now - PHQ9_LOOKBACK,
        )
    )


def recent_phq9_item9(db: Database, actor: Actor, patient_id: int) -> int | None:
    """The highest PHQ-9 item 9 the patient answered in the last 14 days (to prefill screening)."""
    require_role(actor, CLINICAL_ROLES, "screen patients")
    with db.transaction() as session:
        load_patient(session, actor, patient_id)
        return _recent_item9(session, patient_id, db.now())


def _with_stored_item9(
    answers: eligibility.ScreeningAnswers, stored: int | None
) -> eligibility.ScreeningAnswers:
    """Never screen with a lower item 9 than the patient reported in the last 14 days (H-018)."""
    entered = answers.suicide.phq9_item9
    if stored is None or (entered is not None and entered >= stored):
        return answers
    suicide = dataclasses.replace(answers.suicide, phq9_item9=stored)
    return dataclasses.replace(answers, suicide=suicide)


def run_screening(
    db: Database,
    actor: Actor,
    patient_id: int,
    product_id: str,
    answers: eligibility.ScreeningAnswers,
    *,
    medications: tuple[str, ...] = (),
    conditions: tuple[str, ...] = (),
    last_bont_elsewhere: dt.date | None = None,
    mdq_positive: bool | None = None,
) -> ScreeningView:
    """Screen a patient for a planned treatment with ``product_id`` today (clinic calendar).

    PHQ-9 item 9 is the higher of the value entered and the highest item 9 the patient
    answered in a PHQ-9 stored in the last 14 days, so a self-reported thought of death or
    self-harm cannot be screened away by an empty or lower entry (hazard H-018).
    """
    require_role(actor, CLINICAL_ROLES, "screen patients")
    try:
        product = get_product(product_id)
    except (KeyError, ValueError) as exc:
        raise Invalid(f"unknown product {product_id!r}", field="product") from exc
    now = db.now()
    with db.transaction() as session:
        patient = load_patient(session, actor, patient_id)
        today = now.astimezone(clinic_zone(session, actor)).date()
        if last_bont_elsewhere is not None and last_bont_elsewhere > today:
            raise Invalid("the last BoNT date is in the future", field="last_bont_date")
        recorded = _last_recorded_bont(session, patient_id)
        dates = [d for d in (recorded, last_bont_elsewhere) if d is not None]
        facts = eligibility.PatientFacts(
            date_of_birth=patient.date_of_birth,
            sex=patient.sex,  # type: ignore[arg-type]
            last_bont_date=max(dates) if dates else None,
            medications=medications,
            conditions=conditions,
            mdq_positive=mdq_positive,
        )
        answers = _with_stored_item9(answers, _recent_item9(session, patient_id, now))
        try:
            decision = eligibility.screen(answers, facts, product, today)
        except ValueError as exc:  # a date of birth after today (clinic calendar)
            raise Invalid(str(exc), field="date_of_birth") from None
        row = Screening(
            patient_id=patient_id,
            product_id=product.id,
            screened_on=today,
            screened_at=now,
            screened_by_id=actor.user_id,
            answers_json=json.dumps(dataclasses.asdict(answers), default=str, sort_keys=True),
            facts_json=json.dumps(
                {
                    **dataclasses.asdict(facts),
                    "vocabulary_matches": [m.describe() for m in decision.matches],
                },
                default=str,
                sort_keys=True,
            ),
            rules_version=decision.rules_version,
            outcome=decision.outcome,
            reasons_json=json.dumps(
                [
                    {
                        "rule_id": r.rule_id,
                        "severity": r.severity,
                        "message": r.message,
                        "source": r.source,
                        "detail": r.detail,
                        "reassess": r.reassess,
                    }
                    for r in decision.reasons
                ]
            ),
        )
        session.add(row)
        session.flush()
        audit.record(
            session,
            actor,
            "screening.run",
            "screening",
            row.id,
            patient_id=patient_id,
            outcome=decision.outcome,
        )
        return screening_record(row)


def override_precaution(
    db: Database, actor: Actor, screening_id: int, rule_id: str, reason: str
) -> ScreeningView:
    """Override one precaution with a recorded reason (contraindications cannot be)."""
    require_role(actor, OVERRIDE_ROLES, "override precautions")
    if len(reason.strip()) < 10:
        raise Invalid(
            "give the clinical reason for the override (at least 10 characters)", field="reason"
        )
    with db.transaction() as session:
        row = session.get(Screening, screening_id)
        if row is None:
            raise NotFound(f"no screening with id {screening_id}", field="screening_id")
        require_record_in_clinic(session, actor, row.patient_id, "screening", screening_id)
        name = staff_name(session, actor)
        try:
            decision, record = eligibility.override(
                decision_of(row), rule_id, name, reason, db.now()
            )
        except eligibility.OverrideRefusedError as exc:
            raise Invalid(str(exc), field="rule_id") from None
        session.add(
            ScreeningOverride(
                screening_id=row.id,
                rule_id=record.rule_id,
                clinician_id=actor.user_id,
                clinician_name=name,
                reason=record.reason,
                at=record.at,
            )
        )
        row.outcome = decision.outcome
        session.flush()
        session.refresh(row)
        audit.record(
            session,
            actor,
            "screening.override",
            "screening",
            row.id,
            patient_id=row.patient_id,
            rule_id=rule_id,
        )
        return screening_record(row)


def confirm_unrecognised(
    db: Database, actor: Actor, screening_id: int, rule_ids: list[str]
) -> ScreeningView:
    """Record that each listed unrecognised entry was checked and is not relevant.

    All or nothing: an id that is not an open unrecognised entry of this screening refuses
    the whole request, naming it.
    """
    require_role(actor, OVERRIDE_ROLES, "confirm unrecognised entries")
    if not rule_ids:
        raise Invalid("name at least one unrecognised entry to confirm", field="rule_ids")
    with db.transaction() as session:
        row = session.get(Screening, screening_id)
        if row is None:
            raise NotFound(f"no screening with id {screening_id}", field="screening_id")
        load_patient(session, actor, row.patient_id)
        decision = decision_of(row)
        now = db.now()
        name = staff_name(session, actor)
        for rule_id in dict.fromkeys(rule_ids):
            try:
                decision, record = eligibility.confirm_unrecognised(decision, rule_id, name, now)
            except eligibility.OverrideRefusedError as exc:
                raise Invalid(str(exc), field="rule_ids") from None
            session.add(
                ScreeningOverride(
                    screening_id=row.id,
                    rule_id=record.rule_id,
                    clinician_id=actor.user_id,
                    clinician_name=name,
                    reason=record.reason,
                    at=record.at,
                )
            )
        row.outcome = decision.outcome
        session.flush()
        session.refresh(row)
        audit.record(
            session,
            actor,
            "screening.confirm_unrecognised",
            "screening",
            row.id,
            patient_id=row.patient_id,
            rule_ids=",".join(dict.fromkeys(rule_ids)),
        )
        return screening_record(row)


def _entry_key(text: str) -> str:
    return normalise(text)


def resolve_unrecognised(view: ScreeningView, entries: list[str]) -> list[str]:
    """The reason ids of the open unrecognised entries named by ``entries``.

    Each entry is a reason id (``unrecognised_medication_1``) or the entry as typed, with or
    without its kind ("Zolpidem", "medicine: Zolpidem"); case, spaces and punctuation are
    ignored. Invalid (naming the entry and listing the open ones) when an entry names none
    or, typed the same in two fields, more than one.
    """
    if not entries:
        raise Invalid("name at least one unrecognised entry to confirm", field="entry")
    open_ = view.unconfirmed
    listing = "; ".join(f"{r.detail} ({r.rule_id})" for r in open_) or "none"
    out: list[str] = []
    for entry in entries:
        key = _entry_key(entry)
        hits = [
            r.rule_id
            for r in open_
            if entry.strip() == r.rule_id
            or key == _entry_key(r.detail)
            or key == _entry_key(r.detail.split(":", 1)[-1])
        ]
        if not hits:
            raise Invalid(
                f"{entry!r} is not an unconfirmed entry of screening {view.id}; open: {listing}",
                field="entry",
            )
        if len(hits) > 1:
            raise Invalid(
                f"{entry!r} names {len(hits)} entries ({', '.join(hits)}): give the id",
                field="entry",
            )
        out.append(hits[0])
    return out


def _screening_view(db: Database, actor: Actor, screening_id: int) -> ScreeningView:
    """One screening (of the actor's clinic)."""
    require_role(actor, CLINICAL_ROLES, "view screenings")
    with db.transaction() as session:
        row = session.get(Screening, screening_id)
        if row is None:
            raise NotFound(f"no screening with id {screening_id}", field="screening_id")
        load_patient(session, actor, row.patient_id)
        return screening_record(row)


def confirm_unrecognised_entries(
    db: Database, actor: Actor, screening_id: int, entries: list[str]
) -> ScreeningView:
    """:func:`confirm_unrecognised` with entries named as typed (see
    :func:`resolve_unrecognised`); all or nothing."""
    require_role(actor, OVERRIDE_ROLES, "confirm unrecognised entries")
    rule_ids = resolve_unrecognised(_screening_view(db, actor, screening_id), entries)
    return confirm_unrecognised(db, actor, screening_id, rule_ids)


def list_screenings(db: Database, actor: Actor, patient_id: int) -> list[ScreeningView]:
    """A patient's screenings, newest first."""
    require_role(actor, CLINICAL_ROLES, "view screenings")
    with db.transaction() as session:
        load_patient(session, actor, patient_id)
        rows = session.scalars(
            select(Screening)
            .where(Screening.patient_id == patient_id)
            .order_by(Screening.screened_at.desc(), Screening.id.desc())
        ).all()
        audit.record(session, actor, "screening.list", "patient", patient_id)
        return [screening_record(r) for r in rows]


def latest_screening_row(session: Session, patient_id: int, product_id: str) -> Screening | None:
    """The newest screening of a patient for a product (used by the treatment record)."""
    return session.scalars(
        select(Screening)
        .where(Screening.patient_id == patient_id, Screening.product_id == product_id)
        .order_by(Screening.screened_at.desc(), Screening.id.desc())
        .limit(1)
    ).first()


def parse_screening_answers(data: dict[str, Any]) -> eligibility.ScreeningAnswers:
    """Build the answers from form/JSON data; every safety item must be answered."""

    def yes_no(name: str) -> bool:
        value = str(data.get(name, "")).strip().lower()
        if value in ("yes", "true", "1", "on"):
            return True
        if value in ("no", "false", "0"):
            return False
        raise Invalid(f"{name.replace('_', ' ')}: answer yes or no", field=name)

    def optional_yes_no(name: str) -> bool | None:
        value = str(data.get(name, "")).strip().lower()
        if value in ("", "not_asked", "none"):
            return None
        return yes_no(name)

    recent = str(data.get("bont_last_12_weeks", "")).strip().lower()
    if recent not in ("yes", "no", "unsure"):
        raise Invalid(
            "BoNT in the last 12 weeks: answer yes, no or unsure", field="bont_last_12_weeks"
        )
    item9_raw = str(data.get("phq9_item9", "")).strip()
    item9: int | None = None
    if item9_raw:
        try:
            item9 = int(item9_raw)
        except ValueError:
            raise Invalid("PHQ-9 item 9 must be 0, 1, 2 or 3", field="phq9_item9") from None
    try:
        suicide = eligibility.SuicideScreen(
            cssrs_1=optional_yes_no("cssrs_1"),
            cssrs_2=optional_yes_no("cssrs_2"),
            cssrs_3=optional_yes_no("cssrs_3"),
            cssrs_4=optional_yes_no("cssrs_4"),
            cssrs_5=optional_yes_no("cssrs_5"),
            cssrs_behaviour_3_months=optional_yes_no("cssrs_behaviour_3_months"),
            phq9_item9=item9,
        )
    except ValueError as exc:
        raise Invalid(str(exc), field="phq9_item9") from None
    allergies = tuple(
        a.strip() for a in str(data.get("allergies", "")).replace(";", ",").split(",") if a.strip()
    )
    return eligibility.ScreeningAnswers(
        prior_bont_reaction=yes_no("prior_bont_reaction"),
        allergies=allergies,
        infection_or_inflammation_at_sites=yes_no("infection_or_inflammation_at_sites"),
        pregnant=yes_no("pregnant"),
        breastfeeding=yes_no("breastfeeding"),
        bont_last_12_weeks=recent,  # type: ignore[arg-type]
        prior_eyelid_ptosis=yes_no("prior_eyelid_ptosis"),
        psychotic_symptoms_current=yes_no("psychotic_symptoms_current"),
        psychotic_disorder_history=yes_no("psychotic_disorder_history"),
        suicide=suicide,
    )


def split_list(text: str) -> tuple[str, ...]:
    """A comma/semicolon/newline separated list typed by a user, cleaned."""
    parts = text.replace(";", ",").replace("\n", ",").split(",")
    return tuple(p.strip() for p in parts if p.strip())
