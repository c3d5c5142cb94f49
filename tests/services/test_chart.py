"""The patient-chart read model (``services.chart``): every kind of record, scoped by clinic,
read with one query per kind of record however many patients a batch holds (issue 14)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event

from glabella.clinic.chart import PatientChart
from glabella.services import adverse_events as ae_svc
from glabella.services import assessments as assess_svc
from glabella.services import biomarker as bio_svc
from glabella.services import consent as consent_svc
from glabella.services import patients as patient_svc
from glabella.services import screening as screening_svc
from glabella.services import treatments as treatment_svc
from glabella.services import users
from glabella.services.chart import load_chart, load_charts
from glabella.services.context import Actor, Database
from glabella.services.errors import NotFound
from glabella.store.biomarker import FrownPhotoPair

START = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)
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
# PHQ-9 2+2+1+1+1+1+1+0+0 = 9 (band "mild", 5-9: Kroenke et al. 2001); item 10 = 1
PHQ9 = {f"phq9_{i}": v for i, v in enumerate([2, 2, 1, 1, 1, 1, 1, 0, 0, 1], start=1)}
OVERRIDE_REASON = "INR in range; pressure applied after injection"
MEASURES = {
    "rest_inner_brow_distance": 0.50,
    "rest_brow_eye_height": 0.40,
    "rest_line_intensity": 0.10,
    "frown_inner_brow_distance": 0.45,
    "frown_brow_eye_height": 0.34,
    "frown_line_intensity": 0.30,
    "frown_activity_index": 25.0,
}


def _judgement(outcome: str, resolved_on: str = "") -> ae_svc.Judgement:
    return ae_svc.Judgement(
        grade="2",
        serious="no",
        seriousness=(),
        relatedness="possible",
        action="symptomatic_treatment",
        outcome=outcome,
        resolved_on=resolved_on,
    )


def _seed(db: Database, actor: Actor, mrn: str) -> int:
    """A patient with one record of each kind, made through the real services."""
    state = {"now": START}
    db.clock = lambda: state["now"]
    pid = patient_svc.create_patient(
        db,
        actor,
        patient_svc.parse_patient_input(
            {
                "mrn": mrn,
                "given_name": "Fern",
                "family_name": "Hale",
                "date_of_birth": "1979-03-14",
                "sex": "female",
                "email": "fern.hale@example.org",
            }
        ),
    ).id
    assess_svc.submit_assessment(db, actor, pid, "phq9", PHQ9)
    answers = screening_svc.parse_screening_answers(dict(SAFE_ANSWERS))
    screened = screening_svc.run_screening(
        db, actor, pid, "onabotulinumtoxinA", answers, medications=("warfarin",)
    )
    state["now"] = START + dt.timedelta(minutes=10)
    screening_svc.override_precaution(
        db, actor, screened.id, screened.reasons[0].rule_id, OVERRIDE_REASON
    )
    version = consent_svc.current_text(db).version
    consent_id = consent_svc.sign_consent(db, actor, pid, version, "Fern Hale", True).id
    state["now"] = START + dt.timedelta(minutes=30)
    treatment_svc.record_treatment(
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
        ),
    )
    state["now"] = START + dt.timedelta(days=2)
    recorded, _ = ae_svc.record_adverse_event(
        db,
        actor,
        pid,
        type_="headache",
        onset=START + dt.timedelta(days=1),
        judgement=_judgement("recovering"),
    )
    state["now"] = START + dt.timedelta(days=3)
    ae_svc.update_adverse_event(
        db,
        actor,
        pid,
        recorded.id,
        judgement=_judgement("recovered", "2026-06-03"),
        treatment_id=ae_svc.UNCHANGED,
        note="gone after two days",
    )
    photo_consent = bio_svc.grant_photo_consent(
        db, actor, pid, allow_research=False, confirmed=True
    )
    with db.transaction() as session:
        session.add(
            FrownPhotoPair(
                patient_id=pid,
                taken_at=START + dt.timedelta(days=4),
                recorded_by_id=None,
                consent_id=photo_consent,
                method_version="fai-1",
                rest_image=b"rest",
                frown_image=b"frown",
                **MEASURES,
            )
        )
    return pid


@contextmanager
def _statements(db: Database) -> Iterator[list[str]]:
    """The SQL statements run on ``db`` inside the block."""
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(str(args[2]))

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def test_chart_holds_each_kind_of_record(db: Database, actor: Actor) -> None:
    pid = _seed(db, actor, "CH-001")
    with db.read() as session:
        chart = load_chart(session, actor, pid)

    assert (chart.patient.id, chart.patient.mrn, chart.patient.family_name) == (
        pid,
        "CH-001",
        "Hale",
    )
    assert chart.patient.date_of_birth == dt.date(1979, 3, 14)
    assert chart.patient.email == "fern.hale@example.org"

    [phq9] = chart.assessments
    assert (phq9.instrument_id, phq9.total, phq9.band) == ("phq9", 9, "mild")
    assert phq9.answers[:2] == (("phq9_1", 2), ("phq9_2", 2))
    assert dict(phq9.answers) == PHQ9

    [screening] = chart.screenings
    assert chart.latest_screening == screening
    assert screening.outcome == "eligible"  # the one precaution was overridden
    assert screening.medications == ("warfarin",)
    overridden = [r for r in screening.reasons if r.overridden_by]
    assert len(overridden) == 1
    assert overridden[0].overridden_by == "Dr.Rivera"  # the full name, not the username
    assert overridden[0].override_reason == OVERRIDE_REASON
    assert overridden[0].overridden_at == START + dt.timedelta(minutes=10)

    [consent] = chart.consents
    assert consent.signed_name == "Fern Hale" and not consent.withdrawn

    [treatment] = chart.treatments
    assert treatment.total_units == Decimal("29")  # 5 + 4 x 6
    assert {s.site_id: s.units for s in treatment.sites} == {
        k: Decimal(v) for k, v in SITES.items()
    }
    assert treatment.treatment_date == dt.date(2026, 6, 1)  # 10:30 in London, same day
    assert treatment.consent_id == consent.id
    assert treatment.injector_id == actor.user_id and treatment.backdate_reason is None
    [shown] = treatment_svc.list_treatments(db, actor, pid)
    assert shown == treatment_svc.treatment_view(treatment)  # the page's view of the record

    [ae] = chart.adverse_events
    assert (ae.type, ae.label, ae.grade, ae.outcome) == ("headache", "Headache", 2, "recovered")
    assert ae.treatment_id == treatment.id and ae.treatment_date == dt.date(2026, 6, 1)
    assert ae.resolved_on == dt.date(2026, 6, 3)
    [change] = ae.history
    assert change.note == "gone after two days"
    assert change.changes["outcome"] == ("recovering", "recovered")

    [measure] = chart.frown_measures
    assert measure.frown_activity_index == 25.0
    assert measure.method_version == "fai-1"

    with pytest.raises(dataclasses.FrozenInstanceError):
        chart.patient.mrn = "changed"  # type: ignore[misc]


def test_the_screening_use_case_returns_the_chart_record(db: Database, actor: Actor) -> None:
    pid = _seed(db, actor, "CH-002")
    [listed] = screening_svc.list_screenings(db, actor, pid)
    with db.read() as session:
        chart = load_chart(session, actor, pid)
    assert listed == chart.screenings[0]
    [event_] = ae_svc.list_adverse_events(db, actor, pid)
    assert event_ == chart.adverse_events[0]


def test_unknown_patient_is_not_found(db: Database, actor: Actor) -> None:
    with db.read() as session, pytest.raises(NotFound, match="no patient with id 987654"):
        load_chart(session, actor, 987654)
    with db.read() as session:
        assert load_charts(session, actor.clinic_id, [987654]) == []


def test_another_clinics_patient_is_not_visible(db: Database, actor: Actor) -> None:
    ours = _seed(db, actor, "CH-003")
    users.create_clinic(db, "South Clinic")
    south, _ = users.create_user(
        db,
        username="dr.south",
        full_name="S",
        role="clinician",
        password="correct horse battery staple",
        clinic="South Clinic",
    )
    theirs = _seed(db, south.actor("test"), "CH-003")  # the same MRN, another clinic
    with db.read() as session, pytest.raises(NotFound, match=f"no patient with id {theirs}"):
        load_chart(session, actor, theirs)
    with db.read() as session:
        charts = load_charts(session, actor.clinic_id, [theirs, ours])
    assert [c.patient.id for c in charts] == [ours]


def test_a_batch_costs_the_same_queries_as_one_patient(db: Database, actor: Actor) -> None:
    first = _seed(db, actor, "CH-010")
    with db.read() as session, _statements(db) as one:
        [single] = load_charts(session, actor.clinic_id, [first])
    more = [_seed(db, actor, f"CH-01{i}") for i in range(1, 4)]
    with db.read() as session, _statements(db) as four:
        charts: list[PatientChart] = load_charts(session, actor.clinic_id, [first, *more])
    assert [c.patient.id for c in charts] == sorted([first, *more])
    assert all(len(c.adverse_events[0].history) == 1 for c in charts)
    assert charts[0] == single
    # patients, assessments (+answers), consents, treatments (+sites), events (+updates),
    # screenings (+overrides), photo consents and measures: a fixed number, not per patient
    assert len(four) == len(one)
