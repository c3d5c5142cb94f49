"""Frown-beside-mood analytics use case: read the clinic's index courses that have frown
measures, compute in pure code (:mod:`glabella.analytics.frown`), audit the read.

Only patients whose most recent photo consent is in force are included (the clinical-use rule
of :mod:`glabella.services.biomarker_export`); only the numeric measures are read, never the
images. Aggregates only: no patient is named in the result.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from glabella.analytics.compute import MIN_BASELINE
from glabella.analytics.frown import RETURN_FRACTION, FrownCourse, FrownMood, analyse_frown
from glabella.services import audit
from glabella.services.analytics import ANALYTICS_ROLES, OUTCOME_INSTRUMENT
from glabella.services.biomarker_export import consented_measures
from glabella.services.context import Actor, Database
from glabella.services.errors import Forbidden, Invalid
from glabella.store.models import Assessment
from glabella.store.pathway import Treatment

__all__ = ["DEFINITIONS", "frown_analytics"]

DEFINITIONS = {
    "unit": "each patient's first treatment in the clinic (index course), up to the next one",
    "frown_activity_index": "FAI of a rest/frown photo pair (glabella.clinic.biomarker)",
    "week2_frown": "last pair 7 to 21 days after the treatment",
    "frown_reduction": "baseline FAI - week-2 FAI (baseline: last pair in the 14 days up to "
    "the treatment)",
    "phq9_change": "week-6 PHQ-9 (35-50 days) - baseline PHQ-9 (last in the 14 days up to "
    "the treatment), baseline of at least 10",
    "correlation": "Pearson r and Spearman rho with Fisher-z 95 % CIs; OLS slope with its "
    "t 95 % CI (PHQ-9 points per FAI point)",
    "frown_return": "first pair, after the frown fell below (1 - X) x baseline FAI, that is "
    "back within X of it; X = return_fraction",
    "mood_benefit_end": "first PHQ-9, after a response (>= 50 % reduction), that is no longer "
    "a response",
    "medians": "Kaplan-Meier medians from the treatment (still reduced / still responding at "
    "the last visit = censored); unknown when not reached",
    "consent": "patients whose most recent photo consent is in force",
}


def frown_analytics(
    db: Database,
    actor: Actor,
    *,
    as_of: dt.datetime | None = None,
    return_fraction: float = RETURN_FRACTION,
    min_baseline: int = MIN_BASELINE,
) -> FrownMood:
    """The clinic's frown biomarker beside PHQ-9 (aggregates only; the read is audited)."""
    if actor.role not in ANALYTICS_ROLES:
        raise Forbidden(f"your role ({actor.role}) may not view clinic analytics")
    if not 0 < return_fraction < 1:
        raise Invalid(
            f"return_fraction must lie between 0 and 1 (e.g. 0.2), got {return_fraction}",
            field="return_fraction",
        )
    moment = as_of or db.now()
    with db.transaction() as session:
        measures = consented_measures(session, research=False, clinic_id=actor.clinic_id)
        frown: dict[int, list[tuple[dt.datetime, float]]] = {}
        for m in measures:
            if m.taken_at <= moment:
                frown.setdefault(m.patient_id, []).append((m.taken_at, m.frown_activity_index))
        ids = sorted(frown)
        treatments: dict[int, list[dt.datetime]] = {}
        phq9: dict[int, list[tuple[dt.datetime, int]]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            for pid, at in session.execute(
                select(Treatment.patient_id, Treatment.treated_at)
                .where(Treatment.patient_id.in_(chunk), Treatment.treated_at <= moment)
                .order_by(Treatment.patient_id, Treatment.treated_at, Treatment.id)
            ):
                treatments.setdefault(pid, []).append(at)
            for pid, at, total in session.execute(
                select(Assessment.patient_id, Assessment.submitted_at, Assessment.total).where(
                    Assessment.patient_id.in_(chunk),
                    Assessment.instrument_id == OUTCOME_INSTRUMENT,
                    Assessment.submitted_at <= moment,
                )
            ):
                phq9.setdefault(pid, []).append((at, total))
        audit.record(
            session,
            actor,
            "analytics.frown_view",
            "clinic",
            actor.clinic_id,
            patients=len(ids),
        )
    courses = []
    for pid in ids:
        times = treatments.get(pid)
        if not times:
            continue
        horizon = times[1] if len(times) > 1 else moment
        courses.append(FrownCourse(times[0], horizon, frown[pid], phq9.get(pid, [])))
    return analyse_frown(courses, return_fraction=return_fraction, min_baseline=min_baseline)
