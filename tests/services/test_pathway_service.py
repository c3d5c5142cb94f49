"""The clinical pathway through the services on a real SQLite database.

Screening -> consent -> treatment -> follow-up -> outcomes, and every refusal in between.
Numbers are hand calculations written out next to each assertion.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

import builders
from builders import SITES_29U, judgement, new_patient, safe_screening, screen, sign_consent, treat
from glabella.services import adverse_events as ae_svc
from glabella.services import alerts as alert_svc
from glabella.services import assessments as assess_svc
from glabella.services import consent as consent_svc
from glabella.services import followup as followup_svc
from glabella.services import screening as screening_svc
from glabella.services.context import Actor, Database
from glabella.services.errors import Forbidden, Invalid
from glabella.store.pathway import Treatment, TreatmentSite

START = dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)  # a Monday, GMT = Europe/London

SAFE_ANSWERS = safe_screening(cssrs=True)

# Finzi & Rosenthal 2014, men: 10/8/8/7/7 U (the one per-site split verified in protocols.yaml)
# is not needed here; a plain 29 U split is typed by hand: 5 + 6 + 6 + 6 + 6 = 29 U.
SITES = SITES_29U


def phq9(total_items: list[int]) -> dict[str, int]:
    return builders.phq9(*total_items)


@pytest.fixture
def clock(db: Database) -> dict[str, dt.datetime]:
    state = {"now": START}
    db.clock = lambda: state["now"]
    return state


def _patient(db: Database, actor: Actor, sex: str = "female", dob: str = "1980-05-05") -> int:
    return new_patient(db, actor, mrn=f"PW-{sex}-{dob}", date_of_birth=dob, sex=sex)


def _screen(db: Database, actor: Actor, pid: int, **changes: str) -> screening_svc.ScreeningView:
    return screen(db, actor, pid, {**SAFE_ANSWERS, **changes})


def _consent(db: Database, actor: Actor, pid: int) -> int:
    return sign_consent(db, actor, pid, "Pat Way")


def _treat(db: Database, actor: Actor, pid: int, consent_id: int, **changes: Any) -> Any:
    return treat(db, actor, pid, consent_id, **changes)


def _count(db: Database, model: type) -> int:
    with db.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_full_pathway_records_treatment_with_volumes(
    db: Database, actor: Actor, clock: dict[str, dt.datetime]
) -> None:
    pid = _patient(db, actor)
    decision = _screen(db, actor, pid)
    assert decision.outcome == "eligible" and decision.reasons == ()
    consent_id = _consent(db, actor, pid)
    treatment = _treat(db, actor, pid, consent_id)
    # 100 U in 2.5 mL = 40 U/mL = 4 U per 0.1 mL; 6 U -> 6/40 = 0.15 mL; 5 U -> 0.125 mL
    volumes = {s.site_id: s.volume_ml for s in treatment.sites}
    assert volumes["procerus"] == Decimal("0.125")
    assert volumes["corrugator_medial_left"] == Decimal("0.150")
    assert treatment.total_units == Decimal("29")
    assert treatment.product_id == "onabotulinumtoxinA"
    assert treatment.dose_label == "29 U onabotulinumtoxinA (Botox)"  # INN with its brand
    # 29 U is above the Botox glabellar label dose (20 U): flagged, not refused.
    assert treatment.exceeds_label_dose is True


def test_no_screening_no_consent_refused_and_nothing_stored(
    db: Database, actor: Actor, clock: dict[str, dt.datetime]
) -> None:
    pid = _patient(db, actor)
    with pytest.raises(Invalid) as info:
        _treat(db, actor, pid, consent_id=999)
    assert "no eligibility screening" in info.value.message
    assert "no signed consent" in info.value.message
    assert _count(db, Treatment) == 0 and _count(db, TreatmentSite) == 0


def test_contraindication_blocks_treatment(
    db: Database, actor: Actor, clock: dict[str, dt.datetime]
) -> None:
    pid = _patient(db, actor)
    decision = _screen(db, actor, pid, pregnant="yes")
    assert decision.outcome == "not_eligible_now"
    rule = next(r for r in decision.reasons if r.severity == "contraindication")
    with pytest.raises(Invalid, match="only precautions"):
        screening_svc.override_precaution(
            db, actor, decision.id, rule.rule_id, "patient insists strongly"
        )
    consent_id = _consent(db, actor, pid)
    with pytest.raises(Invalid, match="not eligible"):
        _treat(db, actor, pid, consent_id)


def test_refer_now_for_suicidal_intent(
    db: Database, actor: Actor, clock: dict[str, dt.datetime]
) -> None:
    pid = _patient(db, actor)
    decision = _screen(db, actor, pid, cssrs_4="yes")
    assert decision.outcome == "refer_now"


def test_precaution_needs_recorded_override(
    db: Database, actor: Actor, clock: dict[str, dt.datetime]
) -> None:
    pid = _patient(db, actor)
    answers = screening_svc.parse_screening_answers(SAFE_ANSWERS)
    decision = screening_svc.run_screening(
        db, actor, pid, "onabotulinumtoxinA", answers, medications=("warfarin",)
    )
    assert decision.outcome == "eligible_with_precautions"
    precaution = decision.reasons[0]
    consent_id = _consent(db, actor, pid)
    with pytest.raises(Invalid, match="eligible with precautions"):
        _treat(db, actor, pid, consent_id)
    with pytest.raises(Invalid, match="at least 10 characters"):
        screening_svc.override_precaution(db, actor, decision.id, precaution.rule_id, "ok")
    after = screening_svc.override_precaution(
        db, actor, decision.id, precaution.rule_id, "INR in range; pressure applied after injection"
    )
    assert after.outcome == "eligible"
    assert after.reasons[0].overridden_by == "Dr.Rivera"  # the full name, not the username
    assert _treat(db, actor, pid, consent_id).total_units == Decimal("29")


def test_nurse_cannot_override(
    db: Database, actor: Actor, make_user: Any, clock: dict[str, dt.datetime]
) -> None:
    pid = _patient(db, actor)
    answers = screening_svc.parse_screening_answers(SAFE_ANSWERS)
    decision = screening_svc.run_screening(
        db, actor, pid, "onabotulinumtoxinA", answers, medications=("warfarin",)
    )
    nurse = make_user("nurse.n", "nurse").actor()
    with pytest.raises(Forbidden):
        screening_svc.override_precaution(
            db, nurse, decision.id, decision.reasons[0].rule_id, "a long enough reason"
        )


def test_expired_lot_refused_on_the_day_after_expiry(
    db: Database, actor: Actor, clock: dict[str, dt.datetime]
) -> None:
    pid = _patient(db, actor)
    _screen(db, actor, pid)
    consent_id = _consent(db, actor, pid)
    # START is 2026-11-02: a lot expiring 2026-11-01 expired yesterday.
    with pytest.raises(Invalid, match="expired on 2026-11-01"):
        _treat(db, actor, pid, consent_id, lot_expiry=dt.date(2026, 11, 1))
    assert _count(db, Treatment) == 0
    # expiring today is still usable
    assert _treat(db, actor, pid, consent_id, lot_expiry=dt.date(2026, 11, 2)).id > 0


def test_dose_above_ceiling_and_bad_units_refused(
    db: Database, actor: Actor, clock: dict[str, dt.datetime]
) -> None:
    pid = _patient(db, actor)
    _screen(db, actor, pid)
    consent_id = _consent(db, actor, pid)
    # 5 x 12 = 60 U > 50 U onabotulinumtoxinA ceiling (Brin 2020's highest dose)
    too_much = {k: "12" for k in SITES}
    with pytest.raises(Invalid, match="exceeds the glabellar ceiling"):
        _treat(db, actor, pid, consent_id, sites=too_much)
    with pytest.raises(Invalid, match="not a number"):
        _treat(db, actor, pid, consent_id, sites={"procerus": "ten"})
    with pytest.raises(Invalid, match="no sign"):
        _treat(db, actor, pid, consent_id, sites={"procerus": "-4"})
    with pytest.raises(Invalid, match="unknown injection site"):
        _treat(db, actor, pid, consent_id, sites={"chin": "4"})
    assert _count(db, Treatment) == 0


def test_consent_used_once_and_retreatment_after_12_weeks(
    db: Database, actor: Actor, clock: dict[str, dt.datetime]
) -> None:
    pid = _patient(db, actor)
    _screen(db, actor, pid)
    consent_id = _consent(db, actor, pid)
    _treat(db, actor, pid, consent_id)
    with pytest.raises(Invalid, match="already used"):
        _treat(db, actor, pid, consent_id)
    # 83 days later: screening again finds the recorded BoNT within 12 weeks.
    clock["now"] = START + dt.timedelta(days=83)
    second = _screen(db, actor, pid)
    assert second.outcome == "not_eligible_now"
    consent2 = _consent(db, actor, pid)
    with pytest.raises(Invalid, match="re-treatment is allowed from 2027-01-25"):
        _treat(db, actor, pid, consent2)
    # 2026-11-02 + 84 days = 2027-01-25: allowed on that day.
    clock["now"] = START + dt.timedelta(days=84)
    assert _screen(db, actor, pid).outcome == "eligible"
    consent3 = _consent(db, actor, pid)
    assert _treat(db, actor, pid, consent3).treatment_date == dt.date(2027, 1, 25)


def test_consent_requires_confirmation_and_name(
    db: Database, actor: Actor, clock: dict[str, dt.datetime]
) -> None:
    pid = _patient(db, actor)
    version = consent_svc.current_text(db).version
    with pytest.raises(Invalid, match="confirm"):
        consent_svc.sign_consent(db, actor, pid, version, "Pat Way", False)
    with pytest.raises(Invalid, match="full name"):
        consent_svc.sign_consent(db, actor, pid, version, " ", True)
    with pytest.raises(Invalid, match="not the one in force"):
        consent_svc.sign_consent(db, actor, pid, "v0-old", "Pat Way", True)
    assert "off-label" in consent_svc.current_text(db).text


def test_followup_schedule_and_response(
    db: Database, actor: Actor, clock: dict[str, dt.datetime]
) -> None:
    pid = _patient(db, actor)
    clock["now"] = START - dt.timedelta(days=1)
    # baseline PHQ-9: 2*8 + 0 = 16 (moderately severe; item 9 = 0, else screening flags it)
    assess_svc.submit_assessment(db, actor, pid, "phq9", phq9([2] * 8 + [0]))
    clock["now"] = START
    _screen(db, actor, pid)
    _treat(db, actor, pid, _consent(db, actor, pid))
    # week 6 (START + 42 days): PHQ-9 = 1*7 + 0 + 0 = 7 -> change -9, -56.25 % -> responder
    clock["now"] = START + dt.timedelta(days=42)
    assess_svc.submit_assessment(db, actor, pid, "phq9", phq9([1] * 7 + [0, 0]))
    follow = followup_svc.patient_followup(db, actor, pid)
    statuses = {v.key: v.status for v in follow.visits}
    # baseline done (day -1 is inside its 14-day window), week 2 window (days 11-17) closed
    # unfilled and superseded by week 6 (opened day 35): missed; week 6 done, week 12 upcoming.
    assert statuses == {
        "baseline": "completed",
        "week2": "missed",
        "week6": "completed",
        "week12": "upcoming",
    }
    assert follow.retreatment_from == dt.date(2027, 1, 25)
    (outcome,) = follow.outcomes
    assert (outcome.baseline, outcome.current, outcome.change) == (16, 7, -9)
    assert outcome.percent_change == pytest.approx(-9 / 16 * 100)
    assert outcome.response is True
    assert outcome.remission is False  # 7 is not < 5
    assert outcome.not_improving_week6 is False
    # nothing to chase: week 2 is history (missed), week 6 answered, week 12 not open yet
    assert followup_svc.due_visits(db, actor) == []


def test_not_improving_flag_at_week6(
    db: Database, actor: Actor, clock: dict[str, dt.datetime]
) -> None:
    pid = _patient(db, actor)
    assess_svc.submit_assessment(db, actor, pid, "phq9", phq9([2] * 8 + [0]))  # 16
    _screen(db, actor, pid)
    _treat(db, actor, pid, _consent(db, actor, pid))
    clock["now"] = START + dt.timedelta(days=40)
    assess_svc.submit_assessment(db, actor, pid, "phq9", phq9([2] * 7 + [1, 0]))  # 15: -6.25 %
    (outcome,) = followup_svc.patient_followup(db, actor, pid).outcomes
    assert outcome.not_improving_week6 is True and outcome.response is False


def test_adverse_events_raise_alerts(
    db: Database, actor: Actor, clock: dict[str, dt.datetime]
) -> None:
    pid = _patient(db, actor)
    _, alerts = ae_svc.record_adverse_event(
        db,
        actor,
        pid,
        type_="dysphagia",
        onset=START,
        judgement=judgement("2", action="referred", outcome="recovering"),
    )
    assert [a.code for a in alerts] == ["possible_distant_spread"]
    _, serious = ae_svc.record_adverse_event(
        db,
        actor,
        pid,
        type_="headache",
        onset=START,
        judgement=judgement(
            "3", serious="yes", seriousness=("hospitalisation",), action="emergency_care"
        ),
    )
    assert [a.code for a in serious] == ["serious_adverse_event"]
    _, none = ae_svc.record_adverse_event(
        db,
        actor,
        pid,
        type_="bruising",
        onset=START,
        judgement=judgement("1", relatedness="probable"),
    )
    assert none == ()
    kinds = sorted(a.kind for a in alert_svc.list_alerts(db, actor))
    assert kinds == ["possible_distant_spread", "serious_adverse_event"]
    with pytest.raises(Invalid, match="CTCAE v5 grade must be 1 to 5, got 9"):
        ae_svc.record_adverse_event(
            db,
            actor,
            pid,
            type_="headache",
            onset=START,
            judgement=judgement("9"),
        )
    assert len(ae_svc.list_adverse_events(db, actor, pid)) == 3


def test_screening_uses_item9_from_a_recent_phq9(
    db: Database, actor: Actor, clock: dict[str, dt.datetime]
) -> None:
    """H-018: item 9 = 2 reported 13 days ago is not screened away by an entered 0."""
    pid = _patient(db, actor)
    assess_svc.submit_assessment(db, actor, pid, "phq9", phq9([2, 2, 2, 2, 1, 1, 1, 1, 2]))
    clock["now"] = START + dt.timedelta(days=13)
    decision = _screen(db, actor, pid, phq9_item9="0")
    ideation = [r for r in decision.reasons if r.rule_id == "suicidal_ideation_other"]
    assert [r.detail for r in ideation] == ["PHQ-9 item 9 = 2"]
    assert not decision.can_treat
    # An entered value higher than the stored one is kept as entered.
    assert [
        r.detail
        for r in _screen(db, actor, pid, phq9_item9="3").reasons
        if r.rule_id == "suicidal_ideation_other"
    ] == ["PHQ-9 item 9 = 3"]
    # A PHQ-9 older than 14 days no longer speaks for today's screening.
    clock["now"] = START + dt.timedelta(days=15)
    later = _screen(db, actor, pid, phq9_item9="0")
    assert not [r for r in later.reasons if r.rule_id == "suicidal_ideation_other"]


def test_not_on_track_list_against_the_clinic_curve(
    db: Database, actor: Actor, clock: dict[str, dt.datetime]
) -> None:
    """Issue 16 item 7: the hand example of tests/analytics/test_compute.py through the store."""
    from glabella.services.analytics import not_on_track_list

    six, eight = [1] * 6 + [0, 0, 0], [1] * 8 + [0]
    eighteen = [3, 3, 2, 2, 2, 2, 2, 2, 0]
    week6 = [six] * 5 + [eight] * 4 + [eighteen]
    pids = []
    for i, items in enumerate(week6):
        pid = _patient(db, actor, dob=f"1980-05-{i + 1:02d}")
        pids.append(pid)
        clock["now"] = START - dt.timedelta(days=1)
        assess_svc.submit_assessment(db, actor, pid, "phq9", phq9([2] * 8 + [0]))  # 16
        clock["now"] = START
        _screen(db, actor, pid)
        _treat(db, actor, pid, _consent(db, actor, pid))
        clock["now"] = START + dt.timedelta(days=40)  # week 6: days 35-42
        assess_svc.submit_assessment(db, actor, pid, "phq9", phq9(items))
    # week-6 cell: mean 8.0, SD sqrt(120/9) = 3.651484, bound 8 + 1.2816 * 3.651484 = 12.68
    (row,) = not_on_track_list(db, actor, as_of=START + dt.timedelta(days=41))
    assert row.patient_id == pids[-1] and row.name == "Way, Pat"
    assert (row.flag.week, row.flag.score, row.flag.n) == (6, 18, 10)
    assert row.flag.bound == pytest.approx(12.679742, abs=1e-5)
    # 43 days after that visit the course is no longer listed (latest PHQ-9 older than 42 days)
    assert not_on_track_list(db, actor, as_of=START + dt.timedelta(days=83)) == ()
