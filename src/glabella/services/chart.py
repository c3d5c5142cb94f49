"""The patient-chart read model: a patient's stored record as frozen domain records.

:func:`load_chart` (one patient of the actor's clinic) and :func:`load_charts` (many, for the
bulk export) read every kind of record with one query each, whatever the number of patients
(no query per patient or per record), and map the rows to the records of
:mod:`glabella.clinic.chart`. Each kind of row is mapped to its record in exactly one place:
here, or (adverse events, whose history is told with the form's labels) in
:func:`glabella.services.adverse_events.event_record`. The FHIR export, the consultation
report's snapshot and the pathway use cases read these records.

Nothing here writes or audits: the use case that calls it does (it owns the transaction).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from glabella.clinic import eligibility
from glabella.clinic.chart import (
    AssessmentData,
    ConsentData,
    FrownMeasureData,
    PatientChart,
    PatientData,
    ScreeningData,
    ScreeningReason,
    SiteData,
    TreatmentData,
)
from glabella.services.adverse_events import event_record
from glabella.services.biomarker_export import MeasureRow, consented_measures
from glabella.services.context import Actor
from glabella.services.patients import load_patient
from glabella.store.models import Assessment, Patient
from glabella.store.pathway import AdverseEventRecord, ConsentRecord, Screening, Treatment

__all__ = [
    "decision_of",
    "load_chart",
    "load_charts",
    "screening_record",
    "treatment_record",
]

_Model = TypeVar("_Model", Assessment, ConsentRecord, Treatment, AdverseEventRecord, Screening)


# --- one row -> one record ----------------------------------------------------------------


def patient_record(row: Patient) -> PatientData:
    """A patient's demographics."""
    return PatientData(
        id=row.id,
        mrn=row.mrn,
        given_name=row.given_name,
        family_name=row.family_name,
        date_of_birth=row.date_of_birth,
        sex=row.sex,
        phone=row.phone,
        email=row.email,
    )


def assessment_record(row: Assessment) -> AssessmentData:
    """A scored questionnaire with its item answers (in form order)."""
    return AssessmentData(
        id=row.id,
        patient_id=row.patient_id,
        instrument_id=row.instrument_id,
        total=row.total,
        band=row.band,
        source=row.source,
        submitted_at=row.submitted_at,
        answers=tuple((ans.item_id, ans.value) for ans in row.answers),
    )


def consent_record(row: ConsentRecord) -> ConsentData:
    """A signed consent (withdrawn or not)."""
    return ConsentData(
        id=row.id,
        patient_id=row.patient_id,
        version=row.version,
        text_sha256=row.text_sha256,
        signed_at=row.signed_at,
        signed_name=row.signed_name,
        withdrawn=row.withdrawn_at is not None,
    )


def treatment_record(row: Treatment) -> TreatmentData:
    """An injection session with the dose at each site (units as stored, as ``Decimal``)."""
    return TreatmentData(
        id=row.id,
        patient_id=row.patient_id,
        treated_at=row.treated_at,
        injector_name=row.injector_name,
        product_id=row.product_id,
        protocol_id=row.protocol_id,
        lot_number=row.lot_number,
        lot_expiry=row.lot_expiry,
        vial_units=Decimal(row.vial_units),
        saline_ml=Decimal(row.saline_ml),
        total_units=Decimal(row.total_units),
        exceeds_label_dose=row.exceeds_label_dose,
        consent_id=row.consent_id,
        sites=tuple(SiteData(s.site_id, Decimal(s.units), Decimal(s.volume_ml)) for s in row.sites),
        notes=row.notes,
        treatment_date=row.treatment_date,
        injector_id=row.injector_id,
        backdate_reason=row.backdate_reason,
    )


def measure_record(row: MeasureRow) -> FrownMeasureData:
    """The numbers of one measured rest/frown photo pair."""
    return FrownMeasureData(
        id=row.id,
        patient_id=row.patient_id,
        taken_at=row.taken_at,
        rest_inner_brow_distance=row.rest_inner_brow_distance,
        rest_brow_eye_height=row.rest_brow_eye_height,
        rest_line_intensity=row.rest_line_intensity,
        frown_inner_brow_distance=row.frown_inner_brow_distance,
        frown_brow_eye_height=row.frown_brow_eye_height,
        frown_line_intensity=row.frown_line_intensity,
        frown_activity_index=row.frown_activity_index,
        method_version=row.method_version,
    )


def decision_of(row: Screening) -> eligibility.Decision:
    """Rebuild the stored decision, overrides included, from its row."""
    overrides = {o.rule_id: o for o in row.overrides}
    reasons = []
    for raw in json.loads(row.reasons_json):
        o = overrides.get(raw["rule_id"])
        reasons.append(
            eligibility.Reason(
                rule_id=raw["rule_id"],
                severity=raw["severity"],
                message=raw["message"],
                source=raw["source"],
                detail=raw.get("detail", ""),
                override=eligibility.Override(o.rule_id, o.clinician_name, o.reason, o.at)
                if o
                else None,
                reassess=raw.get("reassess", ""),
            )
        )
    return eligibility.Decision(row.outcome, tuple(reasons), row.rules_version, row.screened_on)  # type: ignore[arg-type]


def _facts(row: Screening) -> dict[str, Any]:
    try:
        facts = json.loads(row.facts_json)
    except ValueError:
        return {}
    return facts if isinstance(facts, dict) else {}


def screening_record(row: Screening) -> ScreeningData:
    """A screening: its decision with overrides, the vocabulary matches, what was typed."""
    decision = decision_of(row)
    facts = _facts(row)
    return ScreeningData(
        id=row.id,
        patient_id=row.patient_id,
        product_id=row.product_id,
        screened_on=row.screened_on,
        screened_at=row.screened_at,
        outcome=decision.outcome,
        rules_version=row.rules_version,
        reasons=tuple(ScreeningReason.of(r) for r in decision.reasons),
        matches=tuple(str(m) for m in facts.get("vocabulary_matches", [])),
        medications=tuple(str(m) for m in facts.get("medications") or ()),
        conditions=tuple(str(c) for c in facts.get("conditions") or ()),
    )


# --- whole charts -------------------------------------------------------------------------


def _of_patients(
    session: Session, model: type[_Model], ids: Sequence[int], *order: Any, load: Any = None
) -> dict[int, list[_Model]]:
    """``model``'s rows of these patients, in ``order``, grouped by patient id."""
    query = select(model).where(model.patient_id.in_(ids)).order_by(*order)
    if load is not None:
        query = query.options(selectinload(load))
    out: dict[int, list[_Model]] = {}
    for row in session.scalars(query):
        out.setdefault(row.patient_id, []).append(row)
    return out


def _charts(session: Session, clinic_id: int, patients: Sequence[Patient]) -> list[PatientChart]:
    ids = [p.id for p in patients]
    if not ids:
        return []
    assessments = _of_patients(
        session, Assessment, ids, Assessment.submitted_at, Assessment.id, load=Assessment.answers
    )
    consents = _of_patients(session, ConsentRecord, ids, ConsentRecord.signed_at, ConsentRecord.id)
    # treatments before the events: an event's treatment day is then read from the session
    treatments = _of_patients(
        session, Treatment, ids, Treatment.treated_at, Treatment.id, load=Treatment.sites
    )
    events = _of_patients(
        session,
        AdverseEventRecord,
        ids,
        AdverseEventRecord.onset,
        AdverseEventRecord.id,
        load=AdverseEventRecord.updates,
    )
    screenings = _of_patients(
        session, Screening, ids, Screening.screened_at, Screening.id, load=Screening.overrides
    )
    measures: dict[int, list[MeasureRow]] = {}
    # numeric measures only, and only where the photo consent allows (issue 18)
    for m in consented_measures(session, research=False, clinic_id=clinic_id, patient_ids=ids):
        measures.setdefault(m.patient_id, []).append(m)
    return [
        PatientChart(
            patient=patient_record(p),
            assessments=tuple(assessment_record(a) for a in assessments.get(p.id, [])),
            treatments=tuple(treatment_record(t) for t in treatments.get(p.id, [])),
            adverse_events=tuple(event_record(session, e) for e in events.get(p.id, [])),
            consents=tuple(consent_record(c) for c in consents.get(p.id, [])),
            frown_measures=tuple(measure_record(m) for m in measures.get(p.id, [])),
            screenings=tuple(screening_record(s) for s in screenings.get(p.id, [])),
        )
        for p in patients
    ]


def load_chart(session: Session, actor: Actor, patient_id: int) -> PatientChart:
    """The chart of one patient of the actor's clinic.

    ``NotFound`` when no patient has this id, and (as ``OtherClinic``, answered the same way)
    when the patient belongs to another clinic.
    """
    patient = load_patient(session, actor, patient_id)
    return _charts(session, patient.clinic_id, [patient])[0]


def load_charts(session: Session, clinic_id: int, patient_ids: Sequence[int]) -> list[PatientChart]:
    """The charts of the patients of ``clinic_id`` among ``patient_ids``, by patient id.

    One query per kind of record for the whole batch. Ids of other clinics' patients, and ids
    that name no patient, are left out.
    """
    if not patient_ids:
        return []
    patients = session.scalars(
        select(Patient)
        .where(Patient.id.in_(patient_ids), Patient.clinic_id == clinic_id)
        .order_by(Patient.id)
    ).all()
    return _charts(session, clinic_id, patients)
