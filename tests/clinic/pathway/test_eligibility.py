"""Eligibility rules: every rule fires on its trigger, boundaries, outcomes and overrides."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from builders import ADULT_FACTS, CLEAR_ANSWERS
from glabella.clinic.eligibility import (
    CHECKS,
    Decision,
    OverrideRefusedError,
    ScreeningAnswers,
    SuicideScreen,
    age_in_years,
    load_rules,
    override,
    screen,
)
from glabella.clinic.products import PRODUCTS
from glabella.clinic.schedule import RETREATMENT_INTERVAL

ONA = PRODUCTS["onabotulinumtoxinA"]
ABO = PRODUCTS["abobotulinumtoxinA"]
LETI = PRODUCTS["letibotulinumtoxinA"]
TODAY = date(2026, 11, 25)
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)

CLEAR = CLEAR_ANSWERS
ADULT = ADULT_FACTS


def _ids(d: Decision) -> set[str]:
    return {r.rule_id for r in d.reasons}


def test_clear_patient_is_eligible_with_no_reasons() -> None:
    d = screen(CLEAR, ADULT, ONA, TODAY)
    assert d.outcome == "eligible"
    assert d.reasons == ()
    assert d.can_treat
    assert d.rules_version == load_rules().version


def test_rule_set_is_data_and_every_rule_has_a_check_and_source() -> None:
    rules = load_rules().rules
    used = {r.check for r in rules}
    assert used == set(CHECKS)  # every predicate is used by some rule
    for r in rules:
        assert r.source.strip() and r.message.strip()
        assert r.severity in ("refer_now", "contraindication", "precaution")


# --- one test per rule ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("answers", "product", "rule_id", "outcome"),
    [
        (replace(CLEAR, prior_bont_reaction=True), ONA, "hypersensitivity", "not_eligible"),
        (replace(CLEAR, allergies=("Human albumin",)), ONA, "hypersensitivity", "not_eligible"),
        (
            replace(CLEAR, infection_or_inflammation_at_sites=True),
            ONA,
            "infection_at_sites",
            "not_eligible_now",
        ),
        (replace(CLEAR, pregnant=True), ONA, "pregnancy", "not_eligible_now"),
        (replace(CLEAR, breastfeeding=True), ONA, "breastfeeding", "not_eligible_now"),
        (replace(CLEAR, bont_last_12_weeks="yes"), ONA, "recent_bont", "not_eligible_now"),
        (
            replace(CLEAR, bont_last_12_weeks="unsure"),
            ONA,
            "recent_bont_unsure",
            "eligible_with_precautions",
        ),
        (
            replace(CLEAR, prior_eyelid_ptosis=True),
            ONA,
            "prior_eyelid_ptosis",
            "eligible_with_precautions",
        ),
        (
            replace(CLEAR, psychotic_symptoms_current=True),
            ONA,
            "psychosis_current",
            "refer_now",
        ),
        (
            replace(CLEAR, psychotic_disorder_history=True),
            ONA,
            "psychosis_history",
            "eligible_with_precautions",
        ),
        (
            replace(CLEAR, suicide=SuicideScreen()),
            ONA,
            "suicide_screen_missing",
            "eligible_with_precautions",
        ),
        (
            replace(CLEAR, allergies=("lactose",)),
            LETI,
            "excipients_unverified",
            "eligible_with_precautions",
        ),
    ],
)
def test_screening_answer_rules(
    answers: ScreeningAnswers, product: object, rule_id: str, outcome: str
) -> None:
    d = screen(answers, ADULT, product, TODAY)  # type: ignore[arg-type]
    assert _ids(d) == {rule_id}
    assert d.outcome == outcome
    reason = d.reasons[0]
    assert reason.source and reason.message


def test_cows_milk_allergy_excludes_abobotulinumtoxina_only() -> None:
    answers = replace(CLEAR, allergies=("milk",))
    d_abo = screen(answers, ADULT, ABO, TODAY)
    assert d_abo.outcome == "not_eligible"
    assert _ids(d_abo) == {"hypersensitivity"}
    assert "milk" in d_abo.reasons[0].detail
    # onabotulinumtoxinA lists no milk protein: the same allergy does not exclude it
    assert screen(answers, ADULT, ONA, TODAY).outcome == "eligible"


def test_excipient_allergy_the_product_lacks_is_not_a_reason() -> None:
    # lactose is a Dysport excipient, not one of onabotulinumtoxinA's (products.py, labels)
    d = screen(replace(CLEAR, allergies=("lactose",)), ADULT, ONA, TODAY)
    assert d.reasons == ()
    assert [m.describe() for m in d.matches] == ["lactose → lactose"]


@pytest.mark.parametrize(
    "condition", ["Myasthenia gravis", "Lambert-Eaton syndrome", "ALS", "motor neurone disease"]
)
def test_nmj_disorders_are_contraindications(condition: str) -> None:
    d = screen(CLEAR, replace(ADULT, conditions=(condition,)), ONA, TODAY)
    assert _ids(d) == {"nmj_disorder"}
    assert d.outcome == "not_eligible"


def test_condition_matching_is_by_whole_word() -> None:
    # "als" must not match inside other words
    d = screen(CLEAR, replace(ADULT, conditions=("renal failure", "alsatian bite")), ONA, TODAY)
    assert _ids(d) == {"unrecognised_condition_1", "unrecognised_condition_2"}


@pytest.mark.parametrize("drug", ["rocuronium", "Esmeron", "succinylcholine"])
def test_curare_like_drugs_are_precautions(drug: str) -> None:
    d = screen(CLEAR, replace(ADULT, medications=(drug,)), ONA, TODAY)
    assert _ids(d) == {"nmj_drugs"}
    assert d.outcome == "eligible_with_precautions"


@pytest.mark.parametrize("drug", ["Gentamicin 80 mg IV", "tobramycin", "Cidomycin"])
def test_aminoglycoside_course_defers_treatment(drug: str) -> None:
    d = screen(CLEAR, replace(ADULT, medications=(drug,)), ONA, TODAY)
    assert _ids(d) == {"aminoglycoside_course"}
    assert d.outcome == "not_eligible_now"
    assert d.reassess == ("aminoglycoside_course: after the aminoglycoside course has ended",)


@pytest.mark.parametrize("drug", ["Warfarin", "apixaban 5 mg", "rivaroxaban"])
def test_anticoagulants_are_precautions(drug: str) -> None:
    d = screen(CLEAR, replace(ADULT, medications=(drug,)), ONA, TODAY)
    assert _ids(d) == {"anticoagulant"}
    assert d.outcome == "eligible_with_precautions"


def test_mdq_positive_is_precaution_for_psychiatric_review() -> None:
    d = screen(CLEAR, replace(ADULT, mdq_positive=True), ONA, TODAY)
    assert _ids(d) == {"mdq_positive"}
    assert d.outcome == "eligible_with_precautions"
    assert "psychiatric review" in d.reasons[0].message


# --- boundaries ---------------------------------------------------------------------------


def test_age_17_is_refused_and_18_on_the_birthday_is_allowed() -> None:
    dob = date(2008, 11, 25)
    # on 2026-11-24 the patient is 17 (birthday tomorrow); on 2026-11-25 they turn 18
    assert age_in_years(dob, date(2026, 11, 24)) == 17
    assert age_in_years(dob, date(2026, 11, 25)) == 18
    d17 = screen(CLEAR, replace(ADULT, date_of_birth=dob), ONA, date(2026, 11, 24))
    assert _ids(d17) == {"age_under_18"}
    assert d17.outcome == "not_eligible_now"
    assert d17.reassess == ("age_under_18: on 2026-11-25 (age 18)",)
    assert screen(CLEAR, replace(ADULT, date_of_birth=dob), ONA, TODAY).outcome == "eligible"


def test_leap_day_birthday() -> None:
    # born 2008-02-29: not yet 18 on 2026-02-28, 18 on 2026-03-01
    assert age_in_years(date(2008, 2, 29), date(2026, 2, 28)) == 17
    assert age_in_years(date(2008, 2, 29), date(2026, 3, 1)) == 18


def test_bont_exactly_12_weeks_ago_is_allowed_one_day_less_is_not() -> None:
    # 12 weeks = 84 days. Last dose 2026-09-02 + 84 days = 2026-11-25.
    last = date(2026, 9, 2)
    assert last + timedelta(days=84) == TODAY
    ok = screen(CLEAR, replace(ADULT, last_bont_date=last), ONA, TODAY)
    assert ok.outcome == "eligible"
    # one day short: last dose 2026-09-03 -> 83 days before 2026-11-25
    short = screen(CLEAR, replace(ADULT, last_bont_date=date(2026, 9, 3)), ONA, TODAY)
    assert _ids(short) == {"recent_bont"}
    assert short.outcome == "not_eligible_now"
    # 2026-09-03 + 84 days = 2026-11-26
    assert short.reassess == ("recent_bont: on 2026-11-26 (12 weeks after the last dose)",)
    assert "allowed from 2026-11-26" in short.reasons[0].detail


def test_recorded_date_outranks_the_self_report() -> None:
    # the record shows a dose 20 weeks ago; an unsure patient is not a precaution then
    facts = replace(ADULT, last_bont_date=TODAY - timedelta(weeks=20))
    assert screen(replace(CLEAR, bont_last_12_weeks="unsure"), facts, ONA, TODAY).reasons == ()


def test_eligibility_interval_matches_the_retreatment_schedule() -> None:
    (rule,) = [r for r in load_rules().rules if r.id == "recent_bont"]
    assert timedelta(weeks=rule.params["min_interval_weeks"]) == RETREATMENT_INTERVAL


# --- suicide risk ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "risk",
    [
        SuicideScreen(cssrs_1=True, cssrs_2=True, cssrs_3=True, cssrs_4=True),
        SuicideScreen(cssrs_1=True, cssrs_2=True, cssrs_5=True),
        SuicideScreen(cssrs_1=False, cssrs_2=False, cssrs_behaviour_3_months=True),
    ],
)
def test_intent_plan_or_recent_behaviour_means_refer_now(risk: SuicideScreen) -> None:
    d = screen(replace(CLEAR, suicide=risk), ADULT, ONA, TODAY)
    assert d.outcome == "refer_now"
    assert d.reasons[0].rule_id == "suicidal_intent_or_plan"
    assert "not a crisis treatment" in d.reasons[0].message
    assert not d.can_treat


def test_refer_now_outranks_contraindications() -> None:
    answers = replace(CLEAR, pregnant=True, suicide=SuicideScreen(cssrs_4=True))
    d = screen(answers, ADULT, ONA, TODAY)
    assert d.outcome == "refer_now"
    assert [r.severity for r in d.reasons] == ["refer_now", "contraindication"]


@pytest.mark.parametrize(
    "risk",
    [SuicideScreen(cssrs_1=True, cssrs_2=False), SuicideScreen(phq9_item9=1)],
)
def test_ideation_without_intent_is_a_precaution(risk: SuicideScreen) -> None:
    d = screen(replace(CLEAR, suicide=risk), ADULT, ONA, TODAY)
    assert _ids(d) == {"suicidal_ideation_other"}
    assert d.outcome == "eligible_with_precautions"


def test_phq9_item9_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="0-3"):
        SuicideScreen(phq9_item9=4)


# --- overrides ----------------------------------------------------------------------------


def test_precaution_override_needs_reason_and_yields_eligible() -> None:
    d = screen(CLEAR, replace(ADULT, medications=("warfarin",)), ONA, TODAY)
    assert not d.can_treat
    d2, record = override(d, "anticoagulant", "Dr A", "INR 2.4; bruising risk explained", NOW)
    assert d2.outcome == "eligible" and d2.can_treat
    assert record.reason == "INR 2.4; bruising risk explained"
    assert d2.reasons[0].override == record  # the reason stays visible, with its override
    assert d.outcome == "eligible_with_precautions"  # the original decision is unchanged


def test_two_precautions_need_two_overrides() -> None:
    facts = replace(ADULT, medications=("warfarin",), mdq_positive=True)
    d = screen(CLEAR, facts, ONA, TODAY)
    d2, _ = override(d, "anticoagulant", "Dr A", "explained", NOW)
    assert d2.outcome == "eligible_with_precautions"
    assert [r.rule_id for r in d2.open_precautions] == ["mdq_positive"]
    d3, _ = override(d2, "mdq_positive", "Dr B", "psychiatric review: no bipolar disorder", NOW)
    assert d3.can_treat


def test_blank_reason_or_clinician_is_refused() -> None:
    d = screen(CLEAR, replace(ADULT, mdq_positive=True), ONA, TODAY)
    with pytest.raises(OverrideRefusedError, match="written reason"):
        override(d, "mdq_positive", "Dr A", "   ", NOW)
    with pytest.raises(OverrideRefusedError, match="written reason"):
        override(d, "mdq_positive", "", "reviewed", NOW)


def test_naive_override_time_is_refused() -> None:
    d = screen(CLEAR, replace(ADULT, mdq_positive=True), ONA, TODAY)
    with pytest.raises(OverrideRefusedError, match="timezone-aware"):
        override(d, "mdq_positive", "Dr A", "reviewed", datetime(2026, 11, 25, 10, 0))


def test_contraindication_cannot_be_overridden() -> None:
    d = screen(replace(CLEAR, pregnant=True), ADULT, ONA, TODAY)
    with pytest.raises(OverrideRefusedError, match="only precautions"):
        override(d, "pregnancy", "Dr A", "patient insists", NOW)


def test_refer_now_cannot_be_overridden() -> None:
    d = screen(replace(CLEAR, suicide=SuicideScreen(cssrs_5=True)), ADULT, ONA, TODAY)
    with pytest.raises(OverrideRefusedError, match="only precautions"):
        override(d, "suicidal_intent_or_plan", "Dr A", "low risk", NOW)


def test_overriding_a_rule_that_did_not_fire_or_twice_is_refused() -> None:
    d = screen(CLEAR, replace(ADULT, mdq_positive=True), ONA, TODAY)
    with pytest.raises(OverrideRefusedError, match="did not fire"):
        override(d, "anticoagulant", "Dr A", "x", NOW)
    d2, _ = override(d, "mdq_positive", "Dr A", "reviewed", NOW)
    with pytest.raises(OverrideRefusedError, match="already overridden"):
        override(d2, "mdq_positive", "Dr A", "again", NOW)


def test_precaution_override_does_not_lift_a_contraindication() -> None:
    d = screen(replace(CLEAR, pregnant=True), replace(ADULT, mdq_positive=True), ONA, TODAY)
    d2, _ = override(d, "mdq_positive", "Dr A", "reviewed", NOW)
    assert d2.outcome == "not_eligible_now"
    assert not d2.can_treat


def test_letybo_contraindicated_from_age_75_only() -> None:
    dob = date(1951, 11, 26)  # turns 75 on 2026-11-26
    facts = replace(ADULT, date_of_birth=dob)
    assert screen(CLEAR, facts, LETI, TODAY).outcome == "eligible"  # 74
    d = screen(CLEAR, facts, LETI, date(2026, 11, 26))  # 75
    assert _ids(d) == {"product_age_limit"}
    assert d.outcome == "not_eligible"
    # the limit belongs to Letybo; onabotulinumtoxinA has none
    assert screen(CLEAR, facts, ONA, date(2026, 11, 26)).outcome == "eligible"
