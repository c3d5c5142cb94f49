"""A seeded chart for the FHIR tests, made through the real services (no shortcuts)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from builders import judgement, new_patient, safe_screening, screen, sign_consent, treat
from glabella.services import adverse_events as ae_svc
from glabella.services import assessments as assess_svc
from glabella.services.context import Actor, Database, utcnow

START = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)  # all seeded times lie in the past

SAFE_ANSWERS = safe_screening(cssrs=True)
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
    pid = new_patient(
        db,
        actor,
        mrn="FH-001",
        given_name="Fern",
        family_name="Hale",
        date_of_birth="1979-03-14",
        phone="+44 20 7946 0001",
        email="fern.hale@example.org",
    )
    assess_svc.submit_assessment(db, actor, pid, "phq9", BASELINE_PHQ9)
    assess_svc.submit_assessment(db, actor, pid, "gad7", GAD7)
    assess_svc.submit_assessment(db, actor, pid, "cgis", {"cgis_1": 4})
    screen(db, actor, pid, SAFE_ANSWERS)
    consent_id = sign_consent(db, actor, pid, "Fern Hale")
    state["now"] = START + dt.timedelta(minutes=30)
    treatment = treat(db, actor, pid, consent_id, notes="tolerated well")  # 29 U (SITES_29U)
    state["now"] = START + dt.timedelta(days=2)
    ae_svc.record_adverse_event(
        db,
        actor,
        pid,
        type_="headache",
        onset=START + dt.timedelta(days=1),
        judgement=judgement("2", action="symptomatic_treatment"),
        description="frontal headache for a day",
    )
    state["now"] = START + dt.timedelta(weeks=6)
    assess_svc.submit_assessment(db, actor, pid, "phq9", WEEK6_PHQ9)
    db.clock = utcnow  # later steps of a test run at the real time
    return Seeded(db=db, actor=actor, patient_id=pid, treatment_id=treatment.id)
