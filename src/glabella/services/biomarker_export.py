"""Which frown-biomarker measures an export may carry (issue 18: "never in FHIR or research
exports unless that consent allows (the export then carries only the numeric measures)").

The rule, applied by the FHIR export (:mod:`glabella.services.fhir`) and the research export
(:mod:`glabella.services.research_export`):

* the patient's **most recent** photo consent decides (a later consent replaces an earlier one;
  an older consent never revives what a newer, withdrawn one took back);
* that consent must not be withdrawn (``withdrawn_at`` empty);
* the FHIR export (the clinical record, sent to another clinical system) needs nothing more:
  the photo consent covers the clinical photographs and what is measured from them;
* the research export also needs ``allow_research`` on that consent.

Only the numeric columns are ever read here: the encrypted image columns are not selected, so an
export cannot carry an image even by mistake (hazard H-107).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from glabella.store.biomarker import FrownPhotoPair, PhotoConsent
from glabella.store.models import Patient

__all__ = ["MeasureRow", "consented_measures", "exportable_patients"]


@dataclass(frozen=True)
class MeasureRow:
    """The numbers of one measured photo pair (no image)."""

    id: int
    patient_id: int
    taken_at: dt.datetime
    rest_inner_brow_distance: float
    rest_brow_eye_height: float
    rest_line_intensity: float
    frown_inner_brow_distance: float
    frown_brow_eye_height: float
    frown_line_intensity: float
    frown_activity_index: float
    method_version: str


_NUMERIC = (
    FrownPhotoPair.id,
    FrownPhotoPair.patient_id,
    FrownPhotoPair.taken_at,
    FrownPhotoPair.rest_inner_brow_distance,
    FrownPhotoPair.rest_brow_eye_height,
    FrownPhotoPair.rest_line_intensity,
    FrownPhotoPair.frown_inner_brow_distance,
    FrownPhotoPair.frown_brow_eye_height,
    FrownPhotoPair.frown_line_intensity,
    FrownPhotoPair.frown_activity_index,
    FrownPhotoPair.method_version,
)


def exportable_patients(
    session: Session, *, research: bool, patient_ids: Sequence[int] | None, clinic_id: int
) -> set[int]:
    """Patients (of ``clinic_id``, optionally limited to ``patient_ids``) whose most recent
    photo consent is in force and, for ``research``, allows research use."""
    query = (
        select(
            PhotoConsent.patient_id,
            PhotoConsent.granted_at,
            PhotoConsent.id,
            PhotoConsent.withdrawn_at,
            PhotoConsent.allow_research,
        )
        .join(Patient, Patient.id == PhotoConsent.patient_id)
        .where(Patient.clinic_id == clinic_id)
    )
    if patient_ids is not None:
        query = query.where(PhotoConsent.patient_id.in_(list(patient_ids)))
    latest: dict[int, tuple[dt.datetime, int, bool]] = {}
    for pid, granted, cid, withdrawn, allow_research in session.execute(query):
        allowed = withdrawn is None and (bool(allow_research) or not research)
        current = latest.get(pid)
        if current is None or (granted, cid) > current[:2]:
            latest[pid] = (granted, cid, allowed)
    return {pid for pid, (_, _, allowed) in latest.items() if allowed}


def consented_measures(
    session: Session, *, research: bool, clinic_id: int, patient_ids: Sequence[int] | None = None
) -> list[MeasureRow]:
    """The measured pairs an export may carry, by patient then time (numbers only)."""
    allowed = exportable_patients(
        session, research=research, patient_ids=patient_ids, clinic_id=clinic_id
    )
    if not allowed:
        return []
    rows = session.execute(
        select(*_NUMERIC)
        .where(FrownPhotoPair.patient_id.in_(sorted(allowed)))
        .order_by(FrownPhotoPair.patient_id, FrownPhotoPair.taken_at, FrownPhotoPair.id)
    ).all()
    return [MeasureRow(*row) for row in rows]
