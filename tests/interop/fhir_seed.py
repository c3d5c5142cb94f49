"""A seeded chart for the FHIR tests, made through the real services (no shortcuts)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from glabella.services import adverse_events as ae_svc
from glabella.services import assessments as assess_svc
from glabella.services import consent as consent_svc
from glabella.services import patients as patient_svc
from glabella.services import screening as screening_svc
from glabella.services import treatments as treatment_svc
from glabella.services.context import Actor, Database, utcnow

START = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)  # all seeded times lie in the past

SAFE_ANSWERS = {
    "prior_bont_reaction": "no",
    "infection_or_inflammation_at_sites": "no",
    "pregnant": "no",
    "breastfeeding": "no",
    "bont_last_12_weeks": "no",
    "prior_eyelid_ptosis": "no",
    "psychotic_symptoms_current": "no",
    "psychotic_disorder_history": "no",
    "phq9_item9": "0",
    "cssrs_1": "no",
    "cssrs_2": "no",
}
# 5 + 6 + 6 + 6 + 6 = 29 U onabotulinumtoxinA
SITES = {
    "procerus": "5",
    "corrugator_medial_right": "6",
    "corrugator_medial_left": "6",
    "corrugator_lateral_right": "6",
    "corrugator_lateral_left": "6",
}
# PHQ-9 baseline 2+2+1+1+1+1+1+0+0 = 9 (band "mild", 5-9: Kroenke et al. 2001), item 10 = 1
BASELINE_PHQ9 = {f"phq9_{i}": v for i, v in enumerate([2, 2, 1, 1, 1, 1, 1, 0, 0, 1], start=1)}
# week 6: 1+1+0+0+1+0+0+0+0 = 3 (band "minimal", 0-4)
WEEK6_PHQ9 = {f"phq9_{i}": v for i, v in enumerate([1, 1, 0, 0, 1, 0, 0, 0, 0], start=1)}
# GAD-7 1+1+1+1+1+0+0 = 5 (band "mild", 5-9: Spitzer et al. 2006)
GAD7 = {f"gad7_{i}": v for i, v in enumerate([1, 1, 1, 1, 1, 0, 0], start=1)}


@dataclass
class Seeded:
    db: Database
    actor: Actor
    patient_id: int
    treatment_id: int


def seed(db: Database, actor: Actor) -> Seeded:
    state = {"now": START}
    db.clock = lambda: state["now"]
    patient = patient_svc.create_patient(
        db,
        actor,
        patient_svc.parse_patient_input(
            {
                "mrn": "FH-001",
                "given_name": "Fern",
                "family_name": "Hale",
                "date_of_birth": "1979-03-14",
                "sex": "female",
                "phone": "+44 20 7946 0001",
                "email": "fern.hale@example.org",
            }
        ),
    )
    pid = patient.id
    assess_svc.submit_assessment(db, actor, pid, "phq9", BASELINE_PHQ9)
    assess_svc.submit_assessment(db, actor, pid, "gad7", GAD7)
    assess_svc.submit_assessment(db, actor, pid, "cgis", {"cgis_1": 4})
    answers = screening_svc.parse_screening_answers(dict(SAFE_ANSWERS))
    screening_svc.run_screening(db, actor, pid, "onabotulinumtoxinA", answers)
    version = consent_svc.current_text(db).version
    consent_id = consent_svc.sign_consent(db, actor, pid, version, "Fern Hale", True).id
    state["now"] = START + dt.timedelta(minutes=30)
    treatment = treatment_svc.record_treatment(
        db,
        actor,
        pid,
        treatment_svc.TreatmentInput(
            product_id="onabotulinumtoxinA",
            lot_number="C1234",
            lot_expiry=dt.date(2027, 6, 30),
            vial_units="100",
            saline_ml="2.5",
            sites=dict(SITES),
            consent_id=consent_id,
            notes="tolerated well",
        ),
    )
    state["now"] = START + dt.timedelta(days=2)
    ae_svc.record_adverse_event(
        db,
        actor,
        pid,
        type_="headache",
        onset=START + dt.timedelta(days=1),
        judgement=ae_svc.Judgement(
            grade="2",
            serious="no",
            seriousness=(),
            relatedness="possible",
            action="symptomatic_treatment",
            outcome="recovered",
        ),
        description="frontal headache for a day",
    )
    state["now"] = START + dt.timedelta(weeks=6)
    assess_svc.submit_assessment(db, actor, pid, "phq9", WEEK6_PHQ9)
    db.clock = utcnow  # later steps of a test run at the real time
    return Seeded(db=db, actor=actor, patient_id=pid, treatment_id=treatment.id)
